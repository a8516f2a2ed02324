"""The disk store: file layout, byte-exact round trips, permissions, eviction, pruning."""

from __future__ import annotations

import base64
import json
import os
import stat
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ghcache.core.cid import cid_for_bytes
from ghcache.core.entry import CorruptEntry, Entry
from ghcache.core.keys import make_request
from ghcache.core.store import CacheDirError, DiskStore, ensure_cache_dir

API = "https://api.github.com/"


def make_entry(
    path: str,
    body: bytes = b'{"ok":true}',
    *,
    ttl: float = 300,
    stored_at: float | None = None,
    status: int = 200,
) -> Entry:
    request = make_request(API, "GET", path)
    return Entry(
        key=request.key,
        scope=request.scope,
        method="GET",
        url=request.url,
        stored_at=time.time() if stored_at is None else stored_at,
        ttl=ttl,
        status=status,
        headers=[("Content-Type", "application/json"), ("ETag", '"abc"'), ("X-Dup", "1")],
        body=body,
    )


BODIES = {
    "json": b'{"full_name": "cli/cli", "stars": 1, "nested": {"a": [1, 2.5, null]}}',
    "json-pretty-unicode": '{\n  "name": "caf\u00e9 \u2603 \U0001f600"\n}\n'.encode(),
    "text": b"plain text, not JSON\n",
    "empty": b"",
    "latin-1": b"caf\xe9 \xff\xfe",
    "binary": bytes(range(256)) * 4,
    "nul": b"\x00",
    "json-null": b"null",
}


@pytest.mark.parametrize("name", list(BODIES))
def test_round_trip_is_byte_exact(tmp_path: Path, name: str) -> None:
    store = DiskStore(tmp_path)
    entry = make_entry(f"repos/o/{name}", BODIES[name])
    store.write(entry)
    back = store.read(entry.key)
    assert back is not None
    assert back.body == BODIES[name]
    assert back.body_cid == cid_for_bytes(BODIES[name])
    assert (back.key, back.scope, back.method, back.url) == (
        entry.key,
        entry.scope,
        entry.method,
        entry.url,
    )
    assert (back.stored_at, back.ttl, back.status, back.headers) == (
        entry.stored_at,
        entry.ttl,
        entry.status,
        entry.headers,
    )
    assert back.data == entry.data
    assert back.etag == '"abc"'


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=st.binary(max_size=2048), header=st.text(max_size=20))
def test_any_body_and_header_round_trip(tmp_path: Path, body: bytes, header: str) -> None:
    store = DiskStore(tmp_path)
    entry = make_entry("repos/o/any", body)
    entry.headers.append(("X-Any", header))
    store.write(entry)
    back = store.read(entry.key)
    assert back is not None
    assert back.body == body
    assert back.headers == entry.headers


def test_url_with_lone_surrogates_round_trips(tmp_path: Path) -> None:
    # What `ghcache api $'repos/o/r\xff'` turns into after argv decoding.
    store = DiskStore(tmp_path)
    entry = make_entry("repos/o/r\udcff", b"not found", status=404)
    store.write(entry)
    back = store.read(entry.key)
    assert back is not None and back.url == entry.url


def test_file_layout_and_inspection_fields(tmp_path: Path) -> None:
    store = DiskStore(tmp_path)
    entry = make_entry("repos/o/r", BODIES["json"], ttl=123)
    store.write(entry)
    path = tmp_path / f"gh_api_{entry.key}.json"
    assert store.path_for(entry.key) == path
    assert [p.name for p in store.paths()] == [path.name]
    raw = path.read_bytes()
    assert raw.startswith(b'{"format":2,')
    assert raw.endswith(b',"data":' + BODIES["json"] + b"}")  # the body once, verbatim, last
    record = json.loads(raw)
    assert record["stored_at"] == entry.stored_at
    assert record["ttl"] == 123
    assert record["data"] == json.loads(BODIES["json"])
    assert "body" not in record and "body_b64" not in record
    assert record["body_length"] == len(BODIES["json"])
    assert record["body_cid"] == cid_for_bytes(BODIES["json"])
    assert record["etag"] == '"abc"'


