"""Reads in a long-lived process: a body verified once is not hashed again while its file is
the same version, and any change to the file (even one that puts its mtime back) is noticed."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ghcache.core.cache import GitHubAPICache
from ghcache.core.entry import Entry, decode_json
from ghcache.core.keys import make_request
from ghcache.core.store import DiskStore
from ghcache.core.verified import RACY_NS

ENV = {"GITHUB_API_URL": "https://api.github.com/", "GH_TOKEN": "ghp_alice"}


def stored(store: DiskStore, path: str, body: bytes) -> Entry:
    request = make_request("https://api.github.com/", "GET", path)
    entry = Entry(request.key, "shared", "GET", request.url, time.time(), 300, 200, [], body)
    store.write(entry)
    return entry


def age(path: Path) -> int:
    """Set the file's times well in the past (older than the racy window); returns the mtime."""
    old = time.time_ns() - 10 * RACY_NS
    os.utime(path, ns=(old, old))
    return old


def remembered(store: DiskStore, key: str) -> bool:
    return key in store._reads._known


def test_a_file_written_just_now_is_hashed_on_every_read(tmp_path: Path) -> None:
    store = DiskStore(tmp_path)
    entry = stored(store, "repos/o/r", b'{"a":1}')
    assert store.read(entry.key) is not None
    assert not remembered(store, entry.key)  # a write in the same clock tick could hide
    age(store.path_for(entry.key))
    assert store.read(entry.key) is not None
    assert remembered(store, entry.key)
    back = store.read(entry.key)  # served from the remembered header, the body read again
    assert back is not None and back.body == b'{"a":1}' and back.data == {"a": 1}


def test_a_use_reaches_the_access_time_later_and_the_memo_survives_it(tmp_path: Path) -> None:
    store = DiskStore(tmp_path)
    entry = stored(store, "repos/o/r", b'{"a":1}')
    path = store.path_for(entry.key)
    old = age(path)
    assert store.read(entry.key) is not None and remembered(store, entry.key)
    before = time.time_ns()
    assert store.read(entry.key) is not None
    assert path.stat().st_atime_ns == old  # held back: no utime (and ctime move) per read
    store._reads.record_uses()  # what the timer, exit or an eviction does
    assert path.stat().st_atime_ns >= before
    assert path.stat().st_mtime_ns == old
    known = store._reads._known[entry.key]
    assert known.version[3] == path.stat().st_ctime_ns  # our own touch: still the same version
    assert store.read(entry.key) is not None and remembered(store, entry.key)


@pytest.mark.parametrize("restore_mtime", [False, True], ids=["mtime-moved", "mtime-restored"])
def test_a_body_rewritten_in_place_is_refused(tmp_path: Path, restore_mtime: bool) -> None:
    store = DiskStore(tmp_path)
    entry = stored(store, "repos/o/r", b'{"a":1}')
    path = store.path_for(entry.key)
    mtime = age(path)
    assert store.read(entry.key) is not None and remembered(store, entry.key)
    raw = path.read_bytes()
    with open(path, "r+b") as handle:  # same inode, same size, other bytes
        handle.write(raw.replace(b'{"a":1}}', b'{"a":2}}'))
    if restore_mtime:  # only the ctime still tells
        os.utime(path, ns=(mtime, mtime))
    assert path.stat().st_size == len(raw)
    assert store.read(entry.key) is None  # hashed again: the CID no longer matches
    assert not path.exists()
    assert store.stats.read()["corrupt_dropped"] == 1


def test_a_valid_rewrite_with_its_mtime_put_back_is_read_anew(tmp_path: Path) -> None:
    store = DiskStore(tmp_path)
    first = stored(store, "repos/o/r", b'{"v":"one"}')
    path = store.path_for(first.key)
    mtime = age(path)
    assert store.read(first.key) is not None and remembered(store, first.key)
    second = first.replace(body=b'{"v":"two"}', body_cid="", headers=[("X-Longer", "header")])
    with open(path, "r+b") as handle:  # in place, header of another length
        handle.truncate(0)
        handle.write(second.to_bytes())
    os.utime(path, ns=(mtime, mtime))
    back = store.read(first.key)
    assert back is not None and back.body == b'{"v":"two"}'


def test_a_replaced_file_is_read_anew(tmp_path: Path) -> None:
    store = DiskStore(tmp_path)
    entry = stored(store, "repos/o/r", b'{"v":1}')
    age(store.path_for(entry.key))
    assert store.read(entry.key) is not None and remembered(store, entry.key)
    other = DiskStore(tmp_path)  # another process's store, replacing the file (new inode)
    stored(other, "repos/o/r", b'{"v":2}')
    back = store.read(entry.key)
    assert back is not None and back.data == {"v": 2}


