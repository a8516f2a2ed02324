"""The ASGI application: every request answered from the cache through core's caching
client (as ``ghcache api`` answers it), or streamed through when it is never cached.

Core's client is synchronous; it runs in worker threads, one call per distinct
request of an identity (identical concurrent ones wait here, holding no thread).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

import httpx

from ghcache.core.answers import ApiError, ApiResponse, Source
from ghcache.core.client import CachingClient
from ghcache.core.config import Settings
from ghcache.core.hosts import ApiHost
from ghcache.core.ratelimit import limit_key, resource_for
from ghcache.core.request import ApiRequest
from ghcache.proxy.coalesce import Coalescer
from ghcache.proxy.identities import ClientPool, Identity
from ghcache.proxy.passthrough import Aborted, PassThrough, Receive, request_body
from ghcache.proxy.ratelimits import RateLimitView
from ghcache.proxy.responses import (
    ERROR,
    OUTCOMES,
    Refusal,
    Send,
    error_answer,
    header,
    header_map,
    not_modified,
    rewrite_body,
    send_whole,
    shaped,
    without_content,
)
from ghcache.proxy.state import STATUS_PATH
from ghcache.proxy.target import Target, parse_target

log = logging.getLogger("ghcache.proxy")

# Request headers at most (GitHub's edge refuses far smaller ones).
MAX_HEADER_BYTES = 64 * 1024
# A body read whole to key the request (a GraphQL query); GitHub's own queries are far smaller.
MAX_KEYED_BODY = 1 << 20
WORKER_THREADS = 16
# Downloads GitHub answers with an archive, a log or a redirect to one: streamed, not kept.
_DOWNLOAD = re.compile(
    r"^repos/[^/]+/[^/]+/(?:tarball|zipball)(?:/|$)"
    r"|^repos/[^/]+/[^/]+/actions/(?:artifacts/\d+/[^/]+|(?:runs|jobs)/\d+(?:/attempts/\d+)?/logs)$"
)
# The request headers a cached call sends: those in the key (Accept, X-GitHub-Api-Version),
# who asks, and what GitHub needs to read a body.  Others could change GitHub's answer
# without changing the key, so they are not forwarded.
_KEYED_HEADERS = ("Accept", "X-GitHub-Api-Version", "Authorization", "User-Agent", "Content-Type")


@dataclass(frozen=True)
class Answer:
    """What a cached call ended with, shared by the requests coalesced into it."""

    response: ApiResponse | None
    problem: str | None  # why there is no response (core's one line)
    limited_until: float | None  # GitHub refuses this identity and resource until then


def keyed_headers(fields: dict[str, str]) -> list[tuple[str, str]]:
    out = []
    for name in _KEYED_HEADERS:
        value = fields.get(name.lower())
        # curl, requests and httpx send "*/*" when nothing is asked: GitHub answers it with
        # its default media type, as for gh's empty Accept, so it shares gh's entries.
        if value is not None and not (name == "Accept" and value.strip() == "*/*"):
            out.append((name, value))
    return out


def is_streamed(method: str, target: Target, fields: dict[str, str]) -> bool:
    if method == "POST":
        return not target.is_graphql
    if method not in ("GET", "HEAD"):
        return True
    accept = fields.get("accept", "")
    return "application/octet-stream" in accept or _DOWNLOAD.search(target.path) is not None


async def read_body(receive: Receive, fields: dict[str, str]) -> bytes:
    declared = fields.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_KEYED_BODY:
        raise Refusal(413, f"a body to cache is at most {MAX_KEYED_BODY} bytes")
    chunks = []
    size = 0
    async for chunk in request_body(receive):
        size += len(chunk)
        if size > MAX_KEYED_BODY:
            raise Refusal(413, f"a body to cache is at most {MAX_KEYED_BODY} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


class ProxyApp:
    def __init__(
        self,
        settings: Settings,
        api: ApiHost,
        http: httpx.AsyncClient,
        *,
        loopback_only: bool,
        internal: tuple[str, tuple[str, int]] | None = None,
        upstream: httpx.BaseTransport | None = None,
    ) -> None:
        """``internal``: the forward proxy's listener (a Unix socket path) and the API
        (host, port) whose decrypted CONNECT streams arrive there.  ``upstream``: the
        transport of the caching clients (tests: to the simulated GitHub)."""
        self.api = api
        self.loopback_only = loopback_only
        self.internal = internal
        self.pool = ClientPool(settings, api, upstream)
        self.ratelimits = RateLimitView()
        self.passthrough = PassThrough(http, api.rest_url, self.ratelimits)
        self.coalescer: Coalescer[Answer] = Coalescer()
        self.executor = ThreadPoolExecutor(WORKER_THREADS, thread_name_prefix="ghcache-proxy")
        self.outcomes: Counter[str] = Counter()
        self.started_at = time.time()

    def close(self) -> None:
        self.executor.shutdown(wait=True, cancel_futures=True)
        self.pool.close()

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return  # no lifespan or websockets here
        started = time.perf_counter()
        response_started = False

        async def tracked(message: dict[str, Any]) -> None:
            nonlocal response_started
            response_started = True
            await send(message)

        method = scope["method"]
        try:
            status, outcome, path = await self._serve(scope, receive, tracked)
        except Refusal as exc:
            status, outcome, path = exc.status, ERROR, "-"
            if not response_started:
                headers, body = error_answer(str(exc), exc.headers)
                await send_whole(send, exc.status, headers, body)
        except Aborted:
            status, outcome, path = 499, "aborted", "-"
        except Exception as exc:  # one request's bug must not take the proxy down
            status, outcome, path = 500, ERROR, "-"
            log.error("internal error on %s: %s", method, type(exc).__name__, exc_info=exc)
            if not response_started:
                headers, body = error_answer("internal error")
                await send_whole(send, 500, headers, body)
        self.outcomes[outcome] += 1
        if log.isEnabledFor(logging.DEBUG):
            elapsed = (time.perf_counter() - started) * 1000
            log.debug("%s /%s %d %s %.1f ms", method, path, status, outcome, elapsed)

    async def _serve(
        self, scope: dict[str, Any], receive: Receive, send: Send
    ) -> tuple[int, str, str]:
        # h11 bounds only what it has not yet parsed: headers that arrive in one piece
        # are checked here.
        if sum(len(k) + len(v) + 4 for k, v in scope["headers"]) > MAX_HEADER_BYTES:
            raise Refusal(431, f"request headers are larger than {MAX_HEADER_BYTES} bytes")
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        fields = header_map(headers)
        server = scope.get("server")
        intercepted = (
            self.internal[1]
            if self.internal is not None and server is not None and server[0] == self.internal[0]
            else None
        )
        target = parse_target(
            scope.get("raw_path") or scope["path"].encode(),
            scope.get("query_string", b""),
            fields.get("host"),
            self.api,
            loopback_only=self.loopback_only,
            intercepted=intercepted,
        )
        method = scope["method"].upper()
        if target.path == STATUS_PATH:
            await self._status(send)
            return 200, "status", target.path
        identity = Identity.from_header(fields.get("authorization"))
        client = self.pool.client_for(identity)
        resource = resource_for(target.path, graphql=target.is_graphql)
        if not target.is_api or is_streamed(method, target, fields):
            status = await self._forward(
                method, target, headers, request_body(receive), receive, send, client, identity
            )
            return status, "bypass", target.path
        body = await read_body(receive, fields)
        request = ApiRequest.for_url(
            method, target.url, self.api, keyed_headers(fields), body or None
        )
        cached = client.cache_request_for(request)
        if cached is None:  # a GraphQL mutation, a GET with a body
            status = await self._forward(
                method, target, headers, body, receive, send, client, identity
            )
            return status, "bypass", target.path
        answer = await self.coalescer.run(
            (identity.fingerprint, cached.key),
            partial(self._in_thread, partial(self._answer, client, identity, resource, request)),
        )
        if answer.response is None:
            raise self._refusal(answer)
        status, outcome = await self._reply(
            method, target, fields, answer, identity, resource, send
        )
        return status, outcome, target.path

    async def _in_thread(self, work: Any) -> Answer:
        return await asyncio.get_running_loop().run_in_executor(self.executor, work)

    def _answer(
        self, client: CachingClient, identity: Identity, resource: str, request: ApiRequest
    ) -> Answer:
        """In a worker thread: core's answer, and what the rate-limit memory says now."""
        try:
            response: ApiResponse | None = client.send(request)
            problem = None
        except ApiError as exc:
            response, problem = None, str(exc)
        limited = None
        if response is None or response.source is not Source.UPSTREAM:
            key = limit_key(self.api.hostname, identity.fingerprint, resource)
            limited = client.ratelimits.until(key, time.time())
        return Answer(response, problem, limited)

    def _refusal(self, answer: Answer) -> Refusal:
        if answer.limited_until is not None:
            wait = max(1, int(answer.limited_until - time.time()))
            return Refusal(
                429,
                f"API rate limit exceeded: {answer.problem}",
                [
                    ("Retry-After", str(wait)),
                    ("X-RateLimit-Remaining", "0"),
                    ("X-RateLimit-Reset", str(int(answer.limited_until))),
                ],
            )
        return Refusal(502, answer.problem or "GitHub cannot be used")

    async def _reply(
        self,
        method: str,
        target: Target,
        fields: dict[str, str],
        answer: Answer,
        identity: Identity,
        resource: str,
        send: Send,
    ) -> tuple[int, str]:
        response = answer.response
        assert response is not None
        live = response.source is Source.UPSTREAM
        if live:
            self.ratelimits.record(identity.fingerprint, resource, response.headers)
        rate_limit = (
            None
            if live
            else self.ratelimits.headers(
                identity.fingerprint, resource, time.time(), answer.limited_until
            )
        )
        outcome = OUTCOMES[response.source]
        headers = shaped(
            response.headers,
            api_base=self.api.rest_url,
            client_base=target.client_base,
            rate_limit=rate_limit,
            outcome=outcome,
            notice=str(response.notice) if response.notice else None,
            keep_length=method == "HEAD",
        )
        status = response.status
        body = rewrite_body(
            response.body, header(headers, "content-type"), self.api.rest_url, target.client_base
        )
        if not_modified(fields, status, headers):
            status, body, headers = 304, b"", without_content(headers)
        elif method == "HEAD":
            body = b""
        else:
            headers.append(("Content-Length", str(len(body))))
        await send_whole(send, status, headers, body)
        return status, outcome

    async def _forward(
        self,
        method: str,
        target: Target,
        headers: list[tuple[str, str]],
        body: Any,
        receive: Receive,
        send: Send,
        client: CachingClient,
        identity: Identity,
    ) -> int:
        loop = asyncio.get_running_loop()

        async def before_answer(status: int) -> None:
            if method not in ("GET", "HEAD") and 200 <= status < 300:
                await loop.run_in_executor(self.executor, client.invalidate, target.url)

        status = await self.passthrough.forward(
            method=method,
            target=target,
            headers=headers,
            body=body,
            receive=receive,
            send=send,
            identity=identity.fingerprint,
            resource=resource_for(target.path, graphql=target.is_graphql),
            before_answer=before_answer,
        )
        loop.run_in_executor(self.executor, partial(client.stats.add, upstream_requests=1))
        return status

    async def _status(self, send: Send) -> None:
        body = json.dumps(
            {
                "pid": os.getpid(),
                "started_at": self.started_at,
                "upstream": self.api.rest_url,
                "graphql": self.api.graphql_url,
                "identities": len(self.pool),
                "in_flight": len(self.coalescer),
                "outcomes": dict(self.outcomes),
            },
            sort_keys=True,
        ).encode()
        headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
        await send_whole(send, 200, headers, body)
