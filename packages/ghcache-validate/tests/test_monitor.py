"""`ghcache-validate monitor`: its figures match what a scripted run of `ghcache api` did."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ghcache.fakehub import FakeHub
from ghcache.validate.monitor import plain_text, snapshot
from ghcache.validate.network import LocalNetwork, Peer, clean_env, short_temp_dir

BIN = Path(sys.executable).parent


@pytest.fixture
def peer() -> Iterator[tuple[FakeHub, Peer]]:
    """A hub and one machine without a daemon (p2p on, so the monitor looks for one)."""
    with LocalNetwork(Path(short_temp_dir())) as net:
        hub = net.start_hub()
        yield hub, net.add_peer("m", "monitor-test-secret-0123456789abcdef")


def monitor_json(peer: Peer) -> dict[str, Any]:
    done = subprocess.run(
        [str(BIN / "ghcache-validate"), "monitor", "--once", "--json"],
        env=peer.env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    lines = done.stdout.splitlines()
    assert len(lines) == 1
    return dict(json.loads(lines[0]))


def row(text: str, label: str) -> str:
    """The value printed after ``label`` in the plain monitor output."""
    for line in text.splitlines():
        if line.startswith(label + "  "):
            return line[len(label) :].strip()
    raise AssertionError(f"no {label!r} row in:\n{text}")


def api(peer: Peer, endpoint: str, **env: str) -> None:
    done = peer.ghcache("api", endpoint, env=env)
    assert done.returncode == 0, done.stderr


def test_counters_match_a_scripted_sequence(peer: tuple[FakeHub, Peer]) -> None:
    hub, machine = peer
    short = {"CACHE_DEFAULT_TTL": "1"}
    api(machine, "repos/octo/hello", **short)  # miss: fetched upstream
    api(machine, "repos/octo/hello", **short)  # hit
    api(machine, "repos/octo/hello", **short)  # hit
    time.sleep(1.1)
    api(machine, "repos/octo/hello", **short)  # expired: revalidated with a 304
    snap = monitor_json(machine)
    cache = snap["cache"]
    assert hub.upstream_count() == 2
    assert cache["hits"] == 2
    assert cache["misses"] == 2  # the revalidation is a miss answered by a free 304
    assert cache["revalidated"] == 1
    assert cache["upstream_requests"] == 2
    assert cache["stale_served"] == 0 and cache["peer_hits"] == 0
    assert cache["lookups"] == 4
    assert cache["hit_rate"] == 0.5
    assert cache["rate_limit_units_saved"] == 3  # two hits and one 304
    assert cache["entries"] == 1 and cache["bytes"] > 0
    # Rate limit from the stored answer's headers: the hub charged one request, not the 304.
    limit = snap["rate_limit"]
    assert limit["limit"] == 5000
    assert limit["remaining"] == hub.remaining("ghp_alice") == 4999
    assert limit["resource"] == "core" and limit["window_passed"] is False
    assert snap["limited_until"] is None
    assert snap["daemon"] == {"running": False}
    assert snap["cache_dir"] == str(machine.cache_dir)


def test_rate_limited_machine_shows_until_when(peer: tuple[FakeHub, Peer]) -> None:
    hub, machine = peer
    api(machine, "repos/octo/hello", CACHE_DEFAULT_TTL="1")
    time.sleep(1.1)
    hub.exhaust("ghp_alice")
    api(machine, "repos/octo/hello", CACHE_DEFAULT_TTL="1")  # stale answer
    snap = snapshot(machine.env)
    assert snap["cache"]["stale_served"] == 1
    assert snap["limited_until"] is not None and snap["limited_until"] > time.time()
    text = plain_text(snap)
    assert row(text, "stale answers") == "1"
    assert row(text, "limited until") != "not limited"


def test_empty_cache_and_p2p_off(tmp_path: Path) -> None:
    snap = snapshot({"CACHE_DIR": str(tmp_path / "none"), "CACHE_ENABLE_P2P": "false"})
    assert snap["cache"]["lookups"] == 0 and snap["cache"]["entries"] == 0
    assert snap["rate_limit"] is None and snap["daemon"] is None
    text = plain_text(snap)
    assert row(text, "hit rate") == "0.0%"
    assert row(text, "remaining") == "unknown (no stored answer carries rate-limit headers)"
    assert row(text, "daemon") == "p2p off (CACHE_ENABLE_P2P)"


def test_daemon_counters_and_refusals(peer: tuple[FakeHub, Peer]) -> None:
    from ghcache.validate.network import wait_for
    from ghcache.validate.outsider import fetch_with_secret

    _, machine = peer
    machine.start_daemon()
    machine.wait_ready()
    api(machine, "repos/octo/hello")  # stored, then announced through the daemon
    wait_for(lambda: machine.counters().get("announcements_sent"), 5, "the announcement")
    key = next(iter(machine.cache_dir.glob("gh_api_*.json"))).name[len("gh_api_") : -len(".json")]
    assert not fetch_with_secret(machine.address, key, "not-the-team-secret-0123456789")
    wait_for(lambda: machine.refused().get("bad_envelope"), 5, "the refusal")
    snap = monitor_json(machine)
    daemon = snap["daemon"]
    assert daemon["running"] is True and daemon["pid"] == machine.info["pid"]
    assert daemon["peer_id"] == machine.peer_id
    assert daemon["team_peers"] == 0
    assert daemon["counters"]["announcements_sent"] == 1
    assert daemon["refused"] == {"bad_envelope": 1}  # only reasons that happened
    text = plain_text(snapshot(machine.env))
    assert row(text, "refused") == "bad_envelope 1"
    assert row(text, "announcements sent") == "1"


GOOD_WAIT = '"github.com:0123456789abcdef0123456789abcdef:core": %.1f'
POISONED_RATELIMIT = {
    "far future": b'{"github.com:anonymous:core": 100000000000000000, %s}',
    "beyond any float": b'{"a:b:c": 1e999, "d:e:f": -1e999, "g:h:i": NaN, %s}',
    "negative": b'{"a:b:c": -100000000000000000, "d:e:f": -1, %s}',
    "huge integer": b'{"a:b:c": 1%s, %%s}' % (b"0" * 400),
    "strings and nulls": b'{"a:b:c": "soon", "d:e:f": null, "g:h:i": {"x": 1}, %s}',
    "a JSON list": b"[100000000000000000, 1e999, -1]",
    "binary garbage": bytes(range(256)) * 16,
    "nesting too deep": b"[" * 100_000,
}


def monitor_once(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "ghcache-validate"), "monitor", "--once", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )


@pytest.mark.parametrize("poison", sorted(POISONED_RATELIMIT))
def test_poisoned_ratelimit_file_is_not_believed(tmp_path: Path, poison: str) -> None:
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    until = float(int(time.time()) + 600)  # whole seconds: the row shows the second
    content = POISONED_RATELIMIT[poison]
    if b"%s" in content:  # next to the poison, one real wait that must still show
        content = content % (GOOD_WAIT % until).encode()
    (cache / "ratelimit.json").write_bytes(content)
    env = {**clean_env(), "CACHE_DIR": str(cache), "CACHE_ENABLE_P2P": "false"}
    plain = monitor_once(env)
    assert plain.returncode == 0 and plain.stderr == "", plain.stderr
    as_json = monitor_once(env, "--json")
    assert as_json.returncode == 0 and as_json.stderr == "", as_json.stderr
    snap = json.loads(as_json.stdout)
    if b"%s" in POISONED_RATELIMIT[poison]:
        assert snap["limited_until"] == until
        assert row(plain.stdout, "limited until") == time.strftime(
            "%H:%M:%S", time.localtime(until)
        )
    else:
        assert snap["limited_until"] is None
        assert row(plain.stdout, "limited until") == "not limited"


def test_fifo_as_ratelimit_file_does_not_hang_the_monitor(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    os.mkfifo(cache / "ratelimit.json", 0o600)  # reading it waits for a writer for ever
    env = {**clean_env(), "CACHE_DIR": str(cache), "CACHE_ENABLE_P2P": "false"}
    done = monitor_once(env, "--json")  # raises TimeoutExpired if it hangs
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["limited_until"] is None
