"""What every REST route shares: the parsed request and the Reply it returns, GitHub's error
bodies, Link-header pagination, and the base class the route groups build on."""

from __future__ import annotations

import calendar
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from ghcache.fakehub.data import User, World
from ghcache.fakehub.schema import Bases

DOCS = "https://docs.github.com/rest"
MAX_PER_PAGE = 100
DEFAULT_PER_PAGE = 30


@dataclass
class RestRequest:
    method: str
    path: str  # without any /api/v3 prefix, e.g. "/repos/octo/hello/issues"
    query: list[tuple[str, str]]
    body: bytes
    viewer: User | None
    bases: Bases
    now: float

    def param(self, name: str, default: str | None = None) -> str | None:
        for key, value in self.query:
            if key == name:
                return value
        return default


@dataclass
class Reply:
    status: int
    body: Any = None  # JSON-serialisable; None = empty body
    headers: list[tuple[str, str]] = field(default_factory=list)
    last_modified: int | None = None
    etag: bool = True
    cache_control: str | None = None  # overrides the default private/public max-age=60


def error_body(status: int, message: str, docs: str = DOCS, errors: Any = None) -> dict[str, Any]:
    """GitHub's error shape; newer api.github.com answers also carry "status" as a string."""
    body: dict[str, Any] = {"message": message}
    if errors is not None:
        body["errors"] = errors
    return body | {"documentation_url": docs, "status": str(status)}


def error(status: int, message: str, docs: str = DOCS, errors: Any = None) -> Reply:
    return Reply(status, error_body(status, message, docs, errors), etag=False)


def not_found() -> Reply:
    return error(404, "Not Found")


def requires_auth(docs: str = DOCS) -> Reply:
    return error(401, "Requires authentication", docs)


def validation_failed(resource: str, code: str, field_name: str, docs: str) -> Reply:
    errors = [{"resource": resource, "code": code, "field": field_name}]
    return error(422, "Validation Failed", docs, errors)


def page_params(req: RestRequest) -> tuple[int, int]:
    def number(name: str, default: int) -> int:
        raw = req.param(name)
        try:
            value = int(raw) if raw is not None else default
        except ValueError:
            value = default
        return value if value >= 1 else default

    return number("page", 1), min(number("per_page", DEFAULT_PER_PAGE), MAX_PER_PAGE)


def paginate(req: RestRequest, items: list[Any], link_path: str) -> tuple[list[Any], str | None]:
    """One page of `items` and GitHub's Link header (prev, next, last, first; same host)."""
    page, per_page = page_params(req)
    last = max(1, -(-len(items) // per_page))
    params = [(k, v) for k, v in req.query if k != "page"]

    def url(number: int) -> str:
        return f"{req.bases.api}{link_path.lstrip('/')}?{urlencode([*params, ('page', number)])}"

    links = []
    if page > 1:
        links.append(f'<{url(page - 1)}>; rel="prev"')
    if page < last:
        links.append(f'<{url(page + 1)}>; rel="next"')
        links.append(f'<{url(last)}>; rel="last"')
    if page > 1:
        links.append(f'<{url(1)}>; rel="first"')
    chunk = items[(page - 1) * per_page : page * per_page]
    return chunk, ", ".join(links) or None


def list_reply(req: RestRequest, items: list[Any], link_path: str, render: Callable) -> Reply:
    chunk, link = paginate(req, items, link_path)
    headers = [("Link", link)] if link else []
    return Reply(200, [render(item) for item in chunk], headers)


def parse_json_body(req: RestRequest) -> dict[str, Any] | Reply:
    try:
        body = json.loads(req.body or b"{}")
    except ValueError:
        return error(400, "Problems parsing JSON")
    if not isinstance(body, dict):
        return error(400, "Problems parsing JSON")
    return body


def parse_iso(text: str | None) -> int | None:
    if not text:
        return None
    try:
        return calendar.timegm(time.strptime(text, "%Y-%m-%dT%H:%M:%SZ"))
    except ValueError:
        return None


class RouteSet:
    """Base of the route groups that Router combines; Router sets `world`."""

    world: World

    def _viewer_login(self, req: RestRequest) -> str | None:
        return req.viewer.login if req.viewer is not None else None
