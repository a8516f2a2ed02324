"""The HTTP plumbing: the threaded server and the request handler that reads bodies (also
chunked), routes the control API, and writes each response in a single send."""

from __future__ import annotations

import socket
import sys
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from ghcache.fakehub import control
from ghcache.fakehub.accounting import Dropped, RequestAccounting
from ghcache.fakehub.http_parsing import compact, http_date, parse_target
from ghcache.fakehub.response_headers import Outgoing
from ghcache.fakehub.rest import DOCS
from ghcache.fakehub.state import HubState

MAX_BODY = 10 * 1024 * 1024


class FakeHubServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], state: HubState) -> None:
        self.state = state
        super().__init__(address, Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return  # clients may vanish mid-request; that is not our failure
        super().handle_error(request, client_address)


class Handler(RequestAccounting, BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections are closed after this
    disable_nagle_algorithm = True
    request_id = ""
    server: FakeHubServer

    def version_string(self) -> str:
        return "github.com"

    def date_time_string(self, timestamp: float | None = None) -> str:
        return http_date(self.server.state.now() if timestamp is None else timestamp)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request log is hub.requests

    def do_GET(self) -> None:
        self.dispatch()

    do_HEAD = do_POST = do_PATCH = do_PUT = do_DELETE = do_GET

    # -- plumbing ----------------------------------------------------------------
    def read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size_line = self.rfile.readline(1024)
                try:
                    size = int(size_line.split(b";")[0].strip(), 16)
                except ValueError:
                    return None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            n = int(length)
        except ValueError:
            return None
        if n < 0 or n > MAX_BODY:
            return None
        data = self.rfile.read(n)
        if len(data) < n:
            raise ConnectionResetError("client went away mid-body")
        return data

    def send(self, out: Outgoing, *, head_only: bool = False) -> None:
        # Status line, headers and body go out in one write: separate small writes would
        # cost a delayed-ACK round trip per response.
        reason = self.responses.get(out.status, ("",))[0]
        lines = [f"{self.protocol_version} {out.status} {reason}"]
        lines.append(f"Server: {self.version_string()}")
        lines.append(f"Date: {self.date_time_string()}")
        lines += [f"{name}: {value}" for name, value in out.headers]
        if out.status != 304:
            lines.append(f"Content-Length: {len(out.body)}")
        if self.close_connection:
            lines.append("Connection: close")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if out.body and not head_only and out.status != 304:
            data += out.body
        self.log_request(out.status)
        self.wfile.write(data)

    def drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def dispatch(self) -> None:
        state = self.server.state
        try:
            target = parse_target(self.path, self.headers.get("Host"), self.server.server_port)
            body = self.read_body()
        except (ConnectionError, TimeoutError):
            self.close_connection = True
            return
        except ValueError:  # unparsable request target
            body = None
        if body is None:
            self.close_connection = True
            message = {"message": "Bad request", "documentation_url": DOCS}
            json_type = [("Content-Type", "application/json; charset=utf-8")]
            self.send(Outgoing(400, json_type, compact(message)))
            return
        try:
            if target.path == "/_fakehub" or target.path.startswith("/_fakehub/"):
                status, obj = control.handle(state, self.command, target.path, body, target.query)
                headers = [("Content-Type", "application/json; charset=utf-8")]
                self.send(Outgoing(status, headers, compact(obj)))
                return
            out = self.answer(state, target, body)
        except Dropped:
            self.drop()
            return
        except (ConnectionError, TimeoutError):
            self.close_connection = True
            return
        except Exception:  # a bug in the fake must be loud, but must not kill the server
            traceback.print_exc()
            out = Outgoing(
                500,
                [("Content-Type", "application/json; charset=utf-8")],
                compact({"message": "fakehub internal error", "documentation_url": DOCS}),
            )
        self.send(out, head_only=self.command == "HEAD")
