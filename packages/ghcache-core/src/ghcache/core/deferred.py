"""Work a long-lived process holds back: done within a second, at exit, and before it matters.

``GitHubAPICache.get`` would otherwise pay, per call, a locked read-modify-write of
``stats.json`` (``Stats.add_soon``) and a ``utime`` plus an ``fstat`` to record the use for
LRU eviction (``VerifiedReads``).  Each owner keeps what it holds back and registers the
function that carries it out; this module runs every registered function within
``FLUSH_EVERY`` seconds of its registration (a daemon timer), at interpreter exit, and at
the end of a ``multiprocessing`` child (which ends with ``os._exit``, skipping ``atexit``).
A forked child starts with nothing due: what its parent held back is the parent's to do.
A process killed by a signal loses at most its last second of held-back work.
"""

from __future__ import annotations

import atexit
import os
import sys
import threading
from collections.abc import Callable

__all__ = ["FLUSH_EVERY", "due", "run"]

FLUSH_EVERY = 1.0


class _Deferred:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._due: dict[object, Callable[[], None]] = {}
        self._timer: threading.Timer | None = None
        self._exit_hooks_pid = 0
        os.register_at_fork(after_in_child=self._forget)

    def due(self, owner: object, work: Callable[[], None]) -> None:
        with self._lock:
            self._due.setdefault(owner, work)
            if self._timer is None:
                self._timer = threading.Timer(FLUSH_EVERY, self.run)
                self._timer.daemon = True
                self._timer.start()
            if self._exit_hooks_pid != os.getpid():
                self._register_exit_hooks()

    def run(self, owner: object | None = None) -> None:
        with self._lock:
            if owner is None:
                taken, self._due = list(self._due.values()), {}
                if self._timer is not None:
                    self._timer.cancel()
                    self._timer = None
            else:
                work = self._due.pop(owner, None)
                taken = [] if work is None else [work]
        for work in taken:
            work()

    def _register_exit_hooks(self) -> None:
        self._exit_hooks_pid = os.getpid()
        atexit.register(self.run)
        if "multiprocessing" in sys.modules:
            from multiprocessing import util

            util.Finalize(None, self.run, exitpriority=0)

    def _forget(self) -> None:
        # The lock may have been held by a thread that does not exist in the child.
        self._lock = threading.Lock()
        self._due = {}
        self._timer = None


_deferred = _Deferred()


def due(owner: object, work: Callable[[], None]) -> None:
    """Have ``work`` run within ``FLUSH_EVERY`` seconds and at exit (once per ``owner``)."""
    _deferred.due(owner, work)


def run(owner: object | None = None) -> None:
    """Run now what is due (``owner``'s, or everything)."""
    _deferred.run(owner)
