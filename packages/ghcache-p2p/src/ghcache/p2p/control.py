"""Starting, stopping and inspecting the background daemon (standard library only)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ghcache.p2p.client import DaemonClient, DaemonError, DaemonUnavailable
from ghcache.p2p.ipc import LOG_NAME, pid_path, socket_path

START_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0


class ControlError(RuntimeError):
    """A one-line reason why the daemon could not be started or stopped."""


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
    cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    log_path = cache_dir / LOG_NAME
    child_env = dict(os.environ if env is None else env)
    child_env["CACHE_DIR"] = str(cache_dir)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "ghcache.p2p.daemon"],
            stdin=subprocess.DEVNULL,
            stdout=fd,
            stderr=fd,
            env=child_env,
            start_new_session=True,  # survives the terminal that started it
        )
    finally:
        os.close(fd)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        status = running_status(cache_dir, timeout=0.5)
        if status is not None and status.get("pid") == process.pid:
            return status
        if process.poll() is not None:
            raise ControlError(f"daemon exited with status {process.returncode}; see {log_path}")
        time.sleep(0.05)
    process.terminate()
    raise ControlError(f"daemon did not become ready in {START_TIMEOUT:.0f} s; see {log_path}")


def stop(cache_dir: Path) -> int | None:
    """Stop the daemon (SIGTERM, then SIGKILL); the pid stopped, or None if none ran."""
    status = running_status(cache_dir)
    pid = status.get("pid") if status else read_pid(cache_dir)
    if not isinstance(pid, int) or not _alive(pid) or not _is_daemon(pid):
        _remove_stale(cache_dir)
        return None
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        if not _alive(pid):
            _remove_stale(cache_dir)
            return pid
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _remove_stale(cache_dir)
    return pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child (when we started it in this process) counts as gone.
    with contextlib.suppress(ChildProcessError):
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return True


def _is_daemon(pid: int) -> bool:
    """Whether ``pid`` runs our daemon: a stale pid file may name a reused pid."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc (not Linux): trust the pid file
    return b"ghcache" in command


def _remove_stale(cache_dir: Path) -> None:
    for path in (pid_path(cache_dir), socket_path(cache_dir)):
        with contextlib.suppress(OSError):
            path.unlink()
