"""The simulated GitHub world: users, repositories, issues, pull requests, notifications.

Everything is deterministic (fixed seed timestamps, sequential ids) so that two fresh hubs
serve byte-identical bodies and therefore identical ETags.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

# 2024-01-02T03:04:05Z: seed objects are created at fixed offsets from here.
SEED_EPOCH = 1704164645

DEFAULT_TOKENS: dict[str, str] = {"ghp_alice": "alice", "ghp_bob": "bob"}
DEFAULT_LIMIT = 5000

# Seeded repositories (full_name -> (issues, pull requests, private)). Numbers are assigned
# issues first (1..issues), then pull requests; /issues lists both, like GitHub does.
SEED_REPOS: dict[str, tuple[int, int, bool]] = {
    "octo/hello": (45, 5, False),
    "octo/big": (230, 0, False),
    "octo/empty": (0, 0, False),
    "alice/private-notes": (3, 0, True),
}
HELLO_REPO_ID = 1296269


def node_id(kind: str, number: int) -> str:
    """GitHub's legacy global node id: base64 of "<len(kind)>:<Kind><id>"."""
    prefixes = {"User": "04", "Organization": "012", "Repository": "010"}
    prefixes |= {"Issue": "05", "PullRequest": "011", "Label": "05"}
    raw = f"{prefixes.get(kind, '04')}:{kind}{number}"
    return base64.b64encode(raw.encode()).decode()


@dataclass
class User:
    login: str
    id: int
    type: str = "User"
    name: str | None = None
    created_at: int = SEED_EPOCH
    updated_at: int = SEED_EPOCH


@dataclass
class Label:
    id: int
    name: str
    color: str
    description: str


@dataclass
class Issue:
    number: int
    id: int
    title: str
    body: str | None
    user: str
    created_at: int
    updated_at: int
    state: str = "open"
    closed_at: int | None = None
    labels: list[str] = field(default_factory=list)
    comments: int = 0
    is_pull: bool = False


@dataclass
class Repo:
    id: int
    owner: str
    name: str
    private: bool
    description: str
    created_at: int
    updated_at: int
    pushed_at: int
    issues: dict[int, Issue] = field(default_factory=dict)

    @property
    def full_name(self) -> str:
        return f"{self.owner}/{self.name}"

    @property
    def open_issues_count(self) -> int:
        # GitHub counts open pull requests in open_issues_count too.
        return sum(1 for i in self.issues.values() if i.state == "open")

    def next_number(self) -> int:
        return max(self.issues, default=0) + 1


@dataclass
class Notification:
    id: str
    repo: str
    issue_number: int
    reason: str
    updated_at: int
    unread: bool = True


LABELS = {
    "bug": Label(208045946, "bug", "d73a4a", "Something isn't working"),
    "enhancement": Label(208045947, "enhancement", "a2eeef", "New feature or request"),
    "question": Label(208045948, "question", "d876e3", "Further information is requested"),
}


