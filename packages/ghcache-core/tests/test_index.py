"""The entry index: what no user's call may do any more (list the directory, read every
file), and how the index stays the files' exact description: concurrent writers, files
changed behind its back, a lost or damaged index, a hit recorded only in a file's atime."""

from __future__ import annotations

import json
import multiprocessing
import os
import random
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import pytest

from ghcache.core.entry import Entry
from ghcache.core.index import INDEX_FILE
from ghcache.core.kernel.entries import read_entry_file
from ghcache.core.keys import make_request
from ghcache.core.store import DiskStore


def make_entry(path: str, size: int = 100, *, stored_at: float | None = None) -> Entry:
    request = make_request("https://api.github.com/", "GET", path)
    body = json.dumps({"path": path, "pad": "x" * size}).encode()
    when = time.time() if stored_at is None else stored_at
    return Entry(request.key, "shared", "GET", request.url, when, 300, 200, [], body)


def on_disk(store: DiskStore) -> tuple[int, int]:
    sizes = [path.stat().st_size for path in store.paths()]
    return len(sizes), sum(sizes)


# What a call does to the directory, seen through Python's audit events (sys.addaudithook):
# the real calls, observed, nothing replaced.  Run in a child so the hook dies with it.
AUDITED = """
import json, os, sys, time
from pathlib import Path
from ghcache.core.entry import Entry
from ghcache.core.keys import make_request
from ghcache.core.store import DiskStore

directory = sys.argv[1]
store = DiskStore(Path(directory), max_bytes=int(sys.argv[2]))
action = sys.argv[3]
if action != "first-put":
    store.disk_usage()  # the index is open (and built) before we watch
seen = {"listings": 0, "entry_opens": 0}
watching = False

def hook(event, args):
    if not watching:
        return
    if event in ("os.scandir", "os.listdir") and os.fspath(args[0] or ".") == directory:
        seen["listings"] += 1
    if event == "open" and isinstance(args[0], str) and "gh_api_" in args[0]:
        seen["entry_opens"] += not args[0].endswith(".tmp")

sys.addaudithook(hook)
watching = True
if action == "first-put":
    request = make_request("https://api.github.com/", "GET", "repos/o/first")
    store.write(Entry(request.key, "shared", "GET", request.url, time.time(), 300, 200, [], b"{}"))
elif action == "put":
    for n in range(200):
        request = make_request("https://api.github.com/", "GET", f"repos/o/new/{n}")
        body = json.dumps({"n": n, "pad": "y" * 3000}).encode()
        store.write(Entry(request.key, "shared", "GET", request.url, time.time(), 300, 200, [], body))
elif action == "stats":
    seen["usage"] = store.disk_usage()
elif action == "prune":
    seen["pruned"] = store.prune(now=time.time(), max_stale=60)
watching = False
seen["evictions"] = store.stats.read()["evictions"]
print(json.dumps(seen))
"""


