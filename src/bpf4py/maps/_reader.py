"""RecordReader: the reading side shared by maps that eBPF programs stream records through
(``RingBuf``, ``PerfEventArray``): the list, callback, iteration and asyncio forms, typed
records, Ctrl-C while waiting, and no loss between reads."""

from __future__ import annotations

import math
import select
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, TypeVar, overload

from .._native.batch import MAX_BATCH, BatchReader
from ..errors import ClosedError, MapError
from . import numpy_export
from .base import Map
from .codec import Codec, make_codec, natural_size

R = TypeVar("R", bound="RecordReader")

#: Records taken from the kernel per C call when they need not end up in one list (the
#: callback form, iteration): small batches stay in the CPU cache and reuse Python's memory.
BATCH = 4096

#: A wait is cut into slices this long (seconds).  After each slice the reader looks for
#: records whether or not it was woken -- records written without a wake-up (below a perf
#: buffer's wake-up threshold, ``BPF_RB_NO_WAKEUP``) arrive within one slice -- and a signal
#: (Ctrl-C) that another thread received still reaches the main thread's handler promptly.
WAIT_SLICE = 0.1


def check_timeout(timeout: float | None, what: str) -> None:
    """Raise unless ``timeout`` is None (no limit) or a number of seconds >= 0: a negative
    one is refused, not read as "no limit", and NaN would never end a wait."""
    if timeout is None:
        return
    if isinstance(timeout, bool) or not isinstance(timeout, (int, float)):
        raise TypeError(f"{what}: timeout must be a number of seconds or None, got "
                        f"{type(timeout).__name__}")
    if not timeout >= 0:  # also NaN
        raise ValueError(f"{what}: timeout must be >= 0 or None, got {timeout}")


