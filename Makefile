# bpf4py: `make demo` and `make test` do every set-up step on a fresh Debian 12 machine (as root).

PYTHON ?= python3
VENV   ?= .venv
VPY    := $(VENV)/bin/python
APT_PACKAGES := clang llvm libelf-dev zlib1g-dev libc6-dev pkg-config bpftool iproute2 \
                make gcc python3-dev python3-venv

.PHONY: all setup system-deps venv libbpf demo test test-unit test-kernel fuzz typecheck sdist clean

all: setup

setup: system-deps venv

# Debian packages: clang for the BPF target, libelf/zlib for libbpf, bpftool for vmlinux.h,
# iproute2 for the network-namespace tests.  Installed only when something is missing.
system-deps:
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  if [ "$$(id -u)" != 0 ]; then echo "run as root (or install:$$missing)"; exit 1; fi; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing; \
	fi

$(VENV)/.installed: pyproject.toml setup.py build_ffi.py libbpf/VERSION libbpf/vendor.py \
                    $(wildcard src/bpf4py/_native/decl/*.h src/bpf4py/_native/csrc/*.c)
	test -x $(VPY) || $(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q --upgrade pip
	$(VPY) -m pip install -q -e '.[test]'
	touch $@

venv: $(VENV)/.installed

libbpf:
	$(PYTHON) libbpf/vendor.py build

demo: setup
	$(VPY) -m bpf4py.demo

test: setup
	$(VPY) -m pytest -ra tests

test-unit: setup
	$(VPY) -m pytest -ra tests/unit

test-kernel: setup
	$(VPY) -m pytest -ra tests/kernel

# A long fuzzing run (make test runs 300 inputs per target).
fuzz: setup
	BPF4PY_FUZZ_EXAMPLES=$${BPF4PY_FUZZ_EXAMPLES:-20000} $(VPY) -m pytest -q tests/reliability/test_fuzz.py

typecheck: setup
	$(VPY) -m mypy

sdist: setup
	$(VPY) -m build --sdist --no-isolation --outdir dist .

clean:
	rm -rf build dist $(VENV) libbpf/build src/*.egg-info tests/bpf/build
	find src -name '*.so' -delete

.PHONY: bench
bench: setup
	$(VPY) benchmarks/run.py

# The kernel test suite under other kernels, booted with qemu (virtme-ng, no KVM): Debian's
# 6.1 and 6.12 by default (downloaded once into ~/.cache/bpf4py/kernels), or any list of
# versions / kernel image paths, e.g. `make test-vm KERNELS=6.1`.  Prints a table per kernel.
KERNELS ?= 6.1 6.12
VM_APT_PACKAGES := qemu-system-x86 busybox-static kmod udev

.PHONY: vm-deps test-vm
vm-deps: setup
	@$(MAKE) --no-print-directory system-deps APT_PACKAGES="$(VM_APT_PACKAGES)"
	@$(VPY) -m pip show -q virtme-ng >/dev/null 2>&1 || $(VPY) -m pip install -q 'virtme-ng>=1.42'

test-vm: vm-deps
	BPF4PY_VMTEST=1 $(VPY) -m pytest -q -p no:cacheprovider tests/vmtest
	$(VPY) -m bpf4py.vmtest $(foreach k,$(KERNELS),--kernel $(k)) \
	  -- $(VPY) -m pytest -q tests/kernel tests/reliability
