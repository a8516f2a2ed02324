"""ghcache-core store speed against requests-cache (SQLite) and diskcache, same run.

Run: ``python bench/bench_core.py`` (about 30 s; temp dirs only, no network).

For 2 KB and 200 KB JSON bodies it times, in a warm process:

* ``put``: store one response (under keys the gets do not read: a rewritten file is a
  new file, which ghcache verifies again);
* ``get``: fetch a fresh stored response back as the decoded Python object.

What each contender stores and returns:

* ghcache ``GitHubAPICache``: the documented API.  ``put("gh_api", data, endpoint)``
  computes the CIDv1 key of the request, writes one JSON file (entry format 2:
  a small header with body CID and length, then the exact JSON body as the last
  member ``data``) atomically and records it in the entry index; ``get`` looks the key
  up in its memo, reads the file (a body already verified in this process, by the file's
  inode, size, mtime and ctime, is not hashed again), checks freshness, decodes the body
  with msgspec and counts (added to stats.json within a second).
* ghcache ``GitHubAPICache``, json decoder: the same with ``json.loads``, to show what
  msgspec buys.
* ghcache ``DiskStore``: the same file write/read with a precomputed key and no
  counters (what the CLI hit path and the caching client pay per entry).
* ghcache format 1 (before): the previous layout, rebuilt here as the baseline:
  the body twice (decoded ``data`` and the exact ``body`` string), the whole file
  parsed on every read, the ``body`` string encoded and CID-verified.
* requests-cache ``SQLiteCache``: ``save_response`` of a ``requests.Response``
  (body bytes + headers, pickled ``CachedResponse`` row); ``get_response(key).json()``.
* diskcache ``Cache``: ``set(key, data)`` / ``get(key)`` of the same Python object
  (pickled; values over 32 KB go to their own file).

Aim: ghcache's hit path (get) at least as fast as the faster of the other two.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SIZES = {"2KB": 2 * 1024, "200KB": 200 * 1024}
KEYS = 200  # distinct entries per (contender, size)


def make_data(size: int) -> list[dict[str, Any]]:
    """A GitHub-like JSON list whose compact encoding is about ``size`` bytes."""
    items: list[dict[str, Any]] = []
    while len(json.dumps(items, separators=(",", ":"))) < size:
        n = len(items)
        items.append(
            {
                "id": 1000 + n,
                "number": n,
                "title": f"Issue number {n} with a title",
                "state": "open" if n % 3 else "closed",
                "user": {"login": f"user{n % 17}", "id": n * 7},
                "labels": [{"name": "bug"}, {"name": "ui"}][: n % 3],
                "body": "ünïcödé text " * (n % 4),
            }
        )
    return items


@dataclass
class Contender:
    name: str
    stores: str
    put: Callable[[int], Any]
    get: Callable[[int], Any]
    close: Callable[[], None]
    get_bytes: Callable[[int], bytes] | None = None  # the CLI's hit: body bytes, no decoding
    # Stores entry i for get/get_bytes; ``put`` stores under other keys, so the timed puts
    # never rewrite what the gets read (a rewritten file is new: it is verified again).
    fill: Callable[[int], Any] | None = None


def ghcache_api(directory: Path, data: Any) -> Contender:
    from ghcache.core.cache import GitHubAPICache

    cache = GitHubAPICache(cache_dir=directory, default_ttl=3600, max_bytes=1 << 40)
    return Contender(
        "ghcache GitHubAPICache",
        "JSON file per entry: header, then the exact body as data; verified on read; counters",
        put=lambda i: cache.put("gh_api", data, f"repos/o/r/pulls/{i}"),
        get=lambda i: cache.get("gh_api", f"repos/o/r/issues/{i}"),
        close=lambda: None,
        fill=lambda i: cache.put("gh_api", data, f"repos/o/r/issues/{i}"),
    )


def ghcache_api_json(directory: Path, data: Any) -> Contender:
    """The same, with msgspec switched off: what the faster decoder buys."""
    from ghcache.core import entry

    contender = ghcache_api(directory, data)
    inner = contender.get

    def get(i: int) -> Any:
        fast, entry._fast_decode = entry._fast_decode, None
        try:
            return inner(i)
        finally:
            entry._fast_decode = fast

    contender.name = "ghcache API, json decoder"
    contender.stores = "GitHubAPICache with json.loads instead of msgspec (same files)"
    contender.get = get
    return contender


def ghcache_store(directory: Path, data: Any) -> Contender:
    from ghcache.core.entry import Entry
    from ghcache.core.keys import make_request
    from ghcache.core.store import DiskStore

    store = DiskStore(directory, max_bytes=1 << 40)
    body = json.dumps(data, separators=(",", ":")).encode()
    keys = [make_request("https://api.github.com/", "GET", f"r/{i}").key for i in range(KEYS)]
    put_keys = [make_request("https://api.github.com/", "GET", f"p/{i}").key for i in range(KEYS)]
    now = time.time()

    def store_entry(key: str) -> None:
        store.write(
            Entry(key, "shared", "GET", "u", now, 3600, 200, [("ETag", '"x"')], body, data=data)
        )

    def put(i: int) -> None:
        store_entry(put_keys[i])

    def get(i: int) -> Any:
        entry = store.read(keys[i])
        return entry.data if entry is not None else None

    def get_bytes(i: int) -> bytes:
        entry = store.read(keys[i])
        return entry.body if entry is not None else b""

    return Contender(
        "ghcache DiskStore",
        "same file, key precomputed, no counters",
        put,
        get,
        lambda: None,
        get_bytes,
        fill=lambda i: store_entry(keys[i]),
    )


def ghcache_format_1(directory: Path, data: Any) -> Contender:
    """The previous entry layout and reader, as they were, for a same-run baseline."""
    from ghcache.core.cid import cid_for_bytes
    from ghcache.core.keys import make_request

    body = json.dumps(data, separators=(",", ":")).encode()
    keys = [make_request("https://api.github.com/", "GET", f"r/{i}").key for i in range(KEYS)]
    now = time.time()

    def path(i: int) -> Path:
        return directory / f"gh_api_{keys[i]}.json"

    def put(i: int) -> None:
        record = {
            "format": 1,
            "key": keys[i],
            "stored_at": now,
            "ttl": 3600,
            "status": 200,
            "headers": [["ETag", '"x"']],
            "body_cid": cid_for_bytes(body),
            "data": data,
            "body": body.decode(),
        }
        raw = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode()
        tmp = path(i).with_suffix(".tmp")
        tmp.write_bytes(raw)
        os.replace(tmp, path(i))

    def read(i: int) -> dict[str, Any]:
        record: dict[str, Any] = json.loads(path(i).read_bytes())
        exact = record["body"].encode()
        if cid_for_bytes(exact) != record["body_cid"]:
            raise ValueError("corrupt")
        record["exact"] = exact
        return record

    return Contender(
        "ghcache format 1 (before)",
        "previous layout: data and body both stored, whole file parsed per read",
        put,
        lambda i: read(i)["data"],
        lambda: None,
        lambda i: read(i)["exact"],
    )


def requests_cache_sqlite(directory: Path, data: Any) -> Contender:
    import requests
    from requests_cache.backends.sqlite import SQLiteCache
    from urllib3 import HTTPResponse

    cache = SQLiteCache(directory / "http_cache.sqlite")
    body = json.dumps(data, separators=(",", ":")).encode()

    def response(i: int) -> requests.Response:
        resp = requests.Response()
        resp.status_code = 200
        resp.reason = "OK"
        resp.url = f"https://api.github.com/repos/o/r/issues/{i}"
        resp.headers.update({"Content-Type": "application/json", "ETag": '"x"'})
        resp._content = body
        resp.raw = HTTPResponse(
            body=io.BytesIO(body),
            headers=dict(resp.headers),
            status=200,
            reason="OK",
            preload_content=False,
            request_url=resp.url,
        )
        resp.request = requests.Request("GET", resp.url).prepare()
        return resp

    prepared = [response(i) for i in range(KEYS)]

    def get(i: int) -> Any:
        found = cache.get_response(f"k{i}")
        return found.json() if found is not None else None

    def get_bytes(i: int) -> bytes:
        found = cache.get_response(f"k{i}")
        return found.content if found is not None else b""

    return Contender(
        "requests-cache SQLite",
        "pickled CachedResponse row (body bytes + headers); get decodes .json()",
        put=lambda i: cache.save_response(prepared[i], cache_key=f"p{i}"),
        get=get,
        close=cache.close,
        get_bytes=get_bytes,
        fill=lambda i: cache.save_response(prepared[i], cache_key=f"k{i}"),
    )


def diskcache_cache(directory: Path, data: Any) -> Contender:
    import diskcache

    cache = diskcache.Cache(str(directory / "diskcache"))
    body = json.dumps(data, separators=(",", ":")).encode()
    for i in range(KEYS):  # the body bytes too, for the bytes-only read
        cache.set(f"b{i}", body)
    return Contender(
        "diskcache Cache",
        "pickled Python object (SQLite row, or its own file over 32 KB); bytes as bytes",
        put=lambda i: cache.set(f"p{i}", data),
        get=lambda i: cache.get(f"k{i}"),
        close=cache.close,
        get_bytes=lambda i: cache.get(f"b{i}"),
        fill=lambda i: cache.set(f"k{i}", data),
    )


CONTENDERS = (
    ghcache_api,
    ghcache_api_json,
    ghcache_store,
    ghcache_format_1,
    requests_cache_sqlite,
    diskcache_cache,
)


def ops_per_second(work: Callable[[int], Any], budget: float) -> float:
    """Run ``work(i)`` over the keys (cycled) for about ``budget`` seconds."""
    done = 0
    gc.collect()
    clock = time.perf_counter
    start = clock()
    deadline = start + budget
    while True:
        work(done % KEYS)
        done += 1
        now = clock()
        if now >= deadline:
            return done / (now - start)


STORES: dict[str, str] = {}


def measure(budget: float, rounds: int) -> dict[tuple[str, str, str], float]:
    """Best of ``rounds`` interleaved runs per case: the machine may be busy with other work,
    and interleaving gives every contender the same chances."""
    results: dict[tuple[str, str, str], float] = {}
    for label, size in SIZES.items():
        data = make_data(size)
        with tempfile.TemporaryDirectory(prefix="bench-core-") as tmp:
            contenders = []
            for n, factory in enumerate(CONTENDERS):
                (Path(tmp) / str(n)).mkdir()
                contender = factory(Path(tmp) / str(n), data)
                STORES[contender.name] = contender.stores
                for i in range(KEYS):  # warm: every key stored and read once
                    (contender.fill or contender.put)(i)
                    if contender.get(i) != data:
                        sys.exit(f"{contender.name}: get returned something else")
                contenders.append(contender)
            for _ in range(rounds):
                for contender in contenders:
                    works = {
                        "get": contender.get,
                        "bytes": contender.get_bytes,
                        "put": contender.put,
                    }
                    for op, work in works.items():
                        if work is None:
                            continue
                        rate = ops_per_second(work, budget / rounds)
                        case = (contender.name, label, op)
                        results[case] = max(results.get(case, 0.0), rate)
            for contender in contenders:
                contender.close()
    return results


def report(results: dict[tuple[str, str, str], float]) -> None:
    names = list(dict.fromkeys(name for name, _, _ in results))
    columns = [(label, op) for label in SIZES for op in ("get", "bytes", "put")]
    header = f"{'ops/s':<24}" + "".join(f"{label + ' ' + op:>13}" for label, op in columns)
    print(header)
    print("-" * len(header))
    for name in names:
        cells = [results.get((name, label, op)) for label, op in columns]
        row = "".join(f"{cell:>13,.0f}" if cell else f"{'-':>13}" for cell in cells)
        print(f"{name:<24}{row}")
    print()
    print("get: fetch the decoded object; bytes: fetch the exact body bytes; put: store one")
    for name in names:
        print(f"  {name}: {STORES[name]}")
    print()
    print("ratios: ghcache / faster of requests-cache and diskcache (>= 1.0 means ghcache faster)")
    for ours in ("ghcache GitHubAPICache", "ghcache API, json decoder", "ghcache DiskStore"):
        if ours not in names:
            continue
        parts = []
        for label, op in columns:
            if (ours, label, op) not in results:
                continue
            best = max(
                results[("requests-cache SQLite", label, op)],
                results[("diskcache Cache", label, op)],
            )
            parts.append(f"{label} {op} {results[(ours, label, op)] / best:4.2f}")
        print(f"  {ours:<23} " + "  ".join(parts))
    print()
    print("entry layout: DiskStore (format 2) / format 1 (before) (>= 1.0 means format 2 faster)")
    parts = []
    for label, op in columns:
        before = results.get(("ghcache format 1 (before)", label, op))
        after = results.get(("ghcache DiskStore", label, op))
        if before and after:
            parts.append(f"{label} {op} {after / before:4.2f}")
    print("  " + "  ".join(parts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--budget", type=float, default=1.0, help="seconds per case")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds per case")
    args = parser.parse_args()
    started = time.perf_counter()
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {KEYS} keys per case")
    report(measure(args.budget, args.rounds))
    print(f"\n(total {time.perf_counter() - started:.0f} s)")


if __name__ == "__main__":
    main()