def test_non_utf8_body_is_stored_base64_with_null_data(tmp_path: Path) -> None:
    store = DiskStore(tmp_path)
    entry = make_entry("repos/o/latin", BODIES["latin-1"])
    store.write(entry)
    raw = store.path_for(entry.key).read_bytes()
    record = json.loads(raw)
    assert "body" not in record
    assert base64.b64decode(record["body_b64"]) == BODIES["latin-1"]
    assert record["data"] is None and raw.endswith(b',"data":null}')
    assert record["body_length"] == len(BODIES["latin-1"])


def test_permissions(tmp_path: Path) -> None:
    directory = tmp_path / "new" / "cache"
    store = DiskStore(directory)
    entry = make_entry("repos/o/r")
    store.write(entry)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE(store.path_for(entry.key).stat().st_mode) == 0o600
    store.stats.add(hits=1)
    for path in directory.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path.name


def test_existing_open_directory_is_tightened(tmp_path: Path) -> None:
    directory = tmp_path / "cache"
    directory.mkdir(mode=0o755)
    directory.chmod(0o755)
    DiskStore(directory).write(make_entry("repos/o/r"))
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700


def test_shared_sticky_directory_is_left_alone(tmp_path: Path) -> None:
    directory = tmp_path / "shared-tmp"
    directory.mkdir()
    directory.chmod(0o1777)  # like /tmp: CACHE_DIR=/tmp must not lock everyone else out
    store = DiskStore(directory)
    entry = make_entry("repos/o/r")
    store.write(entry)
    assert stat.S_IMODE(directory.stat().st_mode) == 0o1777
    assert stat.S_IMODE(store.path_for(entry.key).stat().st_mode) == 0o600


def test_read_only_directory_is_not_made_writable(tmp_path: Path) -> None:
    directory = tmp_path / "cache"
    directory.mkdir()
    directory.chmod(0o555)
    try:
        if os.geteuid() == 0:  # root writes anyway; what matters is that we add no bit
            ensure_cache_dir(directory)
        else:
            with pytest.raises(CacheDirError, match="not writable"):
                ensure_cache_dir(directory)
        assert stat.S_IMODE(directory.stat().st_mode) == 0o500
    finally:
        directory.chmod(0o700)


def test_unusable_directory_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(CacheDirError, match=r"cannot use cache directory .*file/cache"):
        DiskStore(blocker / "cache").write(make_entry("repos/o/r"))
    assert DiskStore(blocker / "cache").read(make_entry("repos/o/r").key) is None


def test_writes_are_atomic_and_leave_no_temp_files(tmp_path: Path) -> None:
    store = DiskStore(tmp_path)
    for i in range(20):
        store.write(make_entry("repos/o/r", json.dumps({"version": i}).encode()))
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []
    back = store.read(make_entry("repos/o/r").key)
    assert back is not None and back.data == {"version": 19}


def test_expired_entries_are_kept_for_stale_use(tmp_path: Path) -> None:
    store = DiskStore(tmp_path)
    entry = make_entry("repos/o/old", ttl=10, stored_at=time.time() - 3600)
    store.write(entry)
    back = store.read(entry.key)
    assert back is not None
    assert not back.is_fresh(time.time())
    assert back.age(time.time()) >= 3600


def test_body_cid_mismatch_is_a_counted_miss_and_removed(tmp_path: Path) -> None:
    store = DiskStore(tmp_path)
    entry = make_entry("repos/o/r", b'{"a":1}')
    store.write(entry)
    path = store.path_for(entry.key)
    raw = path.read_bytes()
    assert raw.endswith(b'"data":{"a":1}}')
    # Same shape, same length, different bytes: only the CID can tell.
    path.write_bytes(raw[: -len(b'{"a":1}}')] + b'{"a":2}}')
    assert store.read(entry.key) is None
    assert not path.exists()
    assert store.stats.read()["corrupt_dropped"] == 1


def test_entry_under_another_key_is_dropped(tmp_path: Path) -> None:
    store = DiskStore(tmp_path)
    entry = make_entry("repos/o/r")
    other = make_entry("repos/o/other")
    store.path_for(other.key).write_bytes(entry.to_bytes())
    assert store.read(other.key) is None
    assert not store.path_for(other.key).exists()
    assert store.stats.read()["corrupt_dropped"] == 1