def test_returned_entries_and_data_are_the_callers_own(tmp_path: Path) -> None:
    cache = GitHubAPICache(cache_dir=tmp_path, default_ttl=300, env=ENV)
    cache.put("gh_api", {"list": [1, 2]}, "repos/o/r")
    age(cache.store.path_for(cache.request_for("gh_api", "repos/o/r").key))
    first = cache.get("gh_api", "repos/o/r")
    first["list"].append(3)
    assert cache.get("gh_api", "repos/o/r") == {"list": [1, 2]}
    entry = cache.store.read(cache.request_for("gh_api", "repos/o/r").key)
    assert entry is not None
    entry.headers.append(("X-Mine", "1"))
    entry.access["someone"] = 1.0
    again = cache.store.read(entry.key)
    assert again is not None and ("X-Mine", "1") not in again.headers
    assert "someone" not in again.access


def test_request_keys_follow_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GITHUB_API_URL", "https://api.github.com/")
    monkeypatch.setenv("GH_TOKEN", "ghp_alice")
    cache = GitHubAPICache(cache_dir=tmp_path, default_ttl=300)
    alice = cache.request_for("gh_api", "user")
    assert cache.request_for("gh_api", "user") is alice  # remembered
    cache.put("gh_api", {"login": "alice"}, "user")
    monkeypatch.setenv("GH_TOKEN", "ghp_bob")
    assert cache.request_for("gh_api", "user").key != alice.key
    assert cache.get("gh_api", "user") is None  # bob never sees alice's answer
    monkeypatch.setenv("GITHUB_API_URL", "https://ghe.example/api/v3/")
    assert cache.request_for("gh_api", "repos/o/r").url.startswith("https://ghe.example/")
    monkeypatch.setenv("GITHUB_API_URL", "https://api.github.com/")
    monkeypatch.setenv("GH_TOKEN", "ghp_alice")
    assert cache.get("gh_api", "user") == {"login": "alice"}


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_decoding_is_json_loads(value: object) -> None:
    body = json.dumps(value).encode()
    assert decode_json(body) == json.loads(body)
    assert repr(decode_json(body)) == repr(json.loads(body))  # ints stay ints, floats floats


@pytest.mark.parametrize(
    "body",
    [
        b"123456789012345678901234567890",
        b"[-98765432109876543210987654321]",
        b"1E400",
        b"NaN",
        b'"\\ud800"',
        b'{"\\udc00": 1}',
        b"\xef\xbb\xbf{}",
        b'"\xed\xa0\x80"',
        b'{"a": 1, "a": 2}',
        b"[1,]",
        b"\xff",
        b"[" * 2000 + b"]" * 2000,
    ],
)
def test_decoding_edge_cases_is_json_loads(body: bytes) -> None:
    try:
        expected = json.loads(body)
    except (ValueError, RecursionError):
        expected = None
    got = decode_json(body)
    assert repr(got) == repr(expected)


@pytest.mark.parametrize("body", [b"", b"[]", b"plain text"])
def test_remembered_entries_are_copies_whatever_the_body(tmp_path: Path, body: bytes) -> None:
    store = DiskStore(tmp_path)
    entry = stored(store, "repos/o/r", body)
    age(store.path_for(entry.key))
    first = store.read(entry.key)
    second = store.read(entry.key)
    assert first is not None and second is not None
    first.headers.append(("X-Mine", "1"))
    third = store.read(entry.key)
    assert third is not None and third.headers == [] and third.body == body


def test_threads_never_read_another_files_bytes_through_a_kept_descriptor(tmp_path: Path) -> None:
    """Few kept descriptors, constantly closed and reopened (numbers reused) while files are
    replaced: every body read must be one that was stored under that very key."""
    import threading

    from ghcache.core.cid import cid_for_bytes

    store = DiskStore(tmp_path)
    store._reads.open_files = 2
    keys = {}
    for n in range(6):
        entry = stored(store, f"repos/o/{n}", json.dumps({"n": n, "v": 0}).encode())
        age(store.path_for(entry.key))
        keys[entry.key] = n
    stop = time.monotonic() + 2.0
    wrong: list[str] = []

    def reader(seed: int) -> None:
        import random

        rng = random.Random(seed)
        while time.monotonic() < stop:
            key = rng.choice(list(keys))
            found = store.read_body(key)
            if found is None:
                continue  # between a writer's rename and our open: a miss, never wrong data
            header, body = found
            if json.loads(body)["n"] != keys[key] or cid_for_bytes(body) != header.body_cid:
                wrong.append(key)

    def writer() -> None:
        version = 0
        other = DiskStore(tmp_path)
        while time.monotonic() < stop:
            version += 1
            for key, n in keys.items():
                entry = make_request("https://api.github.com/", "GET", f"repos/o/{n}")
                assert entry.key == key
                body = json.dumps({"n": n, "v": version}).encode()
                other.write(Entry(key, "shared", "GET", entry.url, time.time(), 300, 200, [], body))
                age(other.path_for(key))
            time.sleep(0.01)

    threads = [threading.Thread(target=reader, args=(i,)) for i in range(4)]
    threads.append(threading.Thread(target=writer))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []
    assert len(store._reads._open) <= 2
