"""Helpers for the ipfs tests: machines as cache dirs, client calls as real processes."""

from __future__ import annotations

import ast
import ipaddress
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ghcache.core.client import CachingClient
from ghcache.core.config import Settings
from ghcache.core.hosts import resolve_host

HERE = Path(__file__).parent
SECRET = "team-secret-for-ipfs-tests-0123456789"
OTHER_SECRET = "another-team-secret-for-ipfs-tests-987"
# Generous for 2 shared cores; the fault tests set their own.
TIMEOUT_MS = "3000"
YESTERDAY = 20 * 3600.0


@dataclass
class Machine:
    """One machine: a cache dir, an environment (secret, token, Kubo endpoint)."""

    cache_dir: Path
    env: dict[str, str]

    def settings(self) -> Settings:
        return Settings.from_env(self.env)

    def call_in_process(self, url: str, *, clock_offset: float = 0.0) -> Any:
        """A GET through core's caching client in this process, at ``now - clock_offset``."""
        token = self.env.get("GH_TOKEN")
        settings = self.settings()
        with CachingClient(
            settings,
            resolve_host(None, self.env),
            token,
            clock=lambda: time.time() - clock_offset,
        ) as client:
            return client.request("GET", url)

    def call(self, url: str, timeout: float = 60.0) -> dict[str, Any]:
        """The same GET in a process of its own, every connection it opens logged."""
        log = self.cache_dir.parent / f"{self.cache_dir.name}-connects.log"
        env = {
            **self.env,
            "PYTHONPATH": os.pathsep.join(
                [str(HERE / "netaudit"), *filter(None, [os.environ.get("PYTHONPATH")])]
            ),
            "GHCACHE_TEST_CONNECT_LOG": str(log),
        }
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, str(HERE / "client_call.py"), url],
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        assert done.stdout.strip(), done.stderr
        answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        answer["stderr"] = done.stderr
        answer["seconds"] = time.monotonic() - started
        answer["connects"] = connects(log)
        return answer


def machine(root: Path, name: str, *, secret: str | None = SECRET, **extra: str) -> Machine:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CACHE_", "GH_", "GITHUB_")) and k != "IPFS_PATH"
    }
    cache_dir = root / name
    env.update(
        CACHE_DIR=str(cache_dir),
        HOME=str(root / f"{name}-home"),  # no ~/.ipfs/api of the real user
        CACHE_ENABLE_P2P="false",
        CACHE_IPFS_TIMEOUT_MS=TIMEOUT_MS,
    )
    if secret is not None:
        env["CACHE_SHARED_SECRET"] = secret
    env.update(extra)
    return Machine(cache_dir, env)


def connects(log: Path) -> list[Any]:
    try:
        lines = log.read_text().splitlines()
    except OSError:
        return []
    return [ast.literal_eval(line) if line[:1] in "('\"" else line for line in lines]


def assert_loopback_only(addresses: list[Any]) -> None:
    """Every address a client process connected to is loopback (or a Unix socket path);
    an empty log would mean the audit hook never ran, so it fails too."""
    assert addresses, "no connection logged: the audit hook did not run"
    for address in addresses:
        if isinstance(address, str):
            continue  # AF_UNIX: a path on this machine
        host = address[0]
        assert ipaddress.ip_address(host).is_loopback, f"connected to {address!r}"
