"""The fast path re-implements core's key, entry reading and hit counting with
fewer imports; these tests prove each piece equal to core's, so a change in
core that the fast path does not follow fails here."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ghcache.cli import fastpath
from ghcache.core import cid, entry, keys, scope, stats, store
from ghcache.core.config import DEFAULTS, ConfigError, Settings
from ghcache.core.entry import Entry
from ghcache.core.hosts import resolve_host, token_from_env
from ghcache.core.store import DiskStore

path_chars = st.sampled_from(list("abcXYZ019._~-/%:@!$'()*+,;="))
endpoints = st.text(path_chars, min_size=1, max_size=40)
query_pairs = st.lists(
    st.tuples(st.text("abc_[]", min_size=1, max_size=5), st.text("xyz019+%2Cé ", max_size=6)),
    max_size=4,
)
header_values = st.one_of(
    st.none(),
    st.sampled_from(
        ["application/vnd.github+json", "application/vnd.github.raw", " text/plain ", "ÄÖ"]
    ),
)
hosts = st.sampled_from([None, "github.com", "GitHub.com", "github.localhost", "ghe.example.com"])
api_urls = st.sampled_from(["", "http://127.0.0.1:8080", "HTTP://LOCALHOST:99/api/v3/"])


def test_constants_match_core() -> None:
    assert fastpath.KEY_SCHEMA == keys.KEY_SCHEMA
    assert fastpath.ENTRY_FORMAT == entry.FORMAT_VERSION
    assert fastpath.ENTRY_DATA_MARKER == entry.DATA_MARKER
    assert (fastpath.ENTRY_PREFIX, fastpath.ENTRY_SUFFIX) == (
        store.ENTRY_PREFIX,
        store.ENTRY_SUFFIX,
    )
    assert (fastpath.STATS_FILE, fastpath.STATS_LOCK_FILE) == (stats.STATS_FILE, stats.LOCK_FILE)
    assert fastpath.STATS_COUNTERS == stats.COUNTERS
    assert fastpath.SHARED_SCOPE == entry.SHARED_SCOPE
    assert fastpath.IDENTITY_PREFIX == scope.IDENTITY_PREFIX
    assert tuple(p for p, _ in scope.IDENTITY_SCOPED_PATHS) == fastpath.IDENTITY_PATHS
    assert DEFAULTS["CACHE_DIR"] == fastpath.DEFAULT_CACHE_DIR
    assert set(fastpath.INT_SETTINGS) | set(fastpath.BOOL_SETTINGS) | {
        "CACHE_DIR",
        "CACHE_LISTEN_ADDR",
        "CACHE_BOOTSTRAP_PEERS",
    } == set(DEFAULTS)


@given(st.binary(max_size=300))
def test_cid_matches_core(data: bytes) -> None:
    assert fastpath.cid_for_bytes(data) == cid.cid_for_bytes(data)


@given(hosts, api_urls, st.sampled_from(["", "ghe.example.com", "github.localhost"]))
def test_rest_url_matches_resolve_host(hostname: str | None, api_url: str, gh_host: str) -> None:
    env = {"GITHUB_API_URL": api_url, "GH_HOST": gh_host}
    assert fastpath.rest_url(hostname, env) == resolve_host(hostname, env).rest_url


@given(
    hosts,
    st.sampled_from(["", "ghe.example.com"]),
    st.dictionaries(
        st.sampled_from(
            ["GH_TOKEN", "GITHUB_TOKEN", "GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN"]
        ),
        st.sampled_from(["", "  ", "ghp_a", " ghp_b "]),
    ),
)
def test_env_token_matches_core(hostname: str | None, gh_host: str, tokens: dict[str, str]) -> None:
    env = {"GH_HOST": gh_host, **tokens}
    assert fastpath.env_token(hostname, env) == token_from_env(resolve_host(hostname, env), env)[0]


@given(st.text(st.sampled_from(list("usernotifcatiosp_l/")), max_size=20))
def test_identity_paths_match_core(path: str) -> None:
    assert fastpath.is_identity_path(path) == scope.is_identity_path(path)


@settings(max_examples=300)
@given(endpoints, query_pairs, header_values, header_values, hosts, api_urls, st.booleans())
def test_request_key_matches_build_request(
    endpoint: str,
    query: list[tuple[str, str]],
    accept: str | None,
    api_version: str | None,
    hostname: str | None,
    api_url: str,
    with_token: bool,
) -> None:
    from urllib.parse import urlencode

    if query:
        endpoint = endpoint + "?" + urlencode(query)
    env = {"GITHUB_API_URL": api_url}
    host = resolve_host(hostname, env)
    base = fastpath.rest_url(hostname, env)
    token = "ghp_alice" if with_token else None
    url = host.rest_url + endpoint.removeprefix("/")
    expected = scope.build_request(
        "GET", url, host, accept=accept, api_version=api_version, token=token
    )
    assert expected is not None
    path = endpoint.partition("?")[0]
    request_scope = fastpath.SHARED_SCOPE
    if fastpath.is_identity_path(path.lstrip("/")):
        request_scope = fastpath.IDENTITY_PREFIX + (
            fastpath.identity_fingerprint(token) if token else "anonymous"
        )
    key = fastpath.request_key(
        base,
        endpoint.removeprefix("/"),
        accept=accept,
        api_version=api_version,
        scope=request_scope,
    )
    if key is not None:  # None only means "unsure": the slow path answers
        assert key == expected.key


def test_request_key_handles_the_common_forms() -> None:
    env: dict[str, str] = {}
    host = resolve_host(None, env)
    for endpoint in ("repos/octo/hello", "repos/octo/hello/issues?per_page=5&state=all", "/x"):
        url = host.rest_url + endpoint.removeprefix("/")
        request = scope.build_request("GET", url, host)
        assert request is not None
        got = fastpath.request_key(
            host.rest_url, endpoint.removeprefix("/"), accept=None, api_version=None, scope="shared"
        )
        assert got == request.key


@given(st.text(st.sampled_from(list("0123456789 +-_abtrueflsonyTRUE")), max_size=6))
def test_plain_settings_are_accepted_by_core(value: str) -> None:
    for name in list(fastpath.INT_SETTINGS) + list(fastpath.BOOL_SETTINGS):
        env = {name: value}
        if fastpath.settings_are_plain(env):
            Settings.from_env(env)  # must not raise


def test_bad_settings_are_left_to_the_slow_path() -> None:
    for env in (
        {"CACHE_DEFAULT_TTL": "abc"},
        {"CACHE_LISTEN_PORT": "70000"},
        {"CACHE_ENABLE_P2P": "maybe"},
    ):
        assert not fastpath.settings_are_plain(env)
        with pytest.raises(ConfigError):
            Settings.from_env(env)


def make_entry(key: str, body: bytes, **fields: object) -> Entry:
    values: dict[str, object] = {
        "key": key,
        "scope": "shared",
        "method": "GET",
        "url": "https://api.github.com/x",
        "stored_at": time.time(),
        "ttl": 60.0,
        "status": 200,
        "headers": [("Content-Type", "application/json"), ("X-Two", "a"), ("X-Two", "b")],
        "body": body,
        "reason": "OK",
        "http_version": "HTTP/2.0",
    }
    values.update(fields)
    return Entry(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize("body", [b'{"a": 1}', b"", "é ünïcode".encode(), b"\xff\x00binary"])
def test_read_entry_returns_what_core_stored(tmp_path: Path, body: bytes) -> None:
    key = cid.cid_for_bytes(b"request")
    stored = make_entry(key, body)
    DiskStore(tmp_path).write(stored)
    got = fastpath.read_entry(str(tmp_path), key)
    assert got is not None
    assert (got.status, got.reason, got.http_version, got.headers, got.body) == (
        stored.status,
        stored.reason,
        stored.http_version,
        stored.headers,
        stored.body,
    )
    assert (got.stored_at, got.ttl) == (stored.stored_at, stored.ttl)


def test_read_entry_refuses_what_core_refuses_without_deleting(tmp_path: Path) -> None:
    key = cid.cid_for_bytes(b"request")
    disk = DiskStore(tmp_path)
    disk.write(make_entry(key, b'{"a": 1}'))
    path = disk.path_for(key)
    raw = path.read_bytes()
    assert raw.endswith(b',"data":{"a": 1}}')
    legacy = {**json.loads(raw), "format": 1, "body": '{"a": 1}'}
    bad_files = {
        "body changed": raw.replace(b'{"a": 1}}', b'{"a": 2}}'),  # only the CID can tell
        "format 3": raw.replace(b'"format":2', b'"format":3'),
        "another key": raw.replace(key.encode(), cid.cid_for_bytes(b"other").encode()),
        "ttl negative": raw.replace(b'"ttl":60.0', b'"ttl":-1'),
        "status text": raw.replace(b'"status":200', b'"status":"x"'),
        "no headers": raw.replace(b'"headers":', b'"hdrs":'),
        "body_length wrong": raw.replace(b'"body_length":8', b'"body_length":9'),
        "body_length a float": raw.replace(b'"body_length":8', b'"body_length":8.0'),
        "trailing garbage": raw + b"x",
        "trailing brace": raw + b"}",
        "data not last": raw[:-1] + b',"x":1}',
        "truncated": raw[:-1],
        "deeply nested header": raw.replace(
            b'"ttl"', b'"x":' + b"[" * 50_000 + b"]" * 50_000 + b',"ttl"'
        ),
        "deeply nested": b"[" * 100_000 + b"]" * 100_000,
    }
    for name, content in bad_files.items():
        path.write_bytes(content)
        assert fastpath.read_entry(str(tmp_path), key) is None, name
        assert path.exists(), "the fast path must leave removal to core"
        if name != "another key":
            with pytest.raises(entry.CorruptEntry):
                Entry.from_bytes(content)
    # Format 1 files are read by core; the fast path steps aside for them.
    path.write_bytes(json.dumps(legacy, separators=(",", ":")).encode())
    assert fastpath.read_entry(str(tmp_path), key) is None
    assert disk.read(key) is not None
    assert fastpath.read_entry(str(tmp_path / "missing"), key) is None


def test_count_hit_adds_up_with_core_stats_across_processes(tmp_path: Path) -> None:
    core_stats = stats.Stats(tmp_path)
    core_stats.add(misses=2, hits=1)
    code = (
        "import sys\nfrom ghcache.cli import fastpath\n"
        "for _ in range(25): fastpath.count_hit(sys.argv[1])"
    )
    workers = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)]) for _ in range(3)]
    for _ in range(25):
        core_stats.add(hits=1)
    for worker in workers:
        assert worker.wait(60) == 0
    counters = core_stats.read()
    assert counters["hits"] == 1 + 3 * 25 + 25
    assert counters["misses"] == 2


def test_count_hit_in_a_missing_directory_is_silent(tmp_path: Path) -> None:
    fastpath.count_hit(str(tmp_path / "nope"))
    assert not (tmp_path / "nope").exists()


@given(st.text(st.sampled_from(list("ab=&+%2Fé;x ")), max_size=20))
def test_parse_query_matches_parse_qsl(text: str) -> None:
    from urllib.parse import parse_qsl

    assert fastpath.parse_query(text) == parse_qsl(text, True)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=10,
)


@given(json_values, st.sampled_from(["", " ", "\n"]))
def test_json_loads_matches_json(value: object, padding: str) -> None:
    raw = (padding + json.dumps(value, ensure_ascii=False) + padding).encode("utf-8")
    assert fastpath.json_loads(raw) == json.loads(raw)


@pytest.mark.parametrize("raw", [b"", b"{", b'{"a": 1} x', b"[1,]", b"\xff", b"nul"])
def test_json_loads_rejects_what_json_rejects(raw: bytes) -> None:
    with pytest.raises(ValueError):
        json.loads(raw)
    with pytest.raises(ValueError):
        fastpath.json_loads(raw)


def gh_fill(endpoint: str, owner: str, repo: str) -> str | None:
    """gh's fillPlaceholders (pkg/cmd/api), with {branch} unsupported (it needs git)."""
    import re

    unsupported = False

    def fill(match: re.Match[str]) -> str:
        nonlocal unsupported
        text = match.group(0)
        if text in (":owner", "{owner}"):
            return owner
        if text in (":repo", "{repo}"):
            return repo
        unsupported = True  # {branch}, or a {name} gh leaves as is
        return text

    filled = re.sub(r"(:(owner|repo|branch)\b|\{[a-z]+\})", fill, endpoint)
    return None if unsupported else filled


