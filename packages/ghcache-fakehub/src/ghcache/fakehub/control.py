"""Steering a hub from another process: the /_fakehub/... HTTP endpoints, a small client for
them, and FakeHubProcess (a hub started as `python -m ghcache.fakehub`).

Endpoints (JSON in, JSON out; not logged, not rate limited, no auth):
  GET    /_fakehub/health   {"ok": true, "tokens": {token: login}}
  GET    /_fakehub/log      {"requests": [RequestRecord...]}
  GET    /_fakehub/counts   {"total", "counted": {token|"": n}, "by_path": {path: n}}
                            (?path_prefix=/repos adds "matching")
  GET    /_fakehub/faults   {"faults": [...]}
  POST   /_fakehub/faults   body = FakeHub.inject keyword arguments -> {"id": n|null}
  DELETE /_fakehub/faults   clear faults
  POST   /_fakehub/reset    {"data": true} (default) also restores the seeded data
  POST   /_fakehub/clear_log
  POST   /_fakehub/tokens   {"token", "login", "limit"?}
  POST   /_fakehub/limits   {"exhaust": token|null, "resource"?} or {"reset": token|null}
  POST   /_fakehub/time     {"advance": seconds} or {"set": epoch}
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from types import TracebackType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode

from ghcache.fakehub.faults import FaultError

if TYPE_CHECKING:
    from ghcache.fakehub.state import HubState

JSON = dict[str, Any]


def handle(
    state: HubState, method: str, path: str, body: bytes, query: str = ""
) -> tuple[int, Any]:
    try:
        payload = json.loads(body) if body.strip() else {}
    except ValueError:
        return 400, {"error": "request body is not JSON"}
    if not isinstance(payload, dict):
        return 400, {"error": "request body must be a JSON object"}
    name = path.removeprefix("/_fakehub").strip("/") or "health"
    try:
        return _route(state, method, name, payload, dict(parse_qsl(query)))
    except (FaultError, ValueError, TypeError) as exc:
        return 400, {"error": str(exc)}


def _route(
    state: HubState, method: str, name: str, payload: JSON, params: dict[str, str]
) -> tuple[int, Any]:
    if (method, name) == ("GET", "health"):
        with state.lock:
            return 200, {"ok": True, "tokens": dict(state.tokens)}
    if (method, name) == ("GET", "log"):
        return 200, {"requests": [r.as_json() for r in state.requests]}
    if (method, name) == ("GET", "counts"):
        records = state.requests
        counted: dict[str, int] = {}
        by_path: dict[str, int] = {}
        for r in records:
            by_path[r.path] = by_path.get(r.path, 0) + 1
            if r.counted:
                counted[r.token or ""] = counted.get(r.token or "", 0) + 1
        out: JSON = {"total": len(records), "counted": counted, "by_path": by_path}
        if "path_prefix" in params:
            out["matching"] = state.upstream_count(params["path_prefix"])
        return 200, out
    if (method, name) == ("GET", "faults"):
        return 200, {"faults": [f.as_json() for f in state.active_faults()]}
    if (method, name) == ("POST", "faults"):
        return 200, {"id": state.inject(**payload)}
    if (method, name) == ("DELETE", "faults"):
        state.reset_faults()
        return 200, {"ok": True}
    if (method, name) == ("POST", "reset"):
        state.reset(data=bool(payload.get("data", True)))
        return 200, {"ok": True}
    if (method, name) == ("POST", "clear_log"):
        state.clear_log()
        return 200, {"ok": True}
    if (method, name) == ("POST", "tokens"):
        state.add_token(
            str(payload["token"]), str(payload["login"]), int(payload.get("limit", 5000))
        )
        return 200, {"ok": True}
    if (method, name) == ("POST", "limits"):
        if "exhaust" in payload:
            state.exhaust(payload["exhaust"], str(payload.get("resource", "core")))
        elif "reset" in payload:
            state.reset_limits(payload["reset"])
        else:
            raise ValueError('limits needs "exhaust" or "reset"')
        return 200, {"ok": True}
    if (method, name) == ("POST", "time"):
        if "advance" in payload:
            state.advance_time(float(payload["advance"]))
        elif "set" in payload:
            state.set_time(float(payload["set"]))
        else:
            raise ValueError('time needs "advance" or "set"')
        return 200, {"ok": True, "now": state.now()}
    return 404, {"error": f"no control endpoint {method} /_fakehub/{name}"}


class ControlClient:
    """Drives a hub in another process over its /_fakehub endpoints (stdlib only)."""

    def __init__(self, url: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/") + "/_fakehub/"
        self.timeout = timeout
        # The hub is local: never route control calls through an HTTP_PROXY from the env.
        self._opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))

    def call(
        self, method: str, name: str, payload: JSON | None = None, params: JSON | None = None
    ) -> Any:
        url = self.url + name + (f"?{urlencode(params)}" if params else "")
        data = json.dumps(payload).encode() if payload is not None else None
        request = urllib.request.Request(url, data=data, method=method)
        request.add_header("Content-Type", "application/json")
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = json.loads(exc.read() or b"{}").get("error", exc.reason)
            raise ValueError(f"fakehub control {method} {name}: {detail}") from None

    def health(self) -> JSON:
        return dict(self.call("GET", "health"))

    def log(self) -> list[JSON]:
        return list(self.call("GET", "log")["requests"])

    def counts(self, path_prefix: str | None = None) -> JSON:
        params = {"path_prefix": path_prefix} if path_prefix is not None else {}
        return dict(self.call("GET", "counts", params=params))

    def inject(self, **fault: Any) -> int | None:
        result = self.call("POST", "faults", fault)["id"]
        return int(result) if result is not None else None

    def reset_faults(self) -> None:
        self.call("DELETE", "faults")

    def reset(self, *, data: bool = True) -> None:
        self.call("POST", "reset", {"data": data})

    def clear_log(self) -> None:
        self.call("POST", "clear_log", {})

    def add_token(self, token: str, login: str, limit: int = 5000) -> None:
        self.call("POST", "tokens", {"token": token, "login": login, "limit": limit})

    def exhaust(self, token: str | None, resource: str = "core") -> None:
        self.call("POST", "limits", {"exhaust": token, "resource": resource})

    def reset_limits(self, token: str | None = None) -> None:
        self.call("POST", "limits", {"reset": token})

    def advance_time(self, seconds: float) -> None:
        self.call("POST", "time", {"advance": seconds})


class FakeHubProcess:
    """A hub in a child process; the child prints its port as the first stdout line."""

    def __init__(self, process: subprocess.Popen[str], port: int) -> None:
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}/"
        self.proxy_url = f"http://127.0.0.1:{port}"
        self.control = ControlClient(self.url)

    @classmethod
    def start(cls, port: int = 0, *, timeout: float = 15.0) -> FakeHubProcess:
        process = subprocess.Popen(
            [sys.executable, "-m", "ghcache.fakehub", "--port", str(port)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        deadline = time.monotonic() + timeout
        line = process.stdout.readline()  # blocks until the child has bound its socket
        if not line.strip().isdigit() or time.monotonic() > deadline:
            process.kill()
            process.wait()
            raise RuntimeError(f"fakehub subprocess did not report a port (got {line!r})")
        return cls(process, int(line))

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()

    def __enter__(self) -> FakeHubProcess:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
