"""Starting, stopping and inspecting the background daemon (``ghcache.core.background``)."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

from ghcache.core.background import (
    ControlError,
    alive,
    runs_ghcache,
    start_detached,
    stop_process,
)
from ghcache.p2p.client import DaemonClient, DaemonError, DaemonUnavailable
from ghcache.p2p.ipc import LOG_NAME, pid_path, socket_path

__all__ = ["ControlError", "running_status", "start", "stop"]

START_TIMEOUT = 20.0
REASON_PREFIX = "ghcache daemon: "  # how process.main reports why it cannot run
STOP_TIMEOUT = 10.0


def running_status(cache_dir: Path, timeout: float = 1.0) -> dict[str, Any] | None:
    """The daemon's status, or None when no daemon answers."""
    try:
        return DaemonClient(cache_dir, timeout=timeout).status()
    except (DaemonUnavailable, DaemonError):
        return None


def read_pid(cache_dir: Path) -> int | None:
    try:
        return int(pid_path(cache_dir).read_text().strip())
    except (OSError, ValueError):
        return None


def start(cache_dir: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Start the daemon in the background and wait until it answers; its status."""
    status = running_status(cache_dir)
    if status is not None:
        raise ControlError(f"daemon already running (pid {status.get('pid')})")
    return start_detached(
        cache_dir,
        env,
        module=["ghcache.p2p.daemon"],
        log_name=LOG_NAME,
        reason_prefix=REASON_PREFIX,
        what="daemon",
        timeout=START_TIMEOUT,
        status=lambda timeout: running_status(cache_dir, timeout=timeout),
    )


def stop(cache_dir: Path) -> int | None:
    """Stop the daemon (SIGTERM, then SIGKILL); the pid stopped, or None if none ran."""
    status = running_status(cache_dir)
    pid = status.get("pid") if status else read_pid(cache_dir)
    if isinstance(pid, int) and alive(pid) and runs_ghcache(pid):
        stop_process(pid, STOP_TIMEOUT)
    else:
        pid = None
    for path in (pid_path(cache_dir), socket_path(cache_dir)):
        with contextlib.suppress(OSError):
            path.unlink()
    return pid
