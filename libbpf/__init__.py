"""The vendored libbpf: pin (VERSION) and the fetch-and-build script (vendor.py)."""
