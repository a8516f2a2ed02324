"""REST routes under a repository: the repository itself, its issues and pull requests, and
creating and updating issues."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ghcache.fakehub import schema
from ghcache.fakehub.data import Issue, Repo
from ghcache.fakehub.rest_protocol import (
    DOCS,
    Reply,
    RestRequest,
    RouteSet,
    list_reply,
    not_found,
    parse_iso,
    parse_json_body,
    requires_auth,
    validation_failed,
)


class RepoRoutes(RouteSet):
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