class World:
    """Mutable state of the fake GitHub. Callers hold the hub lock while touching it."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget every change: back to the seeded state."""
        self.users: dict[str, User] = {}
        self.repos: dict[str, Repo] = {}
        self.notifications: dict[str, list[Notification]] = {}
        self._next_user_id = 1
        self._next_issue_id = 1000000
        self._last_mutation = 0
        self.seed()

    # -- users -------------------------------------------------------------
    def ensure_user(self, login: str, *, kind: str = "User") -> User:
        user = self.users.get(login.lower())
        if user is None:
            user = User(login=login, id=self._next_user_id, type=kind, name=login.title())
            self._next_user_id += 1
            self.users[login.lower()] = user
        return user

    def user(self, login: str) -> User | None:
        return self.users.get(login.lower())

    # -- repos -------------------------------------------------------------
    def repo(self, owner: str, name: str) -> Repo | None:
        return self.repos.get(f"{owner}/{name}".lower())

    def repo_by_id(self, repo_id: int) -> Repo | None:
        return next((r for r in self.repos.values() if r.id == repo_id), None)

    def can_see(self, repo: Repo, login: str | None) -> bool:
        return not repo.private or (login is not None and login.lower() == repo.owner.lower())

    # -- mutations ---------------------------------------------------------
    def mutation_time(self, now: float) -> int:
        """A timestamp strictly after every earlier mutation, so Last-Modified always moves."""
        stamp = max(int(now), self._last_mutation + 1)
        self._last_mutation = stamp
        return stamp

    def create_issue(
        self, repo: Repo, *, title: str, body: str | None, user: str, labels: list[str], now: float
    ) -> Issue:
        stamp = self.mutation_time(now)
        issue = Issue(
            number=repo.next_number(),
            id=self._new_issue_id(),
            title=title,
            body=body,
            user=user,
            created_at=stamp,
            updated_at=stamp,
            labels=[name for name in labels if name in LABELS],
        )
        repo.issues[issue.number] = issue
        repo.updated_at = stamp
        return issue

    def update_issue(
        self, repo: Repo, issue: Issue, changes: dict[str, object], now: float
    ) -> None:
        stamp = self.mutation_time(now)
        if isinstance(changes.get("title"), str):
            issue.title = str(changes["title"])
        if "body" in changes:
            body = changes["body"]
            issue.body = body if isinstance(body, str) else None
        state = changes.get("state")
        if state in ("open", "closed") and state != issue.state:
            issue.state = str(state)
            issue.closed_at = stamp if state == "closed" else None
        labels = changes.get("labels")
        if isinstance(labels, list):
            issue.labels = [str(n) for n in labels if str(n) in LABELS]
        issue.updated_at = stamp
        repo.updated_at = stamp

    def _new_issue_id(self) -> int:
        self._next_issue_id += 1
        return self._next_issue_id

    # -- seed --------------------------------------------------------------
    def seed(self) -> None:
        for login in DEFAULT_TOKENS.values():
            self.ensure_user(login)
        self.ensure_user("octo", kind="Organization")
        label_cycle = ["bug", "enhancement", "question"]
        for index, (full_name, (n_issues, n_pulls, private)) in enumerate(SEED_REPOS.items()):
            owner, name = full_name.split("/")
            created = SEED_EPOCH + index * 86400
            repo = Repo(
                id=HELLO_REPO_ID + index,
                owner=owner,
                name=name,
                private=private,
                description=f"Seeded repository {full_name} served by fakehub",
                created_at=created,
                updated_at=created,
                pushed_at=created,
            )
            for number in range(1, n_issues + n_pulls + 1):
                is_pull = number > n_issues
                stamp = created + number * 3600
                kind = "Pull request" if is_pull else "Issue"
                repo.issues[number] = Issue(
                    number=number,
                    id=self._new_issue_id(),
                    title=f"{kind} {number} in {name}",
                    body=f"Body of {kind.lower()} {number}. Seeded by fakehub.",
                    user=["alice", "bob"][number % 2],
                    created_at=stamp,
                    updated_at=stamp,
                    labels=[label_cycle[number % 3]] if number % 4 else [],
                    comments=number % 5,
                    is_pull=is_pull,
                )
                repo.updated_at = max(repo.updated_at, stamp)
            self.repos[full_name.lower()] = repo
        self._last_mutation = max(r.updated_at for r in self.repos.values())
        self.notifications = {
            "alice": [
                Notification("1001", "octo/hello", 3, "mention", SEED_EPOCH + 7200),
                Notification("1002", "octo/hello", 7, "subscribed", SEED_EPOCH + 10800),
                Notification("1003", "alice/private-notes", 1, "author", SEED_EPOCH + 14400),
            ],
            "bob": [Notification("2001", "octo/hello", 4, "review_requested", SEED_EPOCH + 3600)],
        }
