"""The daemon's side of the control socket ``<cache dir>/daemon.sock`` (the local CLI's).

Wire format in :mod:`ghcache.p2p.ipc`; the blocking client is
:class:`ghcache.p2p.client.DaemonClient`.  Operations:

- ``status``: the daemon's status (peers, counters...).
- ``lookup`` (``key``, ``newer_than``, ``timeout_ms``): ``found`` is true when the
  daemon's store now holds a fresh copy stored after ``newer_than``; the entry
  itself is not sent back, the CLI reads it from the store.
- ``announce`` (``key``): queue the stored entry for publishing.
"""

from __future__ import annotations

import contextlib
import logging
import os
import socket
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import trio

from ghcache.p2p.ipc import PREFIX_SIZE, FrameError, decode_payload, encode_message, frame_length

if TYPE_CHECKING:
    # What mypy sees of trio here comes from trio-typing's stubs (a libp2p dependency).
    from trio_typing import TaskStatus

log = logging.getLogger("ghcache.p2p")

DEFAULT_LOOKUP_TIMEOUT_MS = 300
LISTEN_BACKLOG = 4096  # bursts of fire-and-forget announcements from the CLI


class Lookup(Protocol):
    def __call__(self, key: str, *, newer_than: float, timeout: float) -> Awaitable[bool]: ...


class ControlServer:
    def __init__(
        self,
        path: Path,
        *,
        status: Callable[[], dict[str, Any]],
        lookup: Lookup,
        announce: Callable[[str], str | None],
    ) -> None:
        self.path = path
        self.status = status
        self.lookup = lookup
        self.announce = announce

    async def run(self, *, task_status: TaskStatus[None] = trio.TASK_STATUS_IGNORED) -> None:
        """Serve the socket until cancelled; started once it accepts connections."""
        listener = await self._listen()
        async with trio.open_nursery() as nursery:
            await nursery.start(trio.serve_listeners, self._serve, [listener])
            task_status.started()

    async def _listen(self) -> trio.SocketListener:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        previous = os.umask(0o177)  # the socket file is created 0600
        try:
            await sock.bind(str(self.path))
        finally:
            os.umask(previous)
        sock.listen(LISTEN_BACKLOG)
        return trio.SocketListener(sock)

    async def _serve(self, stream: trio.SocketStream) -> None:
        async with stream:
            buffer = bytearray()
            while True:
                try:
                    prefix = await _receive_exactly(stream, buffer, PREFIX_SIZE)
                    if prefix is None:
                        return
                    payload = await _receive_exactly(stream, buffer, frame_length(prefix))
                    if payload is None:
                        return
                    header, _ = decode_payload(payload)
                except (FrameError, trio.BrokenResourceError, trio.ClosedResourceError):
                    return
                try:
                    answer = await self._answer(header)
                except Exception as exc:  # one bad request must not take the daemon down
                    log.exception("control request %r failed", header.get("op"))
                    answer = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}
                try:
                    await stream.send_all(encode_message(answer))
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    return

    async def _answer(self, header: dict[str, Any]) -> dict[str, Any]:
        op = header.get("op")
        if op == "status":
            return self.status()
        if op == "lookup":
            key = header.get("key")
            timeout_ms = header.get("timeout_ms", DEFAULT_LOOKUP_TIMEOUT_MS)
            newer_than = header.get("newer_than", 0.0)
            if not isinstance(key, str) or not _is_number(timeout_ms) or not _is_number(newer_than):
                return {"ok": False, "error": "lookup needs key, newer_than and timeout_ms"}
            found = await self.lookup(
                key, newer_than=float(newer_than), timeout=float(timeout_ms) / 1000
            )
            return {"ok": True, "found": found}
        if op == "announce":
            key = header.get("key")
            if not isinstance(key, str):
                return {"ok": False, "error": "announce needs key"}
            reason = self.announce(key)
            return {"ok": True, "queued": reason is None, "reason": reason}
        return {"ok": False, "error": f"unknown op {op!r}"}


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


async def _receive_exactly(stream: trio.SocketStream, buffer: bytearray, size: int) -> bytes | None:
    while len(buffer) < size:
        chunk = await stream.receive_some(max(65536, size - len(buffer)))
        if not chunk:
            return None
        buffer += chunk
    data = bytes(buffer[:size])
    del buffer[:size]
    return data
