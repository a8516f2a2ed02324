"""Starting, stopping and inspecting the background proxy (standard library only)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ghcache.proxy.state import LOG_NAME, STATE_NAME, STATUS_PATH, read_state

START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
REASON_PREFIX = "ghcache proxy: "  # how server.main reports why it cannot run


class ControlError(RuntimeError):
    """A one-line reason why the proxy could not be started; ``status`` is the exit status."""

    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def running_status(cache_dir: Path, timeout: float = 1.0) -> dict[str, Any] | None:
    """The running proxy's state and live counters, or None when none answers."""
    state = read_state(cache_dir)
    if state is None or not _alive(state["pid"]):
        return None
    request = urllib.request.Request(state["url"] + STATUS_PATH, headers={"Host": "127.0.0.1"})
    # Never through HTTP_PROXY: the proxy is on this machine.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as answer:
            live = json.loads(answer.read())
    except (OSError, ValueError, urllib.error.URLError):
        return None
    if not isinstance(live, dict) or live.get("pid") != state["pid"]:
        return None
    return {**state, **live}


def start(cache_dir: Path, env: dict[str, str] | None = None) -> dict[str, Any]:
    """Start the proxy in the background and wait until it answers; its status."""
    status = running_status(cache_dir)
    if status is not None:
        raise ControlError(f"proxy already running (pid {status['pid']}) at {status['url']}")
    cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    log_path = cache_dir / LOG_NAME
    child_env = dict(os.environ if env is None else env)
    child_env["CACHE_DIR"] = str(cache_dir)
    fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    log_start = os.fstat(fd).st_size
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "ghcache.proxy", "run"],
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
    raise ControlError(f"proxy did not answer in {START_TIMEOUT:.0f} s; see {log_path}")


def exit_reason(log_path: Path, start: int, status: int) -> str:
    try:
        with log_path.open("rb") as handle:
            handle.seek(max(start, handle.seek(0, os.SEEK_END) - 65536))
            text = handle.read().decode("utf-8", "replace")
    except OSError:
        text = ""
    reasons = [line for line in text.splitlines() if line.startswith(REASON_PREFIX)]
    if reasons:
        return reasons[-1][len(REASON_PREFIX) :]
    return f"proxy exited with status {status}; see {log_path}"


def stop(cache_dir: Path) -> int | None:
    """Stop the proxy (SIGTERM, then SIGKILL); the pid stopped, or None if none ran."""
    state = read_state(cache_dir)
    pid = state["pid"] if state else None
    if pid is None or not _alive(pid) or not _is_proxy(pid):
        with contextlib.suppress(OSError):
            (cache_dir / STATE_NAME).unlink()
        return None
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT
    while time.monotonic() < deadline:
        if not _alive(pid):
            return pid
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    with contextlib.suppress(OSError):
        (cache_dir / STATE_NAME).unlink()
    return pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(ChildProcessError):  # our own child, exited: a zombie
        done, _ = os.waitpid(pid, os.WNOHANG)
        if done == pid:
            return False
    return True


def _is_proxy(pid: int) -> bool:
    """Whether ``pid`` runs a proxy: a stale state file may name a reused pid."""
    try:
        command = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc (not Linux): trust the state file
    return b"ghcache" in command
