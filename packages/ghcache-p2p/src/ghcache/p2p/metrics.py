"""Prometheus metrics for the daemon on 127.0.0.1:CACHE_METRICS_PORT (off unless set).

The exporter runs on prometheus-client's own thread and only reads: the
daemon's counters, and the cache dir's files (``ghcache.p2p.cache_metrics``);
nothing here can block or break the trio loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

log = logging.getLogger("ghcache.p2p")

PREFIX = "ghcache_p2p_"


def start_metrics_server(
    port: int,
    snapshot: Callable[[], dict[str, Any]],
    peers: Callable[[], tuple[int, int]],
    *,
    cache_dir: Path,
    started_at: float,
) -> int | None:
    """Serve /metrics on 127.0.0.1:``port``; the port bound, or None if it could not be."""
    from prometheus_client import start_http_server
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
    from prometheus_client.registry import Collector, CollectorRegistry

    from ghcache.p2p.cache_metrics import cache_readers, read_sources

    def p2p_metrics() -> Iterable[Metric]:
        # Read while the daemon changes them: a failure leaves p2p out of this scrape.
        values = snapshot()
        connected, team = peers()
        families: list[Metric] = [
            CounterMetricFamily(PREFIX + name, name.replace("_", " "), value=value)
            for name, value in sorted(values["counters"].items())
        ]
        refused = CounterMetricFamily(
            PREFIX + "refused", "messages or entries refused, by reason", labels=["reason"]
        )
        for reason, value in sorted(values["refused"].items()):
            refused.add_metric([reason], value)
        families.append(refused)
        families.append(GaugeMetricFamily(PREFIX + "peers", "connected peers", value=connected))
        families.append(
            GaugeMetricFamily(
                PREFIX + "team_peers", "connected peers in our network (topic)", value=team
            )
        )
        return families

    class DaemonCollector(Collector):
        def collect(self) -> Iterator[Metric]:
            yield GaugeMetricFamily(
                "ghcache_daemon_start_time_seconds",
                "Unix time the daemon started",
                value=started_at,
            )
            readers = {"p2p": p2p_metrics, **cache_readers(cache_dir, time.time())}
            yield from read_sources(readers)

    registry = CollectorRegistry(auto_describe=False)
    registry.register(DaemonCollector())
    try:
        server, _ = start_http_server(port, addr="127.0.0.1", registry=registry)
    except OSError as exc:
        log.warning("metrics disabled: cannot listen on 127.0.0.1:%d: %s", port, exc.strerror)
        return None
    return int(server.server_port)