def test_tampered_data_is_caught() -> None:
    entry = make_entry("repos/o/r", b'{"a":1}')
    raw = entry.to_bytes()
    forged = raw.replace(b'"data":{"a":1}', b'"data":{"a":9}')
    assert forged != raw
    assert Entry.from_bytes(raw).data == {"a": 1}
    with pytest.raises(CorruptEntry, match="CID"):
        Entry.from_bytes(forged)
    with pytest.raises(CorruptEntry, match="format"):
        Entry.from_bytes(raw.replace(b'"format":2', b'"format":3'))


def test_delete_clear_and_disk_usage(tmp_path: Path) -> None:
    store = DiskStore(tmp_path)
    entries = [make_entry(f"repos/o/{i}", b"x" * 100) for i in range(5)]
    for entry in entries:
        store.write(entry)
    count, total = store.disk_usage()
    assert count == 5
    assert total == sum(len(e.to_bytes()) for e in entries)
    assert store.delete(entries[0].key)
    assert not store.delete(entries[0].key)
    assert store.read(entries[0].key) is None
    assert {e.key for e in store.entries()} == {e.key for e in entries[1:]}
    assert store.clear() == 4
    assert store.disk_usage() == (0, 0)
    assert store.stats.read()["corrupt_dropped"] == 0


# ---- eviction --------------------------------------------------------------------------


def test_eviction_removes_least_recently_used_first(tmp_path: Path) -> None:
    size = len(make_entry("repos/o/a", b"x" * 1000).to_bytes())
    store = DiskStore(tmp_path, max_bytes=int(size * 3.5))  # room for 3 entries
    a, b, c, d, e = (make_entry(f"repos/o/{n}", b"x" * 1000) for n in "abcde")

    def kept() -> set[str]:
        names = {
            store.path_for(x.key).name: n for n, x in zip("abcde", (a, b, c, d, e), strict=True)
        }
        return {names[p.name] for p in store.paths()}

    def pause() -> None:
        time.sleep(0.02)  # file timestamps are only as fine as the kernel's clock tick

    for entry in (a, b, c):
        store.write(entry)
        pause()
    assert store.read(a.key) is not None  # a is now more recent than b and c
    pause()
    store.write(d)
    assert kept() == {"a", "c", "d"}
    pause()
    assert store.read(c.key) is not None
    pause()
    store.write(e)
    assert kept() == {"c", "d", "e"}
    assert store.stats.read()["evictions"] == 2


def test_scans_do_not_refresh_recency(tmp_path: Path) -> None:
    store = DiskStore(tmp_path, max_bytes=1 << 30)
    old, recent = make_entry("repos/o/old"), make_entry("repos/o/recent")
    store.write(old)
    store.write(recent)
    os.utime(store.path_for(old.key), (1_000_000, 1_000_000))
    os.utime(store.path_for(recent.key), (2_000_000, 1_000_000))
    assert len(list(store.entries())) == 2
    store.prune(now=time.time(), max_stale=10**9)
    assert store.path_for(old.key).stat().st_atime == 1_000_000
    assert store.path_for(recent.key).stat().st_atime == 2_000_000
    store.max_bytes = int(store.disk_usage()[1] * 0.99)  # one entry must go
    assert store.evict() == 1
    assert store.read(recent.key) is not None
    assert store.read(old.key) is None


def test_store_stays_near_its_budget_with_small_entries(tmp_path: Path) -> None:
    entry_size = len(make_entry("repos/o/0", b"x" * 1000).to_bytes())
    max_bytes = entry_size * 130  # each write is just under max_bytes / 64
    store = DiskStore(tmp_path, max_bytes=max_bytes)
    worst = 0
    for i in range(600):
        store.write(make_entry(f"repos/o/{i}", b"x" * 1000))
        worst = max(worst, store.disk_usage()[1])
    # Scans happen about once per max_bytes/64 written: a 25% overshoot has odds ~e^-16.
    assert worst <= max_bytes * 1.25, worst / max_bytes


