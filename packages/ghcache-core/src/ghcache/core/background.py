"""Running one of ghcache's servers in the background (the p2p daemon, the proxy).

Started detached, its output appended to a log in the cache directory, and waited
for until it answers; a server that refuses to start says why on one line that
begins with its ``reason_prefix``, which becomes the caller's one-line error.
Stopped with SIGTERM, then SIGKILL.  Standard library only.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

# The server's status when it answers, or None; its argument is how long to wait for that.
Status = Callable[[float], "dict[str, Any] | None"]


class ControlError(RuntimeError):
    """A one-line reason why a server could not be started or stopped; ``status`` is the
    exit status to report (the server's own when it refused to start)."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def start_detached(
    cache_dir: Path,
    env: Mapping[str, str] | None,
    *,
    module: list[str],
    log_name: str,
    reason_prefix: str,
    what: str,
    timeout: float,
    status: Status,
) -> dict[str, Any]:
    """Start ``python -m MODULE...`` for ``cache_dir`` in a session of its own (it outlives
    the terminal) and wait until ``status`` shows its pid; that status."""
    cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    log_path = cache_dir / log_name
    child_env = dict(os.environ if env is None else env)
    child_env["CACHE_DIR"] = str(cache_dir)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    log_start = os.fstat(fd).st_size  # where this start's output begins
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", *module],
            stdin=subprocess.DEVNULL,
            stdout=fd,
            stderr=fd,
            env=child_env,
            start_new_session=True,
        )
    finally:
        os.close(fd)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        answer = status(0.5)
        if answer is not None and answer.get("pid") == process.pid:
            return answer
        if process.poll() is not None:
            reason = exit_reason(log_path, log_start, reason_prefix)
            message = reason or f"{what} exited with status {process.returncode}; see {log_path}"
            raise ControlError(message, process.returncode)
        time.sleep(0.05)
    process.terminate()
    raise ControlError(f"{what} did not answer in {timeout:.0f} s; see {log_path}")


def exit_reason(log_path: Path, start: int, reason_prefix: str) -> str | None:
    """The last ``reason_prefix`` line the server wrote to its log since ``start``."""
    try:
        with log_path.open("rb") as handle:
            handle.seek(max(start, handle.seek(0, os.SEEK_END) - 65536))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        return None
    reasons = [line for line in text.splitlines() if line.startswith(reason_prefix)]
    return reasons[-1][len(reason_prefix) :] if reasons else None


def stop_process(pid: int, timeout: float) -> None:
    """SIGTERM, then SIGKILL after ``timeout`` seconds."""
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def alive(pid: int) -> bool:
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


def runs_ghcache(pid: int) -> bool:
    """Whether ``pid`` runs ghcache: a stale pid or state file may name a reused pid."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc (not Linux): trust the file
    return b"ghcache" in command
