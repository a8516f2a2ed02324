"""A throwaway ghcache team on 127.0.0.1: a simulated GitHub and daemons, one cache dir each.

Used by ``verify --local`` and the tests.  Every process it starts is stopped
by :meth:`LocalNetwork.close` (SIGTERM, then SIGKILL), which the context
manager calls even on Ctrl-C or a failed check.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from ghcache.fakehub import FakeHub

DAEMON_START_TIMEOUT = 30.0
COMMAND_TIMEOUT = 60.0
STOP_TIMEOUT = 5.0
# Variables of the calling environment that would point the team elsewhere.
_INHERITED_PREFIXES = ("CACHE_", "GH_", "GITHUB_")
_PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


class NetworkError(RuntimeError):
    """A process of the local network could not be started; the message is one line."""


def clean_env(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment without ghcache/gh settings, tokens or proxies (PATH, HOME kept)."""
    source = os.environ if base is None else base
    return {
        k: v
        for k, v in source.items()
        if not k.startswith(_INHERITED_PREFIXES) and k not in _PROXY_VARS
    }


def ghcache_command() -> list[str]:
    """The ``ghcache`` console script of this interpreter's environment (else ``-m``)."""
    script = Path(sys.executable).parent / "ghcache"
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "ghcache.cli.entry"]


