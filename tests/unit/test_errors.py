"""The exception hierarchy: errno names, builtin mix-ins, messages."""

from __future__ import annotations

import errno

import pytest

from bpf4py.errors import (
    BpfError,
    ClosedError,
    FeatureNotSupported,
    KeyNotFound,
    MapError,
    ProgramError,
    errno_name,
    with_builtin,
)


def test_errno_names() -> None:
    assert errno_name(errno.EPERM) == "EPERM"
    assert errno_name(524) == "ENOTSUPP"
    assert errno_name(99999) == "errno 99999"


def test_libbpf_codes_are_named_with_libbpf_text() -> None:
    assert errno_name(4000) == "LIBBPF_ERRNO__LIBELF"
    assert errno_name(4013) == "LIBBPF_ERRNO__NLPARSE"
    assert errno_name(4014) == "errno 4014"  # past the end of libbpf's enum
    text = str(ProgramError("loading program 'p'", errno=4007))
    assert text.startswith("loading program 'p': LIBBPF_ERRNO__VERIFY (")
    assert "verifier" in text and "Unknown error" not in text


def test_with_builtin_mixes_and_caches() -> None:
    cls = with_builtin(ProgramError, errno.EPERM)
    assert issubclass(cls, ProgramError) and issubclass(cls, PermissionError)
    assert with_builtin(ProgramError, errno.EPERM) is cls
    assert with_builtin(ProgramError, errno.EAGAIN) is ProgramError
    assert with_builtin(ProgramError, None) is ProgramError
    err = cls("loading program 'x'", errno=errno.EPERM, hint="run as root")
    with pytest.raises(PermissionError):
        raise err
    assert err.errno == errno.EPERM and err.errno_name == "EPERM"
    assert str(err) == ("loading program 'x': EPERM (Operation not permitted) "
                        "[hint: run as root]")


def test_verifier_log_tail_in_message() -> None:
    log = "\n".join(f"line {i}" for i in range(40))
    err = ProgramError("loading program 'p'", errno=errno.EACCES, verifier_log=log)
    text = str(err)
    assert text.endswith("line 39") and "line 28" in text and "line 27\n" not in text
    assert err.verifier_log == log


def test_key_not_found_is_a_key_error_with_a_plain_message() -> None:
    err = KeyNotFound("map 'm' has no key 3", errno=errno.ENOENT)
    assert isinstance(err, KeyError) and isinstance(err, MapError)
    assert str(err).startswith("map 'm' has no key 3: ENOENT")


def test_feature_not_supported_names_the_kernel() -> None:
    err = FeatureNotSupported("sockmap links", min_kernel="6.10")
    assert isinstance(err, NotImplementedError) and err.min_kernel == "6.10"
    assert "needs Linux 6.10 or newer" in str(err)


def test_closed_error_is_value_error() -> None:
    assert issubclass(ClosedError, ValueError) and issubclass(ClosedError, BpfError)
