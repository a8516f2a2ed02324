"""`ghcache-validate verify --local` as a user runs it: the real console script, real processes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BIN = Path(sys.executable).parent
LOCAL_STEPS = [
    "dependencies",
    "simulated GitHub",
    "cache directories",
    "daemons",
    "cached call",
    "ETag revalidation",
    "shared to a peer",
    "wrong secret refused",
    "stale while rate limited",
]


def clean_env() -> dict[str, str]:
    """No token, no ghcache settings: what a fresh machine has."""
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("CACHE_", "GH_", "GITHUB_")) and "proxy" not in k.lower()
    }


def processes_using(path: Path) -> list[int]:
    """Pids of processes whose environment mentions ``path`` (our daemons set CACHE_DIR below it)."""
    needle = str(path).encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if needle in (entry / "environ").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.fixture
def short_tmp() -> Iterator[Path]:
    """A temporary directory with a short path: daemon socket paths must stay under ~100 bytes."""
    path = Path(tempfile.mkdtemp(prefix="gvt-", dir="/tmp"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


def run_verify(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "ghcache-validate"), "verify", *args],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {check["name"]: check for check in report["checks"]}


def test_local_scenario_passes_and_leaves_nothing_behind(short_tmp: Path) -> None:
    started = time.monotonic()
    done = run_verify("--local", "--json", "--workdir", str(short_tmp))
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is True
    assert [c["name"] for c in report["checks"]] == LOCAL_STEPS
    assert {c["status"] for c in report["checks"]} == {"pass"}, report
    checks = by_name(report)
    assert checks["cached call"]["details"] == {"first": 1, "second": 0}
    assert checks["ETag revalidation"]["details"] == {"status": 304, "counted": 0}
    shared = checks["shared to a peer"]["details"]
    assert shared["team_upstream"] == 0  # a trusted teammate's entry: no request
    assert shared["verified_requests"] == [[304, False, "bob"]]  # one free confirmation
    refused = checks["wrong secret refused"]["details"]["refused_by_peer_a"]
    assert refused["bad_envelope"] >= 1
    assert checks["wrong secret refused"]["details"]["outsider_upstream"] == 1
    stale = checks["stale while rate limited"]["details"]
    assert stale["upstream"] == [1, 0] and "cached answer" in stale["notice"]
    assert elapsed < 60, f"verify --local took {elapsed:.1f} s"
    # Every daemon was stopped and the temporary network removed.
    assert processes_using(short_tmp) == []
    assert list(short_tmp.iterdir()) == []


def test_unwritable_work_directory_fails_the_named_check(tmp_path: Path) -> None:
    # Below a regular file nothing can be created, even as root (chmod would not stop root).
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    done = run_verify("--local", "--json", "--github-annotations", "--workdir", str(blocker))
    assert done.returncode == 1
    report_text, _, annotations = done.stdout.partition("\n::")
    report = json.loads(report_text)
    checks = by_name(report)
    assert checks["cache directories"]["status"] == "fail"
    assert "Not a directory" in checks["cache directories"]["reason"]
    # Later steps cannot run; they are skipped with a reason, not failed.
    assert checks["daemons"]["status"] == "skip"
    assert checks["cached call"]["status"] == "skip"
    assert "::error title=ghcache verify::cache directories: " in "::" + annotations
    assert "Traceback" not in done.stderr
    assert processes_using(blocker) == []


def test_interrupted_run_stops_its_daemons(short_tmp: Path) -> None:
    process = subprocess.Popen(
        [str(BIN / "ghcache-validate"), "verify", "--local", "--workdir", str(short_tmp)],
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    try:
        # Interrupt once the daemons run, in the middle of the scenario.
        for line in process.stdout:
            if line.startswith("PASS  daemons"):
                break
        else:
            pytest.fail(f"the daemons step never passed: {process.stderr.read()}")  # type: ignore[union-attr]
        assert processes_using(short_tmp), "daemons should be running now"
        process.send_signal(signal.SIGTERM)
        process.wait(30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130
    # Leftovers named by their command line, files by their first bytes (whose counters).
    left = {pid: command_line(pid) for pid in processes_using(short_tmp)}
    assert left == {}
    left_files = {
        str(p.relative_to(short_tmp)): p.read_bytes()[:300]
        for p in short_tmp.rglob("*")
        if p.is_file()
    }
    assert left_files == {}
    assert list(short_tmp.iterdir()) == []


def command_line(pid: int) -> str:
    try:
        return (Path("/proc") / str(pid) / "cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return "(exited)"