def wait_for(check: Any, timeout: float, what: str, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise NetworkError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def short_temp_dir() -> str:
    """A new temporary directory whose path leaves room for the daemon's Unix socket
    (~100 bytes at most); a long TMPDIR (macOS) falls back to /tmp."""
    base = tempfile.gettempdir()
    if len(base) > 40 and os.path.isdir("/tmp"):
        base = "/tmp"
    return tempfile.mkdtemp(prefix="ghcv-", dir=base)


class Peer:
    """One ghcache machine: a cache dir, a daemon process, and `ghcache` calls using them."""

    def __init__(self, name: str, cache_dir: Path, env: dict[str, str]) -> None:
        self.name = name
        self.cache_dir = cache_dir
        self.env = {**env, "CACHE_DIR": str(cache_dir)}
        self.log_path = cache_dir.parent / f"{name}-daemon.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.info: dict[str, Any] = {}

    # -- the daemon -----------------------------------------------------------
    def start_daemon(self) -> None:
        with open(self.log_path, "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "ghcache.p2p.daemon"],
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                start_new_session=True,  # Ctrl-C reaches us; we stop it in order
            )

    def wait_ready(self, timeout: float = DAEMON_START_TIMEOUT) -> dict[str, Any]:
        self.info = wait_for(self._ready, timeout, f"the daemon of {self.name}")
        return self.info

    def _ready(self) -> dict[str, Any] | None:
        if self.process is None:
            raise NetworkError(f"the daemon of {self.name} was not started")
        if self.process.poll() is not None:
            raise NetworkError(
                f"the daemon of {self.name} exited with {self.process.returncode}: "
                f"{self.log_tail(1)}"
            )
        status = self.status(timeout=0.5)
        return status if status and status.get("pid") == self.process.pid else None

    def status(self, timeout: float = 2.0) -> dict[str, Any] | None:
        from ghcache.p2p.client import DaemonClient, DaemonError, DaemonUnavailable

        try:
            return DaemonClient(self.cache_dir, timeout=timeout).status()
        except (DaemonUnavailable, DaemonError):
            return None

    def counters(self) -> dict[str, int]:
        status = self.status() or {}
        return dict(status.get("counters", {}))

    def refused(self) -> dict[str, int]:
        status = self.status() or {}
        return dict(status.get("refused", {}))

    @property
    def address(self) -> str:
        """The daemon's first listen multiaddr, ending in /p2p/<peer id>."""
        return str(self.info["addrs"][0])

    @property
    def peer_id(self) -> str:
        return str(self.info["peer_id"])

    def team_peers(self) -> set[str]:
        return set((self.status() or {}).get("topic_peers", []))

    def connected(self) -> dict[str, bool]:
        """Connected peer ids -> whether each is in our team (same secret)."""
        peers = (self.status() or {}).get("peers", [])
        return {str(p["peer_id"]): bool(p.get("topic")) for p in peers}

    def stop_daemon(self) -> None:
        self.signal_stop()
        self.wait_stopped()

    def signal_stop(self) -> None:
        """Ask the daemon to stop (SIGTERM: it saves its counters and removes its socket)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)

    def wait_stopped(self) -> None:
        """Wait for the daemon to exit; kill it if it takes longer than STOP_TIMEOUT."""
        if self.process is None:
            return
        try:
            self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_TIMEOUT)

    def log_tail(self, lines: int = 5) -> str:
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()
        except OSError:
            return ""
        return " | ".join(text[-lines:])

    # -- the CLI ---------------------------------------------------------------
    def ghcache(
        self, *args: str, env: Mapping[str, str] | None = None, timeout: float = COMMAND_TIMEOUT
    ) -> subprocess.CompletedProcess[str]:
        """Run the real ``ghcache`` console script with this peer's environment."""
        command = [*ghcache_command(), *args]
        process = subprocess.Popen(
            command,
            env={**self.env, **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except BaseException:
            # subprocess.run() stops waiting 0.25 s into a KeyboardInterrupt (our
            # SIGTERM): reap the child fully, so nothing of it still writes into
            # the work directory while the cleanup removes it.
            process.kill()
            process.wait()
            raise
        return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)

    def stats(self) -> dict[str, int]:
        from ghcache.core.stats import Stats

        return Stats(self.cache_dir).read()


class LocalNetwork:
    """A simulated GitHub plus any number of peers in one directory (removed unless ``keep``).

    ``workdir`` must be a new directory (created when the first peer is added);
    by default a fresh one under the system's temporary directory.
    """

    def __init__(self, workdir: Path | None = None, *, keep: bool = False) -> None:
        self.keep = keep
        self.root = Path(workdir) if workdir is not None else Path(short_temp_dir())
        self.hub: FakeHub | None = None
        self.peers: dict[str, Peer] = {}

    def __enter__(self) -> LocalNetwork:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def start_hub(self) -> FakeHub:
        self.hub = FakeHub().start()
        return self.hub

    def base_env(self, secret: str, token: str = "ghp_alice") -> dict[str, str]:
        env = clean_env()
        env.update(
            CACHE_SHARED_SECRET=secret,
            CACHE_LISTEN_ADDR="127.0.0.1",
            CACHE_LISTEN_PORT="0",
            CACHE_ENABLE_MDNS="false",
            CACHE_ENABLE_P2P="true",
            # Generous: a loaded CI runner must not turn a peer hit into an upstream call.
            CACHE_PEER_TIMEOUT_MS="3000",
            CACHE_LOG_LEVEL="INFO",
            GH_TOKEN=token,
            GH_CONFIG_DIR=str(self.root / "gh-config"),
            GH_PROMPT_DISABLED="1",
            NO_PROXY="127.0.0.1,localhost",
            no_proxy="127.0.0.1,localhost",
            NO_COLOR="1",
        )
        if self.hub is not None:
            env["GITHUB_API_URL"] = self.hub.url
        return env

    def add_peer(
        self, name: str, secret: str, *, bootstrap: Sequence[Peer] = (), **extra: str
    ) -> Peer:
        """A peer whose cache dir is created 0700 now; its daemon is not started yet."""
        from ghcache.core.store import ensure_cache_dir

        cache_dir = ensure_cache_dir(self.root / name)
        env = self.base_env(secret)
        env["CACHE_BOOTSTRAP_PEERS"] = ",".join(p.address for p in bootstrap)
        env.update(extra)
        peer = Peer(name, cache_dir, env)
        self.peers[name] = peer
        return peer

    def close(self) -> None:
        # Signal every daemon first, then wait: they shut down in parallel.
        for peer in self.peers.values():
            with contextlib.suppress(Exception):
                peer.signal_stop()
        for peer in self.peers.values():
            with contextlib.suppress(Exception):
                peer.wait_stopped()
        if self.hub is not None:
            with contextlib.suppress(Exception):
                self.hub.stop()
        # An interrupt that lands inside subprocess.Popen() leaves its child running with
        # nobody to reap it (Popen does not kill it); it would write into the directory
        # being removed.  Every process of ours carries a path below root in its environment.
        kill_processes_under(self.root)
        if not self.keep:
            shutil.rmtree(self.root, ignore_errors=True)


def kill_processes_under(root: Path) -> None:
    """SIGKILL every process whose environment names a path below ``root`` (Linux /proc;
    elsewhere nothing is done)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return
    needle = str(root).encode()
    for entry in proc.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes():
                os.kill(int(entry.name), signal.SIGKILL)
        except (OSError, ValueError):
            continue
