"""The p2p daemon on loopback: propagation, fetch on miss, bulk delivery, footprint.

Run: ``python bench/bench_p2p.py [--entries 200] [--bulk 1000]`` (about a minute; 127.0.0.1 only).

It starts five real daemons (``python -m ghcache.p2p.daemon``, each with its own
cache directory, Noise + yamux over TCP on 127.0.0.1, bootstrapped into a
partial mesh) and measures, the way the CLI uses them:

* propagation (A and B alone, then with five): store an entry on A exactly like the core client does
  (``DiskStore.write`` + the plugin's ``entry_stored`` hook), then time until it
  is a local hit on B (its file is in B's store), one entry at a time, split into
  the stages seen from outside (the write on A, the hook's socket send, daemon A ->
  the file on B), with how many gossip messages A published meanwhile (0 when its
  pushes reached the whole team);
* fetch on miss: an entry stored on A but never announced, looked up from B
  through the plugin's ``lookup_entry`` hook (control socket -> B -> fetch
  protocol -> A -> back), the path a CLI miss takes;
* bulk: 1,000 entries stored on A as fast as possible; how many reach each of
  the four other nodes and how long it takes;
* footprint: each daemon's RSS and its CPU use while idle over 5 s.

Baselines from the same run: the control-socket round trip (``status``) and a
local ``DiskStore`` write + read, the floor under any of the above.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "packages" / "ghcache-p2p" / "tests"))

from p2p_helpers import Daemon, Network, make_entry, wait_until  # noqa: E402

from ghcache.p2p import plugin  # noqa: E402

TARGET_PROPAGATION_MS = 10.0  # median, with 2 and with 5 daemons
TARGET_PROPAGATION_P95_MS = 15.0
TARGET_FETCH_MS = 20.0
TARGET_IDLE_CPU = 1.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def ms(seconds: float) -> float:
    return seconds * 1000


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]


def start_pair(root: Path) -> tuple[Network, list[Daemon]]:
    net = Network(root)
    a = net.start("a")
    b = net.start("b", bootstrap=[a])
    a.wait_topic_peers(b, timeout=30)
    b.wait_topic_peers(a, timeout=30)
    time.sleep(2.0)  # a couple of gossipsub heartbeats: meshes formed
    return net, [a, b]


def grow_to_five(net: Network, nodes: list[Daemon]) -> list[Daemon]:
    a, b = nodes
    c = net.start("c", bootstrap=[a, b])
    d = net.start("d", bootstrap=[b, c])
    e = net.start("e", bootstrap=[c, d])
    nodes = [a, b, c, d, e]
    for node in nodes:
        node.wait_topic_peers(*[n for n in nodes if n is not node], timeout=30)
    time.sleep(2.0)
    return nodes


class Propagation:
    """Times of store on A -> file on B, and their stages as seen from outside."""

    def __init__(self) -> None:
        self.total: list[float] = []
        self.write: list[float] = []  # DiskStore.write on A
        self.hook: list[float] = []  # entry_stored: the announce request on the socket
        self.daemons: list[float] = []  # daemon A -> B's store -> the file seen here
        self.gossip_messages = 0  # published by A during the run

    def line(self, label: str) -> str:
        median, tail = ms(statistics.median(self.total)), ms(p95(self.total))
        ok = median <= TARGET_PROPAGATION_MS and tail <= TARGET_PROPAGATION_P95_MS
        return (
            f"  {label}: median {median:7.2f} ms   p95 {tail:7.2f} ms   "
            f"target median <= {TARGET_PROPAGATION_MS:.0f}, p95 <= {TARGET_PROPAGATION_P95_MS:.0f}: "
            f"{'ok' if ok else 'MISSED'}\n"
            f"    stages (median): write on A {ms(statistics.median(self.write)):.2f} ms, "
            f"hook + socket {ms(statistics.median(self.hook)):.2f} ms, "
            f"daemon A -> file on B {ms(statistics.median(self.daemons)):.2f} ms; "
            f"gossip messages from A: {self.gossip_messages} ({len(self.total)} entries)"
        )


def bench_propagation(a: Daemon, b: Daemon, count: int) -> Propagation:
    result = Propagation()
    store_a, store_b = a.store(), b.store()
    gossip_before = a.counters()["announce_messages_sent"]
    for _ in range(count):
        entry = make_entry("propagation")
        path = store_b.path_for(entry.key)
        started = time.perf_counter()
        store_a.write(entry)  # what Daemon.put does, timed in two steps
        written = time.perf_counter()
        plugin.entry_stored(entry=entry, settings=a.cli_settings)
        sent = time.perf_counter()
        deadline = started + 5.0
        while not path.exists():
            if time.perf_counter() > deadline:
                raise SystemExit(f"bench_p2p: entry never reached B: {entry.key}")
            time.sleep(0.0002)
        seen = time.perf_counter()
        result.total.append(seen - started)
        result.write.append(written - started)
        result.hook.append(sent - written)
        result.daemons.append(seen - sent)
        time.sleep(0.01)
    result.gossip_messages = a.counters()["announce_messages_sent"] - gossip_before
    return result


def bench_fetch(a: Daemon, b: Daemon, count: int) -> list[float]:
    times = []
    for _ in range(count):
        entry = make_entry("fetch")
        a.store().write(entry)  # stored, never announced: only a fetch can move it
        started = time.perf_counter()
        found = b.lookup(entry.key)
        times.append(time.perf_counter() - started)
        if found is None or found.body != entry.body:
            raise SystemExit("bench_p2p: lookup on B did not fetch the entry from A")
    return times


def bench_bulk(nodes: list[Daemon], count: int) -> tuple[dict[str, int], float, float]:
    a, others = nodes[0], nodes[1:]
    entries = [make_entry("bulk") for _ in range(count)]
    started = time.perf_counter()
    for entry in entries:
        a.put(entry)
    stored = time.perf_counter() - started
    keys = [e.key for e in entries]

    def delivered(node: Daemon) -> int:
        store = node.store()
        return sum(store.path_for(k).exists() for k in keys)

    try:
        wait_until(lambda: all(delivered(n) == count for n in others), 60, "bulk delivery")
    except AssertionError:
        pass
    elapsed = time.perf_counter() - started
    return {n.cache_dir.name: delivered(n) for n in others}, stored, elapsed


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def bench_idle(nodes: list[Daemon], seconds: float) -> dict[str, tuple[float, float]]:
    pids = {n.cache_dir.name: n.process.pid for n in nodes if n.process is not None}
    time.sleep(1.0)
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    time.sleep(seconds)
    return {
        name: (rss_mib(pid), 100 * (cpu_seconds(pid) - before[name]) / seconds)
        for name, pid in pids.items()
    }


def baselines(a: Daemon, count: int = 200) -> tuple[float, float]:
    socket_times, store_times = [], []
    store = a.store()
    for _ in range(count):
        started = time.perf_counter()
        a.client.status()
        socket_times.append(time.perf_counter() - started)
        entry = make_entry("baseline")
        started = time.perf_counter()
        store.write(entry)
        store.read(entry.key)
        store_times.append(time.perf_counter() - started)
        store.delete(entry.key)
    return statistics.median(socket_times), statistics.median(store_times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=200, help="entries timed one by one")
    parser.add_argument("--fetches", type=int, default=100, help="lookups timed")
    parser.add_argument("--bulk", type=int, default=1000, help="entries stored at once")
    parser.add_argument("--idle", type=float, default=5.0, help="seconds of idle CPU measured")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench_p2p_") as tmp:
        print(f"load average before starting: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        net, nodes = start_pair(Path(tmp))
        try:
            a, b = nodes
            socket_rtt, store_rw = baselines(a)
            propagation = bench_propagation(a, b, args.entries)
            fetch = bench_fetch(a, b, args.fetches)
            nodes = grow_to_five(net, nodes)
            propagation5 = bench_propagation(a, b, args.entries // 2)
            fetch5 = bench_fetch(a, b, args.fetches // 2)
            delivered, stored_s, bulk_s = bench_bulk(nodes, args.bulk)
            idle = bench_idle(nodes, args.idle)
            refused = sum(sum(n.refused().values()) for n in nodes)
        finally:
            net.close()

    fetch_median = ms(statistics.median(fetch))
    lost = sum(args.bulk - n for n in delivered.values())
    worst_cpu = max(cpu for _, cpu in idle.values())
    print()
    print("baseline (same run)")
    print(f"  control socket round trip (status)   median {ms(socket_rtt):7.2f} ms")
    print(f"  local DiskStore write + read          median {ms(store_rw):7.2f} ms")
    print("propagation A -> local hit on B, one entry at a time")
    print(propagation.line("2 daemons"))
    print(propagation5.line("5 daemons"))
    print(f"fetch on miss, lookup_entry on B -> A, 2 daemons ({args.fetches} lookups)")
    print(
        f"  median {fetch_median:7.2f} ms   p95 {ms(p95(fetch)):7.2f} ms   "
        f"target median < {TARGET_FETCH_MS:.0f} ms: {'ok' if fetch_median < TARGET_FETCH_MS else 'MISSED'}"
        f"   ({fetch_median / ms(socket_rtt):.0f} x a control-socket round trip)"
    )
    print("with 5 daemons on the same cores")
    print(
        f"  fetch on miss median {ms(statistics.median(fetch5)):7.2f} ms   "
        f"p95 {ms(p95(fetch5)):7.2f} ms ({len(fetch5)} lookups)"
    )
    print(
        f"bulk, 5 daemons: {args.bulk} entries stored on A in {stored_s:.2f} s, all delivered after {bulk_s:.2f} s"
    )
    for name, count in delivered.items():
        print(f"  {name}: {count}/{args.bulk} delivered")
    print(
        f"  lost: {lost}   target 0: {'ok' if lost == 0 else 'MISSED'}   refused (all nodes): {refused}"
    )
    print(f"footprint (idle over {args.idle:.0f} s)")
    for name, (rss, cpu) in idle.items():
        print(f"  {name}: RSS {rss:6.1f} MiB   idle CPU {cpu:5.2f} %")
    print(
        f"  worst idle CPU {worst_cpu:.2f} %   target < {TARGET_IDLE_CPU:.0f} %: "
        f"{'ok' if worst_cpu < TARGET_IDLE_CPU else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