@settings(max_examples=300)
@given(st.text(st.sampled_from(list("{}:ownerpbach/_xé1")), max_size=24))
def test_fill_placeholders_matches_gh(endpoint: str) -> None:
    got = fastpath.fill_placeholders(endpoint, {"GH_REPO": "octo/hello"})
    if got is not None:
        assert got == gh_fill(endpoint, "octo", "hello")


def test_fill_placeholders_cases() -> None:
    env = {"GH_REPO": "octo/hello"}
    fill = fastpath.fill_placeholders
    assert fill("repos/{owner}/{repo}/issues", env) == "repos/octo/hello/issues"
    assert fill("repos/:owner/:repo", env) == "repos/octo/hello"
    assert fill("repos/:owners/x", env) == "repos/:owners/x"
    assert fill("repos/{owner}/x", {}) is None  # needs git: slow path
    assert fill("repos/{owner}/{repo}/branches/{branch}", env) is None
    assert fill("repos/{owner}/x", {"GH_REPO": "host/octo/hello"}) is None
    assert fill("plain/path", {}) == "plain/path"


def test_stats_file_bytes_match_core(tmp_path: Path) -> None:
    mine, theirs = tmp_path / "mine", tmp_path / "theirs"
    mine.mkdir()
    theirs.mkdir()
    fastpath.count_hit(str(mine))
    stats.Stats(theirs).add(hits=1)
    assert (mine / "stats.json").read_bytes() == (theirs / "stats.json").read_bytes()
    # A longer old text (big counters, then a reset) is padded over in place, as core does.
    for directory in (mine, theirs):
        stats.Stats(directory).add(misses=10**12, extra_counter=7)
        stats.Stats(directory).reset()
    fastpath.count_hit(str(mine))
    stats.Stats(theirs).add(hits=1)
    assert (mine / "stats.json").read_bytes() == (theirs / "stats.json").read_bytes()
    assert stats.Stats(mine).read()["hits"] == 1