def audited(directory: Path, max_bytes: int, action: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-c", AUDITED, str(directory), str(max_bytes), action],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.fixture
def full_store(tmp_path: Path) -> tuple[Path, int]:
    """300 entries of ~3 KB filling their budget: each new one must evict."""
    store = DiskStore(tmp_path / "cache", max_bytes=1 << 40)
    for n in range(300):
        store.write(make_entry(f"repos/o/r/{n}", 3000))
    return tmp_path / "cache", on_disk(store)[1]


def test_puts_at_a_full_cache_never_list_the_directory(full_store: tuple[Path, int]) -> None:
    directory, budget = full_store
    seen = audited(directory, budget, "put")
    # Before the index, each of these puts had a 1 in 5 chance of a full scan.
    assert seen["listings"] == 0
    assert seen["evictions"] >= 150
    store = DiskStore(directory)
    assert store.disk_usage() == on_disk(store)
    assert store.disk_usage()[1] <= budget


def test_a_new_process_put_into_a_cache_begun_empty_lists_nothing(tmp_path: Path) -> None:
    """The index is made by the first put into an empty directory; later processes (each
    ``ghcache api`` miss is one) find it in step with the files and never list them."""
    directory = tmp_path / "cache"
    store = DiskStore(directory, max_bytes=1 << 40)
    for n in range(50):
        store.write(make_entry(f"repos/o/r/{n}", 3000))
    store.index.close()
    seen = audited(directory, 1 << 40, "first-put")  # the index opened while watched
    assert (seen["listings"], seen["entry_opens"]) == (0, 0)


def test_stats_neither_lists_nor_reads(full_store: tuple[Path, int]) -> None:
    directory, budget = full_store
    seen = audited(directory, budget, "stats")
    assert (seen["listings"], seen["entry_opens"]) == (0, 0)
    assert tuple(seen["usage"]) == on_disk(DiskStore(directory))


def test_prune_lists_once_and_opens_no_entry(full_store: tuple[Path, int]) -> None:
    directory, budget = full_store
    store = DiskStore(directory)
    for n in range(5):
        store.write(make_entry(f"repos/o/old/{n}", stored_at=time.time() - 3600))
    seen = audited(directory, budget * 2, "prune")
    assert seen["pruned"] == 5
    assert seen["entry_opens"] == 0  # the expired ones are known from the index
    assert seen["listings"] <= 2  # the sync with the directory's names, old temp files


def test_the_put_that_builds_a_lost_index_reads_no_entry(full_store: tuple[Path, int]) -> None:
    directory, budget = full_store
    DiskStore(directory).index.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{directory / INDEX_FILE}{suffix}").unlink(missing_ok=True)
    seen = audited(directory, budget * 2, "first-put")
    assert seen["entry_opens"] == 0  # one stat per file builds sizes and uses
    assert seen["listings"] == 1
    store = DiskStore(directory)
    assert store.disk_usage() == on_disk(store)
    rows, unreadable = store.listing()  # ls reads what the build did not
    assert len(rows) == on_disk(store)[0] and unreadable == 0
    assert all(row.url.startswith("https://api.github.com/repos/o/") for row in rows)
    assert store.index._read("SELECT count(*) FROM entries WHERE ok = -1") == [(0,)]


def test_files_changed_behind_the_index_are_picked_up_by_sync(tmp_path: Path) -> None:
    store = DiskStore(tmp_path)
    kept, removed, replaced = (make_entry(f"repos/o/{n}") for n in ("kept", "removed", "replaced"))
    for entry in (kept, removed, replaced):
        store.write(entry)
    added = make_entry("repos/o/added")
    store.path_for(added.key).write_bytes(added.to_bytes())  # not through the store
    store.path_for(removed.key).unlink()
    bigger = make_entry("repos/o/replaced", 5000)
    tmp = tmp_path / "elsewhere"
    tmp.write_bytes(bigger.to_bytes())
    os.replace(tmp, store.path_for(replaced.key))
    (tmp_path / f"gh_api_{make_entry('repos/o/junk').key}.json").write_bytes(b"{not json")
    rows, unreadable = store.listing()
    assert {row.key for row in rows} == {kept.key, added.key, replaced.key}
    assert unreadable == 1
    assert next(row for row in rows if row.key == replaced.key).size == len(bigger.to_bytes())
    assert store.disk_usage() == on_disk(store)


@pytest.mark.parametrize("damage", ["deleted", "garbage", "truncated", "other-schema"])
def test_a_lost_or_damaged_index_is_rebuilt(tmp_path: Path, damage: str) -> None:
    store = DiskStore(tmp_path)
    entries = [make_entry(f"repos/o/{n}", 200 * n) for n in range(20)]
    for entry in entries:
        store.write(entry)
    expected = on_disk(store)
    assert store.disk_usage() == expected
    store.index.close()  # as when the process ends: SQLite folds its WAL into the file
    index = tmp_path / INDEX_FILE
    assert not Path(f"{index}-wal").exists()
    if damage == "deleted":
        index.unlink()
    elif damage == "garbage":
        index.write_bytes(b"this is not a database" * 1000)
    elif damage == "truncated":
        with open(index, "r+b") as handle:
            handle.truncate(2048)
    else:
        import sqlite3

        conn = sqlite3.connect(index)
        conn.execute("PRAGMA user_version = 99")
        conn.execute("DELETE FROM entries")
        conn.commit()
        conn.close()
    fresh = DiskStore(tmp_path)  # another process, later
    assert fresh.disk_usage() == expected
    rows, unreadable = fresh.listing()
    assert {row.key for row in rows} == {entry.key for entry in entries}
    assert unreadable == 0


def test_eviction_follows_hits_recorded_only_in_the_files(tmp_path: Path) -> None:
    """The CLI's fast path records a hit in the file's access time, never in the index."""
    size = len(make_entry("repos/o/0", 1000).to_bytes())
    store = DiskStore(tmp_path, max_bytes=size * 10 + 100)  # room for 10 (stored_at varies)
    entries = [make_entry(f"repos/o/{n}", 1000) for n in range(10)]
    for n, entry in enumerate(entries):
        store.write(entry)
        os.utime(store.path_for(entry.key), ns=(1_000_000_000 * (n + 1),) * 2)
    store.sync()  # the index now holds these (old) access times
    hit = entries[:3]  # the three least recently used...
    for entry in hit:  # ...are hit by the fast path, which touches only the file
        assert read_entry_file(str(tmp_path), entry.key, touch=True) is not None
    store.write(make_entry("repos/o/new", 1000))
    store.write(make_entry("repos/o/newer", 1000))
    left = {path.name for path in store.paths()}
    assert all(store.path_for(e.key).name in left for e in hit)
    assert store.path_for(entries[3].key).name not in left  # the true LRU went first
    assert store.path_for(entries[4].key).name not in left
    assert store.disk_usage() == on_disk(store)


def writer(directory: str, seed: int, errors: Any) -> None:
    try:
        store = DiskStore(Path(directory), max_bytes=200_000)
        rng = random.Random(seed)
        for _ in range(150):
            entry = make_entry(f"repos/o/{rng.randrange(60)}", rng.randrange(100, 8000))
            roll = rng.random()
            if roll < 0.7:
                store.write(entry)
            elif roll < 0.85:
                store.delete(entry.key)
            elif roll < 0.95:
                store.read(entry.key)
            else:
                store.evict()
    except BaseException:
        errors.put(traceback.format_exc())


@pytest.mark.slow
def test_concurrent_writers_keep_the_index_exact(tmp_path: Path) -> None:
    directory = tmp_path / "cache"
    context = multiprocessing.get_context("fork")
    errors = context.Queue()
    procs = [context.Process(target=writer, args=(str(directory), i, errors)) for i in range(6)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(120)
        assert proc.exitcode == 0
    assert errors.empty(), errors.get()
    store = DiskStore(directory)
    # No sync: every change went through the index with its file, in one transaction.
    rows = {row.key: row.size for row in store.index.rows()}
    files = {
        path.name[len("gh_api_") : -len(".json")]: path.stat().st_size for path in store.paths()
    }
    assert rows == files
    assert store.disk_usage() == (len(files), sum(files.values()))
    assert store.disk_usage()[1] <= 200_000
