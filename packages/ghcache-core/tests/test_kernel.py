"""The kernel: C built-ins only at import, and each rule equal to the library it stands in for."""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ghcache.core.entry import Entry
from ghcache.core.kernel import counters, entries, identity, keys, serving, settings
from ghcache.core.stats import Stats

# What importing the kernel and running a whole hit may load beyond a bare interpreter.
ALLOWED = {"__future__", "_json", "_sha256", "fcntl", "ghcache", "ghcache.core"}

HIT = """
import json, sys, time
before = set(sys.modules)
from ghcache.core.kernel import counters, entries, hosts, identity, keys, serving, settings
values, _ = settings.read_settings({"CACHE_DIR": sys.argv[1]})
host, base, _ = hosts.api_urls(None, {})
who = identity.identity_fingerprint("ghp_token")
key = keys.cid_for_bytes(keys.canonical_bytes(keys.normalize_base(base), "GET",
    keys.normalize_path("repos/o/r"), sorted(keys.parse_query("a=1&b=2")), "", "", "",
    identity.SHARED_SCOPE))
found = entries.read_entry_file(str(values["CACHE_DIR"]), sys.argv[2], touch=True)
assert found is not None and serving.serves_fresh(found, who, "verified", time.time(), None)
counters.update_counters(str(values["CACHE_DIR"]), {"hits": 1})
print(json.dumps(sorted(set(sys.modules) - before - {"json", "json.decoder", "json.scanner", "json.encoder", "re"})))
"""


def test_a_hit_loads_only_builtins_and_the_kernel(tmp_path: Path) -> None:
    body = b'{"name": "r"}'
    entry = Entry(
        key=keys.cid_for_bytes(b"k"),
        scope="shared",
        method="GET",
        url="https://api.github.com/repos/o/r",
        stored_at=time.time(),
        ttl=300,
        status=200,
        headers=[],
        body=body,
        access={identity.identity_fingerprint("ghp_token"): time.time()},
    )
    (tmp_path / f"gh_api_{entry.key}.json").write_bytes(entry.to_bytes())
    done = subprocess.run(
        [sys.executable, "-c", HIT, str(tmp_path), entry.key],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    loaded = set(json.loads(done.stdout))
    kernel = {name for name in loaded if name.startswith("ghcache.core.kernel")}
    assert loaded - kernel <= ALLOWED, loaded - kernel - ALLOWED
    assert Stats(tmp_path).read()["hits"] == 1


@given(st.text(max_size=80))
def test_fingerprint_is_hmac_sha256(token: str) -> None:
    expected = hmac.new(
        b"ghcache/identity/v1", token.encode("utf-8", "surrogatepass"), hashlib.sha256
    )
    got = identity.identity_fingerprint(token)
    assert got == (expected.hexdigest()[:32] if token else identity.ANONYMOUS)


parts = st.text(max_size=20)


@given(parts, parts, parts, st.lists(st.tuples(parts, parts), max_size=3), parts, parts, parts)
def test_canonical_bytes_are_json_dumps(
    base: str,
    method: str,
    path: str,
    query: list[tuple[str, str]],
    accept: str,
    version: str,
    body: str,
) -> None:
    expected = json.dumps(
        [
            "ghcache-key-v1",
            base,
            method,
            path,
            [list(p) for p in query],
            accept,
            version,
            body,
            "s",
        ],
        ensure_ascii=False,
        separators=(",", ":"),
    ).encode("utf-8", "surrogatepass")
    assert keys.canonical_bytes(base, method, path, query, accept, version, body, "s") == expected


@given(st.text(st.sampled_from(list("ab=&+%2Fé;x ")), max_size=20))
def test_parse_query_is_parse_qsl(text: str) -> None:
    assert keys.parse_query(text) == parse_qsl(text, True)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=10),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(json_values)
def test_json_loads_is_json(value: object) -> None:
    assert entries.json_loads(json.dumps(value).encode()) == value


@pytest.mark.parametrize("raw", [b"", b"{", b'{"a": 1} x', b"[1,]", b"\xff", b"NaN", b"[Infinity]"])
def test_json_loads_refuses_what_is_not_strict_json(raw: bytes) -> None:
    with pytest.raises(entries.CorruptEntry):
        entries.json_loads(raw)


@pytest.mark.parametrize(
    ("path", "resolved"),
    [
        ("./user", "user"),
        ("repos/octo/hello/../../../user", "user"),
        ("repos/%2e%2E/user", "user"),
        ("repos/o/r/.", "repos/o/r/"),
        ("/../../user", "user"),
        ("repos/o/r", "repos/o/r"),
        ("a//b", "a//b"),
    ],
)
def test_dot_segments(path: str, resolved: str) -> None:
    assert keys.normalize_path(path) == resolved


def test_settings_table_validates_and_names_the_variable() -> None:
    values, sources = settings.read_settings({"CACHE_DEFAULT_TTL": "60"})
    assert values["CACHE_DEFAULT_TTL"] == 60 and sources["CACHE_DEFAULT_TTL"] == "env"
    assert values["CACHE_SHARING"] == "verified"
    with pytest.raises(settings.ConfigError, match="CACHE_SHARING"):
        settings.read_settings({"CACHE_SHARING": "all"})


def test_counters_add_up_with_stats(tmp_path: Path) -> None:
    Stats(tmp_path).add(misses=2)
    counters.update_counters(str(tmp_path), {"hits": 3})
    assert Stats(tmp_path).read() | {} == {
        **dict.fromkeys(counters.COUNTERS, 0),
        "hits": 3,
        "misses": 2,
    }


def test_serving_rule() -> None:
    now = 1_000_000.0
    entry = Entry("k", "shared", "GET", "u", now - 10, 300, 200, [], b"{}", access={"a": now - 10})
    assert serving.serves_fresh(entry, "a", "verified", now, None)
    assert not serving.serves_fresh(entry, "b", "verified", now, None)
    assert serving.is_candidate(entry, "b", "verified")
    assert serving.serves_fresh(entry, "b", "team", now, None)
    assert not serving.is_candidate(entry, "b", "off")
    assert not serving.serves_fresh(entry, "a", "verified", now, 5)  # --ttl 5
    future = entry.replace(stored_at=now + 3600, access={"a": now + 3600})
    assert not serving.serves_fresh(future, "a", "verified", now, None)
