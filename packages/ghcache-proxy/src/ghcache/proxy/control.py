"""Starting, stopping and inspecting the background proxy (``ghcache.core.background``)."""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ghcache.core.background import (
    ControlError,
    alive,
    runs_ghcache,
    start_detached,
    stop_process,
)
from ghcache.proxy.state import LOG_NAME, STATE_NAME, STATUS_PATH, read_state

__all__ = ["ControlError", "running_status", "start", "stop"]

START_TIMEOUT = 15.0
STOP_TIMEOUT = 10.0
REASON_PREFIX = "ghcache proxy: "  # how server.main reports why it cannot run


def running_status(cache_dir: Path, timeout: float = 1.0) -> dict[str, Any] | None:
    """The running proxy's state and live counters, or None when none answers."""
    state = read_state(cache_dir)
    if state is None or not alive(state["pid"]):
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
    return start_detached(
        cache_dir,
        env,
        module=["ghcache.proxy", "run"],
        log_name=LOG_NAME,
        reason_prefix=REASON_PREFIX,
        what="proxy",
        timeout=START_TIMEOUT,
        status=lambda timeout: running_status(cache_dir, timeout=timeout),
    )


def stop(cache_dir: Path) -> int | None:
    """Stop the proxy (SIGTERM, then SIGKILL); the pid stopped, or None if none ran."""
    state = read_state(cache_dir)
    pid = state["pid"] if state else None
    if pid is not None and alive(pid) and runs_ghcache(pid):
        stop_process(pid, STOP_TIMEOUT)
    else:
        pid = None
    with contextlib.suppress(OSError):
        (cache_dir / STATE_NAME).unlink()
    return pid
