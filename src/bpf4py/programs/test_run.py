"""``test_run``: run a loaded program on input you supply (``BPF_PROG_TEST_RUN``)."""

from __future__ import annotations

from typing import NamedTuple

from .._native import bpf as _bpf
from .base import Program

_DEFAULT_HEADROOM = 512
_run_packet = _bpf.test_run_packet


class TestRunOptions(NamedTuple):
    """Input of one ``test_run``.

    ``data_in`` is the packet; ``data_out_size`` the room for the packet after the program ran
    (default: ``len(data_in) + 512``); ``ctx_in`` the context struct (``struct __sk_buff`` for
    socket filters) and ``ctx_out_size`` the room for it; ``repeat`` runs it that many times
    and reports the average duration.  Immutable (a named tuple: ``opts._replace(repeat=10)``).
    """

    data_in: bytes | None = None
    data_out_size: int | None = None
    ctx_in: bytes | None = None
    ctx_out_size: int = 0
    repeat: int = 1
    flags: int = 0
    cpu: int = 0
    batch_size: int = 0


class TestRunResult(NamedTuple):
    """What the program returned, how long one run took (average over ``repeat``), and the
    packet and context after it ran."""

    return_value: int
    duration_ns: int
    data_out: bytes | None
    ctx_out: bytes | None

    @property
    def duration(self) -> float:
        """Average duration of one run, in seconds."""
        return self.duration_ns / 1e9


#: ``_new_tuple(TestRunResult, fields)``: a named tuple's own __new__ costs 3x more.
_new_tuple = tuple.__new__

for _named in (TestRunOptions, TestRunResult):
    setattr(_named, "__test__", False)  # not pytest test classes


class TestRun(Program):
    """Mixin for program types whose kernel supports ``BPF_PROG_TEST_RUN``."""

    def test_run(
        self,
        options: TestRunOptions | None = None,
        /,
        *,
        data_in: bytes | None = None,
        data_out_size: int | None = None,
        ctx_in: bytes | None = None,
        ctx_out_size: int = 0,
        repeat: int = 1,
        flags: int = 0,
        cpu: int = 0,
        batch_size: int = 0,
    ) -> TestRunResult:
        """Run the program once (or ``repeat`` times) on the given input: a
        :class:`TestRunOptions`, or its fields as keyword arguments.  A bytes packet with
        ``data_out_size=0`` and nothing else (the usual call in a loop) takes the shortest
        native call.

        Example::

            result = prog.test_run(data_in=packet)
            assert result.return_value == 0
            result = prog.test_run(TestRunOptions(data_in=packet, repeat=100))
        """
        if data_out_size == 0 and type(data_in) is bytes and ctx_in is None and repeat == 1 \
                and options is None and not (ctx_out_size or flags or cpu or batch_size):
            owned = self._fd  # not self.fd: two property calls on the hot path
            packed = _run_packet(-1 if owned is None else owned._fd, data_in, len(data_in))
            if not packed:
                self._owned().fd  # noqa: B018 - the -1 above: raises NotLoadedError/ClosedError
                _bpf.check_test_run(self._what)
            return _new_tuple(TestRunResult, (packed & 0xFFFFFFFF, packed >> 32, None, None))
        if options is not None:
            if not isinstance(options, TestRunOptions):
                raise TypeError(f"test_run of {self.what}: the one positional argument is a "
                                f"TestRunOptions, got {type(options).__name__} (a packet is "
                                "data_in=...)")
            given = (data_in, data_out_size, ctx_in, ctx_out_size, repeat, flags, cpu,
                     batch_size)
            if given != tuple(TestRunOptions._field_defaults.values()):
                raise TypeError(f"test_run of {self.what}: pass a TestRunOptions or keyword "
                                "arguments, not both")
            (data_in, data_out_size, ctx_in, ctx_out_size, repeat, flags, cpu,
             batch_size) = options
        try:
            if data_out_size is None:
                data_out_size = len(data_in) + _DEFAULT_HEADROOM if data_in is not None else 0
            if repeat < 0 or data_out_size < 0 or ctx_out_size < 0:
                name, value = next((n, v) for n, v in (("repeat", repeat),
                                                       ("data_out_size", data_out_size),
                                                       ("ctx_out_size", ctx_out_size)) if v < 0)
                raise ValueError(f"test_run of {self.what}: {name} must be >= 0, got {value}")
            return _new_tuple(TestRunResult, _bpf.prog_test_run(
                self.fd, self.what, data_in, data_out_size, ctx_in, ctx_out_size, repeat, flags,
                cpu, batch_size,
            ))
        except (TypeError, BufferError) as exc:
            raise TypeError(f"test_run of {self.what}: data_in and ctx_in take bytes or another "
                            f"contiguous buffer, every other option an int ({exc})") from None
        except OverflowError as exc:  # from cffi: repeat is an int, the sizes and flags __u32
            raise OverflowError(f"test_run of {self.what}: an option out of range: repeat must "
                                "be 0 .. 2**31-1; the sizes, flags, cpu and batch_size "
                                f"0 .. 2**32-1 ({exc})") from None
