"""`ghcache proxy start|status|stop|run` through the CLI's plugin hook, `ghcache config`'s
rows, and what stops a proxy from starting."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import httpx

from ghcache.fakehub import FakeHub

helpers = sys.modules["ghcache_proxy_helpers"]  # loaded by conftest.py


def test_start_status_stop(tmp_path: Path, hub: FakeHub) -> None:
    env = helpers.clean_env(tmp_path / "cache", GITHUB_API_URL=hub.url, CACHE_PROXY_PORT="0")
    started = helpers.run_ghcache(["proxy", "start"], env)
    try:
        assert started.returncode == 0, started.stderr
        assert started.stdout.startswith(b"proxy started (pid ")
        status = helpers.run_ghcache(["proxy", "status", "--json"], env)
        assert status.returncode == 0, status.stderr
        shown = json.loads(status.stdout)
        assert shown["running"] is True and shown["upstream"] == hub.url
        assert shown["url"].startswith("http://127.0.0.1:")  # loopback unless told otherwise
        answer = httpx.get(
            shown["url"] + "repos/octo/hello",
            headers={"Authorization": "token ghp_alice"},
            trust_env=False,
        )
        assert answer.headers["x-ghcache"] == "miss"
        # `python -m ghcache.proxy` is the same group, for machines without the CLI.
        again = run_module(env, "start")
        assert again.returncode == 1 and b"already running" in again.stderr
        text = run_module(env, "status")
        assert b"answers:  miss=1" in text.stdout
    finally:
        stopped = helpers.run_ghcache(["proxy", "stop"], env)
    assert stopped.stdout.startswith(b"proxy stopped (pid ")
    after = helpers.run_ghcache(["proxy", "status"], env)
    assert (after.returncode, after.stdout) == (1, b"proxy not running\n")
    assert not (tmp_path / "cache" / "proxy.json").exists()
    assert b"Traceback" not in (tmp_path / "cache" / "proxy.log").read_bytes()


def run_module(env: dict[str, str], command: str = "run") -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [sys.executable, "-m", "ghcache.proxy", command],
        env=env,
        capture_output=True,
        timeout=30,
        check=False,
    )


def test_what_stops_a_proxy_from_starting(tmp_path: Path) -> None:
    env = helpers.clean_env(tmp_path / "cache", CACHE_PROXY_PORT="99999")
    bad_port = run_module(env)
    assert bad_port.returncode == 2
    assert bad_port.stderr.decode().strip() == (
        "ghcache proxy: CACHE_PROXY_PORT must be a port number from 0 to 65535, got '99999'"
    )
    bad_addr = run_module({**env, "CACHE_PROXY_PORT": "0", "CACHE_PROXY_ADDR": "localhost"})
    assert bad_addr.returncode == 2 and b"CACHE_PROXY_ADDR must be an IP address" in bad_addr.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        in_use = run_module({**env, "CACHE_PROXY_PORT": str(port)})
    assert in_use.returncode == 1
    assert in_use.stderr.decode().startswith(f"ghcache proxy: cannot listen on 127.0.0.1:{port}: ")


def test_config_shows_the_proxy_variables(tmp_path: Path) -> None:
    env = helpers.clean_env(tmp_path / "cache", CACHE_PROXY_PORT="9999")
    shown = helpers.run_ghcache(["config"], env)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.decode().splitlines()
    assert any("CACHE_PROXY_PORT" in line and "9999" in line and "env" in line for line in lines)
    assert any("CACHE_PROXY_ADDR" in line and "127.0.0.1" in line for line in lines)
    broken = helpers.run_ghcache(["config"], {**env, "CACHE_PROXY_PORT": "x"})
    assert broken.returncode == 1
    assert b"CACHE_PROXY_PORT must be a port number" in broken.stderr