class RecordReader(Map):
    """Reads the records eBPF programs send through a map, in order, without loss.

    Records are ``bytes`` unless :meth:`typed` names their type.  Reading:

    * :meth:`poll` waits (``timeout`` seconds; None: until records come) and returns every
      record available, or calls ``callback`` once per record;
    * :meth:`consume` does the same without waiting; iterating (``for r in m``) yields the
      records available now, one at a time;
    * :meth:`poll_array` takes a batch as one numpy array of the record type's dtype;
    * ``await m.read()`` and ``async for record in m`` wait without blocking the event loop;
    * :meth:`fileno` is readable (``select``, ``epoll``) when records are waiting.

    Batches are collected in C and handed over as one list, so the Python cost is about one
    object per record.  No record is lost between calls: records taken from the kernel but not
    yet handed over (a callback raised, an iteration stopped early, decoding failed) are
    handed over first by the next call.  Read from one thread (or task) at a time; closing
    from another thread is safe.  Once closed (by :meth:`close`, or by closing the
    :class:`~bpf4py.Ebpf` the map came from) every read raises :class:`ClosedError`,
    including one under way: a callback that closes the map is called for no further record.

    A subclass says where records come from (:meth:`_open_reader`) and which descriptor
    becomes readable when they wait (:meth:`_wait_fd`).

    Minimum kernel version: that of the subclass.

    Example (with a subclass)::

        events = ebpf.map("EVENTS", RingBuf).typed(Event)
        for event in events.poll(timeout=1.0):
            print(event.pid)
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reader: BatchReader | None = None
        self._pending: deque[bytes] = deque()
        self._record: Codec | None = None
        self._decode: Callable[[bytes], Any] | None = None
        # The records being handed to a callback; close() empties it, which ends the hand-over
        # with no per-record check.
        self._handing: list[Any] = []

    # A stream has no keys: its one type is the records', hence the narrower signature.
    def typed(self: R, record: object = None) -> R:  # type: ignore[override]
        """Decode records as ``record``; returns ``self``.

        ``record``: a ctypes type, a :mod:`struct` format string, a numpy dtype, a
        :class:`~bpf4py.btf.BtfType` (or a class generated from one), the name of a type in
        the object's BTF (``"struct event"``), ``int`` (the whole record as one integer) or
        ``bytes`` (the default).  A record longer than the type is decoded from its first
        bytes; a shorter one raises :class:`MapError` and stays in the reader for the next
        call.

        Example: ``events = ebpf.map("EVENTS", RingBuf).typed("struct event")``.
        """
        self._record = self._decode = None
        if record is not None and record is not bytes:
            kind = self._named_type(record)
            codec = make_codec(kind, natural_size(kind), "record", self.what)
            self._record, self._decode = codec, _first_bytes_decoder(codec)
        return self

    # --- reading ---------------------------------------------------------------------------

    @overload
    def poll(self, timeout: float | None = None, *, max_records: int | None = None) -> list[Any]:
        ...

    @overload
    def poll(self, timeout: float | None = None, *, callback: Callable[[Any], object],
             max_records: int | None = None) -> int:
        ...

    def poll(
        self,
        timeout: float | None = None,
        *,
        callback: Callable[[Any], object] | None = None,
        max_records: int | None = None,
    ) -> list[Any] | int:
        """Wait up to ``timeout`` seconds (None: without limit, 0: not at all) until records are
        available, then take every available record, oldest first (at most ``max_records``).

        Returns the records as one list (``[]`` when the timeout passed with none).  With
        ``callback``, calls ``callback(record)`` for each record instead, taking them from the
        kernel :data:`BATCH` at a time until none is left, and returns how many it was called
        for; if ``callback`` raises, the records after the one it raised on are kept for the
        next call.  If the map is closed meanwhile (by ``callback`` itself, or from another
        thread), ``callback`` is called for no further record and ClosedError is raised, as
        by any read of a closed map; the records not handed over are dropped.  Ctrl-C while
        waiting raises KeyboardInterrupt within ~0.1 s.

        For a steady stream, ``consume(max_records=BATCH)`` in a loop (or ``callback``) keeps
        each batch small, which is faster than one huge list.

        Example::

            seen = []
            n = events.poll(0.5, callback=seen.append)
        """
        return self._read(timeout, callback, max_records)

    @overload
    def consume(self, *, max_records: int | None = None) -> list[Any]:
        ...

    @overload
    def consume(self, *, callback: Callable[[Any], object],
                max_records: int | None = None) -> int:
        ...

    def consume(
        self,
        *,
        callback: Callable[[Any], object] | None = None,
        max_records: int | None = None,
    ) -> list[Any] | int:
        """Take the records available now, without waiting: ``poll(0, ...)`` (with
        ``callback``, as :meth:`poll` calls it, closing included).

        Example::

            while batch := events.consume(max_records=4096):
                handle(batch)
        """
        return self._read(0, callback, max_records)

    def poll_array(self, timeout: float | None = 0, *, max_records: int | None = None) -> Any:
        """The records available as one numpy array of the record type's dtype (a structured
        array for a struct), after waiting up to ``timeout`` seconds as :meth:`poll` does (by
        default not at all).  Needs :meth:`typed` with a fixed-size type, and numpy.

        The records are copied once, from the batch taken in C into the array.

        Example::

            events = ebpf.map("EVENTS", RingBuf).typed("struct event")
            batch = events.poll_array(1.0, max_records=65536)
            print(len(batch), batch["len"].sum())
        """
        codec = self._record
        if codec is None or not codec.size:
            raise MapError(f"reading {self.what} as an array: give typed() a record type of a "
                           "fixed size first")
        raw = self._take_or_wait(timeout, self._limit(max_records))
        try:
            if raw and min(map(len, raw)) < codec.size:
                raise self._short_record_error(raw)
            return numpy_export.records_to_numpy(raw, codec, self.what)
        except BaseException:
            self._pending.extendleft(reversed(raw))
            raise

    def __iter__(self) -> Iterator[Any]:
        """Yield the records available now, one at a time; ends when none is left.

        Stopping early loses nothing: records not yet yielded stay for the next read.
        """
        pending = self._pending
        while True:
            if not pending:
                pending.extend(self._drain(BATCH))
                if not pending:
                    return
            record = self._decode_one(pending[0])
            pending.popleft()
            yield record

    async def read(self, *, max_records: int | None = None) -> list[Any]:
        """Wait, without blocking the event loop, until records are available; return them
        (at most ``max_records``).

        Example::

            records = await asyncio.wait_for(events.read(), timeout=1.0)
        """
        limit = self._limit(max_records)
        while True:
            raw = self._take(limit)
            if raw:
                return self._decoded(raw)
            await self._readable()

    async def __aiter__(self) -> AsyncIterator[Any]:
        """``async for record in m``: records one at a time, waiting for more when none is
        left (without blocking the event loop); never ends by itself.

        Example::

            async for event in events:
                print(event)
        """
        pending = self._pending
        while True:
            if not pending:
                pending.extend(self._drain(BATCH))
                if not pending:
                    await self._readable()
                    continue
            record = self._decode_one(pending[0])
            pending.popleft()
            yield record

    def close(self) -> None:
        """Release the reader (unmap the buffers) and close the map's descriptor; idempotent.
        Records not yet read are dropped, those being handed to a callback included."""
        super().close()  # first: a read racing with this from another thread sees ClosedError
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.close()
        self._pending.clear()
        self._handing.clear()

    # --- what a subclass provides ----------------------------------------------------------------

    def _open_reader(self) -> BatchReader:
        """The C reader, made at the first read (or raise why there is none)."""
        raise NotImplementedError

    def _wait_fd(self) -> int:
        """The descriptor that becomes readable when records are waiting."""
        raise NotImplementedError

    # --- internals ---------------------------------------------------------------------------

    def _drain(self, limit: int) -> list[bytes]:
        reader = self._reader
        if reader is None:
            reader = self._reader = self._open_reader()
        return reader.drain(limit)

    def _limit(self, max_records: int | None) -> int:
        if max_records is None:
            return MAX_BATCH
        if 1 <= max_records <= MAX_BATCH:
            return max_records
        raise ValueError(f"reading {self.what}: max_records must be 1 .. {MAX_BATCH}, got "
                         f"{max_records}")

    def _read(self, timeout: float | None, callback: Callable[[Any], object] | None,
              max_records: int | None) -> list[Any] | int:
        limit = self._limit(max_records)
        if callback is not None and not callable(callback):  # before any record is taken
            raise TypeError(f"reading {self.what}: callback must be callable, got "
                            f"{type(callback).__name__}")
        want = limit if callback is None else min(limit, BATCH)
        raw = self._take_or_wait(timeout, want)
        if callback is None:
            return self._decoded(raw)
        done = 0
        while raw:
            self._call_each(raw, callback)
            done += len(raw)
            if len(raw) < want or done == limit:  # none left, or enough
                break
            want = min(limit - done, BATCH)
            raw = self._take(want)
        return done

    def _take_or_wait(self, timeout: float | None, limit: int) -> list[bytes]:
        check_timeout(timeout, f"reading {self.what}")
        raw = self._take(limit)
        if not raw and timeout != 0:
            raw = self._wait_and_take(timeout, limit)
        return raw

    def _take(self, limit: int) -> list[bytes]:
        """Pending records first, then fresh ones, ``limit`` at most; no waiting."""
        pending = self._pending
        if not pending:
            taken = self._drain(limit)
        else:
            taken = [pending.popleft() for _ in range(min(limit, len(pending)))]
            if len(taken) < limit:
                try:
                    taken += self._drain(limit - len(taken))
                except BaseException:
                    pending.extendleft(reversed(taken))
                    raise
        if len(taken) > limit:  # an interrupted drain's batch came back whole: the rest waits
            pending.extend(taken[limit:])  # (pending is empty whenever the kernel is read)
            del taken[limit:]
        return taken

    def _wait_and_take(self, timeout: float | None, limit: int) -> list[bytes]:
        poller = select.poll()
        poller.register(self._wait_fd(), select.POLLIN)
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            wait = WAIT_SLICE
            if deadline is not None:
                wait = max(0.0, min(wait, deadline - time.monotonic()))
            # select.poll retries EINTR after running Python's signal handlers, so Ctrl-C
            # raises KeyboardInterrupt here at once; the slice bounds the delay when another
            # thread took the signal.
            poller.poll(math.ceil(wait * 1000))
            raw = self._take(limit)  # woken or not: records may wait below a wake-up threshold
            if raw or (deadline is not None and time.monotonic() >= deadline):
                return raw

    async def _readable(self) -> None:
        """Return when the wait descriptor is readable, or after one wait slice."""
        import asyncio  # here: importing asyncio costs ~15 ms, most programs never need it

        loop = asyncio.get_running_loop()
        ready: asyncio.Future[None] = loop.create_future()
        fd = self._wait_fd()

        def wake() -> None:
            if not ready.done():
                ready.set_result(None)

        loop.add_reader(fd, wake)
        timer = loop.call_later(WAIT_SLICE, wake)
        try:
            await ready
        finally:
            timer.cancel()
            loop.remove_reader(fd)

    def _call_each(self, raw: list[bytes], callback: Callable[[Any], object]) -> None:
        records = self._handing = self._decoded(raw)
        remaining = iter(records)  # ends early if close() empties the list
        try:
            for record in remaining:
                callback(record)
        except BaseException:
            left = sum(1 for _ in remaining)
            if left:  # not handed over yet: first in line for the next read
                self._pending.extendleft(reversed(raw[-left:]))
            raise
        finally:
            self._handing = []
        if self.closed:
            raise ClosedError(f"reading {self.what}: closed while its records were handed to "
                              "the callback")

    def _decoded(self, raw: list[bytes]) -> list[Any]:
        decode = self._decode
        if decode is None or not raw:
            return raw
        try:
            return [decode(r) for r in raw]
        except BaseException as exc:  # a record too short, or Ctrl-C: none is lost
            self._pending.extendleft(reversed(raw))
            if isinstance(exc, ValueError):
                raise self._short_record_error(raw) from None
            raise

    def _decode_one(self, data: bytes) -> Any:
        if self._decode is None:
            return data
        try:
            return self._decode(data)
        except ValueError:
            raise self._short_record_error([data]) from None

    def _short_record_error(self, raw: list[bytes]) -> MapError:
        assert self._record is not None
        shortest = min(len(r) for r in raw)
        return MapError(f"decoding records of {self.what}: a record of {shortest} bytes is "
                        f"shorter than {self._record.size} bytes, the size of the record type "
                        "given to typed()")


def _first_bytes_decoder(codec: Codec) -> Callable[[bytes], Any]:
    """``codec.decode`` of a record's first ``codec.size`` bytes (ValueError when it is
    shorter); a codec of size 0 (``int``) decodes the whole record."""
    size, decode = codec.size, codec.decode
    if not size:
        return decode

    def first_bytes(record: bytes) -> Any:
        if len(record) != size:
            if len(record) < size:
                raise ValueError(len(record))
            record = record[:size]
        return decode(record)

    return first_bytes
