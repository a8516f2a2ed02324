"""The forward proxy: what ``HTTPS_PROXY`` of ``ghcache run`` points at.

Each connection opens with one request, read with h11:

- ``CONNECT`` to the API host on 443: answered ``200``, then TLS is terminated here with a
  certificate of the local CA (:mod:`ghcache.proxy.ca`) and the decrypted stream is handed
  to the proxy's own HTTP server through its internal listener, a Unix socket whose
  requests the application knows to be for the API host.  So every request is served
  by the same application, cache and caching clients as the reverse proxy's.
- ``CONNECT`` to any other host: a byte pipe, never decrypted (``CACHE_PROXY_TUNNEL``
  may narrow which hosts; the others get ``403``).
- an absolute-form request (``GET http://api.github.localhost/...``, what a client sends
  through ``HTTP_PROXY``): handed to the internal listener as it arrived, and served as
  the reverse proxy's port serves it.

Anything else is refused in one line; h11 writes every answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import socket
import ssl
from collections.abc import Callable
from urllib.parse import urlsplit

import h11

log = logging.getLogger("ghcache.proxy")

# The request head at most (the same bound as the reverse proxy's).
MAX_HEAD_BYTES = 64 * 1024
CONNECT_TIMEOUT = 10.0  # seconds to reach a tunnelled host
HANDSHAKE_TIMEOUT = 10.0
READ_SIZE = 65536


class Refused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def authority(target: bytes) -> tuple[str, int]:
    """``host:port`` of a CONNECT request (RFC 9110 9.3.6: authority form, port required)."""
    try:
        parts = urlsplit("//" + target.decode("ascii"))
        host, port = parts.hostname, parts.port
    except (UnicodeDecodeError, ValueError):
        host, port = None, None
    if not host or port is None or parts.path or parts.query or parts.username:
        raise Refused(400, "CONNECT needs a host:port target")
    return host.lower(), port


class ForwardProxy:
    def __init__(
        self,
        *,
        intercepted: frozenset[tuple[str, int]],
        leaf_context: Callable[[str], ssl.SSLContext],
        internal_path: str,
        may_tunnel: Callable[[str], bool],
    ) -> None:
        self.intercepted = intercepted  # (host, port) answered from the cache
        self.leaf_context = leaf_context
        self.internal_path = internal_path
        self.may_tunnel = may_tunnel
        self._tasks: set[asyncio.Task[None]] = set()

    async def serve(self, listener: socket.socket) -> asyncio.Server:
        return await asyncio.start_server(self._track, sock=listener, limit=READ_SIZE)

    def close(self) -> None:
        """Cut every open connection (the server itself is closed by its owner)."""
        for task in list(self._tasks):
            task.cancel()

    async def _track(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        try:
            await self._handle(reader, writer)
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, TimeoutError):
            pass  # the client or the remote end went away: nothing to tell anyone
        except Exception as exc:  # one connection's bug must not take the proxy down
            log.error("forward proxy: internal error: %s", type(exc).__name__, exc_info=exc)
        finally:
            self._tasks.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
        seen = bytearray()  # what the client sent, replayed to the internal listener
        try:
            request = await _read_head(conn, reader, seen)
            if request is None:
                return
            if request.method == b"CONNECT":
                await self._connect(conn, request, reader, writer)
            elif request.target.startswith((b"http://", b"https://")):
                await self._absolute(bytes(seen), reader, writer)
            else:
                raise Refused(400, "this is a forward proxy: CONNECT or absolute-form requests")
        except h11.RemoteProtocolError as exc:
            await _refuse(conn, writer, exc.error_status_hint, "the request cannot be read")
        except Refused as exc:
            await _refuse(conn, writer, exc.status, str(exc))

    async def _connect(
        self,
        conn: h11.Connection,
        request: h11.Request,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        host, port = authority(request.target)
        if (host, port) in self.intercepted:
            await _established(conn, writer)
            early, _ = conn.trailing_data
            if early:
                # TLS bytes sent before our 200 are already read: TLS cannot start over them.
                return
            await asyncio.wait_for(
                writer.start_tls(self.leaf_context(host)), timeout=HANDSHAKE_TIMEOUT
            )
            inner_reader, inner_writer = await asyncio.open_unix_connection(
                self.internal_path, limit=READ_SIZE
            )
            log.debug("CONNECT %s:%d intercepted", host, port)
            await _pipe(reader, writer, inner_reader, inner_writer)
            return
        if not self.may_tunnel(host):
            raise Refused(403, f"CONNECT to {host} is not allowed (CACHE_PROXY_TUNNEL)")
        try:
            far_reader, far_writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, limit=READ_SIZE), timeout=CONNECT_TIMEOUT
            )
        except (OSError, TimeoutError) as exc:
            raise Refused(502, f"cannot reach {host}:{port}: {type(exc).__name__}") from None
        await _established(conn, writer)
        early, _ = conn.trailing_data
        if early:
            far_writer.write(early)
        log.debug("CONNECT %s:%d tunnelled", host, port)
        await _pipe(reader, writer, far_reader, far_writer)

    async def _absolute(
        self, seen: bytes, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        inner_reader, inner_writer = await asyncio.open_unix_connection(
            self.internal_path, limit=READ_SIZE
        )
        inner_writer.write(seen)
        await _pipe(reader, writer, inner_reader, inner_writer)


async def _read_head(
    conn: h11.Connection, reader: asyncio.StreamReader, seen: bytearray
) -> h11.Request | None:
    while True:
        event = conn.next_event()
        if isinstance(event, h11.Request):
            return event
        if event is h11.NEED_DATA:
            data = await reader.read(READ_SIZE)
            seen += data
            conn.receive_data(data)  # b"" says the client closed
            continue
        return None  # the client closed before a whole request


async def _established(conn: h11.Connection, writer: asyncio.StreamWriter) -> None:
    writer.write(
        conn.send(h11.Response(status_code=200, headers=[], reason=b"Connection Established"))
    )
    await writer.drain()


async def _refuse(
    conn: h11.Connection, writer: asyncio.StreamWriter, status: int, message: str
) -> None:
    if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
        return
    body = json.dumps({"message": f"ghcache proxy: {message}"}).encode()  # GitHub's shape
    headers = [
        ("Content-Type", "application/json; charset=utf-8"),
        ("Content-Length", str(len(body))),
        ("Connection", "close"),
        ("X-Ghcache", "error"),
    ]
    with contextlib.suppress(h11.LocalProtocolError):
        data = conn.send(h11.Response(status_code=status, headers=headers))
        data = (data or b"") + (conn.send(h11.Data(data=body)) or b"")
        data += conn.send(h11.EndOfMessage()) or b""
        writer.write(data)
        await writer.drain()


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(READ_SIZE):
            writer.write(data)
            await writer.drain()
        if writer.can_write_eof():
            writer.write_eof()  # half-close: the other way may still be talking
        else:
            writer.close()  # TLS has no half-close
    except (ConnectionError, ssl.SSLError, RuntimeError):
        writer.close()


async def _pipe(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    far_reader: asyncio.StreamReader,
    far_writer: asyncio.StreamWriter,
) -> None:
    """Bytes both ways until both sides are done (or one breaks)."""
    try:
        await asyncio.gather(_copy(reader, far_writer), _copy(far_reader, writer))
    finally:
        far_writer.close()
        with contextlib.suppress(Exception):
            await far_writer.wait_closed()
