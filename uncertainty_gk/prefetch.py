"""Run an iterator in a background thread, a bounded number of items ahead of its consumer.

The archive writer reads frames (text parsing: the pandas C tokenizer and float
conversion release Python's global lock) while it checks, encodes, hashes and
compresses the frames read before; with two cores both run at once.  At most
``depth`` items wait in the queue, plus the one the producer is building and the one
the consumer holds, so memory stays bounded by a few chunks whatever the run length.

An exception raised by the iterator is raised again, unchanged (same type, message
and traceback), by the consumer's ``next`` at the point where the item would have
come; items produced before it are delivered first.  Leaving the ``with`` block early
(an error in the consumer) stops the producer after its current item and closes the
iterator in its own thread, so files it opened are closed before the block exits.
Warnings the iterator emits are emitted from the producer thread (the warning
filters and ``catch_warnings`` records are process-wide, so they are seen as usual).

Usage::

    with Prefetch(reader.iter_chunks(), depth=2) as chunks:
        for chunk in chunks:
            ...
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["Prefetch"]

_DONE = object()


class Prefetch:
    """Iterate over ``iterable`` in a daemon thread, at most ``depth`` items ahead."""

    def __init__(self, iterable: Iterable, depth: int = 2, *, name: str = "ugk-read"):
        self._source = iterable
        self._queue: queue.Queue = queue.Queue(maxsize=max(1, int(depth)))
        self._stop = threading.Event()
        self._finished = False
        self._thread = threading.Thread(target=self._produce, name=name, daemon=True)
        self._thread.start()

    # ----------------------------------------------------------------- producer
    def _produce(self) -> None:
        it = iter(self._source)
        try:
            for item in it:
                if not self._put((True, item)):
                    return
            self._put((True, _DONE))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer, raised there
            self._put((False, exc))
        finally:
            close = getattr(it, "close", None)
            if close is not None:
                close()

    def _put(self, entry) -> bool:
        """Queue ``entry`` unless the consumer has gone; False if it has."""
        while not self._stop.is_set():
            try:
                self._queue.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    # ----------------------------------------------------------------- consumer
    def __iter__(self) -> Iterator:
        return self

    def __next__(self) -> Any:
        if self._finished:
            raise StopIteration
        ok, item = self._queue.get()
        if not ok:
            self._finished = True
            raise item
        if item is _DONE:
            self._finished = True
            self._thread.join()
            raise StopIteration
        return item

    def close(self) -> None:
        """Stop the producer (after its current item), close the iterator and wait for it."""
        self._stop.set()
        while self._thread.is_alive():
            try:                                   # unblock a producer waiting on a full queue
                self._queue.get(timeout=0.05)
            except queue.Empty:
                pass
        self._finished = True

    def __enter__(self) -> Prefetch:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
