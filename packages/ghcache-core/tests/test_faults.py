"""Bad files in the cache directory and writers killed mid-write never break reads."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from ghcache.core.cache import GitHubAPICache
from ghcache.core.cid import cid_for_bytes
from ghcache.core.entry import CorruptEntry, Entry
from ghcache.core.index import INDEX_FILE
from ghcache.core.store import DiskStore

ENV = {"GITHUB_API_URL": "https://api.github.com/"}


MARKER = b',"data":'


def valid_parts(cache: GitHubAPICache, endpoint: str) -> tuple[bytes, dict[str, Any], bytes]:
    """A real entry file for ``endpoint``: (raw bytes, parsed header, verbatim body)."""
    key = cache.put("gh_api", {"endpoint": endpoint}, endpoint)
    raw = cache.store.path_for(key).read_bytes()
    cache.store.delete(key)
    split = raw.index(MARKER)
    return raw, json.loads(raw[:split] + b"}"), raw[split + len(MARKER) : -1]


def compose(header: dict[str, Any], data: bytes, *, ascii_only: bool = False) -> bytes:
    """A file laid out as the writer lays it out, so each case breaks one thing only."""
    head = json.dumps(header, ensure_ascii=ascii_only, separators=(",", ":")).encode()
    return head[:-1] + MARKER + data + b"}"


def bad_files(cache: GitHubAPICache, endpoint: str) -> dict[str, bytes]:
    """Every flavour of broken file, as it would sit under ``endpoint``'s real key."""
    raw, header, body = valid_parts(cache, endpoint)
    assert compose(header, body) == raw

    def variant(**changes: object) -> bytes:
        return compose({**header, **changes}, body)

    def with_text_body(text: str, **changes: object) -> bytes:
        return compose({**header, "body": text, **changes}, b"null", ascii_only=True)

    without = {k: v for k, v in header.items() if k not in ("body_length", "body_cid")}
    other_raw, other, _ = valid_parts(cache, endpoint + "/other")
    legacy = {**header, "format": 1, "data": json.loads(body)}
    del legacy["body_length"]
    return {
        "empty": b"",
        "one byte": raw[:1],
        "truncated half": raw[: len(raw) // 2],
        "truncated in the body": raw[: raw.index(MARKER) + len(MARKER) + 3],
        "truncated last byte": raw[:-1],
        "binary": bytes(random.Random(7).randrange(256) for _ in range(512)),
        "nul bytes": b"\x00" * 300,
        "invalid utf-8 in body": raw.replace(b"endpoint", b"endp\xffint"),
        "invalid utf-8 in header": raw.replace(b"shared", b"sh\xffred"),
        "json list": b"[]",
        "json null": b"null",
        "json string": b'"gh_api"',
        "empty object": b"{}",
        "deeply nested": b"[" * 100_000 + b"]" * 100_000,
        "deeply nested header": compose({**header, "x": None}, body).replace(
            b'"x":null', b'"x":' + b"[" * 100_000 + b"]" * 100_000
        ),
        "huge integer": b"1" * 5000,
        "format 3": variant(format=3),
        "format 1 without body": json.dumps(legacy, separators=(",", ":")).encode(),
        "no body": compose(header, b""),
        "bad base64": compose({**header, "body_b64": "!!!"}, b"null"),
        "body cid missing": variant(body_cid=None),
        "body cid wrong": variant(body_cid=other["body_cid"]),
        "body changed, same length": compose(header, body.replace(b"repos", b"forge")),
        "text body changed": with_text_body(body.decode() + " ", body_length=len(body) + 1),
        "lone surrogate body": with_text_body("\udcff", body_length=3),
        "headers a string": variant(headers="Content-Type: x"),
        "headers triples": variant(headers=[["a", "b", "c"]]),
        "stored_at text": variant(stored_at="yesterday"),
        "ttl negative": variant(ttl=-1),
        "ttl NaN": variant(ttl=float("nan")),
        "status text": variant(status="OK"),
        "key a number": variant(key=5),
        "another key's entry": other_raw,
        # Format 2 specifics: the body is located by its length from the end.
        "body_length wrong": variant(body_length=len(body) + 1),
        "body_length missing": compose({**without, "body_cid": header["body_cid"]}, body),
        "body_length text": variant(body_length=str(len(body))),
        "body_length true": compose(
            {**header, "body_cid": cid_for_bytes(b"1"), "body_length": True}, b"1"
        ),
        "trailing garbage": raw + b"garbage",
        "trailing brace": raw + b"}",
        "trailing newline": raw + b"\n",
        "data not last": json.dumps(
            {**without, "body_length": len(body), "data": json.loads(body), "body_cid": "x"},
            separators=(",", ":"),
        ).encode(),
        "data marker renamed": raw.replace(MARKER, b',"dat":'),
        "null data without a body field": compose(header, b"null"),
        "body field and verbatim data": compose({**header, "body": body.decode()}, body),
        "text body, then data not null": with_text_body(body.decode())[:-5] + body + b"}",
    }


@pytest.fixture
def cache(tmp_path: Path) -> GitHubAPICache:
    return GitHubAPICache(cache_dir=tmp_path / "cache", env=ENV)


def test_every_bad_file_is_a_counted_miss_and_is_removed(cache: GitHubAPICache) -> None:
    files = bad_files(cache, "repos/o/r")
    key = cache.request_for("gh_api", "repos/o/r").key
    path = cache.store.path_for(key)
    for name, content in files.items():
        path.write_bytes(content)
        assert cache.store.read(key) is None, name
        assert not path.exists(), name
        path.write_bytes(content)
        assert cache.get("gh_api", "repos/o/r") is None, name
        path.write_bytes(content)
        assert cache.get_stale("gh_api", "repos/o/r") is None, name
    assert cache.store.stats.read()["corrupt_dropped"] == 3 * len(files)
    assert cache.misses == len(files) and cache.hits == 0


def test_entry_from_bytes_raises_only_corrupt_entry(cache: GitHubAPICache) -> None:
    for name, content in bad_files(cache, "repos/o/r").items():
        if name == "another key's entry":
            continue  # valid on its own; only the store knows the key it was filed under
        with pytest.raises(CorruptEntry):
            Entry.from_bytes(content)
        with pytest.raises(CorruptEntry):
            Entry.from_bytes(content)


def test_directory_full_of_bad_files_then_writes_replace_them(cache: GitHubAPICache) -> None:
    files = bad_files(cache, "repos/o/r")
    endpoints = [f"repos/o/r{i}" for i in range(len(files))]
    for endpoint, content in zip(endpoints, files.values(), strict=True):
        key = cache.request_for("gh_api", endpoint).key
        cache.store.path_for(key).write_bytes(content)
    # Writes over the bad files, without reading them first.
    for endpoint in endpoints[::2]:
        cache.put("gh_api", {"fixed": endpoint}, endpoint)
    for endpoint in endpoints:
        expected = {"fixed": endpoint} if endpoint in endpoints[::2] else None
        assert cache.get("gh_api", endpoint) == expected, endpoint
    assert cache.store.stats.read()["corrupt_dropped"] == len(endpoints[1::2])
    # The rest were removed on read and can be written again.
    for endpoint in endpoints[1::2]:
        cache.put("gh_api", {"fixed": endpoint}, endpoint)
        assert cache.get("gh_api", endpoint) == {"fixed": endpoint}
    assert len(list(cache.store.entries())) == len(endpoints)


def test_scans_survive_bad_files(cache: GitHubAPICache) -> None:
    for i, content in enumerate(bad_files(cache, "repos/o/r").values()):
        cache.store.path_for(cache.request_for("gh_api", f"repos/o/r{i}").key).write_bytes(content)
    cache.put("gh_api", {"good": True}, "repos/o/good")
    assert [e.data for e in cache.store.entries()] == [{"good": True}]
    cache.store.max_bytes = 1
    cache.store.evict()
    assert cache.store.disk_usage() == (0, 0)
    assert cache.stats()["entries"] == 0


def test_directory_in_place_of_an_entry(cache: GitHubAPICache) -> None:
    key = cache.request_for("gh_api", "repos/o/r").key
    cache.store.path_for(key).mkdir(parents=True)
    assert cache.get("gh_api", "repos/o/r") is None
    assert cache.store.prune(now=time.time(), max_stale=0) >= 0


# ---- writers killed in the middle of writing --------------------------------------------

WRITER = """
import os, sys, time
from pathlib import Path
from ghcache.core.entry import Entry
from ghcache.core.keys import make_request
from ghcache.core.store import DiskStore

store = DiskStore(Path(sys.argv[1]), max_bytes=1 << 40)
entries = []
for n in range(4):
    request = make_request("https://api.github.com/", "GET", f"repos/o/big{n}")
    body = b"%d:" % n + os.urandom(3 << 20).hex().encode()  # 6 MiB: most time is the write
    entries.append(Entry(request.key, "shared", "GET", request.url, time.time(), 300, 200,
                         [("Content-Type", "text/plain")], body))
print("ready", flush=True)
while True:
    for entry in entries:
        store.write(entry)
"""


def test_sigkill_mid_write_leaves_a_readable_cache(tmp_path: Path) -> None:
    directory = tmp_path / "cache"
    rng = random.Random(42)
    kills = torn_writes = 0
    while kills < 5 or (torn_writes == 0 and kills < 12):
        kills += 1
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(directory)], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None and proc.stdout.readline() == "ready\n"
        time.sleep(rng.uniform(0.05, 0.6))
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait() == -signal.SIGKILL

        store = DiskStore(directory)
        entry_files = list(store.paths())
        for path in entry_files:
            key = path.name[len("gh_api_") : -len(".json")]
            entry = store.read(key, touch=False)
            assert entry is not None, f"{path.name} does not verify"
            assert entry.body.startswith(b"%d:" % int(entry.url[-1]))
        others = {p.name for p in directory.iterdir()} - {p.name for p in entry_files}
        leftovers = {n for n in others if n.startswith(".gh_api_") and n.endswith(".tmp")}
        index_files = {INDEX_FILE + suffix for suffix in ("", "-wal", "-shm")}
        assert others - leftovers <= {"stats.json", ".stats.lock", *index_files}
        torn_writes += bool(leftovers)
        assert store.stats.read()["corrupt_dropped"] == 0
        # The index survived the kill (SQLite rolled the writer's transaction back), and a
        # sync brings it level with a file killed between its rename and its row.
        store.sync()
        on_disk = [p.stat().st_size for p in entry_files]
        assert store.disk_usage() == (len(on_disk), sum(on_disk))

    store = DiskStore(directory)
    # Temp files of live writers are kept for a minute; a minute later prune removes them.
    store.prune(now=time.time() + 61, max_stale=10**9)
    assert sorted(p.name for p in directory.iterdir() if p.name.endswith(".tmp")) == []
    assert store.disk_usage()[0] == len(list(store.entries())) >= 1