def test_large_entry_write_always_checks_the_budget(tmp_path: Path) -> None:
    store = DiskStore(tmp_path, max_bytes=50_000)
    for i in range(10):
        store.write(make_entry(f"repos/o/{i}", b"y" * 20_000))
        assert store.disk_usage()[1] <= 50_000


# ---- prune -----------------------------------------------------------------------------


def test_prune(tmp_path: Path) -> None:
    store = DiskStore(tmp_path)
    now = time.time()
    fresh = make_entry("repos/o/fresh", stored_at=now, ttl=60)
    stale_ok = make_entry("repos/o/stale-ok", stored_at=now - 100, ttl=60)  # 40 s past ttl
    too_old = make_entry("repos/o/too-old", stored_at=now - 1000, ttl=60)
    for entry in (fresh, stale_ok, too_old):
        store.write(entry)
    corrupt = store.path_for(make_entry("repos/o/corrupt").key)
    corrupt.write_bytes(b'{"format": 1, "trunc')
    old_temp = tmp_path / f".{corrupt.name}.123.456.tmp"
    old_temp.write_bytes(b"partial")
    os.utime(old_temp, (now - 120, now - 120))
    new_temp = tmp_path / f".{corrupt.name}.123.789.tmp"
    new_temp.write_bytes(b"being written right now")

    assert store.prune(now=now, max_stale=300) == 2  # too_old and corrupt
    assert {e.key for e in store.entries()} == {fresh.key, stale_ok.key}
    assert not corrupt.exists()
    assert not old_temp.exists()
    assert new_temp.exists()  # may belong to a live writer
    assert (tmp_path / "stats.json").exists()
    assert store.stats.read()["corrupt_dropped"] == 1


def test_body_nested_too_deep_for_json_round_trips(tmp_path: Path) -> None:
    store = DiskStore(tmp_path)
    body = b"[" * 100_000 + b"]" * 100_000
    entry = make_entry("repos/o/deep", body)
    assert entry.data is None
    store.write(entry)
    back = store.read(entry.key)
    assert back is not None and back.body == body


@pytest.mark.parametrize(
    "key", ["../outside", "a/b", "nul\x00byte", "\udcff", "\ud800", "tab\tkey", "", "ключ"]
)
def test_keys_from_peers_never_escape_the_directory(tmp_path: Path, key: str) -> None:
    store = DiskStore(tmp_path / "cache")
    (tmp_path / "cache" / "gh_api_..").mkdir(parents=True)  # would let "../x" resolve
    entry = make_entry("repos/o/r")
    entry.key = key
    assert store.read(key) is None
    assert not store.delete(key)
    with pytest.raises(CacheDirError, match="refusing"):
        store.write(entry)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache"]
    assert store.disk_usage() == (0, 0)


def test_any_printable_ascii_key_works(tmp_path: Path) -> None:
    store = DiskStore(tmp_path)
    entry = make_entry("repos/o/r")
    entry.key = "test-123-some.peer_key"
    store.write(entry)
    back = store.read(entry.key)
    assert back is not None and back.key == entry.key


@pytest.mark.timeout(20)
@pytest.mark.parametrize("kind", ["symlink to /dev/zero", "fifo", "directory", "symlink out"])
def test_an_entry_that_is_not_a_regular_file_never_blocks_and_is_dropped(
    tmp_path: Path, kind: str
) -> None:
    store = DiskStore(tmp_path / "cache")
    store.directory.mkdir()
    key = make_entry("repos/o/r", b"{}").key
    path = store.path_for(key)
    if kind == "symlink to /dev/zero":
        path.symlink_to("/dev/zero")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "directory":
        path.mkdir()
    else:
        outside = tmp_path / "outside.json"
        outside.write_bytes(make_entry("repos/o/r", b"{}").to_bytes())
        path.symlink_to(outside)
    assert store.read(key) is None
    assert list(store.entries()) == []
    store.prune(now=time.time(), max_stale=0)
    if kind != "directory":
        assert not path.is_symlink() and not path.exists()
        assert store.stats.read()["corrupt_dropped"] >= 1
    if kind == "symlink out":
        assert (tmp_path / "outside.json").exists()  # the link goes, never its target
