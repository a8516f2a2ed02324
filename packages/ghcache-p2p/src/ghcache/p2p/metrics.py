"""Prometheus metrics for the daemon on 127.0.0.1:CACHE_METRICS_PORT (off unless set).

The exporter runs on prometheus-client's own thread and only reads the
daemon's counters; nothing here can block or break the trio loop.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from typing import Any

log = logging.getLogger("ghcache.p2p")

PREFIX = "ghcache_p2p_"


def start_metrics_server(
    port: int, snapshot: Callable[[], dict[str, Any]], peers: Callable[[], tuple[int, int]]
) -> int | None:
    """Serve /metrics on 127.0.0.1:``port``; the port bound, or None if it could not be."""
    from prometheus_client import start_http_server
    from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
    from prometheus_client.registry import Collector, CollectorRegistry

    class DaemonCollector(Collector):
        def collect(self) -> Iterator[Metric]:
            try:
                values = snapshot()
                connected, team = peers()
            except Exception:  # read while the daemon changes them: skip this scrape
                return
            for name, value in sorted(values["counters"].items()):
                yield CounterMetricFamily(PREFIX + name, name.replace("_", " "), value=value)
            refused = CounterMetricFamily(
                PREFIX + "refused", "messages or entries refused, by reason", labels=["reason"]
            )
            for reason, value in sorted(values["refused"].items()):
                refused.add_metric([reason], value)
            yield refused
            yield GaugeMetricFamily(PREFIX + "peers", "connected peers", value=connected)
            yield GaugeMetricFamily(
                PREFIX + "team_peers", "connected peers in our network (topic)", value=team
            )

    registry = CollectorRegistry(auto_describe=False)
    registry.register(DaemonCollector())
    try:
        server, _ = start_http_server(port, addr="127.0.0.1", registry=registry)
    except OSError as exc:
        log.warning("metrics disabled: cannot listen on 127.0.0.1:%d: %s", port, exc.strerror)
        return None
    return int(server.server_port)
