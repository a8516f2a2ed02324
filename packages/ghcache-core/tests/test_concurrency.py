"""16 processes hammering one cache directory: no errors, no torn files, exact counters."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import pytest

from ghcache.core.cache import GitHubAPICache
from ghcache.core.store import DiskStore

PROCESSES = 16
OPS = 2000
ENDPOINTS = [f"repos/o/r/issues/{i}" for i in range(40)]  # overlapping keys
ENV = {"GITHUB_API_URL": "https://api.github.com/"}


def worker(directory: str, worker_id: int, ops: int, max_bytes: int, results: Any) -> None:
    try:
        cache = GitHubAPICache(cache_dir=directory, default_ttl=3600, max_bytes=max_bytes, env=ENV)
        rng = random.Random(worker_id)
        wrong = gets = hits = 0
        for seq in range(ops):
            endpoint = rng.choice(ENDPOINTS)
            if rng.random() < 0.3:  # writes cost ~0.3 ms of kernel time each on ext4
                pad = "x" * rng.randrange(100, 4000)
                cache.put(
                    "gh_api",
                    {"endpoint": endpoint, "w": worker_id, "seq": seq, "pad": pad},
                    endpoint,
                )
            else:
                gets += 1
                data = cache.get("gh_api", endpoint)
                hits += data is not None
                if data is not None and data.get("endpoint") != endpoint:
                    wrong += 1
        results.put((gets, hits, gets - hits, wrong, None))
    except BaseException:
        results.put((0, 0, 0, 0, traceback.format_exc()))


@pytest.mark.slow
@pytest.mark.parametrize(
    ("ops", "max_bytes"),
    [(OPS, 1 << 30), (300, 60_000)],  # the second one evicts while others read and write
    ids=["no-eviction", "evicting"],
)
def test_many_processes_mixed_get_put(tmp_path: Path, ops: int, max_bytes: int) -> None:
    directory = tmp_path / "cache"
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    started = time.monotonic()
    procs = [
        context.Process(target=worker, args=(str(directory), i, ops, max_bytes, results))
        for i in range(PROCESSES)
    ]
    for proc in procs:
        proc.start()
    reports = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(30)
        assert proc.exitcode == 0
    elapsed = time.monotonic() - started

    errors = [error for *_, error in reports if error]
    assert errors == []
    assert sum(wrong for _, _, _, wrong, _ in reports) == 0
    hits = sum(h for _, h, _, _, _ in reports)
    misses = sum(m for _, _, m, _, _ in reports)
    assert hits + misses == sum(gets for gets, *_ in reports)
    store = DiskStore(directory)
    counters = store.stats.read()
    assert (counters["hits"], counters["misses"]) == (hits, misses)
    assert hits > 0
    assert counters["corrupt_dropped"] == 0  # no reader ever saw a torn file

    for path in store.paths():
        record = json.loads(path.read_bytes())
        entry = store.read(record["key"], touch=False)
        assert entry is not None and entry.data["endpoint"] in ENDPOINTS
    assert not [p for p in directory.iterdir() if p.name.endswith(".tmp")]
    if max_bytes < 1 << 30:
        assert counters["evictions"] > 0
        assert store.disk_usage()[1] <= max_bytes * 1.5
    print(f"{PROCESSES}x{ops} ops in {elapsed:.1f} s, {hits} hits, {misses} misses")


def test_threads_share_one_cache_instance(tmp_path: Path) -> None:
    cache = GitHubAPICache(cache_dir=tmp_path, default_ttl=3600, env=ENV)
    errors: list[str] = []

    def run(seed: int) -> None:
        rng = random.Random(seed)
        try:
            for seq in range(300):
                endpoint = rng.choice(ENDPOINTS[:5])
                if rng.random() < 0.5:
                    cache.put("gh_api", {"endpoint": endpoint, "seq": seq}, endpoint)
                else:
                    data = cache.get("gh_api", endpoint)
                    assert data is None or data["endpoint"] == endpoint
        except BaseException:
            errors.append(traceback.format_exc())

    threads = [threading.Thread(target=run, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    counters = cache.store.stats.read()
    assert (counters["hits"], counters["misses"]) == (cache.hits, cache.misses)
    assert cache.hits + cache.misses > 0
    assert os.path.exists(tmp_path / "stats.json")
