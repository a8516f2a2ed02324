"""``GitHubAPICache.get`` counts in the process and adds to stats.json under the lock within a
second, at exit and before any read: no locked file update per get, totals still exact across
processes (forked children included, whatever their parent still held back)."""

from __future__ import annotations

import multiprocessing
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ghcache.core.cache import GitHubAPICache
from ghcache.core.kernel.counters import parse_counters
from ghcache.core.stats import FLUSH_EVERY, STATS_FILE, Stats

ENV = {"GITHUB_API_URL": "https://api.github.com/", "GH_TOKEN": "ghp_t"}


def in_file(directory: Path) -> dict[str, int]:
    """The counters as stats.json has them now (Stats.read would add ours first)."""
    try:
        return parse_counters((directory / STATS_FILE).read_bytes())
    except FileNotFoundError:
        return parse_counters(b"")


def test_gets_do_not_update_the_file_each_time_but_reads_see_them(tmp_path: Path) -> None:
    cache = GitHubAPICache(cache_dir=tmp_path, default_ttl=300, env=ENV)
    cache.put("gh_api", {"a": 1}, "repos/o/r")
    for _ in range(50):
        cache.get("gh_api", "repos/o/r")
        cache.get("gh_api", "repos/o/missing")
    assert in_file(tmp_path)["hits"] == 0  # held back: no locked update per get
    assert (cache.hits, cache.misses) == (50, 50)  # a read adds this process's counts first
    assert (in_file(tmp_path)["hits"], in_file(tmp_path)["misses"]) == (50, 50)


CHILD = """
import sys, time
from ghcache.core.cache import GitHubAPICache
cache = GitHubAPICache(cache_dir=sys.argv[1], default_ttl=300,
                       env={"GITHUB_API_URL": "https://api.github.com/", "GH_TOKEN": "t"})
for _ in range(int(sys.argv[2])):
    cache.get("gh_api", "repos/o/missing")
print("counted", flush=True)
time.sleep(60)
"""


@pytest.mark.slow
def test_a_busy_process_flushes_within_a_second(tmp_path: Path) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(tmp_path), "300"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None and proc.stdout.readline() == "counted\n"
        counted_at = time.monotonic()
        while in_file(tmp_path)["misses"] < 300 and time.monotonic() - counted_at < 10:
            time.sleep(0.05)
        waited = time.monotonic() - counted_at
        assert in_file(tmp_path)["misses"] == 300
        assert waited < FLUSH_EVERY + 1.0
        assert proc.poll() is None  # still running: the timer added them, not the exit
    finally:
        proc.kill()
        proc.wait()


def child_gets(directory: str, count: int) -> None:
    cache = GitHubAPICache(cache_dir=directory, default_ttl=300, env=ENV)
    for _ in range(count):
        cache.get("gh_api", "repos/o/r")  # multiprocessing ends the child with os._exit


@pytest.mark.slow
def test_forked_children_add_exactly_their_own_counts(tmp_path: Path) -> None:
    cache = GitHubAPICache(cache_dir=tmp_path, default_ttl=300, env=ENV)
    cache.put("gh_api", {"a": 1}, "repos/o/r")
    for _ in range(40):
        cache.get("gh_api", "repos/o/r")  # still held back when the children are forked
    assert in_file(tmp_path)["hits"] == 0
    context: Any = multiprocessing.get_context("fork")
    procs = [context.Process(target=child_gets, args=(str(tmp_path), 25)) for _ in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(60)
        assert proc.exitcode == 0
    assert in_file(tmp_path)["hits"] == 4 * 25  # each child's own, none of the parent's
    assert Stats(tmp_path).read()["hits"] == 40 + 4 * 25


def test_counts_held_back_never_make_a_removed_directory_again(tmp_path: Path) -> None:
    """A cache dir removed after a get (``rm -r``, a test's cleanup) stays removed when the
    process flushes at exit; a fresh directory is still made by a count that is not held."""
    directory = tmp_path / "cache"
    script = (
        "import shutil, sys\n"
        "from ghcache.core.cache import GitHubAPICache\n"
        f"cache = GitHubAPICache(cache_dir={str(directory)!r}, env={ENV!r})\n"
        "cache.put('gh_api', {'a': 1}, 'repos/o/r')\n"
        "cache.get('gh_api', 'repos/o/r')\n"
        f"shutil.rmtree({str(directory)!r})\n"
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert not directory.exists()
    Stats(directory).add(misses=1)
    assert in_file(directory)["misses"] == 1
