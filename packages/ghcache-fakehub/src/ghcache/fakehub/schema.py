"""Render world objects as GitHub REST JSON (field names and shapes of api.github.com).

`api` is the REST base the client used (ends with "/"), `web` the matching html base, so the URLs
inside bodies lead back to this server (PyGithub and gh follow them).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from ghcache.fakehub.data import LABELS, Issue, Notification, Repo, User, World, node_id

JSON = dict[str, Any]


def iso(stamp: int | None) -> str | None:
    if stamp is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(stamp))


@dataclass(frozen=True)
class Bases:
    api: str  # e.g. "http://127.0.0.1:PORT/" or "http://api.github.localhost/"
    web: str  # e.g. "http://github.localhost/"
    media: str = ""  # body media type param from Accept: "", "raw", "text", "html" or "full"

    @classmethod
    def for_api(cls, api: str, media: str = "") -> Bases:
        scheme, _, rest = api.partition("://")
        host = rest.partition("/")[0]
        web_host = host[4:] if host.startswith("api.") else host
        return cls(api=api, web=f"{scheme}://{web_host}/", media=media)


def body_fields(text: str | None, media: str) -> JSON:
    """Issue/PR body in the representation the Accept header asked for (as GitHub does)."""
    html = f"<p>{text}</p>" if text else None
    if media == "text":
        return {"body_text": text}
    if media == "html":
        return {"body_html": html}
    if media == "full":
        return {"body": text, "body_text": text, "body_html": html}
    return {"body": text}


def simple_user(user: User, b: Bases) -> JSON:
    u = f"{b.api}users/{user.login}"
    return {
        "login": user.login,
        "id": user.id,
        "node_id": node_id(user.type, user.id),
        "avatar_url": f"{b.web}avatars/u/{user.id}?v=4",
        "gravatar_id": "",
        "url": u,
        "html_url": f"{b.web}{user.login}",
        "followers_url": f"{u}/followers",
        "following_url": f"{u}/following{{/other_user}}",
        "gists_url": f"{u}/gists{{/gist_id}}",
        "starred_url": f"{u}/starred{{/owner}}{{/repo}}",
        "subscriptions_url": f"{u}/subscriptions",
        "organizations_url": f"{u}/orgs",
        "repos_url": f"{u}/repos",
        "events_url": f"{u}/events{{/privacy}}",
        "received_events_url": f"{u}/received_events",
        "type": user.type,
        "user_view_type": "public",
        "site_admin": False,
    }


def full_user(user: User, world: World, b: Bases, *, private: bool) -> JSON:
    owned = [r for r in world.repos.values() if r.owner.lower() == user.login.lower()]
    body = simple_user(user, b) | {
        "name": user.name,
        "company": None,
        "blog": "",
        "location": None,
        "email": None,
        "hireable": None,
        "bio": None,
        "twitter_username": None,
        "public_repos": sum(1 for r in owned if not r.private),
        "public_gists": 0,
        "followers": 0,
        "following": 0,
        "created_at": iso(user.created_at),
        "updated_at": iso(user.updated_at),
    }
    if private:
        body |= {
            "private_gists": 0,
            "total_private_repos": sum(1 for r in owned if r.private),
            "owned_private_repos": sum(1 for r in owned if r.private),
            "disk_usage": 0,
            "collaborators": 0,
            "two_factor_authentication": True,
            "plan": {
                "name": "free",
                "space": 976562499,
                "collaborators": 0,
                "private_repos": 10000,
            },
        }
    return body


def repo_json(repo: Repo, world: World, b: Bases, *, viewer: str | None) -> JSON:
    owner = world.user(repo.owner)
    assert owner is not None
    u = f"{b.api}repos/{repo.full_name}"
    html = f"{b.web}{repo.full_name}"
    host = b.web.split("://", 1)[1].rstrip("/")
    body: JSON = {
        "id": repo.id,
        "node_id": node_id("Repository", repo.id),
        "name": repo.name,
        "full_name": repo.full_name,
        "private": repo.private,
        "owner": simple_user(owner, b),
        "html_url": html,
        "description": repo.description,
        "fork": False,
        "url": u,
        "forks_url": f"{u}/forks",
        "keys_url": f"{u}/keys{{/key_id}}",
        "collaborators_url": f"{u}/collaborators{{/collaborator}}",
        "teams_url": f"{u}/teams",
        "hooks_url": f"{u}/hooks",
        "issue_events_url": f"{u}/issues/events{{/number}}",
        "events_url": f"{u}/events",
        "assignees_url": f"{u}/assignees{{/user}}",
        "branches_url": f"{u}/branches{{/branch}}",
        "tags_url": f"{u}/tags",
        "labels_url": f"{u}/labels{{/name}}",
        "languages_url": f"{u}/languages",
        "stargazers_url": f"{u}/stargazers",
        "contributors_url": f"{u}/contributors",
        "subscribers_url": f"{u}/subscribers",
        "commits_url": f"{u}/commits{{/sha}}",
        "comments_url": f"{u}/comments{{/number}}",
        "issue_comment_url": f"{u}/issues/comments{{/number}}",
        "issues_url": f"{u}/issues{{/number}}",
        "pulls_url": f"{u}/pulls{{/number}}",
        "milestones_url": f"{u}/milestones{{/number}}",
        "notifications_url": f"{u}/notifications{{?since,all,participating}}",
        "created_at": iso(repo.created_at),
        "updated_at": iso(repo.updated_at),
        "pushed_at": iso(repo.pushed_at),
        "git_url": f"git://{host}/{repo.full_name}.git",
        "ssh_url": f"git@{host}:{repo.full_name}.git",
        "clone_url": f"{html}.git",
        "svn_url": html,
        "homepage": None,
        "size": 108,
        "stargazers_count": 42,
        "watchers_count": 42,
        "language": "Python",
        "has_issues": True,
        "has_projects": True,
        "has_downloads": True,
        "has_wiki": True,
        "has_pages": False,
        "has_discussions": False,
        "forks_count": 3,
        "mirror_url": None,
        "archived": False,
        "disabled": False,
        "open_issues_count": repo.open_issues_count,
        "license": None,
        "allow_forking": True,
        "is_template": False,
        "web_commit_signoff_required": False,
        "topics": [],
        "visibility": "private" if repo.private else "public",
        "forks": 3,
        "open_issues": repo.open_issues_count,
        "watchers": 42,
        "default_branch": "main",
    }
    if viewer is not None:
        admin = viewer.lower() == repo.owner.lower()
        body["permissions"] = {
            "admin": admin,
            "maintain": admin,
            "push": admin,
            "triage": admin,
            "pull": True,
        }
    body |= {"network_count": 3, "subscribers_count": 7}
    return body


def label_json(name: str, repo: Repo, b: Bases) -> JSON:
    label = LABELS[name]
    return {
        "id": label.id,
        "node_id": node_id("Label", label.id),
        "url": f"{b.api}repos/{repo.full_name}/labels/{label.name}",
        "name": label.name,
        "color": label.color,
        "default": True,
        "description": label.description,
    }


def issue_json(issue: Issue, repo: Repo, world: World, b: Bases) -> JSON:
    author = world.user(issue.user)
    assert author is not None
    repo_url = f"{b.api}repos/{repo.full_name}"
    u = f"{repo_url}/issues/{issue.number}"
    kind = "pull" if issue.is_pull else "issues"
    body: JSON = {
        "url": u,
        "repository_url": repo_url,
        "labels_url": f"{u}/labels{{/name}}",
        "comments_url": f"{u}/comments",
        "events_url": f"{u}/events",
        "html_url": f"{b.web}{repo.full_name}/{kind}/{issue.number}",
        "id": issue.id,
        "node_id": node_id("PullRequest" if issue.is_pull else "Issue", issue.id),
        "number": issue.number,
        "title": issue.title,
        "user": simple_user(author, b),
        "labels": [label_json(name, repo, b) for name in issue.labels],
        "state": issue.state,
        "locked": False,
        "assignee": None,
        "assignees": [],
        "milestone": None,
        "comments": issue.comments,
        "created_at": iso(issue.created_at),
        "updated_at": iso(issue.updated_at),
        "closed_at": iso(issue.closed_at),
        "author_association": "OWNER" if issue.user == repo.owner else "CONTRIBUTOR",
        "type": None,
        "active_lock_reason": None,
    }
    if issue.is_pull:
        pull_url = f"{repo_url}/pulls/{issue.number}"
        html = f"{b.web}{repo.full_name}/pull/{issue.number}"
        body["draft"] = False
        body["pull_request"] = {
            "url": pull_url,
            "html_url": html,
            "diff_url": f"{html}.diff",
            "patch_url": f"{html}.patch",
            "merged_at": None,
        }
    body |= body_fields(issue.body, b.media) | {
        "closed_by": None,
        "timeline_url": f"{u}/timeline",
        "performed_via_github_app": None,
        "state_reason": ("completed" if issue.state == "closed" else None),
    }
    return body


def pull_json(issue: Issue, repo: Repo, world: World, b: Bases) -> JSON:
    author = world.user(issue.user)
    assert author is not None
    repo_url = f"{b.api}repos/{repo.full_name}"
    u = f"{repo_url}/pulls/{issue.number}"
    html = f"{b.web}{repo.full_name}/pull/{issue.number}"
    branch = {
        "label": f"{repo.owner}:feature-{issue.number}",
        "ref": f"feature-{issue.number}",
        "sha": f"{issue.id:040x}",
        "user": simple_user(author, b),
        "repo": repo_json(repo, world, b, viewer=None),
    }
    return {
        "url": u,
        "id": issue.id,
        "node_id": node_id("PullRequest", issue.id),
        "html_url": html,
        "diff_url": f"{html}.diff",
        "patch_url": f"{html}.patch",
        "issue_url": f"{repo_url}/issues/{issue.number}",
        "number": issue.number,
        "state": issue.state,
        "locked": False,
        "title": issue.title,
        "user": simple_user(author, b),
        **body_fields(issue.body, b.media),
        "created_at": iso(issue.created_at),
        "updated_at": iso(issue.updated_at),
        "closed_at": iso(issue.closed_at),
        "merged_at": None,
        "merge_commit_sha": None,
        "assignee": None,
        "assignees": [],
        "requested_reviewers": [],
        "requested_teams": [],
        "labels": [label_json(name, repo, b) for name in issue.labels],
        "milestone": None,
        "draft": False,
        "commits_url": f"{u}/commits",
        "review_comments_url": f"{u}/comments",
        "review_comment_url": f"{repo_url}/pulls/comments{{/number}}",
        "comments_url": f"{repo_url}/issues/{issue.number}/comments",
        "statuses_url": f"{repo_url}/statuses/{issue.id:040x}",
        "head": branch,
        "base": branch | {"label": f"{repo.owner}:main", "ref": "main"},
        "author_association": "OWNER" if issue.user == repo.owner else "CONTRIBUTOR",
        "auto_merge": None,
        "active_lock_reason": None,
    }


def notification_json(note: Notification, world: World, b: Bases) -> JSON:
    owner, name = note.repo.split("/")
    repo = world.repo(owner, name)
    assert repo is not None
    issue = repo.issues.get(note.issue_number)
    title = issue.title if issue is not None else "(deleted)"
    subject_url = f"{b.api}repos/{note.repo}/issues/{note.issue_number}"
    thread = f"{b.api}notifications/threads/{note.id}"
    owner_user = world.user(repo.owner)
    assert owner_user is not None
    return {
        "id": note.id,
        "unread": note.unread,
        "reason": note.reason,
        "updated_at": iso(note.updated_at),
        "last_read_at": None,
        "subject": {
            "title": title,
            "url": subject_url,
            "latest_comment_url": subject_url,
            "type": "PullRequest" if issue is not None and issue.is_pull else "Issue",
        },
        "repository": {
            "id": repo.id,
            "node_id": node_id("Repository", repo.id),
            "name": repo.name,
            "full_name": repo.full_name,
            "private": repo.private,
            "owner": simple_user(owner_user, b),
            "html_url": f"{b.web}{repo.full_name}",
            "description": repo.description,
            "fork": False,
            "url": f"{b.api}repos/{repo.full_name}",
        },
        "url": thread,
        "subscription_url": f"{thread}/subscription",
    }
