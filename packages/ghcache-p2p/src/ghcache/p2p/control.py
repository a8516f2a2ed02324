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
REASON_PREFIX = "ghcache daemon: "  # how process.main reports why it cannot run
STOP_TIMEOUT = 10.0


class ControlError(RuntimeError):
    """A one-line reason why the daemon could not be started or stopped; ``status`` is
    the exit status to report (the daemon's own when it refused to start)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


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
    log_start = os.fstat(fd).st_size  # where this start's output begins
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
            raise ControlError(
                exit_reason(log_path, log_start, process.returncode), process.returncode
            )
        time.sleep(0.05)
    process.terminate()
    raise ControlError(f"daemon did not become ready in {START_TIMEOUT:.0f} s; see {log_path}")


def exit_reason(log_path: Path, start: int, status: int) -> str:
    """The one-line reason a daemon that refused to start gave (``ghcache daemon: ...``
    on its stderr, which is the log), else where to look."""
    try:
        with log_path.open("rb") as handle:
            handle.seek(max(start, handle.seek(0, os.SEEK_END) - 65536))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        text = ""
    reasons = [line for line in text.splitlines() if line.startswith(REASON_PREFIX)]
    if reasons:
        return reasons[-1][len(REASON_PREFIX) :]
    return f"daemon exited with status {status}; see {log_path}"


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
