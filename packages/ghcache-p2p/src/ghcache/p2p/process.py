"""The daemon as this process: configuration checks, one daemon per cache directory,
the pid file, signals and logging.  ``ghcache daemon run`` and ``python -m
ghcache.p2p.daemon`` both call :func:`main`.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import logging
import os
import signal
import socket
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

import trio

from ghcache.core.config import ConfigError
from ghcache.core.store import CacheDirError, ensure_cache_dir
from ghcache.crypto import Keyring
from ghcache.p2p.client import DaemonClient, DaemonError, DaemonUnavailable
from ghcache.p2p.daemon import Daemon
from ghcache.p2p.ipc import LOCK_NAME, pid_path, socket_path
from ghcache.p2p.settings import P2PSettings, check_bootstrap_peers

log = logging.getLogger("ghcache.p2p")

MAX_SOCKET_PATH = 100  # sun_path is 108 bytes on Linux, 104 on macOS


class StartupError(Exception):
    """Why the daemon cannot start, in one line; ``status`` is the exit status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def main() -> int:
    """Run the daemon in the foreground until SIGTERM/SIGINT; returns the exit status."""
    configure_logging()
    try:
        settings, keyring = read_configuration()
        cache_dir = settings.core.cache_dir
        prepare_cache_dir(cache_dir)
        hold_lock(cache_dir)  # for the life of the process
        check_port_free(settings.listen_addr, settings.listen_port)
    except StartupError as exc:
        print(f"ghcache daemon: {exc}", file=sys.stderr)
        return exc.status

    def write_pid_file() -> None:
        fd = os.open(pid_path(cache_dir), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{os.getpid()}\n")

    try:
        daemon = Daemon(settings, keyring)
        trio.run(run_until_signal, lambda: daemon.run(on_ready=write_pid_file))
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(f"ghcache daemon: {exc}", file=sys.stderr)
        return 1
    finally:
        remove_own_files(cache_dir)
    if daemon.failure:
        print(f"ghcache daemon: {daemon.failure}", file=sys.stderr)
        return 1
    return 0


def read_configuration() -> tuple[P2PSettings, Keyring]:
    try:
        settings = P2PSettings.from_env()
        check_bootstrap_peers(settings.bootstrap_peers)
    except ConfigError as exc:
        raise StartupError(str(exc), 2) from None
    keyring = Keyring.from_env()
    if keyring is None:
        raise StartupError(
            "no shared secret: set CACHE_SHARED_SECRET (or GH_TOKEN/GITHUB_TOKEN)", 2
        )
    return settings, keyring


def prepare_cache_dir(cache_dir: Path) -> None:
    try:
        ensure_cache_dir(cache_dir)
    except CacheDirError as exc:
        raise StartupError(str(exc), 1) from None
    if len(str(socket_path(cache_dir))) > MAX_SOCKET_PATH:
        raise StartupError(f"cache directory path too long for a socket: {cache_dir}", 1)


def hold_lock(cache_dir: Path) -> None:
    """Lock the cache directory's daemon lock until this process exits, or raise."""
    lock_fd = os.open(cache_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(lock_fd)
        try:
            pid = DaemonClient(cache_dir, timeout=1.0).status().get("pid")
        except (DaemonUnavailable, DaemonError):
            pid = "starting"
        raise StartupError(f"already running (pid {pid})", 1) from None


def check_port_free(address: str, port: int) -> None:
    """Raise when ``address:port`` cannot be listened on (0: any free port, always fine).

    py-libp2p listens with SO_REUSEPORT, so a second daemon (another cache
    directory) on a port already in use starts anyway and the kernel splits the
    team's connections between the two.  A probe bound without SO_REUSEPORT is
    refused while any other socket listens there.  (Two daemons probing in the
    same instant could both pass; starting both at once on one port is not a
    case worth a lock across cache directories.)
    """
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    shown = f"[{address}]:{port}" if family == socket.AF_INET6 else f"{address}:{port}"
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # TIME_WAIT leftovers of a daemon that just stopped are no conflict.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((address, port))
            probe.listen(1)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                reason = "address in use"
            elif exc.errno == errno.EADDRNOTAVAIL:
                reason = "not an address of this machine"
            else:
                reason = (exc.strerror or str(exc)).lower()
            raise StartupError(f"cannot listen on {shown}: {reason}", 1) from None


async def run_until_signal(run: Callable[[], Awaitable[None]]) -> None:
    async with trio.open_nursery() as nursery:

        async def main() -> None:
            await run()
            nursery.cancel_scope.cancel()

        nursery.start_soon(main)
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for signum in signals:
                log.info("stopping on signal %d", signum)
                nursery.cancel_scope.cancel()
                return


def configure_logging() -> None:
    level = os.environ.get("CACHE_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    for handler in logging.getLogger().handlers:
        handler.setFormatter(OneLineFormatter(handler.formatter))
    log.setLevel(getattr(logging, level, logging.INFO))
    # libp2p logs at ERROR what the daemon expects and handles (a peer gone while
    # we open a stream, a redial that fails), several lines at a time, through
    # Python's last-resort handler (its logger does not propagate): keep it out
    # of the operator's way, and one line each through ours when debugging.
    if not os.environ.get("LIBP2P_DEBUG"):  # else libp2p set up its own handlers
        libp2p = logging.getLogger("libp2p")
        libp2p.propagate = True
        libp2p.setLevel(logging.WARNING if log.level <= logging.DEBUG else logging.CRITICAL)


class OneLineFormatter(logging.Formatter):
    """One line per record: multi-line messages (libp2p's) are joined."""

    def __init__(self, formatter: logging.Formatter | None) -> None:
        super().__init__(formatter._fmt if formatter is not None else None)

    def formatMessage(self, record: logging.LogRecord) -> str:
        text = super().formatMessage(record)
        return " | ".join(part.strip() for part in text.splitlines() if part.strip())


def remove_own_files(cache_dir: Path) -> None:
    pid_file = pid_path(cache_dir)
    with contextlib.suppress(OSError, ValueError):
        if int(pid_file.read_text().strip()) == os.getpid():
            pid_file.unlink()
            socket_path(cache_dir).unlink()
