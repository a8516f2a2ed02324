"""REST routes of the fake GitHub: pure functions from a parsed request to a Reply.

Accounting (rate limits, ETags, conditional requests, faults) happens in the server; this module
only knows resources, visibility, pagination and mutations.
"""

from __future__ import annotations

import calendar
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from ghcache.fakehub import schema
from ghcache.fakehub.data import Issue, Repo, User, World
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


# -- routes --------------------------------------------------------------------------------


class Router:
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

    # -- helpers -------------------------------------------------------------
    def _viewer_login(self, req: RestRequest) -> str | None:
        return req.viewer.login if req.viewer is not None else None

    def _repo(self, req: RestRequest, kw: dict[str, str]) -> Repo | None:
        if "repo_id" in kw:
            repo = self.world.repo_by_id(int(kw["repo_id"]))
        else:
            repo = self.world.repo(kw["owner"], kw["repo"])
        if repo is None or not self.world.can_see(repo, self._viewer_login(req)):
            return None
        return repo

    def _issue_render(self, repo: Repo, req: RestRequest) -> Callable[[Issue], Any]:
        return lambda issue: schema.issue_json(issue, repo, self.world, req.bases)

    # -- users ---------------------------------------------------------------
    def get_viewer(self, req: RestRequest) -> Reply:
        if req.method not in ("GET", "HEAD"):
            return not_found()
        if req.viewer is None:
            return requires_auth(f"{DOCS}/users/users#get-the-authenticated-user")
        body = schema.full_user(req.viewer, self.world, req.bases, private=True)
        return Reply(200, body, last_modified=req.viewer.updated_at)

    def get_user(self, req: RestRequest, login: str) -> Reply:
        user = self.world.user(login)
        if user is None or req.method not in ("GET", "HEAD"):
            return not_found()
        body = schema.full_user(user, self.world, req.bases, private=False)
        return Reply(200, body, last_modified=user.updated_at)

    def _repos_of(self, req: RestRequest, login: str) -> list[Repo]:
        viewer = self._viewer_login(req)
        return sorted(
            (
                r
                for r in self.world.repos.values()
                if r.owner.lower() == login.lower() and self.world.can_see(r, viewer)
            ),
            key=lambda r: r.full_name.lower(),
        )

    def viewer_repos(self, req: RestRequest) -> Reply:
        if req.viewer is None:
            return requires_auth()
        if req.method not in ("GET", "HEAD"):
            return not_found()
        repos = self._repos_of(req, req.viewer.login)
        viewer = req.viewer.login
        return list_reply(
            req,
            repos,
            "/user/repos",
            lambda r: schema.repo_json(r, self.world, req.bases, viewer=viewer),
        )

    def user_repos(self, req: RestRequest, login: str) -> Reply:
        if self.world.user(login) is None or req.method not in ("GET", "HEAD"):
            return not_found()
        repos = [r for r in self._repos_of(req, login) if not r.private]
        viewer = self._viewer_login(req)
        return list_reply(
            req,
            repos,
            f"/users/{login}/repos",
            lambda r: schema.repo_json(r, self.world, req.bases, viewer=viewer),
        )

    def notifications(self, req: RestRequest) -> Reply:
        if req.viewer is None:
            return requires_auth(f"{DOCS}/activity/notifications")
        if req.method not in ("GET", "HEAD"):
            return not_found()
        notes = list(self.world.notifications.get(req.viewer.login.lower(), []))
        if req.param("all", "false") != "true":
            notes = [n for n in notes if n.unread]
        notes.sort(key=lambda n: n.updated_at, reverse=True)
        reply = list_reply(
            req,
            notes,
            "/notifications",
            lambda n: schema.notification_json(n, self.world, req.bases),
        )
        reply.headers.append(("X-Poll-Interval", "60"))
        reply.last_modified = max((n.updated_at for n in notes), default=None)
        return reply

    # -- search --------------------------------------------------------------
    def search_issues(self, req: RestRequest) -> Reply:
        if req.method not in ("GET", "HEAD"):
            return not_found()
        docs = f"{DOCS}/search/search#search-issues-and-pull-requests"
        q = (req.param("q") or "").strip()
        if not q:
            return validation_failed("Search", "missing", "q", docs)
        words: list[str] = []
        repos: list[str] = []
        kind: bool | None = None
        state: str | None = None
        for term in q.split():
            name, sep, value = term.partition(":")
            if sep and name == "repo":
                repos.append(value.lower())
            elif sep and name in ("is", "type") and value in ("issue", "pr"):
                kind = value == "pr"
            elif sep and name in ("is", "state") and value in ("open", "closed"):
                state = value
            else:
                words.append(term.lower())
        viewer = self._viewer_login(req)
        hits: list[tuple[Repo, Issue]] = []
        for repo in self.world.repos.values():
            if repos and repo.full_name.lower() not in repos:
                continue
            if not self.world.can_see(repo, viewer):
                continue
            for issue in repo.issues.values():
                if kind is not None and issue.is_pull != kind:
                    continue
                if state is not None and issue.state != state:
                    continue
                text = f"{issue.title}\n{issue.body or ''}".lower()
                if all(word in text for word in words):
                    hits.append((repo, issue))
        hits.sort(key=lambda hit: (hit[1].created_at, hit[0].id), reverse=True)
        hits = hits[:1000]  # GitHub never returns more than 1000 search results
        chunk, link = paginate(req, hits, "/search/issues")
        items = [
            schema.issue_json(issue, repo, self.world, req.bases) | {"score": 1.0}
            for repo, issue in chunk
        ]
        body = {"total_count": len(hits), "incomplete_results": False, "items": items}
        return Reply(200, body, [("Link", link)] if link else [], cache_control="no-cache")

    # -- repos ---------------------------------------------------------------
    def get_repo(self, req: RestRequest, **kw: str) -> Reply:
        repo = self._repo(req, kw)
        if repo is None or req.method not in ("GET", "HEAD"):
            return not_found()
        body = schema.repo_json(repo, self.world, req.bases, viewer=self._viewer_login(req))
        return Reply(200, body, last_modified=repo.updated_at)

    def _filtered_issues(self, req: RestRequest, repo: Repo, *, pulls_only: bool) -> list[Issue]:
        state = req.param("state", "open")
        items = [i for i in repo.issues.values() if state == "all" or i.state == state]
        if pulls_only:
            items = [i for i in items if i.is_pull]
        labels = [s for s in (req.param("labels") or "").split(",") if s]
        if labels:
            items = [i for i in items if all(name in i.labels for name in labels)]
        creator = req.param("creator")
        if creator:
            items = [i for i in items if i.user.lower() == creator.lower()]
        since = parse_iso(req.param("since"))
        if since is not None:
            items = [i for i in items if i.updated_at >= since]
        sort = req.param("sort", "created")
        key = {"updated": "updated_at", "comments": "comments"}.get(sort or "", "created_at")
        items.sort(key=lambda i: (getattr(i, key), i.number))
        if req.param("direction", "desc") != "asc":
            items.reverse()
        return items

    def issues(self, req: RestRequest, **kw: str) -> Reply:
        repo = self._repo(req, kw)
        if repo is None:
            return not_found()
        if req.method == "POST":
            return self.create_issue(req, repo)
        if req.method not in ("GET", "HEAD"):
            return not_found()
        items = self._filtered_issues(req, repo, pulls_only=False)
        return list_reply(
            req, items, f"/repositories/{repo.id}/issues", self._issue_render(repo, req)
        )

    def issue(self, req: RestRequest, number: str, **kw: str) -> Reply:
        repo = self._repo(req, kw)
        issue = repo.issues.get(int(number)) if repo is not None else None
        if repo is None or issue is None:
            return not_found()
        if req.method == "PATCH":
            return self.update_issue(req, repo, issue)
        if req.method not in ("GET", "HEAD"):
            return not_found()
        body = schema.issue_json(issue, repo, self.world, req.bases)
        return Reply(200, body, last_modified=issue.updated_at)

    def pulls(self, req: RestRequest, **kw: str) -> Reply:
        repo = self._repo(req, kw)
        if repo is None or req.method not in ("GET", "HEAD"):
            return not_found()
        items = self._filtered_issues(req, repo, pulls_only=True)
        return list_reply(
            req,
            items,
            f"/repositories/{repo.id}/pulls",
            lambda i: schema.pull_json(i, repo, self.world, req.bases),
        )

    def pull(self, req: RestRequest, number: str, **kw: str) -> Reply:
        repo = self._repo(req, kw)
        issue = repo.issues.get(int(number)) if repo is not None else None
        if repo is None or issue is None or not issue.is_pull or req.method not in ("GET", "HEAD"):
            return not_found()
        body = schema.pull_json(issue, repo, self.world, req.bases)
        return Reply(200, body, last_modified=issue.updated_at)

    # -- mutations -----------------------------------------------------------
    def create_issue(self, req: RestRequest, repo: Repo) -> Reply:
        docs = f"{DOCS}/issues/issues#create-an-issue"
        if req.viewer is None:
            return requires_auth(docs)
        body = parse_json_body(req)
        if isinstance(body, Reply):
            return body
        title = body.get("title")
        if isinstance(title, int) and not isinstance(title, bool):
            title = str(title)
        if not isinstance(title, str) or not title.strip():
            return validation_failed("Issue", "missing_field", "title", docs)
        text = body.get("body")
        labels = body.get("labels")
        issue = self.world.create_issue(
            repo,
            title=title,
            body=text if isinstance(text, str) else None,
            user=req.viewer.login,
            labels=[str(x) for x in labels] if isinstance(labels, list) else [],
            now=req.now,
        )
        out = schema.issue_json(issue, repo, self.world, req.bases)
        return Reply(201, out, [("Location", out["url"])], last_modified=issue.updated_at)

    def update_issue(self, req: RestRequest, repo: Repo, issue: Issue) -> Reply:
        docs = f"{DOCS}/issues/issues#update-an-issue"
        if req.viewer is None:
            return requires_auth(docs)
        body = parse_json_body(req)
        if isinstance(body, Reply):
            return body
        if "state" in body and body["state"] not in ("open", "closed"):
            return validation_failed("Issue", "invalid", "state", docs)
        if "title" in body and not (isinstance(body["title"], str) and body["title"].strip()):
            return validation_failed("Issue", "missing_field", "title", docs)
        self.world.update_issue(repo, issue, body, req.now)
        out = schema.issue_json(issue, repo, self.world, req.bases)
        return Reply(200, out, last_modified=issue.updated_at)
