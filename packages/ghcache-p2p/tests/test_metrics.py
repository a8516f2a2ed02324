"""/metrics of a real daemon on 127.0.0.1: the cache's counters and rate-limit waits beside
the daemon's own, read from the cache dir at each scrape, and damaged files that must not
break a scrape."""

from __future__ import annotations

import os
import re
import socket
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from p2p_helpers import Daemon, base_env, make_entry
from prometheus_client.parser import text_string_to_metric_families

from ghcache.core.ratelimit import RateLimitMemory
from ghcache.core.stats import Stats

pytestmark = pytest.mark.slow

FINGERPRINT = "0123456789abcdef0123456789abcdef"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def daemon(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    port = free_port()
    cache = tmp_path_factory.mktemp("metrics") / "cache"
    running = Daemon(cache, base_env(CACHE_METRICS_PORT=str(port))).start()
    try:
        assert running.info["metrics_port"] == port
        yield running
    finally:
        running.stop()


@pytest.fixture
def clean(daemon: Daemon) -> Iterator[Daemon]:
    """The module's daemon with no stats, waits or entries left by an earlier test."""
    yield daemon
    for name in ("stats.json", "ratelimit.json"):
        path = daemon.cache_dir / name
        if path.is_dir():
            path.rmdir()
        elif path.exists() or path.is_symlink():
            path.unlink()
    daemon.store().clear()


def scrape(daemon: Daemon) -> tuple[int, str]:
    # No proxy: the test machine's proxy variables must not take a loopback request.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    port = daemon.info["metrics_port"]
    with opener.open(f"http://127.0.0.1:{port}/metrics", timeout=10) as answer:
        return answer.status, answer.read().decode()


def samples(text: str) -> Samples:
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: Samples, name: str, **labels: str) -> float:
    return found[(name, tuple(sorted(labels.items())))]


def sources_ok(found: Samples) -> dict[str, float]:
    return {
        dict(labels)["source"]: v
        for (name, labels), v in found.items()
        if name == "ghcache_metrics_source_ok"
    }


def documented_metrics() -> set[str]:
    docs = Path(__file__).resolve().parents[3] / "docs" / "operations.md"
    if not docs.exists():
        pytest.skip("docs/ is not beside this package (installed from an sdist)")
    text = docs.read_text()
    section = text[text.index("### Prometheus") : text.index("## Troubleshooting")]
    return {name for name in re.findall(r"ghcache_[a-z0-9_]+", section) if not name.endswith("_")}


def test_cache_counters_waits_and_disk_are_served_beside_the_daemons(clean: Daemon) -> None:
    cache = clean.cache_dir
    Stats(cache).add(
        hits=3, peer_hits=1, stale_served=2, misses=4, revalidated=1, upstream_requests=3
    )
    Stats(cache).add(evictions=5, corrupt_dropped=6, confirmed=7, etag_mismatch=8)
    now = time.time()
    memory = RateLimitMemory(cache)
    memory.remember(f"github.com:{FINGERPRINT}:core", now + 600, now)
    memory.remember("ghe.local:8443:anonymous:graphql", now + 900, now)
    memory.remember("github.com:anonymous:search", now - 1, now - 30)  # over: not served
    entry = make_entry("metrics")
    clean.put(entry)
    status, text = scrape(clean)
    assert status == 200
    found = samples(text)
    outcomes = {"hit": 3, "peer_hit": 1, "stale": 2, "miss": 4}
    for outcome, count in outcomes.items():
        assert value(found, "ghcache_lookups_total", outcome=outcome) == count
    assert value(found, "ghcache_revalidated_total") == 1
    assert value(found, "ghcache_upstream_requests_total") == 3
    assert value(found, "ghcache_rate_limit_units_saved_total") == 3 + 1 + 2 + 1
    assert value(found, "ghcache_evictions_total") == 5
    assert value(found, "ghcache_corrupt_dropped_total") == 6
    assert value(found, "ghcache_confirmed_total") == 7
    assert value(found, "ghcache_etag_mismatch_total") == 8
    assert value(found, "ghcache_cache_entries") == 1
    assert value(found, "ghcache_cache_bytes") == clean.store().path_for(entry.key).stat().st_size
    waits = {
        labels: v
        for (name, labels), v in found.items()
        if name == "ghcache_rate_limit_blocked_until_seconds"
    }
    assert waits == {
        (("host", "github.com"), ("identity", FINGERPRINT), ("resource", "core")): now + 600,
        (("host", "ghe.local:8443"), ("identity", "anonymous"), ("resource", "graphql")): now + 900,
    }
    assert value(found, "ghcache_daemon_start_time_seconds") == clean.status()["started_at"]
    assert sources_ok(found) == {"p2p": 1, "stats": 1, "disk": 1, "ratelimit": 1}
    # The daemon's own metrics are still there, next to the cache's.
    assert value(found, "ghcache_p2p_peers") == 0
    assert value(found, "ghcache_p2p_refused_total", reason="bad_envelope") == 0
    assert ("ghcache_p2p_announcements_sent_total", ()) in found

    # Exactly what docs/operations.md lists is served: no metric more, none less.
    assert {name for name, _ in found} == documented_metrics()

    # Read at scrape time: what another process counts now shows in the next scrape.
    Stats(cache).add(hits=10)
    RateLimitMemory(cache).forget()
    found = samples(scrape(clean)[1])
    assert value(found, "ghcache_lookups_total", outcome="hit") == 13
    assert not any(name == "ghcache_rate_limit_blocked_until_seconds" for name, _ in found)


