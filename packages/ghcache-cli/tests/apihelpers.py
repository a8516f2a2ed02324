"""Shared helpers for the ``ghcache api`` tests (imported by path: tests run with importlib mode).

* ``run`` starts a real process and captures bytes;
* ``ghcache_api`` / ``gh_api`` build the command lines (the installed ``ghcache``
  console script when present, else ``python -c`` on the click command);
* ``hub_env`` is the environment that sends both real ``gh`` and ``ghcache`` to a
  fakehub through the HTTP proxy route (``GH_HOST=github.localhost``);
* ``StubHub`` is a tiny recording server with canned answers for shapes fakehub
  does not produce (string ``errors``, 500 text, 204, floats, Link pages), used
  the same way through ``HTTP_PROXY``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

GH = shutil.which("gh")
GHCACHE_SCRIPT = Path(sys.executable).with_name("ghcache")
API_SNIPPET = (
    "from ghcache.cli.api.command import api_command; api_command(prog_name='ghcache api')"
)

# Headers whose values change between two identical requests (time, counters, ids).
VOLATILE_HEADERS = re.compile(
    rb"^(Date|X-Github-Request-Id|X-Ratelimit-[A-Za-z-]+|Server): [^\r\n]*", re.MULTILINE
)


@dataclass
class Result:
    code: int
    out: bytes
    err: bytes

    @property
    def err_text(self) -> str:
        return self.err.decode("utf-8", errors="replace")

    def describe(self) -> str:
        return f"exit {self.code}\nstdout: {self.out[:600]!r}\nstderr: {self.err[:600]!r}"


def ghcache_api(*args: str) -> list[str]:
    if GHCACHE_SCRIPT.exists():
        return [str(GHCACHE_SCRIPT), "api", *args]
    return [sys.executable, "-c", API_SNIPPET, *args]


def gh_api(*args: str) -> list[str]:
    assert GH is not None
    return [GH, "api", *args]


def run(
    cmd: list[str],
    env: Mapping[str, str],
    *,
    stdin: bytes | None = None,
    cwd: str | Path | None = None,
    timeout: float = 60,
) -> Result:
    done = subprocess.run(
        cmd,
        input=stdin if stdin is not None else b"",
        capture_output=True,
        env=dict(env),
        cwd=cwd,
        timeout=timeout,
        check=False,
    )
    return Result(done.returncode, done.stdout, done.stderr)


def clean_env(tmp: Path) -> dict[str, str]:
    """The parent's environment minus anything that changes gh/ghcache behaviour."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("GH_", "GITHUB_", "CACHE_", "GHCACHE_"))
        and key.lower() not in ("http_proxy", "https_proxy", "no_proxy", "all_proxy")
        and key not in ("NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "PAGER")
    }
    config = tmp / "gh-config"
    config.mkdir(exist_ok=True)
    env.update(
        {
            "GH_CONFIG_DIR": str(config),
            "CACHE_DIR": str(tmp / "cache"),
            "CACHE_ENABLE_P2P": "0",
            "NO_COLOR": "1",
            "GH_PROMPT_DISABLED": "1",
            "GH_NO_UPDATE_NOTIFIER": "1",
            "GH_PAGER": "",
            "PAGER": "",
            "HOME": str(tmp),
        }
    )
    return env


def hub_env(proxy_url: str, tmp: Path, token: str = "ghp_alice") -> dict[str, str]:
    env = clean_env(tmp)
    env.update(
        {
            "GH_HOST": "github.localhost",
            "HTTP_PROXY": proxy_url,
            "http_proxy": proxy_url,
            "GH_TOKEN": token,
        }
    )
    return env


def mask_volatile(data: bytes) -> bytes:
    """``--include`` output with time/counter header values blanked."""
    return VOLATILE_HEADERS.sub(lambda m: m.group(0).split(b":")[0] + b": *", data)


def same_stderr(gh: bytes, ours: bytes) -> bool:
    """stderr equal once the program name is the same."""
    return gh.replace(b"gh: ", b"ghcache: ") == ours


# --------------------------------------------------------------------------- stub server


@dataclass
class Recorded:
    method: str
    target: str  # path and query as the client asked (after the proxy host)
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


FLOATS = (
    b'{"a":1.5,"b":3.14159,"c":10,"d":1e3,"e":null,"f":true,"s":"<a&b>",'
    b'"u":"\\u00e9\\u2028","arr":[],"obj":{"z":1,"y":2},"big":12345678901234567890,'
    b'"neg":-0.0001,"when":"2023-05-06T07:08:09Z","tab":"a\\tb"}'
)
# JSON escapes of control characters, which gh rewrites before printing.
CONTROLS = (
    b'{"a":"x\\u0009y\\u000Az\\u007f\\u0080\\u009b\\u001B","raw":"\xc2\x9b",'
    b'"esc":"\\\\u001b","esc3":"\\\\\\u001b","k\\u001b":1,"e":"\\\\u00e9"}'
)


