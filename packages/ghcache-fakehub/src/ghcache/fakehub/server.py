"""The HTTP side: request parsing (direct and proxy form), accounting, headers, FakeHub."""

from __future__ import annotations

import base64
import binascii
import email.utils
import hashlib
import json
import re
import socket
import sys
import threading
import time
import traceback
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from ghcache.fakehub import control, graphql
from ghcache.fakehub.limits import RATE_LIMIT_DOCS, SECONDARY_DOCS, Bucket, identity_for
from ghcache.fakehub.rest import DOCS, Reply, RestRequest, error_body
from ghcache.fakehub.schema import Bases
from ghcache.fakehub.state import HubState, RequestRecord

MAX_BODY = 10 * 1024 * 1024
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
EXPOSED = (
    "ETag, Link, Location, Retry-After, X-GitHub-OTP, X-RateLimit-Limit, X-RateLimit-Remaining, "
    "X-RateLimit-Used, X-RateLimit-Resource, X-RateLimit-Reset, X-OAuth-Scopes, "
    "X-Accepted-OAuth-Scopes, X-Poll-Interval, X-GitHub-Media-Type, X-GitHub-SSO, "
    "X-GitHub-Request-Id, Deprecation, Sunset"
)
SERVER_ERRORS = {500: "Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}


def compact(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False).encode()


def http_date(stamp: float) -> str:
    return email.utils.formatdate(stamp, usegmt=True)


def make_etag(request_headers: Any, body: bytes) -> str:
    """GitHub's rule as observed: SHA-256 over the values of the request's ``Accept``,
    ``Authorization`` and ``Cookie`` headers that are present, each followed by ``:``,
    then the body bytes as sent; served weak."""
    digest = hashlib.sha256()
    for name in ("Accept", "Authorization", "Cookie"):
        value = request_headers.get(name)
        if value is not None:
            digest.update(value.encode("latin-1", "replace") + b":")
    digest.update(body)
    return f'W/"{digest.hexdigest()}"'


def etag_matches(header: str, etag: str) -> bool:
    wanted = etag.removeprefix("W/")
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == wanted:
            return True
    return False


def not_modified_since(header: str, last_modified: int) -> bool:
    try:
        since = email.utils.parsedate_to_datetime(header).timestamp()
    except (TypeError, ValueError, IndexError):
        return False
    return last_modified <= since


def parse_token(authorization: str | None) -> str | None:
    """The token of an Authorization header ("token X", "Bearer X" or Basic user:X)."""
    if not authorization:
        return None
    scheme, _, value = authorization.strip().partition(" ")
    value = value.strip()
    if scheme.lower() in ("token", "bearer"):
        return value or ""
    if scheme.lower() == "basic":
        try:
            user, _, password = base64.b64decode(value).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return password or user
    return ""


@dataclass(frozen=True)
class Target:
    path: str  # decoded, without /api/v3 prefix
    query: str
    base: str  # REST base for URLs in bodies and Link headers
    proxied: bool
    host: str


def parse_target(raw: str, host_header: str | None, port: int) -> Target:
    if raw.startswith(("http://", "https://")):
        # Absolute form: we are being used as an HTTP proxy (HTTP_PROXY=...), so answer as
        # the host the client asked for and keep Link headers on that host.
        parts = urlsplit(raw)
        base, path, query, proxied = (
            f"{parts.scheme}://{parts.netloc}/",
            parts.path,
            parts.query,
            True,
        )
        host = parts.netloc
    else:
        path, _, query = raw.partition("?")
        host = host_header or ""
        if host.rsplit(":", 1)[0] not in LOOPBACK_HOSTS:
            host = f"127.0.0.1:{port}"  # never point clients at a host we are not
        base, proxied = f"http://{host}/", False
    path = unquote(path or "/")
    if path == "/api/graphql":
        path, base = "/graphql", base + "api/"
    elif path == "/api/v3" or path.startswith("/api/v3/"):
        path, base = path[len("/api/v3") :] or "/", base + "api/v3/"
    return Target(path, query, base, proxied, host)


_MEDIA = re.compile(
    r"application/vnd\.github(?:\.(?:v3|[a-z0-9-]+-preview))?(?:\.(raw|text|html|full))?"
)


def media_param(accept: str | None) -> str:
    """The body representation requested by Accept (application/vnd.github.v3.full+json, ...)."""
    for part in (accept or "").split(","):
        m = _MEDIA.match(part.strip().lower())
        if m is not None and m.group(1):
            return m.group(1)
    return ""


def resource_for(path: str) -> str:
    if path == "/graphql":
        return "graphql"
    if path.startswith("/search/"):
        return "search"
    return "core"


class Dropped(Exception):
    """The answer is to close the connection without responding."""


@dataclass
class Outgoing:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


class FakeHubServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    block_on_close = False

    def __init__(self, address: tuple[str, int], state: HubState) -> None:
        self.state = state
        super().__init__(address, Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return  # clients may vanish mid-request; that is not our failure
        super().handle_error(request, client_address)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30  # idle keep-alive connections are closed after this
    disable_nagle_algorithm = True
    request_id = ""
    server: FakeHubServer

    def version_string(self) -> str:
        return "github.com"

    def date_time_string(self, timestamp: float | None = None) -> str:
        return http_date(self.server.state.now() if timestamp is None else timestamp)

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the request log is hub.requests

    def do_GET(self) -> None:
        self.dispatch()

    do_HEAD = do_POST = do_PATCH = do_PUT = do_DELETE = do_GET

    # -- plumbing ----------------------------------------------------------------
    def read_body(self) -> bytes | None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            total = 0
            while True:
                size_line = self.rfile.readline(1024)
                try:
                    size = int(size_line.split(b";")[0].strip(), 16)
                except ValueError:
                    return None
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                total += size
                if total > MAX_BODY:
                    return None
                chunks.append(self.rfile.read(size))
                self.rfile.readline(1024)
        length = self.headers.get("Content-Length")
        if not length:
            return b""
        try:
            n = int(length)
        except ValueError:
            return None
        if n < 0 or n > MAX_BODY:
            return None
        data = self.rfile.read(n)
        if len(data) < n:
            raise ConnectionResetError("client went away mid-body")
        return data

    def send(self, out: Outgoing, *, head_only: bool = False) -> None:
        # Status line, headers and body go out in one write: separate small writes would
        # cost a delayed-ACK round trip per response.
        reason = self.responses.get(out.status, ("",))[0]
        lines = [f"{self.protocol_version} {out.status} {reason}"]
        lines.append(f"Server: {self.version_string()}")
        lines.append(f"Date: {self.date_time_string()}")
        lines += [f"{name}: {value}" for name, value in out.headers]
        if out.status != 304:
            lines.append(f"Content-Length: {len(out.body)}")
        if self.close_connection:
            lines.append("Connection: close")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if out.body and not head_only and out.status != 304:
            data += out.body
        self.log_request(out.status)
        self.wfile.write(data)

    def drop(self) -> None:
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def dispatch(self) -> None:
        state = self.server.state
        try:
            target = parse_target(self.path, self.headers.get("Host"), self.server.server_port)
            body = self.read_body()
        except (ConnectionError, TimeoutError):
            self.close_connection = True
            return
        except ValueError:  # unparsable request target
            body = None
        if body is None:
            self.close_connection = True
            message = {"message": "Bad request", "documentation_url": DOCS}
            json_type = [("Content-Type", "application/json; charset=utf-8")]
            self.send(Outgoing(400, json_type, compact(message)))
            return
        try:
            if target.path == "/_fakehub" or target.path.startswith("/_fakehub/"):
                status, obj = control.handle(state, self.command, target.path, body, target.query)
                headers = [("Content-Type", "application/json; charset=utf-8")]
                self.send(Outgoing(status, headers, compact(obj)))
                return
            out = self.answer(state, target, body)
        except Dropped:
            self.drop()
            return
        except (ConnectionError, TimeoutError):
            self.close_connection = True
            return
        except Exception:  # a bug in the fake must be loud, but must not kill the server
            traceback.print_exc()
            out = Outgoing(
                500,
                [("Content-Type", "application/json; charset=utf-8")],
                compact({"message": "fakehub internal error", "documentation_url": DOCS}),
            )
        self.send(out, head_only=self.command == "HEAD")

    # -- the GitHub behaviour ------------------------------------------------------
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

    def respond(
        self,
        state: HubState,
        reply: Reply,
        bucket: Bucket,
        resource: str,
        token: str | None,
        login: str | None,
        now: float,
        *,
        charge: bool = False,
    ) -> Outgoing:
        """Serialise, apply conditional headers, charge the limit, and add GitHub's headers."""
        payload = compact(reply.body) if reply.body is not None else b""
        ok = 200 <= reply.status < 300
        etag = (
            make_etag(self.headers, payload)
            if ok and reply.etag and resource != "graphql"
            else None
        )
        status = reply.status
        if status == 200 and self.command in ("GET", "HEAD"):
            inm = self.headers.get("If-None-Match")
            ims = self.headers.get("If-Modified-Since")
            if inm is not None and etag is not None:
                if etag_matches(inm, etag):
                    status = 304
            elif (
                ims is not None
                and reply.last_modified is not None
                and not_modified_since(ims, reply.last_modified)
            ):
                status = 304
        if charge and status != 304:
            bucket.used += 1  # GitHub does not charge conditional requests answered 304

        headers: list[tuple[str, str]] = []
        if status != 304 and payload:
            headers.append(("Content-Type", "application/json; charset=utf-8"))
        authenticated = login is not None
        if (ok or status == 304) and resource != "graphql":
            default = "private" if authenticated else "public"
            headers.append(
                ("Cache-Control", reply.cache_control or f"{default}, max-age=60, s-maxage=60")
            )
            vary = "Accept, Authorization, Cookie, X-GitHub-OTP"
            headers.append(("Vary", vary if authenticated else "Accept, Accept-Encoding"))
        if etag is not None:
            headers.append(("ETag", etag))
        if reply.last_modified is not None and (ok or status == 304):
            headers.append(("Last-Modified", http_date(reply.last_modified)))
        headers.extend(reply.headers)
        if authenticated:
            headers.append(("X-OAuth-Scopes", "gist, read:org, repo, workflow"))
            headers.append(("X-Accepted-OAuth-Scopes", "repo" if "/repos/" in self.path else ""))
        if resource == "graphql":
            media = "github.v4; format=json"
        else:
            param = media_param(self.headers.get("Accept"))
            media = f"github.v3; param={param}; format=json" if param else "github.v3; format=json"
        headers.append(("X-GitHub-Media-Type", media))
        headers.append(("X-GitHub-Api-Version-Selected", "2022-11-28"))
        headers.extend(bucket.headers(resource))
        headers += [
            ("Access-Control-Expose-Headers", EXPOSED),
            ("Access-Control-Allow-Origin", "*"),
            ("Strict-Transport-Security", "max-age=31536000; includeSubdomains; preload"),
            ("X-Frame-Options", "deny"),
            ("X-Content-Type-Options", "nosniff"),
            ("X-XSS-Protection", "0"),
            ("Referrer-Policy", "origin-when-cross-origin, strict-origin-when-cross-origin"),
            ("Content-Security-Policy", "default-src 'none'"),
            ("X-GitHub-Request-Id", self.request_id),
        ]
        return Outgoing(status, headers, b"" if status == 304 else payload)


class FakeHub(HubState):
    """A simulated GitHub API on 127.0.0.1 (port 0 = a free port), served from a thread.

    with FakeHub() as hub:
        httpx.get(hub.url + "user", headers={"Authorization": "token ghp_alice"})
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__()
        self._address = (host, port)
        self._server: FakeHubServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------
    def bind(self) -> FakeHubServer:
        """Create the listening socket (without serving yet)."""
        if self._server is None:
            self._server = FakeHubServer(self._address, self)
        return self._server

    def start(self) -> FakeHub:
        server = self.bind()
        if self._thread is None:
            self._thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"fakehub-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            if self._thread is not None:
                self._server.shutdown()
                self._thread.join(timeout=5)
            self._server.server_close()
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeHub is not started")
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        return self._address[0]

    @property
    def url(self) -> str:
        """REST base, e.g. "http://127.0.0.1:PORT/"."""
        return f"http://{self.host}:{self.port}/"

    @property
    def graphql_url(self) -> str:
        return self.url + "graphql"

    @property
    def proxy_url(self) -> str:
        """Value for HTTP_PROXY to reach the hub as "api.github.localhost" (gh's GH_HOST form)."""
        return f"http://{self.host}:{self.port}"

    def gh_env(self, config_dir: str, token: str = "ghp_alice") -> dict[str, str]:
        """Environment variables that make the real `gh` talk to this hub through the proxy
        form. Merge into a copy of os.environ (keep PATH/HOME)."""
        return {
            "GH_HOST": "github.localhost",
            "HTTP_PROXY": self.proxy_url,
            "http_proxy": self.proxy_url,
            "NO_PROXY": "",
            "no_proxy": "",
            "GH_TOKEN": token,
            "GH_CONFIG_DIR": config_dir,
            "GH_PROMPT_DISABLED": "1",
            "GH_NO_UPDATE_NOTIFIER": "1",
            "NO_COLOR": "1",
            "GH_PAGER": "",
            "PAGER": "",
        }

    @staticmethod
    def start_subprocess(port: int = 0, *, timeout: float = 15.0) -> control.FakeHubProcess:
        """Run a hub in its own process (python -m ghcache.fakehub)."""
        return control.FakeHubProcess.start(port=port, timeout=timeout)
