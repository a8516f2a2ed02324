"""A blocking client for the daemon's control socket (standard library only).

The CLI's plugin hooks, the ``daemon``/``peers`` commands, tests and the
validation suite all talk to the daemon through this.  Every call has a
deadline; a missing or silent daemon is a :class:`DaemonUnavailable`.
"""

from __future__ import annotations

import socket
import time
from pathlib import Path
from typing import Any

from ghcache.p2p.ipc import (
    PREFIX_SIZE,
    FrameError,
    decode_payload,
    encode_message,
    frame_length,
    socket_path,
)


class DaemonUnavailable(OSError):
    """No daemon answers on the control socket (not running, stuck, or gone)."""


class DaemonError(RuntimeError):
    """The daemon answered with an error."""


class DaemonClient:
    def __init__(self, cache_dir: Path, *, timeout: float = 2.0) -> None:
        self.cache_dir = Path(cache_dir)
        self.path = socket_path(self.cache_dir)
        self.timeout = timeout

    def is_present(self) -> bool:
        """Whether a daemon socket exists (cheap; it may still be stale)."""
        return self.path.exists()

    def request(
        self, header: dict[str, Any], body: bytes = b"", *, timeout: float | None = None
    ) -> tuple[dict[str, Any], bytes]:
        """Send one request and wait for its answer, all within ``timeout`` seconds."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(max(0.001, deadline - time.monotonic()))
            sock.connect(str(self.path))
            sock.sendall(encode_message(header, body))
            prefix = _receive_exactly(sock, PREFIX_SIZE, deadline)
            payload = _receive_exactly(sock, frame_length(prefix), deadline)
            answer, data = decode_payload(payload)
        except (OSError, FrameError) as exc:
            raise DaemonUnavailable(f"ghcache daemon not reachable at {self.path}: {exc}") from None
        finally:
            sock.close()
        if not answer.get("ok", False):
            raise DaemonError(str(answer.get("error", "daemon refused the request")))
        return answer, data

    def status(self) -> dict[str, Any]:
        answer, _ = self.request({"op": "status"})
        return answer

    def lookup(self, key: str, *, newer_than: float, timeout: float) -> bool:
        """Whether the daemon's store now holds a fresh copy of ``key`` stored after
        ``newer_than`` (it had one, or fetched, verified and stored one from a peer).

        The daemon spends at most ``timeout`` asking peers; we allow a little
        more for the socket round trip.  The entry itself is read from the store.
        """
        answer, _ = self.request(
            {
                "op": "lookup",
                "key": key,
                "newer_than": newer_than,
                "timeout_ms": int(timeout * 1000),
            },
            timeout=timeout + 0.05,
        )
        return bool(answer.get("found"))

    def announce(self, key: str, *, timeout: float) -> bool:
        """Ask the daemon to publish the stored entry ``key``; True when queued."""
        answer, _ = self.request({"op": "announce", "key": key}, timeout=timeout)
        return bool(answer.get("queued"))

    def send_announce(self, key: str, *, timeout: float) -> None:
        """Fire and forget: hand the request to the socket and leave.

        The kernel keeps what was sent after we close, so the daemon still reads
        it; the CLI does not wait for a busy daemon before it exits.
        """
        deadline = time.monotonic() + timeout
        while True:
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.settimeout(max(0.001, deadline - time.monotonic()))
                sock.connect(str(self.path))
                sock.sendall(encode_message({"op": "announce", "key": key}))
                return
            except BlockingIOError:
                # The daemon's accept backlog is full (a burst of stores): retry shortly.
                if time.monotonic() >= deadline:
                    raise DaemonUnavailable(f"ghcache daemon at {self.path} is busy") from None
                time.sleep(0.002)
            except OSError as exc:
                raise DaemonUnavailable(
                    f"ghcache daemon not reachable at {self.path}: {exc}"
                ) from None
            finally:
                sock.close()


def _receive_exactly(sock: socket.socket, size: int, deadline: float) -> bytes:
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out")
        sock.settimeout(left)
        chunk = sock.recv(min(remaining, 1024 * 1024))
        if not chunk:
            raise ConnectionError("daemon closed the connection")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)
