"""Helpers of the proxy's tests: a real proxy process in front of the simulated GitHub,
the real ``ghcache`` command beside it, and entries made older on disk.

Loaded by file (the tests run with ``--import-mode=importlib``) as ``ghcache_proxy_helpers``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import httpx
import pytest

from ghcache.core.entry import Entry
from ghcache.core.store import DiskStore
from ghcache.fakehub import FakeHub

BIN = Path(sys.executable).parent
# Variables of the developer's shell that would change what ghcache, gh or httpx do.
LEAKY_ENV = (
    "GH_HOST",
    "GH_TOKEN",
    "GITHUB_TOKEN",
    "GH_ENTERPRISE_TOKEN",
    "GITHUB_ENTERPRISE_TOKEN",
    "GH_REPO",
    "GITHUB_API_URL",
    "GITHUB_GRAPHQL_URL",
    "GHCACHE_NO_FASTPATH",
    "GHCACHE_DEBUG",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
)
ALICE = {"Authorization": "token ghp_alice"}
BOB = {"Authorization": "token ghp_bob"}


def clean_env(cache_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in LEAKY_ENV and not k.startswith("CACHE_")}
    env["CACHE_DIR"] = str(cache_dir)
    env["CACHE_ENABLE_P2P"] = "false"
    env["GH_CONFIG_DIR"] = str(cache_dir.parent / "gh-config")
    env.update(extra)
    return env


def console_script(name: str) -> str:
    path = BIN / name
    found = str(path) if path.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"console script {name!r} is not installed beside {sys.executable}")
    return found


@dataclass
class ProxyProcess:
    process: subprocess.Popen[bytes]
    cache_dir: Path
    env: dict[str, str]  # the proxy's: ghcache api with the same variables shares its cache
    url: str
    log_path: Path

    @classmethod
    def start(cls, cache_dir: Path, hub: FakeHub, **extra: str) -> ProxyProcess:
        settings = {
            "GITHUB_API_URL": hub.url,
            "CACHE_PROXY_PORT": "0",
            "CACHE_LOG_LEVEL": "DEBUG",
            **extra,
        }
        env = clean_env(cache_dir, **settings)
        log_path = cache_dir.parent / "proxy.stderr"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "ghcache.proxy", "run"],
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                state = json.loads((cache_dir / "proxy.json").read_text())
            except (OSError, ValueError):
                state = {}
            if state.get("pid") == process.pid:
                return cls(process, cache_dir, env, state["url"], log_path)
            if process.poll() is not None:
                break
            time.sleep(0.02)
        process.kill()
        pytest.fail(f"the proxy did not start: {log_path.read_text()}")

    def stop(self) -> int:
        self.process.terminate()
        return self.process.wait(timeout=15)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None


def run_ghcache(
    args: list[str], env: Mapping[str, str], token: str | None = None
) -> subprocess.CompletedProcess[bytes]:
    """The real ``ghcache`` console script, with ``token`` as GH_TOKEN."""
    full = dict(env)
    if token is not None:
        full["GH_TOKEN"] = token
    return subprocess.run(
        [console_script("ghcache"), *args],
        env=full,
        capture_output=True,
        timeout=60,
        check=False,
    )


def stored(cache_dir: Path, url: str) -> list[Entry]:
    return [entry for entry in DiskStore(cache_dir).entries() if entry.url == url]


def age_entries(cache_dir: Path, url: str, seconds: float) -> int:
    """Make the stored answers for ``url`` as old as if fetched ``seconds`` earlier."""
    store = DiskStore(cache_dir)
    entries = stored(cache_dir, url)
    for entry in entries:
        store.write(
            entry.replace(
                stored_at=entry.stored_at - seconds,
                access={who: when - seconds for who, when in entry.access.items()},
            )
        )
    return len(entries)


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> str | None:
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return ", ".join(values) if values else None

    def json(self) -> Any:
        return json.loads(self.body)


class Get(Protocol):
    """A request to the proxy by path (the ``get`` fixture of test_http.py)."""

    def __call__(
        self,
        path: str,
        headers: dict[str, str],
        *,
        method: str = "GET",
        data: bytes | None = None,
    ) -> Reply: ...


CURL = shutil.which("curl")


def curl(
    url: str,
    *,
    method: str = "GET",
    headers: Mapping[str, str] | None = None,
    data: bytes | None = None,
    workdir: Path,
) -> Reply:
    """One request with the real curl (with its own defaults, ``Accept: */*`` among them),
    or with httpx where curl is not installed."""
    if CURL is None:
        with httpx.Client(trust_env=False, timeout=30) as client:
            answer = client.request(method, url, headers=dict(headers or {}), content=data)
            return Reply(answer.status_code, list(answer.headers.items()), answer.content)
    head, body = workdir / "curl.head", workdir / "curl.body"
    for path in (head, body):  # curl leaves a file alone when there is no body (a 304)
        path.unlink(missing_ok=True)
    args = [CURL, "-sS", "--noproxy", "*", "-X", method, "-D", str(head), "-o", str(body)]
    for name, value in (headers or {}).items():
        args += ["-H", f"{name}: {value}"]
    if data is not None:
        args += ["--data-binary", "@-"]
    subprocess.run([*args, url], input=data, check=True, timeout=30, capture_output=True)
    lines = head.read_bytes().decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    fields = [line.split(":", 1) for line in lines[1:] if ":" in line]
    content = body.read_bytes() if body.exists() else b""
    return Reply(status, [(k.strip(), v.strip()) for k, v in fields], content)
