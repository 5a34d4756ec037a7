"""Only here because setuptools takes cffi_modules as a setup() keyword; see pyproject.toml."""

from setuptools import setup

setup(cffi_modules=["build_ffi.py:ffibuilder"])