@dataclass
class Canned:
    status: int = 200
    body: bytes = b"{}"
    content_type: str = "application/json; charset=utf-8"
    headers: list[tuple[str, str]] = field(default_factory=list)


def canned(path: str, query: str, body: bytes) -> Canned:
    """The stub's answers, by path."""
    if path == "/floats":
        return Canned(body=FLOATS)
    if path == "/controls":
        return Canned(body=CONTROLS)
    if path == "/controls-text":
        return Canned(body=CONTROLS, content_type="text/plain")
    if path == "/big":
        return Canned(body=json.dumps([{"n": n, "pad": "x" * 40} for n in range(20000)]).encode())
    if path == "/loop":
        link = '<http://api.github.localhost/loop?page=2>; rel="next"'
        return Canned(body=b"[1]", headers=[("Link", link)])
    if path == "/notfound":
        return Canned(
            404, b'{"message":"Not Found","documentation_url":"https://docs.github.com/rest"}'
        )
    if path == "/unprocessable":
        return Canned(
            422,
            b'{"message":"Validation Failed","errors":[{"resource":"Issue","code":"missing_field",'
            b'"field":"title"}],"documentation_url":"x"}',
        )
    if path == "/errors-only":
        return Canned(422, b'{"errors":[{"message":"first problem"},"second problem"]}')
    if path == "/string-error":
        return Canned(400, b'{"message":"Bad","errors":"it is all wrong"}')
    if path == "/scopes":
        return Canned(
            404,
            b'{"message":"Not Found"}',
            headers=[
                ("X-Oauth-Scopes", "repo, read:org"),
                ("X-Accepted-Oauth-Scopes", "admin:org"),
            ],
        )
    if path == "/plain500":
        return Canned(500, b"oops", "text/plain")
    if path == "/text":
        return Canned(body=b"hello text", content_type="text/plain")
    if path == "/nocontent":
        return Canned(204, b"")
    if path == "/graphql":
        request = json.loads(body or b"{}")
        if "broken" in request.get("query", ""):
            return Canned(
                body=b'{"data":null,"errors":[{"message":"Field broken does not exist"},'
                b'{"message":"second"}]}'
            )
        cursor = (request.get("variables") or {}).get("endCursor")
        following = {None: "C1", "C1": "C2"}.get(cursor)
        answer: dict[str, Any] = {
            "data": {
                "viewer": {
                    "items": {
                        "nodes": [{"after": cursor}],
                        "pageInfo": {"hasNextPage": following is not None, "endCursor": following},
                    }
                }
            }
        }
        return Canned(body=json.dumps(answer).encode())
    if path == "/pages":
        page = 1
        for part in query.split("&"):
            if part.startswith("page="):
                page = int(part[5:])
        headers = []
        if page < 3:
            headers.append(
                (
                    "Link",
                    f'<http://api.github.localhost/pages?page={page + 1}&per_page=2>; rel="next", '
                    '<http://api.github.localhost/pages?page=3>; rel="last"',
                )
            )
        items = [{"n": page * 10 + 1}, {"n": page * 10 + 2}] if page < 3 else []
        return Canned(body=json.dumps(items).encode(), headers=headers)
    return Canned(body=json.dumps({"path": path, "query": query}).encode())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _StubServer

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            body = self._read_chunked()
        else:
            body = self.rfile.read(length) if length else b""
        target = self.path
        if "://" in target:
            target = "/" + target.split("://", 1)[1].split("/", 1)[-1]
        path, _, query = target.partition("?")
        headers = {name.lower(): value for name, value in self.headers.items()}
        self.server.log.append(Recorded(self.command, target, headers, body))
        answer = self.server.routes.get(path) or canned(path, query, body)
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("X-GitHub-Request-Id", "ABCD:1234")
        for name, value in answer.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(answer.body)

    def _read_chunked(self) -> bytes:
        data = b""
        while True:
            size = int(self.rfile.readline().strip() or b"0", 16)
            if size == 0:
                self.rfile.readline()
                return data
            data += self.rfile.read(size)
            self.rfile.readline()

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def version_string(self) -> str:
        return "stubhub"

    def date_time_string(self, timestamp: float | None = None) -> str:
        return "Tue, 01 Aug 2023 00:00:00 GMT"  # fixed, so outputs compare byte for byte


class _StubServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, routes: Mapping[str, Canned]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.log: list[Recorded] = []
        self.routes = routes

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client closing its kept-alive connection is not worth a traceback.
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class StubHub:
    """``with StubHub() as stub:`` -> ``stub.proxy_url``, ``stub.log``; ``routes`` adds
    answers by path (a test's own body) ahead of the shared ones."""

    def __init__(self, routes: Mapping[str, Canned] | None = None) -> None:
        self._server = _StubServer(routes or {})
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> StubHub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def proxy_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def log(self) -> list[Recorded]:
        return self._server.log
