# The CFFI module compiled by build_ffi.py. Its C API is declared in _native/decl/*.h;
# only bpf4py._native uses it.
from typing import Any

ffi: Any
lib: Any
