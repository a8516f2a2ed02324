"""The cache's own Prometheus metrics, served beside the daemon's (``ghcache.p2p.metrics``).

Read from the cache dir at every scrape with core's public readers: the
counters every ghcache process adds to (``stats.json``), the entries on disk,
and the rate-limit waits (``ratelimit.json``).  Those files are written by
other processes and may be damaged: each source is read on its own, and one
that cannot be read is left out of that scrape (``ghcache_metrics_source_ok``
says which) instead of failing it (prometheus-client answers 500 to a scrape
whose collector raises, and cannot write a number too large for a float).
"""

from __future__ import annotations

import logging
import math
import os
import stat
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from ghcache.core.ratelimit import MAX_FILE_BYTES as RATELIMIT_MAX_BYTES
from ghcache.core.ratelimit import RATELIMIT_FILE, RateLimitMemory
from ghcache.core.stats import STATS_FILE, Stats, summarize
from ghcache.core.store import DiskStore

log = logging.getLogger("ghcache.p2p")

PREFIX = "ghcache_"
# stats.json is a few hundred bytes; anything far larger is not ours to parse at every scrape.
MAX_STATS_BYTES = 1 << 20
# A real machine waits for a handful of (host, identity, resource); a poisoned file
# must not turn one scrape into millions of series.
MAX_WAIT_SERIES = 1000
# (stats.json counter, outcome label): every lookup ends as exactly one of these.
LOOKUP_OUTCOMES = (
    ("hits", "hit"),
    ("peer_hits", "peer_hit"),
    ("stale_served", "stale"),
    ("misses", "miss"),
)
CACHE_COUNTERS = (
    ("revalidated", "misses answered by a free 304"),
    ("upstream_requests", "requests sent to GitHub"),
    ("rate_limit_units_saved", "lookups that cost no rate-limit unit"),
    ("confirmed", "another identity's copy confirmed for the caller by a 304"),
    ("etag_mismatch", "computed ETags GitHub did not match although the body was the same"),
    ("corrupt_dropped", "damaged entry files removed"),
    ("evictions", "entries evicted to stay within CACHE_MAX_BYTES"),
)


class Unreadable(ValueError):
    """A file in the cache dir is not one we can read (it is left out of the scrape)."""


def cache_readers(cache_dir: Path, now: float) -> dict[str, Callable[[], Iterable[Metric]]]:
    """The cache's sources by name, for :func:`read_sources`."""
    return {
        "stats": lambda: stats_metrics(cache_dir),
        "disk": lambda: disk_metrics(cache_dir),
        "ratelimit": lambda: ratelimit_metrics(cache_dir, now),
    }


def read_sources(readers: dict[str, Callable[[], Iterable[Metric]]]) -> list[Metric]:
    """Every source's metrics, then ``ghcache_metrics_source_ok``: 0 for one left out."""
    families: list[Metric] = []
    source_ok = GaugeMetricFamily(
        PREFIX + "metrics_source_ok",
        "1 when the source was read for this scrape, 0 when its metrics were left out",
        labels=["source"],
    )
    for source, read in readers.items():
        try:
            found = list(read())
        except Exception as exc:  # damaged or odd files: this scrape goes on without them
            log.debug("metrics: %s left out: %r", source, exc)
            source_ok.add_metric([source], 0)
            continue
        families.extend(found)
        source_ok.add_metric([source], 1)
    families.append(source_ok)
    return families


def stats_metrics(cache_dir: Path) -> Iterator[Metric]:
    check_regular_file(cache_dir / STATS_FILE, MAX_STATS_BYTES)
    counts = summarize(Stats(cache_dir).read())
    lookups = CounterMetricFamily(
        PREFIX + "lookups", "cache lookups by how they ended", labels=["outcome"]
    )
    for name, outcome in LOOKUP_OUTCOMES:
        lookups.add_metric([outcome], sample_value(counts, name))
    yield lookups
    for name, meaning in CACHE_COUNTERS:
        yield CounterMetricFamily(PREFIX + name, meaning, value=sample_value(counts, name))


def disk_metrics(cache_dir: Path) -> Iterator[Metric]:
    entries, size = DiskStore(cache_dir).disk_usage()
    yield GaugeMetricFamily(PREFIX + "cache_entries", "entry files on disk", value=entries)
    yield GaugeMetricFamily(PREFIX + "cache_bytes", "bytes of entry files on disk", value=size)


def ratelimit_metrics(cache_dir: Path, now: float) -> Iterator[Metric]:
    check_regular_file(cache_dir / RATELIMIT_FILE, RATELIMIT_MAX_BYTES)
    waits = GaugeMetricFamily(
        PREFIX + "rate_limit_blocked_until_seconds",
        "Unix time until which no process here asks GitHub for this host, identity and resource",
        labels=["host", "identity", "resource"],
    )
    active = sorted(RateLimitMemory(cache_dir).active(now).items())
    for who, until in active[:MAX_WAIT_SERIES]:
        labels = wait_labels(who)
        if labels is not None:
            waits.add_metric(list(labels), until)
    yield waits


def wait_labels(who: str) -> tuple[str, str, str] | None:
    """(host, identity, resource) of a ``host:identity:resource`` name, or None.

    Split from the right: a host may carry a port (``GH_HOST=ghe.local:8443``), the
    identity fingerprint and the resource never hold a colon.
    """
    rest, _, resource = who.rpartition(":")
    host, _, identity = rest.rpartition(":")
    if not (host and identity and resource):
        return None
    try:
        who.encode("utf-8")  # a lone surrogate from the file would break the exposition
    except UnicodeEncodeError:
        return None
    return host, identity, resource


def sample_value(counts: dict[str, int], name: str) -> float:
    """A counter as the exposition's float; one it cannot write marks the file damaged."""
    try:
        value = float(counts.get(name, 0))
    except OverflowError:
        raise Unreadable(f"{STATS_FILE}: {name} is too large") from None
    if not math.isfinite(value):
        raise Unreadable(f"{STATS_FILE}: {name} is not a number")
    return value


def check_regular_file(path: Path, max_bytes: int) -> None:
    """Raise Unreadable unless ``path`` is missing or a regular file of at most ``max_bytes``.

    Reading a FIFO put there would hang the scrape, a device or huge file would fill memory.
    """
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise Unreadable(f"{path.name}: {exc.strerror}") from None
    if not stat.S_ISREG(info.st_mode):
        raise Unreadable(f"{path.name} is not a regular file")
    if info.st_size > max_bytes:
        raise Unreadable(f"{path.name} is {info.st_size} bytes")
