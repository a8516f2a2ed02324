"""A background server that refuses to start: its one-line reason and exit status become the
caller's error; one that never answers is stopped after the timeout."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from ghcache.core.background import ControlError, alive, start_detached


def server(tmp_path: Path, body: str) -> dict[str, str]:
    (tmp_path / "fake_server.py").write_text(body)
    return {**os.environ, "PYTHONPATH": str(tmp_path)}


def start_fake(tmp_path: Path, env: dict[str, str], timeout: float) -> None:
    """Start ``fake_server``, which never answers a status request."""
    start_detached(
        tmp_path / "cache",
        env,
        module=["fake_server"],
        log_name="fake.log",
        reason_prefix="fake: ",
        what="fake server",
        timeout=timeout,
        status=lambda wait: None,
    )


def test_the_reason_a_server_gives_is_the_error(tmp_path: Path) -> None:
    env = server(
        tmp_path, "import sys\nprint('noise')\nprint('fake: port 9 in use')\nsys.exit(3)\n"
    )
    with pytest.raises(ControlError) as failed:
        start_fake(tmp_path, env, timeout=20)
    assert (str(failed.value), failed.value.status) == ("port 9 in use", 3)
    assert "noise" in (tmp_path / "cache" / "fake.log").read_text()


def test_a_server_that_never_answers_is_stopped(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    body = f"import os, time\nopen({str(pid_file)!r}, 'w').write(str(os.getpid()))\n"
    env = server(tmp_path, body + "time.sleep(60)\n")
    with pytest.raises(ControlError, match="fake server did not answer in 1 s"):
        start_fake(tmp_path, env, timeout=1)
    pid = int(pid_file.read_text())
    deadline = time.monotonic() + 10
    while alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(pid)
