"""The daemon's commands, as a user runs them: start, status, peers, stop, and bad input."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from p2p_helpers import base_env

pytestmark = pytest.mark.slow

GHCACHE = shutil.which("ghcache") or str(Path(sys.executable).parent / "ghcache")


def run(
    args: list[str], env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, capture_output=True, text=True, timeout=timeout)


def p2p(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return run([sys.executable, "-m", "ghcache.p2p", *args], env)


def test_start_status_peers_stop(tmp_path: Path) -> None:
    env = {**base_env(), "CACHE_DIR": str(tmp_path / "cache")}
    started = p2p("daemon", "start", env=env)
    try:
        assert started.returncode == 0, started.stderr
        assert started.stdout.startswith("daemon started (pid ")
        again = p2p("daemon", "start", env=env)
        assert again.returncode == 1 and "already running" in again.stderr
        assert len(again.stderr.strip().splitlines()) == 1
        status = json.loads(p2p("daemon", "status", "--json", env=env).stdout)
        assert status["running"] is True and status["peer_id"].startswith("12D3KooW")
        assert (tmp_path / "cache" / "daemon.sock").stat().st_mode & 0o777 == 0o600
        assert (tmp_path / "cache" / "p2p_identity.key").stat().st_mode & 0o777 == 0o600
        text = p2p("daemon", "status", env=env)
        assert text.returncode == 0 and status["peer_id"] in text.stdout
        if os.path.exists(GHCACHE):  # the same commands through the ghcache CLI
            peers = run([GHCACHE, "peers", "--json"], env)
            assert peers.returncode == 0, peers.stderr
            assert json.loads(peers.stdout) == []
    finally:
        stopped = p2p("daemon", "stop", env=env)
    assert stopped.returncode == 0 and "stopped" in stopped.stdout
    assert not (tmp_path / "cache" / "daemon.sock").exists()
    assert not (tmp_path / "cache" / "daemon.pid").exists()
    status = p2p("daemon", "status", env=env)
    assert status.returncode == 1 and status.stdout.strip() == "daemon not running"
    peers = p2p("peers", env=env)
    assert peers.returncode == 1 and "daemon not running" in peers.stderr
    assert "Traceback" not in peers.stderr
    assert p2p("daemon", "stop", env=env).stdout.strip() == "daemon not running"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"CACHE_SHARED_SECRET": ""}, "no shared secret"),
        ({"CACHE_BOOTSTRAP_PEERS": "/ip4/127.0.0.1/tcp/1"}, "CACHE_BOOTSTRAP_PEERS"),
        ({"CACHE_LISTEN_PORT": "99999"}, "CACHE_LISTEN_PORT"),
        ({"CACHE_MAX_ENTRY_BYTES": "big"}, "CACHE_MAX_ENTRY_BYTES"),
    ],
)
def test_bad_configuration_is_one_clear_line(
    tmp_path: Path, change: dict[str, str], message: str
) -> None:
    env = {**base_env(), "CACHE_DIR": str(tmp_path / "cache"), **change}
    if not change.get("CACHE_SHARED_SECRET", "x"):
        del env["CACHE_SHARED_SECRET"]
    done = run([sys.executable, "-m", "ghcache.p2p.daemon"], env)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], done.stderr


@pytest.mark.parametrize(
    ("change", "message", "status"),
    [
        ({"CACHE_SHARED_SECRET": ""}, "no shared secret", 2),
        ({"CACHE_BOOTSTRAP_PEERS": "/ip4/127.0.0.1/tcp/1/p2p/QmHash1"}, "Invalid CID: QmHash1", 2),
        ({"CACHE_LISTEN_PORT": "taken"}, "address in use", 1),
    ],
)
def test_daemon_start_failures_are_the_daemons_one_line_reason(
    tmp_path: Path, change: dict[str, str], message: str, status: int
) -> None:
    import socket

    # `daemon start` runs the daemon in the background: its reason is in the log.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = str(taken.getsockname()[1])
        env = {**base_env(), "CACHE_DIR": str(tmp_path / "cache")}
        env.update({k: port if v == "taken" else v for k, v in change.items()})
        if not env.get("CACHE_SHARED_SECRET", "x"):
            del env["CACHE_SHARED_SECRET"]
        runs = [p2p("daemon", "start", env=env)]
        if os.path.exists(GHCACHE):
            runs.append(run([GHCACHE, "daemon", "start"], env))
    for done in runs:
        assert done.returncode == status, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], done.stderr
        assert "daemon.log" not in lines[0]
        assert "status" not in lines[0]


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {**base_env(), "CACHE_DIR": str(tmp_path / "cache"), "CACHE_LISTEN_PORT": str(port)}
        done = run([sys.executable, "-m", "ghcache.p2p.daemon"], env)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    assert not (tmp_path / "cache" / "daemon.sock").exists()


def test_a_port_another_daemon_listens_on_is_refused(tmp_path: Path) -> None:
    # py-libp2p listens with SO_REUSEPORT: without a check of its own, the second
    # daemon started and both listened on the port.
    from p2p_helpers import Daemon

    port = free_port()
    first = Daemon(tmp_path / "first", base_env(CACHE_LISTEN_PORT=str(port))).start()
    try:
        env = {**base_env(CACHE_LISTEN_PORT=str(port)), "CACHE_DIR": str(tmp_path / "second")}
        try:
            done = run([sys.executable, "-m", "ghcache.p2p.daemon"], env, timeout=30)
        except subprocess.TimeoutExpired:
            pytest.fail("the second daemon started on a port in use")
        assert first.status()["pid"] == first.process.pid  # type: ignore[union-attr]
    finally:
        first.stop()
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"ghcache daemon: cannot listen on 127.0.0.1:{port}: address in use"
    ]
    assert not (tmp_path / "second" / "daemon.sock").exists()


@pytest.mark.parametrize("corrupt", ["five bytes", "a directory"])
def test_an_unusable_identity_key_is_one_line_saying_what_to_do(
    tmp_path: Path, corrupt: str
) -> None:
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    key = cache / "p2p_identity.key"
    if corrupt == "a directory":
        key.mkdir()
    else:
        key.write_bytes(b"12345")
    env = {**base_env(), "CACHE_DIR": str(cache)}
    commands = [[sys.executable, "-m", "ghcache.p2p.daemon"]]
    if os.path.exists(GHCACHE):
        commands.append([GHCACHE, "daemon", "run"])
    for command in commands:
        done = run(command, env)
        assert done.returncode == 1, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, done.stderr
        assert str(key) in lines[0] and "remove it to make a new identity" in lines[0]


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_prometheus_metrics_on_loopback(tmp_path: Path) -> None:
    import urllib.request

    from p2p_helpers import Daemon, make_entry

    port = free_port()
    daemon = Daemon(tmp_path / "cache", base_env(CACHE_METRICS_PORT=str(port))).start()
    try:
        assert daemon.info["metrics_port"] == port
        daemon.put(make_entry("metrics"))
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
        with opener.open(f"http://127.0.0.1:{port}/metrics", timeout=5) as answer:
            text = answer.read().decode()
    finally:
        daemon.stop()
    lines = set(text.splitlines())
    assert "ghcache_p2p_peers 0.0" in lines
    assert 'ghcache_p2p_refused_total{reason="bad_envelope"} 0.0' in lines
    assert any(line.startswith("ghcache_p2p_announcements_sent_total ") for line in lines)
    assert any(line.startswith("ghcache_p2p_fetches_served_total ") for line in lines)


def test_two_daemons_started_at_once_on_one_cache_dir(tmp_path: Path) -> None:
    env = {**base_env(), "CACHE_DIR": str(tmp_path / "cache")}
    (tmp_path / "cache").mkdir(mode=0o700)
    command = [sys.executable, "-m", "ghcache.p2p.daemon"]
    first = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    second = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    try:
        from p2p_helpers import wait_until

        loser = wait_until(
            lambda: next((p for p in (first, second) if p.poll() is not None), None),
            30,
            "one to quit",
        )
        winner = second if loser is first else first
        assert loser.returncode == 1
        assert "already running" in loser.stderr.read()  # type: ignore[union-attr]
        status = wait_until(
            lambda: (
                (s := json.loads(p2p("daemon", "status", "--json", env=env).stdout))["running"]
                and s
            ),
            30,
            "the winner to answer",
        )
        assert status["pid"] == winner.pid
    finally:
        for process in (first, second):
            if process.poll() is None:
                process.terminate()
                process.wait(10)
