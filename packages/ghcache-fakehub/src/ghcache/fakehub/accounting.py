"""What GitHub answers before and around the routes: bad credentials, injected faults,
secondary and primary rate limits, /rate_limit, and GraphQL's own envelope; and the request
log entry and rate-limit charge each request leaves behind."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import parse_qsl

from ghcache.fakehub import graphql
from ghcache.fakehub.http_parsing import Target, media_param, parse_token, resource_for
from ghcache.fakehub.limits import RATE_LIMIT_DOCS, SECONDARY_DOCS, Bucket, identity_for
from ghcache.fakehub.response_headers import Outgoing, ResponseHeaders
from ghcache.fakehub.rest import Reply, RestRequest, error_body
from ghcache.fakehub.schema import Bases
from ghcache.fakehub.state import HubState, RequestRecord

SERVER_ERRORS = {500: "Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


class Dropped(Exception):
    """The answer is to close the connection without responding."""


class RequestAccounting(ResponseHeaders):
    """The GitHub behaviour of the request handler (mixed into Handler, which supplies the
    request attributes declared here and in ResponseHeaders)."""

    client_address: Any

    def answer(self, state: HubState, target: Target, body: bytes) -> Outgoing:
        method = self.command
        token = parse_token(self.headers.get("Authorization"))
        resource = resource_for(target.path)
        record = RequestRecord(
            method=method,
            path=target.path,
            query=target.query,
            login=None,
            token=token,
            status=0,
            counted=False,
            resource=resource,
            proxied=target.proxied,
            host=target.host,
            time=state.now(),
            headers={
                k: ("<redacted>" if k.lower() == "authorization" else v)
                for k, v in self.headers.items()
            },
        )
        with state.lock:
            login = state.login_for(token)
            faults = state.faults.take(method, target.path, token)
        record.login = login
        record.fault = bool(faults)
        delay = sum(f.delay for f in faults)
        if delay:
            time.sleep(delay)  # outside the lock: other clients keep being served
        if any(f.drop for f in faults):
            state.record(record)
            raise Dropped
        with state.lock:
            out, counted = self.account(state, target, body, token, login, resource, faults)
        record.status, record.counted = out.status, counted
        state.record(record)
        return out

    def account(
        self,
        state: HubState,
        target: Target,
        body: bytes,
        token: str | None,
        login: str | None,
        resource: str,
        faults: list[Any],
    ) -> tuple[Outgoing, bool]:
        """Decide the answer and charge the rate limit; called with the state lock held."""
        self.request_id = state.next_request_id()
        now = state.now()
        client_ip = self.client_address[0]
        bad_credentials = token is not None and login is None
        identity = identity_for(None if bad_credentials else login, client_ip)
        bucket = state.limits.bucket(identity, resource, now)
        bases = Bases.for_api(target.base, media_param(self.headers.get("Accept")))
        secondary = next((f for f in faults if f.secondary), None)
        failing = next((f for f in faults if f.status), None)

        if bad_credentials:
            reply = Reply(401, error_body(401, "Bad credentials"), etag=False)
            return self.respond(state, reply, bucket, resource, token, login, now), False
        if secondary is not None:
            message = (
                "You have exceeded a secondary rate limit. Please wait a few minutes before you "
                "try again. If you reach out to GitHub Support for help, please include the "
                f"request ID {self.request_id}."
            )
            reply = Reply(
                secondary.secondary,
                {"message": message, "documentation_url": SECONDARY_DOCS},
                [("Retry-After", str(secondary.retry_after))],
                etag=False,
            )
            return self.respond(state, reply, bucket, resource, token, login, now), False
        if failing is not None:
            message = SERVER_ERRORS.get(failing.status, "Injected fault")
            reply = Reply(failing.status, {"message": message}, etag=False)
            return self.respond(state, reply, bucket, resource, token, login, now), False
        if target.path.rstrip("/") == "/rate_limit":
            reply = self.rate_limit(state, identity, now)
            return self.respond(state, reply, bucket, resource, token, login, now), False
        if resource == "graphql" and login is None:
            reply = Reply(
                401,
                {
                    "message": "This endpoint requires you to be authenticated.",
                    "documentation_url": "https://docs.github.com/graphql/guides/"
                    "forming-calls-with-graphql#authenticating-with-graphql",
                },
                etag=False,
            )
            return self.respond(state, reply, bucket, resource, token, login, now), False
        if bucket.remaining == 0:
            reply = self.primary_exhausted(state, login, client_ip, resource)
            return self.respond(state, reply, bucket, resource, token, login, now), False

        viewer = state.world.user(login) if login is not None else None
        if resource == "graphql":
            reply = self.graphql(state, target, body, viewer, bases, bucket, now)
        else:
            query = parse_qsl(target.query, keep_blank_values=True)
            req = RestRequest(self.command, target.path, query, body, viewer, bases, now)
            reply = state.router.handle(req)
        out = self.respond(state, reply, bucket, resource, token, login, now, charge=True)
        return out, out.status != 304

    def primary_exhausted(
        self, state: HubState, login: str | None, client_ip: str, resource: str
    ) -> Reply:
        if login is not None:
            user = state.world.user(login)
            message = f"API rate limit exceeded for user ID {user.id if user else 0}."
        else:
            message = (
                f"API rate limit exceeded for {client_ip}. (But here's the good news: "
                "Authenticated requests get a higher rate limit. Check out the documentation "
                "for more details.)"
            )
        if resource == "graphql":
            # GitHub answers GraphQL over its limit with 200 and a RATE_LIMITED error.
            return Reply(
                200, {"errors": [{"type": "RATE_LIMITED", "message": message}]}, etag=False
            )
        return Reply(403, {"message": message, "documentation_url": RATE_LIMIT_DOCS}, etag=False)

    def rate_limit(self, state: HubState, identity: str, now: float) -> Reply:
        buckets = state.limits.snapshot(identity, now)
        resources: dict[str, Any] = {name: b.as_json() for name, b in buckets.items()}
        for extra in ("integration_manifest", "code_search", "audit_log"):
            resources[extra] = Bucket(5000 if extra != "code_search" else 10, 3600, int(now) + 3600)
            resources[extra] = resources[extra].as_json()
        body = {"resources": resources, "rate": buckets["core"].as_json()}
        return Reply(200, body, etag=False, cache_control="no-cache")

    def graphql(
        self,
        state: HubState,
        target: Target,
        body: bytes,
        viewer: Any,
        bases: Bases,
        bucket: Bucket,
        now: float,
    ) -> Reply:
        docs = "https://docs.github.com/graphql"
        if self.command != "POST":
            return Reply(404, error_body(404, "Not Found", docs), etag=False)
        try:
            payload = json.loads(body or b"null")
        except ValueError:
            return Reply(400, error_body(400, "Problems parsing JSON", docs), etag=False)
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            message = "A query attribute must be specified and must be a string."
            return Reply(200, {"errors": [{"message": message}]}, etag=False)
        variables = payload.get("variables")
        rate = {
            "limit": bucket.limit,
            "cost": 1,
            "remaining": max(0, bucket.remaining - 1),
            "used": bucket.used + 1,
            "resetAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(bucket.reset)),
            "nodeCount": 0,
        }
        result = graphql.execute(
            state.world,
            viewer,
            payload["query"],
            variables if isinstance(variables, dict) else None,
            bases,
            rate,
        )
        return Reply(200, result, etag=False)
