"""Bad input: malformed requests, huge headers, refused targets, clients that leave
mid-body, and many clients at once.  Each gets a clear HTTP answer (or none, when it
left), nothing wrong is stored, and the proxy keeps serving."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx
import pytest

from ghcache.core.store import DiskStore
from ghcache.fakehub import FakeHub

if TYPE_CHECKING:
    from proxyhelpers import ProxyProcess

helpers = sys.modules["ghcache_proxy_helpers"]  # loaded by conftest.py
ALICE, BOB = helpers.ALICE, helpers.BOB


def exchange(proxy: ProxyProcess, payload: bytes, *, close_after_send: bool = False) -> bytes:
    """Send raw bytes to the proxy; what it answers until it closes (or 10 s pass)."""
    parts = urlsplit(proxy.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(payload)
        if close_after_send:
            return b""
        received = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return received
            received += chunk


def still_serving(http: httpx.Client) -> None:
    answer = http.get("repos/octo/hello", headers=ALICE)
    assert answer.status_code == 200 and answer.json()["full_name"] == "octo/hello"


@pytest.mark.parametrize(
    "payload",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /repos/octo/hello HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n",  # a header without a colon
        b"GET /repos/octo/hello HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n",
        b"GET /repos/\x01 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\x00" * 64,  # a TLS hello
    ],
    ids=["no-request-line", "no-colon", "negative-length", "control-character", "tls"],
)
def test_malformed_requests_are_answered_400(
    payload: bytes, proxy: ProxyProcess, http: httpx.Client
) -> None:
    answer = exchange(proxy, payload)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    still_serving(http)


def test_huge_headers_are_answered_431(proxy: ProxyProcess, http: httpx.Client) -> None:
    head = b"GET /repos/octo/hello HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
    huge = b"X-Padding: " + b"a" * 80_000 + b"\r\n"
    answer = exchange(proxy, head + huge + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(7_000))
    answer = exchange(proxy, head + many + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    still_serving(http)


def test_headers_that_never_end_are_cut_off(proxy: ProxyProcess, http: httpx.Client) -> None:
    endless = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n" + b"X-Padding: " + b"a" * 1_000_000
    try:
        answer = exchange(proxy, endless)
    except ConnectionResetError:
        answer = b"HTTP/1.1 400 (the answer came, then a reset: we were still sending)"
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    still_serving(http)


@pytest.mark.parametrize(
    ("request_bytes", "status", "words"),
    [
        # A page in a browser reaching 127.0.0.1 under a name it controls (DNS rebinding).
        (
            b"GET /user HTTP/1.1\r\nHost: evil.example\r\nConnection: close\r\n\r\n",
            421,
            "not a name of this proxy",
        ),
        # Not a forward proxy for other hosts: refused without any connection out.
        (
            b"GET http://example.com/x HTTP/1.1\r\nHost: example.com\r\nConnection: close\r\n\r\n",
            400,
            "GitHub API only",
        ),
        (
            b"GET /user HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: token \xff\r\nConnection: close\r\n\r\n",
            400,
            "printable ASCII",
        ),
        (
            b"POST /graphql HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            b"Content-Length: 2000000\r\n\r\n{",
            413,
            "at most",
        ),
    ],
    ids=["foreign-host", "absolute-form", "non-ascii-token", "huge-query"],
)
def test_refused_requests_say_why(
    request_bytes: bytes, status: int, words: str, proxy: ProxyProcess, hub: FakeHub
) -> None:
    requests = hub.upstream_count()
    answer = exchange(proxy, request_bytes)
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 %d " % status), head
    assert b"x-ghcache: error" in head.lower()
    assert words in json.loads(body)["message"]
    assert hub.upstream_count() == requests


def test_clients_leaving_mid_body_change_nothing(
    proxy: ProxyProcess, hub: FakeHub, http: httpx.Client
) -> None:
    entries = sorted(entry.key for entry in DiskStore(proxy.cache_dir).entries())
    start = (
        b"POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: token ghp_alice\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
    )
    exchange(proxy, start % b"/repos/octo/hello/issues" + b'{"title": "half', close_after_send=True)
    exchange(proxy, start % b"/graphql" + b'{"query": "query { viewer', close_after_send=True)
    still_serving(http)
    assert not [r for r in hub.requests if r.method == "POST" and r.status == 201]
    assert not [r for r in hub.requests if r.path == "/graphql"]
    assert sorted(entry.key for entry in DiskStore(proxy.cache_dir).entries()) == entries
    assert "Traceback" not in proxy.log()


def test_many_concurrent_clients_share_one_upstream_request_per_identity(
    proxy: ProxyProcess, hub: FakeHub
) -> None:
    path = "repos/octo/big/issues/99"
    hub.inject(delay=0.5, path="/" + path, times=1)  # the first request is slow: all overlap

    async def crowd() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=200)
        async with httpx.AsyncClient(
            base_url=proxy.url, limits=limits, trust_env=False, timeout=30
        ) as client:
            return await asyncio.gather(
                *[client.get(path, headers=ALICE if i % 2 else BOB) for i in range(200)]
            )

    answers = asyncio.run(crowd())
    assert {answer.status_code for answer in answers} == {200}
    assert len({answer.content for answer in answers}) == 1
    # One leader per identity (bob's may come after alice's entry: a confirmation).
    assert hub.upstream_count("/" + path) <= 2
    outcomes = {answer.headers["x-ghcache"] for answer in answers}
    assert outcomes <= {"miss", "hit", "confirmed"}
