"""The console scripts: ghcache-validate, verify_p2p_cache, monitor_p2p_cache, and `fakehub`."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from pathlib import Path

BIN = Path(sys.executable).parent


def env_for(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CACHE_", "GH_", "GITHUB_"))}
    env.update(CACHE_DIR=str(tmp_path / "cache"), GH_CONFIG_DIR=str(tmp_path / "gh"))
    env.update(extra)
    return env


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / args[0]), *args[1:]],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_help_lists_the_commands() -> None:
    done = run("ghcache-validate", "--help")
    assert done.returncode == 0
    for command in ("verify", "monitor", "fakehub"):
        assert command in done.stdout
    assert run("ghcache-validate", "--version").stdout.strip() == "ghcache-validate, version 0.1.0"


def test_verify_p2p_cache_is_verify(tmp_path: Path) -> None:
    env = env_for(tmp_path, CACHE_ENABLE_P2P="false", CACHE_SHARED_SECRET="s" * 32)
    done = run("verify_p2p_cache", "--json", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["title"] == "ghcache verify" and report["ok"] is True
    assert [c["name"] for c in report["checks"]][:3] == [
        "dependencies",
        "configuration",
        "cache directory",
    ]


def test_monitor_p2p_cache_once_json(tmp_path: Path) -> None:
    done = run("monitor_p2p_cache", "--once", "--json", env=env_for(tmp_path))
    assert done.returncode == 0, done.stderr
    snap = json.loads(done.stdout)
    assert snap["cache"]["lookups"] == 0
    assert snap["daemon"] == {"running": False}


def test_monitor_streams_json_snapshots(tmp_path: Path) -> None:
    process = subprocess.Popen(
        [str(BIN / "ghcache-validate"), "monitor", "--json", "--interval", "0.2"],
        env=env_for(tmp_path),
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        times = [json.loads(process.stdout.readline())["time"] for _ in range(3)]
    finally:
        process.terminate()
        process.wait(10)
    assert times == sorted(times) and times[2] - times[0] >= 0.35


def test_bad_input_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    done = run("ghcache-validate", "verify", "--bogus")
    assert done.returncode == 2 and "Error: No such option '--bogus'" in done.stderr
    done = run("ghcache-validate", "monitor", "--once", env=env_for(tmp_path, CACHE_MAX_BYTES="0"))
    assert done.returncode == 1
    assert done.stderr.strip() == "Error: CACHE_MAX_BYTES must be at least 1, got '0'"
    done = run("ghcache-validate", "monitor", "--interval", "0")
    assert done.returncode == 2 and "Invalid value for '--interval'" in done.stderr


def test_fakehub_subcommand_serves_and_prints_its_port() -> None:
    process = subprocess.Popen(
        [str(BIN / "ghcache-validate"), "fakehub", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/_fakehub/health", timeout=5) as r:
            health = json.loads(r.read())
        assert health["ok"] is True and health["tokens"]["ghp_alice"] == "alice"
    finally:
        process.terminate()
        process.wait(10)
    assert process.returncode == 0


def test_fakehub_subcommand_passes_its_own_help_and_errors() -> None:
    done = run("ghcache-validate", "fakehub", "--help")
    assert done.returncode == 0 and "TOKEN=LOGIN[:LIMIT]" in done.stdout
    done = run("ghcache-validate", "fakehub", "--host", "10.1.2.3")
    assert done.returncode == 2
    assert "refusing to bind non-loopback address 10.1.2.3" in done.stderr