DAMAGED_STATS = {
    "binary garbage": b"\x00\xff\xfe garbage \x80" * 50,
    "a JSON list": b"[1, 2, 3]",
    "strings, floats and negatives": b'{"hits": "9", "misses": 1e999, "evictions": -4}',
    "nesting too deep": b"[" * 100_000,
    "unknown names": b'{"hits": 2, "ghcache_injected{x=\\"1\\"}": 5, "a\\nb": 1}',
}


@pytest.mark.parametrize("damage", sorted(DAMAGED_STATS))
def test_a_damaged_stats_file_reads_as_zero(clean: Daemon, damage: str) -> None:
    (clean.cache_dir / "stats.json").write_bytes(DAMAGED_STATS[damage])
    status, text = scrape(clean)
    assert status == 200
    found = samples(text)
    assert sources_ok(found) == {"p2p": 1, "stats": 1, "disk": 1, "ratelimit": 1}
    hits = 2 if damage == "unknown names" else 0
    assert value(found, "ghcache_lookups_total", outcome="hit") == hits
    assert value(found, "ghcache_lookups_total", outcome="miss") == 0
    assert value(found, "ghcache_evictions_total") == 0
    assert not any("injected" in name for name, _ in found)


@pytest.mark.parametrize("damage", ["a counter beyond any float", "a FIFO", "a directory"])
def test_an_unreadable_stats_file_is_left_out_not_the_scrape(clean: Daemon, damage: str) -> None:
    path = clean.cache_dir / "stats.json"
    if damage == "a FIFO":
        os.mkfifo(path, 0o600)  # reading it would wait for a writer for ever
    elif damage == "a directory":
        path.mkdir()
    else:
        path.write_bytes(b'{"hits": 1%s}' % (b"0" * 400))
    now = time.time()
    RateLimitMemory(clean.cache_dir).remember(f"github.com:{FINGERPRINT}:core", now + 60, now)
    status, text = scrape(clean)
    assert status == 200
    found = samples(text)
    assert sources_ok(found) == {"p2p": 1, "stats": 0, "disk": 1, "ratelimit": 1}
    assert not any(name.startswith("ghcache_lookups") for name, _ in found)
    assert ("ghcache_p2p_peers", ()) in found
    assert value(
        found,
        "ghcache_rate_limit_blocked_until_seconds",
        host="github.com",
        identity=FINGERPRINT,
        resource="core",
    ) == pytest.approx(now + 60)


def poisoned_waits(now: float) -> dict[str, bytes]:
    good = f'"github.com:{FINGERPRINT}:core": {now + 120!r}'
    return {
        "far future": b'{"github.com:anonymous:core": 100000000000000000, %s}' % good.encode(),
        "infinite and NaN": b'{"a:b:c": 1e999, "d:e:f": -1e999, "g:h:i": NaN, %s}' % good.encode(),
        "strings and lists": b'{"a:b:c": "soon", "d:e:f": [1], "g:h:i": null, %s}' % good.encode(),
        "names without three parts": b'{"nohost": %.1f, ":x:": %.1f, %s}'
        % (now + 60, now + 60, good.encode()),
        "a lone surrogate": b'{"gh\\ud800:x:core": %.1f, %s}' % (now + 60, good.encode()),
        "a JSON list": b"[1e999, 100000000000000000]",
        "binary garbage": bytes(range(256)) * 20,
    }


@pytest.mark.parametrize("damage", sorted(poisoned_waits(0)))
def test_a_poisoned_ratelimit_file_keeps_the_scrape(clean: Daemon, damage: str) -> None:
    now = time.time()
    (clean.cache_dir / "ratelimit.json").write_bytes(poisoned_waits(now)[damage])
    status, text = scrape(clean)
    assert status == 200
    found = samples(text)
    assert sources_ok(found) == {"p2p": 1, "stats": 1, "disk": 1, "ratelimit": 1}
    waits = {
        dict(labels)["host"]: v
        for (name, labels), v in found.items()
        if name == "ghcache_rate_limit_blocked_until_seconds"
    }
    if damage in ("a JSON list", "binary garbage"):
        assert waits == {}
    else:
        assert waits == {"github.com": pytest.approx(now + 120)}


def test_a_fifo_as_ratelimit_file_is_left_out_not_the_scrape(clean: Daemon) -> None:
    os.mkfifo(clean.cache_dir / "ratelimit.json", 0o600)
    Stats(clean.cache_dir).add(hits=1)
    status, text = scrape(clean)
    assert status == 200
    found = samples(text)
    assert sources_ok(found) == {"p2p": 1, "stats": 1, "disk": 1, "ratelimit": 0}
    assert value(found, "ghcache_lookups_total", outcome="hit") == 1
    assert clean.status()["ok"] is True  # the daemon still answers its socket
