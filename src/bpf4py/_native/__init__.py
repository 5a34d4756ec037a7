"""The only package that touches ``ffi``/``lib``: errno -> exceptions, owned file descriptors,
libbpf's log -> :mod:`logging`, and thin Python functions over libbpf's C API."""
