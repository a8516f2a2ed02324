"""A small GraphQL subset: enough of GitHub's schema for viewer, user, repository, issues,
pull requests and rateLimit, with cursor pagination the way `gh api graphql --paginate` uses it.

The query text is parsed by graphql_syntax; this module resolves the parsed operation against
the world. Unsupported parts answer with GitHub-style errors.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ghcache.fakehub.data import LABELS, Issue, Repo, User, World, node_id
from ghcache.fakehub.graphql_syntax import Field, GraphQLParseError, Operation, Parser, Var
from ghcache.fakehub.schema import Bases, iso

__all__ = [
    "Connection",
    "Executor",
    "Field",
    "GraphQLParseError",
    "GraphQLValidationError",
    "Operation",
    "Parser",
    "Var",
    "decode_cursor",
    "encode_cursor",
    "execute",
]

JSON = dict[str, Any]


class GraphQLValidationError(Exception):
    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.extra = extra


Resolver = Callable[["Any", "Field", list[Any]], tuple[Any, str | None]]


def encode_cursor(position: int) -> str:
    return base64.b64encode(f"cursor:v2:{position}".encode()).decode()


def decode_cursor(cursor: str) -> int | None:
    try:
        text = base64.b64decode(cursor.encode(), validate=True).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    prefix, _, number = text.rpartition(":")
    return int(number) if prefix == "cursor:v2" and number.isdigit() else None


@dataclass
class Connection:
    items: list[Any]
    node_type: str
    start: int  # index in `items` of the first returned node
    count: int
    total: int


class Executor:
    """Resolves one operation against the world for one viewer."""

    def __init__(
        self,
        world: World,
        viewer: User,
        variables: dict[str, Any],
        bases: Bases,
        rate: JSON,
    ) -> None:
        self.world = world
        self.viewer = viewer
        self.variables = variables
        self.b = bases
        self.rate = rate
        self.errors: list[JSON] = []

    def run(self, op: Operation) -> JSON:
        self.variables = op.defaults | self.variables
        if op.kind != "query":
            raise GraphQLValidationError(f"fakehub supports queries only, not {op.kind}s")
        data = self.select(None, "Query", op.selections, [])
        result: JSON = {"data": data}
        if self.errors:
            result["errors"] = self.errors
        return result

    # -- generic machinery -------------------------------------------------
    def arg(self, f: Field, name: str, default: Any = None) -> Any:
        value = self.resolve_vars(f.args.get(name, default))
        return default if value is None else value

    def resolve_vars(self, value: Any) -> Any:
        if isinstance(value, Var):
            return self.variables.get(value.name)
        if isinstance(value, list):
            return [self.resolve_vars(v) for v in value]
        if isinstance(value, dict):
            return {k: self.resolve_vars(v) for k, v in value.items()}
        return value

    def select(self, obj: Any, type_name: str, fields: list[Field], path: list[Any]) -> JSON:
        out: JSON = {}
        resolvers = self.type_resolvers(type_name)
        for f in fields:
            here = [*path, f.key]
            if f.name == "__typename":
                out[f.key] = type_name.split(":")[0]
                continue
            resolver = resolvers.get(f.name)
            if resolver is None:
                raise GraphQLValidationError(
                    f"Field '{f.name}' doesn't exist on type '{type_name.split(':')[0]}'",
                    path=["query", *[p for p in here if isinstance(p, str)]],
                    extensions={
                        "code": "undefinedField",
                        "typeName": type_name.split(":")[0],
                        "fieldName": f.name,
                    },
                )
            value, value_type = resolver(obj, f, here)
            out[f.key] = self.complete(value, value_type, f, here)
        return out

    def complete(self, value: Any, value_type: str | None, f: Field, path: list[Any]) -> Any:
        if value is None or value_type is None:
            if value_type is not None and f.selections is None:
                raise GraphQLValidationError(
                    f"Field must have selections (field '{f.name}' returns "
                    f"{value_type.split(':')[0]} but has no selections. Did you mean "
                    f"'{f.name} {{ ... }}'?)"
                )
            return value
        if f.selections is None:
            raise GraphQLValidationError(
                f"Field must have selections (field '{f.name}' returns "
                f"{value_type.split(':')[0]} but has no selections. Did you mean "
                f"'{f.name} {{ ... }}'?)"
            )
        if isinstance(value, list):
            return [
                self.select(v, value_type, f.selections, [*path, i]) for i, v in enumerate(value)
            ]
        return self.select(value, value_type, f.selections, path)

    def not_found(self, message: str, path: list[Any]) -> None:
        self.errors.append({"type": "NOT_FOUND", "path": path, "locations": [], "message": message})

    def type_resolvers(self, type_name: str) -> dict[str, Resolver]:
        base = type_name.split(":")[0]
        table: dict[str, dict[str, Resolver]]
        table = {
            "Query": {
                "viewer": lambda o, f, p: (self.viewer, "User"),
                "user": self.q_user,
                "repository": self.q_repository,
                "rateLimit": lambda o, f, p: (self.rate, "RateLimit"),
            },
            "User": self.user_fields(),
            "Repository": self.repo_fields(),
            "Issue": self.issue_fields(pull=False),
            "PullRequest": self.issue_fields(pull=True),
            "Connection": {
                "totalCount": lambda c, f, p: (c.total, None),
                "nodes": lambda c, f, p: (c.items[c.start : c.start + c.count], c.node_type),
                "edges": lambda c, f, p: (
                    [(c.start + k + 1, n) for k, n in enumerate(c.items[c.start :][: c.count])],
                    f"Edge:{c.node_type}",
                ),
                "pageInfo": lambda c, f, p: (c, "PageInfo"),
            },
            "Edge": {
                "cursor": lambda e, f, p: (encode_cursor(e[0]), None),
                "node": lambda e, f, p: (e[1], type_name.split(":")[1]),
            },
            "PageInfo": {
                "hasNextPage": lambda c, f, p: (c.start + c.count < len(c.items), None),
                "hasPreviousPage": lambda c, f, p: (c.start > 0, None),
                "startCursor": lambda c, f, p: (
                    encode_cursor(c.start + 1) if c.count else None,
                    None,
                ),
                "endCursor": lambda c, f, p: (
                    encode_cursor(c.start + c.count) if c.count else None,
                    None,
                ),
            },
            "RateLimit": {
                name: self.key_field(name)
                for name in ("limit", "cost", "remaining", "resetAt", "used", "nodeCount")
            },
            "Label": {
                "name": lambda o, f, p: (o, None),
                "id": lambda o, f, p: (node_id("Label", LABELS[o].id), None),
                "color": lambda o, f, p: (LABELS[o].color, None),
                "description": lambda o, f, p: (LABELS[o].description, None),
            },
        }
        return table[base]

    @staticmethod
    def key_field(name: str) -> Resolver:
        def resolve(obj: Any, f: Field, path: list[Any]) -> tuple[Any, str | None]:
            return obj[name], None

        return resolve

    # -- Query ---------------------------------------------------------------
    def q_user(self, obj: Any, f: Field, path: list[Any]) -> tuple[Any, str]:
        login = self.arg(f, "login")
        if not isinstance(login, str):
            raise GraphQLValidationError("Argument 'login' on Field 'user' is required")
        user = self.world.user(login)
        if user is None:
            self.not_found(f"Could not resolve to a User with the login of '{login}'.", path)
        return user, "User"

    def q_repository(self, obj: Any, f: Field, path: list[Any]) -> tuple[Any, str]:
        owner, name = self.arg(f, "owner"), self.arg(f, "name")
        if not isinstance(owner, str) or not isinstance(name, str):
            raise GraphQLValidationError(
                "Field 'repository' is missing required arguments: owner, name"
            )
        repo = self.world.repo(owner, name)
        if repo is None or not self.world.can_see(repo, self.viewer.login):
            self.not_found(
                f"Could not resolve to a Repository with the name '{owner}/{name}'.", path
            )
            return None, "Repository"
        return repo, "Repository"

    # -- object types ---------------------------------------------------------
    def user_fields(self) -> dict[str, Resolver]:
        return {
            "login": lambda u, f, p: (u.login, None),
            "name": lambda u, f, p: (u.name, None),
            "id": lambda u, f, p: (node_id(u.type, u.id), None),
            "databaseId": lambda u, f, p: (u.id, None),
            "url": lambda u, f, p: (f"{self.b.web}{u.login}", None),
            "email": lambda u, f, p: ("", None),
            "bio": lambda u, f, p: (None, None),
            "company": lambda u, f, p: (None, None),
            "createdAt": lambda u, f, p: (iso(u.created_at), None),
            "repositories": self.user_repositories,
        }

    def repo_fields(self) -> dict[str, Resolver]:
        return {
            "name": lambda r, f, p: (r.name, None),
            "nameWithOwner": lambda r, f, p: (r.full_name, None),
            "id": lambda r, f, p: (node_id("Repository", r.id), None),
            "databaseId": lambda r, f, p: (r.id, None),
            "description": lambda r, f, p: (r.description, None),
            "isPrivate": lambda r, f, p: (r.private, None),
            "url": lambda r, f, p: (f"{self.b.web}{r.full_name}", None),
            "createdAt": lambda r, f, p: (iso(r.created_at), None),
            "updatedAt": lambda r, f, p: (iso(r.updated_at), None),
            "pushedAt": lambda r, f, p: (iso(r.pushed_at), None),
            "stargazerCount": lambda r, f, p: (42, None),
            "owner": lambda r, f, p: (self.world.user(r.owner), "User"),
            "issue": lambda r, f, p: self.single_issue(r, f, p, pull=False),
            "pullRequest": lambda r, f, p: self.single_issue(r, f, p, pull=True),
            "issues": lambda r, f, p: self.issue_connection(r, f, pull=False),
            "pullRequests": lambda r, f, p: self.issue_connection(r, f, pull=True),
        }

    def issue_fields(self, *, pull: bool) -> dict[str, Resolver]:
        fields: dict[str, Resolver] = {
            "number": lambda i, f, p: (i.number, None),
            "title": lambda i, f, p: (i.title, None),
            "body": lambda i, f, p: (i.body or "", None),
            "state": lambda i, f, p: (i.state.upper(), None),
            "closed": lambda i, f, p: (i.state == "closed", None),
            "id": lambda i, f, p: (node_id("PullRequest" if pull else "Issue", i.id), None),
            "databaseId": lambda i, f, p: (i.id, None),
            "url": lambda i, f, p: (self.issue_url(i), None),
            "createdAt": lambda i, f, p: (iso(i.created_at), None),
            "updatedAt": lambda i, f, p: (iso(i.updated_at), None),
            "closedAt": lambda i, f, p: (iso(i.closed_at), None),
            "author": lambda i, f, p: (self.world.user(i.user), "User"),
            "labels": lambda i, f, p: self.paginate(list(i.labels), "Label", f),
        }
        if pull:
            fields |= {
                "isDraft": lambda i, f, p: (False, None),
                "merged": lambda i, f, p: (False, None),
                "headRefName": lambda i, f, p: (f"feature-{i.number}", None),
                "baseRefName": lambda i, f, p: ("main", None),
            }
        return fields

    def issue_url(self, issue: Issue) -> str:
        for repo in self.world.repos.values():
            if repo.issues.get(issue.number) is issue:
                kind = "pull" if issue.is_pull else "issues"
                return f"{self.b.web}{repo.full_name}/{kind}/{issue.number}"
        return ""

    def single_issue(self, repo: Repo, f: Field, path: list[Any], *, pull: bool) -> tuple[Any, str]:
        number = self.arg(f, "number")
        issue = repo.issues.get(number) if isinstance(number, int) else None
        type_name = "PullRequest" if pull else "Issue"
        if issue is None or issue.is_pull != pull:
            what = "PullRequest" if pull else "Issue"
            self.not_found(f"Could not resolve to an {what} with the number of {number}.", path)
            return None, type_name
        return issue, type_name

    def issue_connection(self, repo: Repo, f: Field, *, pull: bool) -> tuple[Connection, str]:
        items = [i for i in repo.issues.values() if i.is_pull == pull]
        states = self.arg(f, "states")
        if isinstance(states, str):
            states = [states]
        if states:
            wanted = {str(s).lower() for s in states}
            items = [i for i in items if i.state in wanted]
        order = self.arg(f, "orderBy") or {}
        key = "updated_at" if order.get("field") == "UPDATED_AT" else "created_at"
        items.sort(key=lambda i: (getattr(i, key), i.number))
        if order.get("direction") == "DESC":
            items.reverse()
        node_type = "PullRequest" if pull else "Issue"
        return self.paginate(items, node_type, f)

    def user_repositories(self, user: User, f: Field, path: list[Any]) -> tuple[Any, str]:
        repos = [
            r
            for r in self.world.repos.values()
            if r.owner.lower() == user.login.lower() and self.world.can_see(r, self.viewer.login)
        ]
        return self.paginate(repos, "Repository", f)

    def paginate(self, items: list[Any], node_type: str, f: Field) -> tuple[Connection, str]:
        first, last = self.arg(f, "first"), self.arg(f, "last")
        if first is None and last is None:
            raise GraphQLValidationError(
                f"You must provide a `first` or `last` value to properly paginate the "
                f"`{f.name}` connection."
            )
        size = first if first is not None else last
        if not isinstance(size, int) or not 0 <= size <= 100:
            raise GraphQLValidationError(
                f"Requesting {size} records on the `{f.name}` connection exceeds the "
                f"`{'first' if first is not None else 'last'}` limit of 100 records."
            )
        start = 0
        after = self.arg(f, "after")
        if isinstance(after, str):
            position = decode_cursor(after)
            if position is None:
                raise GraphQLValidationError(f"`{after}` does not appear to be a valid cursor.")
            start = position
        before = self.arg(f, "before")
        end = len(items)
        if isinstance(before, str):
            position = decode_cursor(before)
            if position is None:
                raise GraphQLValidationError(f"`{before}` does not appear to be a valid cursor.")
            end = max(0, position - 1)
        if first is None:  # `last`: the final `size` items before `end`
            start = max(start, end - size)
        count = max(0, min(size, end - start))
        return Connection(items, node_type, start, count, len(items)), f"Connection:{node_type}"


def execute(
    world: World,
    viewer: User,
    query: str,
    variables: dict[str, Any] | None,
    bases: Bases,
    rate: JSON,
) -> JSON:
    """Answer one GraphQL request body. Never raises for bad queries: GitHub returns them as
    `{"errors": [...]}` with status 200."""
    try:
        op = Parser(query).document()
        return Executor(world, viewer, dict(variables or {}), bases, rate).run(op)
    except GraphQLParseError as exc:
        return {"errors": [{"message": str(exc)}]}
    except GraphQLValidationError as exc:
        return {"errors": [{"message": str(exc), **exc.extra}]}
