"""REST routes about people: the viewer, users and their repository lists, notifications,
and issue search."""

from __future__ import annotations

from ghcache.fakehub import schema
from ghcache.fakehub.data import Issue, Repo
from ghcache.fakehub.rest_protocol import (
    DOCS,
    Reply,
    RestRequest,
    RouteSet,
    list_reply,
    not_found,
    paginate,
    requires_auth,
    validation_failed,
)


class AccountRoutes(RouteSet):
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
