"""Shared fixtures: a real HTTP server on 127.0.0.1 that plays a tiny GitHub API."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ghcache.core.client import CachingClient
from ghcache.core.config import Settings
from ghcache.core.hosts import resolve_host


@dataclass
class FakeApi:
    """What the server answers and what it was asked."""

    url: str = ""
    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def body_for(self, path: str) -> bytes:
        return json.dumps({"path": path, "stars": 42}).encode()

    def etag_for(self, path: str) -> str:
        return f'"etag-{abs(hash(path)) % 10_000}"'

    def count(self, path: str | None = None) -> int:
        with self.lock:
            return sum(1 for _, p, _ in self.requests if path is None or p == path)


@pytest.fixture
def fake_api() -> Iterator[FakeApi]:
    api = FakeApi()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            with api.lock:
                api.requests.append(("GET", path, dict(self.headers.items())))
            etag = api.etag_for(path)
            sent = [tag.strip() for tag in self.headers.get("If-None-Match", "").split(",")]
            if etag in sent:
                self.send_response(304)
                self.send_header("ETag", etag)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            body = api.body_for(path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    api.url = f"http://127.0.0.1:{server.server_address[1]}/"
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield api
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


EnvFor = Callable[..., dict[str, str]]


@pytest.fixture
def env_for(fake_api: FakeApi) -> EnvFor:
    """``env_for(cache_dir, **extra)``: an environment pointing ghcache at the fake API."""

    def make(cache_dir: Path, **extra: str) -> dict[str, str]:
        return {
            "GITHUB_API_URL": fake_api.url,
            "CACHE_DIR": str(cache_dir),
            "GH_TOKEN": "t0k",
            "CACHE_ENABLE_P2P": "false",  # installed plugins (p2p) stay out unless a test asks
            **extra,
        }

    return make


@pytest.fixture
def make_client(env_for: EnvFor, tmp_path: Path) -> Iterator[Callable[..., CachingClient]]:
    """``make_client(**env)``: a real CachingClient on ``tmp_path / "cache"`` and the fake API."""
    made: list[CachingClient] = []

    def make(**extra: str) -> CachingClient:
        env = env_for(tmp_path / "cache", **extra)
        client = CachingClient(Settings.from_env(env), resolve_host(None, env), "t0k")
        made.append(client)
        return client

    yield make
    for client in made:
        client.close()
