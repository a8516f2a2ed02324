"""REST routes of the fake GitHub: pure functions from a parsed request to a Reply.

Accounting (rate limits, ETags, conditional requests, faults) happens in the server; this module
only knows resources, visibility, pagination and mutations. The routes live in rest_accounts
and rest_repos, their shared request/reply types in rest_protocol (re-exported here).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from ghcache.fakehub.data import World
from ghcache.fakehub.rest_accounts import AccountRoutes
from ghcache.fakehub.rest_protocol import (
    DEFAULT_PER_PAGE,
    DOCS,
    MAX_PER_PAGE,
    Reply,
    RestRequest,
    error,
    error_body,
    list_reply,
    not_found,
    page_params,
    paginate,
    parse_iso,
    parse_json_body,
    requires_auth,
    validation_failed,
)
from ghcache.fakehub.rest_repos import RepoRoutes

__all__ = [
    "DEFAULT_PER_PAGE",
    "DOCS",
    "MAX_PER_PAGE",
    "Reply",
    "RestRequest",
    "Router",
    "error",
    "error_body",
    "list_reply",
    "not_found",
    "page_params",
    "paginate",
    "parse_iso",
    "parse_json_body",
    "requires_auth",
    "validation_failed",
]


class Router(AccountRoutes, RepoRoutes):
    def __init__(self, world: World) -> None:
        self.world = world
        repo = r"/(?:repos/(?P<owner>[^/]+)/(?P<repo>[^/]+)|repositories/(?P<repo_id>\d+))"
        self.routes: list[tuple[re.Pattern[str], Callable[..., Reply]]] = [
            (re.compile(r"/user"), self.get_viewer),
            (re.compile(r"/user/repos"), self.viewer_repos),
            (re.compile(r"/users/(?P<login>[^/]+)"), self.get_user),
            (re.compile(r"/users/(?P<login>[^/]+)/repos"), self.user_repos),
            (re.compile(r"/notifications"), self.notifications),
            (re.compile(r"/search/issues"), self.search_issues),
            (re.compile(repo), self.get_repo),
            (re.compile(repo + r"/issues"), self.issues),
            (re.compile(repo + r"/issues/(?P<number>\d+)"), self.issue),
            (re.compile(repo + r"/pulls"), self.pulls),
            (re.compile(repo + r"/pulls/(?P<number>\d+)"), self.pull),
        ]

    def handle(self, req: RestRequest) -> Reply:
        path = req.path.rstrip("/") or "/"
        for pattern, handler in self.routes:
            m = pattern.fullmatch(path)
            if m is not None:
                return handler(req, **{k: v for k, v in m.groupdict().items() if v is not None})
        if path == "/":
            return self.root(req)
        return not_found()

    def root(self, req: RestRequest) -> Reply:
        if req.method not in ("GET", "HEAD"):
            return not_found()
        a = req.bases.api
        return Reply(
            200,
            {
                "current_user_url": f"{a}user",
                "issue_url": f"{a}repos/{{owner}}/{{repo}}/issues/{{number}}",
                "rate_limit_url": f"{a}rate_limit",
                "repository_url": f"{a}repos/{{owner}}/{{repo}}",
                "user_url": f"{a}users/{{user}}",
                "issue_search_url": f"{a}search/issues?q={{query}}{{&page,per_page,sort,order}}",
            },
        )
