"""Helpers for the p2p tests: real daemons as subprocesses on 127.0.0.1, one cache dir each."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ghcache.core.cid import cid_for_bytes
from ghcache.core.config import Settings
from ghcache.core.entry import Entry
from ghcache.core.store import DiskStore
from ghcache.p2p import plugin
from ghcache.p2p.client import DaemonClient, DaemonError, DaemonUnavailable

SECRET = "team-secret-for-tests-0123456789"
START_TIMEOUT = 30.0
# The default CACHE_PEER_TIMEOUT_MS (300) is for people; tests run next to other
# heavy jobs on 2 cores, where a fetch can take longer.
LOOKUP_TIMEOUT_MS = 5000


def base_env(secret: str = SECRET, **extra: str) -> dict[str, str]:
    """The test process's environment minus anything that could leak in (tokens, CACHE_*)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("CACHE_") and k not in ("GH_TOKEN", "GITHUB_TOKEN")
    }
    env.update(
        CACHE_SHARED_SECRET=secret,
        CACHE_LISTEN_ADDR="127.0.0.1",
        CACHE_LISTEN_PORT="0",
        CACHE_ENABLE_MDNS="false",
        CACHE_LOG_LEVEL="INFO",
    )
    env.update(extra)
    return env


def wait_until(check: Callable[[], Any], timeout: float = 15.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


class Daemon:
    """One ``python -m ghcache.p2p.daemon`` process."""

    def __init__(self, cache_dir: Path, env: dict[str, str]) -> None:
        self.cache_dir = cache_dir
        self.env = env
        self.process: subprocess.Popen[bytes] | None = None
        self.client = DaemonClient(cache_dir, timeout=5.0)
        self.info: dict[str, Any] = {}
        self.cli_settings = self.settings_for_cli(LOOKUP_TIMEOUT_MS)

    def settings_for_cli(self, timeout_ms: int) -> Settings:
        """Core's settings as the CLI on this daemon's machine reads them."""
        cli_env = {**self.env, "CACHE_DIR": str(self.cache_dir)}
        return Settings.from_env({**cli_env, "CACHE_PEER_TIMEOUT_MS": str(timeout_ms)})

    def start(self) -> Daemon:
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.cache_dir / "test-daemon.log", "ab")  # noqa: SIM115 (kept by Popen)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ghcache.p2p.daemon"],
            env={**self.env, "CACHE_DIR": str(self.cache_dir)},
            stdout=log,
            stderr=log,
        )
        log.close()
        self.info = wait_until(self._ready, START_TIMEOUT, f"daemon in {self.cache_dir}")
        return self

    def _ready(self) -> dict[str, Any] | None:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"daemon exited {self.process.returncode}: {self.log()}")
        try:
            status = DaemonClient(self.cache_dir, timeout=0.5).status()
        except (DaemonUnavailable, DaemonError):
            return None
        return status if status.get("pid") == self.process.pid else None

    @property
    def peer_id(self) -> str:
        return str(self.info["peer_id"])

    @property
    def addr(self) -> str:
        return str(self.info["addrs"][0])

    def status(self) -> dict[str, Any]:
        return self.client.status()

    def counters(self) -> dict[str, int]:
        return dict(self.status()["counters"])

    def refused(self) -> dict[str, int]:
        return dict(self.status()["refused"])

    def topic_peers(self) -> set[str]:
        return set(self.status()["topic_peers"])

    def wait_topic_peers(self, *others: Daemon, timeout: float = 15.0) -> None:
        wanted = {o.peer_id for o in others}
        wait_until(
            lambda: wanted <= self.topic_peers(), timeout, f"{self.cache_dir.name} to see peers"
        )

    def store(self) -> DiskStore:
        return DiskStore(self.cache_dir)

    def has(self, key: str) -> bool:
        return self.store().path_for(key).exists()

    def put(self, entry: Entry) -> None:
        """What the core client does after fetching a shared entry from upstream."""
        self.store().write(entry)
        plugin.entry_stored(entry=entry, settings=self.cli_settings)

    def lookup(self, key: str, timeout_ms: int = LOOKUP_TIMEOUT_MS) -> Entry | None:
        """What the core client does (with a timeout fit for a busy CI box): a fresh copy
        here is a local hit (e.g. pushed meanwhile); on a miss or an expired copy it asks
        for a copy newer than the one held, then reads the store."""
        held = self.store().read(key)
        if held is not None and held.is_fresh(time.time()):
            return held
        newer_than = held.stored_at if held is not None else 0.0
        settings = (
            self.cli_settings
            if timeout_ms == LOOKUP_TIMEOUT_MS
            else self.settings_for_cli(timeout_ms)
        )
        if not plugin.lookup_entry(key=key, settings=settings, newer_than=newer_than):
            return None
        return self.store().read(key)

    def log(self) -> str:
        try:
            return (self.cache_dir / "test-daemon.log").read_text()[-3000:]
        except OSError:
            return ""

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


class Network:
    """Starts daemons for one test module and stops them all at the end."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.daemons: list[Daemon] = []

    def start(
        self, name: str, *, bootstrap: list[Daemon] = (), secret: str = SECRET, **env: str
    ) -> Daemon:
        peers = ",".join(d.addr for d in bootstrap)
        daemon = Daemon(self.root / name, base_env(secret, CACHE_BOOTSTRAP_PEERS=peers, **env))
        self.daemons.append(daemon)
        return daemon.start()

    def close(self) -> None:
        for daemon in self.daemons:
            daemon.stop()


_counter = iter(range(1_000_000_000))


def make_entry(
    tag: str = "",
    *,
    scope: str = "shared",
    body: bytes | None = None,
    stored_at: float | None = None,
) -> Entry:
    """A shared entry with a unique key (a CID, as every cache key), as the core client
    would store it."""
    number = next(_counter)
    key = cid_for_bytes(f"test-{os.getpid()}-{tag}-{number}-{time.time_ns()}".encode())
    return Entry(
        key=key,
        scope=scope,
        method="GET",
        url=f"https://api.github.com/repos/octo/hello/issues/{number}",
        stored_at=time.time() if stored_at is None else stored_at,
        ttl=300,
        status=200,
        headers=[("Content-Type", "application/json; charset=utf-8"), ("ETag", f'"{number}"')],
        body=body if body is not None else b'{"number": %d, "title": "hello"}' % number,
    )
