"""ghcache's disk store at 10,000 and 100,000 entries: what grows with the number of entries.

Run: ``python bench/bench_store_scale.py`` (about two minutes; temp dirs only, no network).

For each size it fills a cache directory with real entry files (1 KB JSON bodies, each
with its own key, CID-checked like any other) and times, in this process:

* ``stats``: ``ghcache stats --json`` (click, in process: the command's own work, not
  Python's start-up, which ``process`` below shows);
* ``ls``: ``ghcache cache ls`` (all rows printed);
* ``prune``: ``ghcache cache prune`` ("prune 1%": the first, with 1 % of the entries
  expired past the stale limit, so it also pays an unlink per removed file; "prune": the
  next ones, nothing to remove, what the scan it replaces cost every time);
* ``put``: 1,500 ``DiskStore.write`` calls of new entries into a full store, each of
  which evicts to stay under ``max_bytes``: p50, p99 and the worst call.

The same-run baseline ("scan") is the store without its index, which is exactly the
code that did these before: ``stats`` sizes every file, ``ls`` and ``prune`` read and
verify every file (at the first size only unless ``--full-baseline``: ~20 s each at
100,000), a ``put`` scanned the directory with a chance proportional to the bytes
written ("put scan max" is that scan and eviction: what the unlucky call paid).  What
the first use after an upgrade pays is timed too: "index build" (one stat per file, by
the first call of any kind) and "first read" (every file read and verified once, by the
first ``ls`` or ``prune``).  Target: stats <= 50 ms, ls <= 1 s, prune <= 1 s, put p99 <=
5 ms, at 100,000 entries, and flat from 10,000.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from ghcache.cli.main import cli
from ghcache.core.entry import Entry
from ghcache.core.index import EntryIndex, IndexUnavailable
from ghcache.core.keys import make_request
from ghcache.core.store import DiskStore

BODY = json.dumps([{"id": n, "title": f"issue {n}", "state": "open"} for n in range(16)]).encode()
PUTS = 1500


class ScanningStore(DiskStore):
    """The store as it was: no index, so every figure comes from scanning the directory."""

    def __init__(self, directory: Path, *, max_bytes: int) -> None:
        super().__init__(directory, max_bytes=max_bytes)
        self.index = _NoIndex(self._directory)


class _NoIndex(EntryIndex):
    def _connection(self) -> Any:
        raise IndexUnavailable("the baseline keeps no index")


def fill(directory: Path, count: int, now: float) -> int:
    """``count`` entry files as DiskStore writes them (one serialisation, the key swapped in)."""
    directory.mkdir(mode=0o700)
    template = make_request("https://api.github.com/", "GET", "repos/o/r/issues/0")
    raw = Entry(
        template.key, "shared", "GET", template.url, now, 3600, 200, [("ETag", '"e"')], BODY
    ).to_bytes()
    total = 0
    for n in range(count):
        request = make_request("https://api.github.com/", "GET", f"repos/o/r/issues/{n}")
        data = raw.replace(template.key.encode(), request.key.encode())
        data = data.replace(template.url.encode(), request.url.encode())
        if n % 100 == 0:  # 1 %: expired a day before the stale limit
            data = data.replace(f'"stored_at":{now!r}'.encode(), b'"stored_at":1000000.0')
        path = directory / f"gh_api_{request.key}.json"
        path.write_bytes(data)
        used = now - count + n  # a distinct last use each: the LRU order is defined
        os.utime(path, (used, used))
        total += len(data)
    return total


def timed(work: Callable[[], Any], rounds: int = 3) -> float:
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        work()
        best = min(best, time.perf_counter() - started)
    return best


def command(env: dict[str, str], *args: str) -> Callable[[], None]:
    runner = CliRunner()

    def run() -> None:
        done = runner.invoke(cli, list(args), env=env)
        if done.exit_code != 0:
            sys.exit(f"ghcache {' '.join(args)} failed: {done.output}")

    return run


def put_latencies(store: DiskStore, count: int, now: float) -> list[float]:
    latencies = []
    for n in range(count):
        request = make_request("https://api.github.com/", "GET", f"repos/o/r/pulls/{n}")
        entry = Entry(request.key, "shared", "GET", request.url, now, 3600, 200, [], BODY)
        started = time.perf_counter()
        store.write(entry)
        latencies.append(time.perf_counter() - started)
    return latencies


def process_time(env: dict[str, str], *args: str) -> float:
    """Best wall time of ``ghcache ARGS`` as a real process (start-up included)."""
    script = Path(sys.executable).parent / "ghcache"
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        subprocess.run([script, *args], env={**os.environ, **env}, capture_output=True, check=True)
        best = min(best, time.perf_counter() - started)
    return best


def measure(count: int, root: Path, full_baseline: bool) -> dict[str, float]:
    now = time.time()
    directory = root / f"cache-{count}"
    total = fill(directory, count, now)
    env = {"CACHE_DIR": str(directory), "CACHE_ENABLE_P2P": "false", "CACHE_MAX_STALE": "3600"}
    env["CACHE_MAX_BYTES"] = str(total)
    figures: dict[str, float] = {}
    scan = ScanningStore(directory, max_bytes=total)
    figures["stats scan"] = timed(scan._scan_usage)
    nan = float("nan")
    # Reading every file takes ~20 s at 100,000 entries: by default only the first size.
    figures["ls scan"] = timed(scan.listing, rounds=1) if full_baseline else nan
    figures["prune scan"] = (
        timed(lambda: scan._scan_prune(now=now, max_stale=10**9), rounds=1)
        if full_baseline
        else nan
    )
    store = DiskStore(directory, max_bytes=total)
    figures["index build"] = timed(store.disk_usage, rounds=1)  # one stat per file
    figures["first read"] = timed(store.sync, rounds=1)  # what the first ls or prune reads
    figures["stats"] = timed(command(env, "stats", "--json"))
    figures["ls"] = timed(command(env, "cache", "ls"))
    figures["prune 1%"] = timed(command(env, "cache", "prune"), rounds=1)  # 1 unlink per 100
    figures["prune"] = timed(command(env, "cache", "prune"))  # nothing left to remove
    figures["stats process"] = process_time(env, "stats")
    latencies = sorted(put_latencies(store, PUTS, now))
    entries, size = store.disk_usage()
    on_disk = [p.stat().st_size for p in store.paths()]
    if (entries, size) != (len(on_disk), sum(on_disk)) or size > total:
        sys.exit(f"index: {entries} files, {size} bytes; disk: {len(on_disk)}, {sum(on_disk)}")
    for label, found in (("put", latencies),):
        figures[f"{label} p50"] = statistics.median(found)
        figures[f"{label} p99"] = found[int(len(found) * 0.99)]
        figures[f"{label} max"] = found[-1]
    # What the unlucky put paid before (a put scanned with a chance proportional to the
    # bytes written, ~1 in 1,500 here): the scan and eviction itself.  Last: it bypasses
    # the index.
    scan.max_bytes = size - 1
    figures["put scan max"] = timed(scan._scan_evict, rounds=1)
    return figures


def report(results: dict[int, dict[str, float]], empty_process: float) -> None:
    sizes = list(results)
    print(f"{'':<16}" + "".join(f"{n:>12,}" for n in sizes) + "   (seconds)")
    for name in results[sizes[0]]:
        print(f"{name:<16}" + "".join(f"{results[n][name]:>12.4f}" for n in sizes))
    print(f"{'stats process, empty cache':<28}{empty_process:.4f}")
    print()
    print("ratios: scan (before) / index (>= 1.0 means the index is faster)")
    for n in sizes:
        row = results[n]
        parts = [
            f"stats {row['stats scan'] / row['stats']:7.1f}",
            f"ls {row['ls scan'] / row['ls']:6.1f}",
            f"prune {row['prune scan'] / row['prune']:6.1f}",
            f"worst put {row['put scan max'] / row['put max']:6.1f}",
        ]
        print(f"  {n:>7,} entries: " + "  ".join(parts))
    big, small = results[sizes[-1]], results[sizes[0]]
    print()
    print(f"growth {sizes[0]:,} -> {sizes[-1]:,} entries (x{sizes[-1] // sizes[0]}):")
    for name in ("stats", "ls", "prune", "put p99"):
        print(f"  {name:<12} x{big[name] / small[name]:.1f}")
    print()
    print("targets at the largest size: stats <= 0.050, ls <= 1.0, prune <= 1.0, put p99 <= 0.005")
    for name, limit in (("stats", 0.05), ("ls", 1.0), ("prune", 1.0), ("put p99", 0.005)):
        print(f"  {name:<8} {big[name]:.4f} {'ok' if big[name] <= limit else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="10000,100000", help="entry counts, comma-separated")
    parser.add_argument(
        "--full-baseline",
        action="store_true",
        help="time ls and prune without the index at every size",
    )
    args = parser.parse_args()
    started = time.perf_counter()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {PUTS} puts per size")
    results = {}
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        for n, count in enumerate(int(n) for n in args.sizes.split(",")):
            results[count] = measure(count, Path(tmp), args.full_baseline or n == 0)
        empty = Path(tmp) / "empty"
        empty_process = process_time(
            {"CACHE_DIR": str(empty), "CACHE_ENABLE_P2P": "false"}, "stats"
        )
    report(results, empty_process)
    print(f"\n(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