def verbatim_and_text_bodies() -> st.SearchStrategy[bytes]:
    json_bodies = json_values.map(lambda value: json.dumps(value, ensure_ascii=False).encode())
    return json_bodies | st.binary(max_size=40) | st.text(max_size=20).map(str.encode)


@settings(max_examples=300, deadline=None)
@given(verbatim_and_text_bodies(), st.data())
def test_parse_entry_agrees_with_core_on_damaged_files(body: bytes, data: st.DataObject) -> None:
    key = cid.cid_for_bytes(b"request")
    raw = make_entry(key, body, stored_at=1_700_000_000.5).to_bytes()  # same length each run
    damage = data.draw(st.sampled_from(["none", "cut", "flip", "insert", "append"]))
    where = data.draw(st.integers(0, len(raw) - 1))
    if damage == "cut":
        raw = raw[:where]
    elif damage == "flip":
        raw = raw[:where] + bytes([raw[where] ^ data.draw(st.integers(1, 255))]) + raw[where + 1 :]
    elif damage == "insert":
        raw = raw[:where] + data.draw(st.binary(min_size=1, max_size=3)) + raw[where:]
    elif damage == "append":
        raw += data.draw(st.binary(min_size=1, max_size=3))
    got = fastpath.parse_entry(raw, key)
    try:
        expected: Entry | None = Entry.from_bytes(raw)
    except entry.CorruptEntry:
        expected = None
    if damage == "none":
        assert got is not None and expected is not None and got.body == body
    if got is not None:  # the fast path may step aside, never accept what core refuses
        assert expected is not None and expected.key == key
        assert (got.status, got.reason, got.http_version, got.headers, got.body) == (
            expected.status,
            expected.reason,
            expected.http_version,
            expected.headers,
            expected.body,
        )
        assert (got.stored_at, got.ttl) == (expected.stored_at, expected.ttl)
