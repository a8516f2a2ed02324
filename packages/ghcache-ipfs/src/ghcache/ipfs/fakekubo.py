"""A simulated Kubo RPC server for tests, benchmarks and demos (standard library only).

It follows Kubo's documented HTTP RPC (https://docs.ipfs.tech/reference/kubo/rpc/)
for exactly the calls ghcache makes, and nothing else (404 as Kubo answers an
unknown command): ``POST /api/v0/`` ``id``, ``version``, ``block/put`` (multipart,
``cid-codec``, ``mhtype``, ``pin``, the 1 MiB limit), ``block/get`` (``offline``),
``pin/add`` (``name``), ``pin/rm``, ``pin/ls`` (``type``, ``names``), ``files/write``
(multipart, ``create``, ``parents``, ``truncate``), ``files/read``, ``files/ls``,
``files/mkdir``, ``files/rm``.  Errors are Kubo's: HTTP 500 with
``{"Message", "Code": 0, "Type": "error"}``; other methods than POST get 405.
CIDs are computed here with hashlib and base32 (not with ghcache's code), and the
blocks, pins and MFS files persist in a directory, so a restarted node still
holds yesterday's entries.  It never opens a connection itself: no swarm, no DHT.

``python -m ghcache.ipfs.fakekubo DIR [--port N]`` prints its API multiaddr and serves
until Ctrl-C.  Tests steer faults in process: ``kubo.inject("slow", seconds=2)``,
``"trickle"``, ``"garbage"``, ``"error"``; ``kubo.calls`` logs each command.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import os
import socket
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ghcache.ipfs.fakekubo_state import COMMANDS, KuboState, RpcError, raw_cid

__all__ = ["FakeKubo", "raw_cid"]


@dataclass
class Fault:
    mode: str  # slow, trickle, garbage, error
    seconds: float = 0.0
    commands: tuple[str, ...] = ()  # empty: every command


class Handler(BaseHTTPRequestHandler):
    server: FakeKuboServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in two writes: without this, Nagle and delayed ACKs add
        # ~40 ms to every answer on loopback (Go's net/http, which Kubo uses, sets it too).
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._plain(405, b"405 - Method Not Allowed\n")

    do_PUT = do_DELETE = do_GET

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if not url.path.startswith("/api/v0/"):
            self._plain(404, b"404 page not found\n")
            return
        command = url.path[len("/api/v0/") :].rstrip("/")
        args = parse_qs(url.query, keep_blank_values=True)
        kubo = self.server.kubo
        kubo.calls.append((command, {k: v[-1] for k, v in args.items()}))
        method = COMMANDS.get(command)
        if method is None:
            self._plain(404, b"404 page not found\n")
            return
        fault = kubo.fault_for(command)
        if fault is not None and fault.mode == "slow":
            time.sleep(fault.seconds)
        if fault is not None and fault.mode == "error":
            self._error(RpcError("injected fault"))
            return
        try:
            with kubo.state.lock:
                answer = method(kubo.state, args, _file_part(self.headers, body))
        except RpcError as exc:
            self._error(exc)
            return
        if fault is not None and fault.mode == "garbage":
            answer = os.urandom(64)  # neither the block asked for nor JSON
        if isinstance(answer, bytes):
            self._send(200, "text/plain", answer, fault)
        else:
            data = json.dumps(answer).encode() + b"\n"
            self._send(200, "application/json", data, fault)

    def _error(self, exc: RpcError) -> None:
        data = json.dumps({"Message": str(exc), "Code": exc.code, "Type": "error"}).encode()
        self._send(exc.status, "application/json", data + b"\n", None)

    def _plain(self, status: int, data: bytes) -> None:
        self._send(status, "text/plain; charset=utf-8", data, None)

    def _send(self, status: int, kind: str, data: bytes, fault: Fault | None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if fault is not None and fault.mode == "trickle":
            for index in range(len(data)):
                self.wfile.write(data[index : index + 1])
                self.wfile.flush()
                time.sleep(fault.seconds)
            return
        self.wfile.write(data)


def _file_part(headers: Any, body: bytes) -> bytes | None:
    kind = headers.get("Content-Type", "")
    if not kind.startswith("multipart/form-data"):
        return None
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + kind.encode("latin-1") + b"\r\n\r\n" + body
    )
    for part in message.iter_parts():
        payload = part.get_payload(decode=True)
        return payload if isinstance(payload, bytes) else b""
    return None


class FakeKuboServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], kubo: FakeKubo) -> None:
        self.kubo = kubo
        super().__init__(address, Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that gave up
            super().handle_error(request, client_address)


class FakeKubo:
    """``with FakeKubo(directory) as kubo:`` a node on 127.0.0.1 (a free port)."""

    def __init__(self, directory: Path | str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = KuboState(Path(directory))
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.faults: list[Fault] = []
        self._address = (host, port)
        self._server: FakeKuboServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeKubo:
        self._server = FakeKuboServer(self._address, self)
        self._address = self._server.server_address[:2]  # type: ignore[assignment]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeKubo:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self._address[0]}:{self._address[1]}"

    @property
    def multiaddr(self) -> str:
        return f"/ip4/{self._address[0]}/tcp/{self._address[1]}"

    def inject(self, mode: str, *, seconds: float = 0.0, commands: tuple[str, ...] = ()) -> None:
        self.faults.append(Fault(mode, seconds, commands))

    def clear_faults(self) -> None:
        self.faults.clear()

    def fault_for(self, command: str) -> Fault | None:
        for fault in self.faults:
            if not fault.commands or command in fault.commands:
                return fault
        return None

    def commands(self) -> list[str]:
        return [command for command, _ in self.calls]

    def pins(self) -> dict[str, str]:
        with self.state.lock:
            return self.state.pins()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0].startswith("-"):
        print("usage: python -m ghcache.ipfs.fakekubo DIR [--port N]", file=sys.stderr)
        return 2
    port = int(args[args.index("--port") + 1]) if "--port" in args else 0
    with FakeKubo(args[0], port=port) as kubo:
        print(kubo.multiaddr, flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
