"""Counters survive the process, add up exactly across processes, and never break a request."""

from __future__ import annotations

import json
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ghcache.core.stats import COUNTERS, Stats, summarize


def test_add_and_read(tmp_path: Path) -> None:
    stats = Stats(tmp_path)
    assert stats.read() == dict.fromkeys(COUNTERS, 0)
    stats.add(hits=2, misses=1)
    stats.add(hits=1, peer_hits=0)
    assert stats.read() == {**dict.fromkeys(COUNTERS, 0), "hits": 3, "misses": 1}
    stats.reset()
    assert stats.read() == dict.fromkeys(COUNTERS, 0)


def test_counters_survive_the_process(tmp_path: Path) -> None:
    code = (
        "import sys; from ghcache.core.stats import Stats; Stats(sys.argv[1]).add(hits=5, misses=2)"
    )
    for _ in range(2):
        subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True)
    counters = Stats(tmp_path).read()
    assert (counters["hits"], counters["misses"]) == (10, 4)


def _hammer(directory: str, rounds: int) -> None:
    stats = Stats(Path(directory))
    for i in range(rounds):
        stats.add(hits=1, misses=i % 2)


def test_concurrent_processes_add_up_exactly(tmp_path: Path) -> None:
    context = multiprocessing.get_context("fork")
    workers = [context.Process(target=_hammer, args=(str(tmp_path), 300)) for _ in range(8)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
        assert worker.exitcode == 0
    counters = Stats(tmp_path).read()
    assert counters["hits"] == 8 * 300
    assert counters["misses"] == 8 * 150


def test_killed_counter_leaves_a_readable_file(tmp_path: Path) -> None:
    code = (
        "import sys; from ghcache.core.stats import Stats\n"
        "s = Stats(sys.argv[1])\n"
        "print('ready', flush=True)\n"
        "while True: s.add(hits=1)\n"
    )
    for delay in (0.05, 0.13, 0.21):
        proc = subprocess.Popen(
            [sys.executable, "-c", code, str(tmp_path)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        raw = (tmp_path / "stats.json").read_bytes()
        assert isinstance(json.loads(raw)["hits"], int)  # parses: never torn
    before = Stats(tmp_path).read()["hits"]
    assert before > 0
    Stats(tmp_path).add(hits=1)
    assert Stats(tmp_path).read()["hits"] == before + 1


def test_missing_directory_is_created_so_the_first_count_is_kept(tmp_path: Path) -> None:
    stats = Stats(tmp_path / "fresh" / "cache")
    stats.add(misses=1, upstream_requests=1)
    counters = stats.read()
    assert (counters["misses"], counters["upstream_requests"]) == (1, 1)


def test_unusable_directory_is_silently_skipped(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    stats = Stats(blocker / "cache")
    stats.add(hits=1)  # must not raise: statistics never break a request
    stats.reset()
    assert stats.read() == dict.fromkeys(COUNTERS, 0)


@pytest.mark.parametrize(
    "content", [b"", b"{trunc", b"\x00\xff\xfe", b"[1, 2]", b'{"hits": "many", "misses": true}']
)
def test_garbage_stats_file_reads_as_zero_and_recovers(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "stats.json").write_bytes(content)
    stats = Stats(tmp_path)
    assert stats.read() == dict.fromkeys(COUNTERS, 0)
    stats.add(hits=1)
    assert stats.read()["hits"] == 1
    assert json.loads((tmp_path / "stats.json").read_bytes())["hits"] == 1


def test_shorter_rewrite_leaves_no_old_bytes(tmp_path: Path) -> None:
    stats = Stats(tmp_path)
    stats.add(hits=10**12, custom_counter=5)
    stats.reset()
    assert json.loads((tmp_path / "stats.json").read_bytes()) == dict.fromkeys(COUNTERS, 0)


def test_unknown_counters_are_kept(tmp_path: Path) -> None:
    stats = Stats(tmp_path)
    stats.add(custom_counter=3)
    stats.add(hits=1)
    assert stats.read()["custom_counter"] == 3


def test_summarize() -> None:
    counters = {
        **dict.fromkeys(COUNTERS, 0),
        "hits": 6,
        "peer_hits": 2,
        "stale_served": 1,
        "misses": 3,
        "revalidated": 2,
    }
    summary = summarize(counters)
    assert summary["lookups"] == 12
    assert summary["hit_rate"] == 0.75
    assert summary["rate_limit_units_saved"] == 11
    assert summarize(dict.fromkeys(COUNTERS, 0))["hit_rate"] == 0.0


def test_stats_file_mode(tmp_path: Path) -> None:
    Stats(tmp_path).add(hits=1)
    assert oct((tmp_path / "stats.json").stat().st_mode & 0o777) == oct(0o600)
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir())
    assert os.path.exists(tmp_path / ".stats.lock")


@pytest.mark.parametrize(
    ("content", "problem"),
    [(b"garbage{", "was not JSON"), (b'{"hits": -5, "misses": 2}', "invalid value for 'hits'")],
)
def test_a_damaged_stats_file_is_said_once_and_rebuilt(
    tmp_path: Path, content: bytes, problem: str
) -> None:
    (tmp_path / "stats.json").write_bytes(content)
    code = (
        "import sys; from ghcache.core.stats import Stats; "
        "s = Stats(sys.argv[1]); s.add(hits=1); s.add(hits=1); print(s.read()['hits'])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0
    assert done.stdout.strip() == "2"
    assert done.stderr.count("stats.json") == 1 and problem in done.stderr
