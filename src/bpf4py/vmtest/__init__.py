"""Run the kernel test suite (or any command) under other kernels, booted with qemu.

``python -m bpf4py.vmtest --kernel 6.1 --kernel 6.12`` (or ``make test-vm``) downloads
Debian's 6.1 and 6.12 kernels once (:mod:`~bpf4py.vmtest.kernels`), boots each with virtme-ng
under qemu (:mod:`~bpf4py.vmtest.runner`) sharing the host's root file system read-only and
the project directory read-write, runs ``pytest tests/kernel tests/reliability`` in it as root
and prints passed / failed / skipped per kernel with the skip reasons
(:mod:`~bpf4py.vmtest.summary`).  Needs qemu-system-x86, busybox-static, kmod and udev on the
host and virtme-ng in the virtualenv (``make test-vm`` installs them).

Minimum kernel version: any the host runs; guests are Debian's 6.1 and 6.12 or a kernel image
given by path.

Example::

    python -m bpf4py.vmtest --kernel 6.1 -- uname -r
"""
