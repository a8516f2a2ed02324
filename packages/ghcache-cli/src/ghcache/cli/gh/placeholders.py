"""``{owner}``, ``{repo}``, ``{branch}`` (and ``:owner``, ``:repo``, ``:branch``)
in endpoints and ``-F`` values, resolved the way gh 2.23 does.

The repository comes from ``GH_REPO`` ([HOST/]OWNER/REPO or a URL), else from
the git remotes of the current directory: remotes on a GitHub host, the one
named upstream first, then github, then origin, then the rest in git's order.
The branch is the checked-out branch.  Errors carry gh's wording.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

PLACEHOLDER = re.compile(r"(:(owner|repo|branch)\b|\{[a-z]+\})")
_REMOTE_PRIORITY = {"upstream": 3, "github": 2, "origin": 1}
_SCP_LIKE = re.compile(r"^[\w.-]+@([\w.-]+):(.+)$")


class PlaceholderError(ValueError):
    """A placeholder that cannot be filled (message in gh's words)."""


@dataclass(frozen=True)
class Repo:
    owner: str
    name: str
    host: str


def parse_repo_name(text: str, default_host: str = "github.com") -> Repo:
    """``OWNER/REPO``, ``HOST/OWNER/REPO`` or a repository URL."""
    if _is_url(text):
        repo = repo_from_url(text)
        if repo is None:
            raise PlaceholderError(f"invalid repository URL {text!r}")
        return repo
    parts = text.split("/", 3)
    if any(not part for part in parts) or len(parts) not in (2, 3):
        raise PlaceholderError(f'expected the "[HOST/]OWNER/REPO" format, got "{text}"')
    if len(parts) == 3:
        return Repo(parts[1], parts[2], parts[0].lower())
    return Repo(parts[0], parts[1], default_host)


def _is_url(text: str) -> bool:
    return "://" in text or bool(_SCP_LIKE.match(text))


def repo_from_url(url: str) -> Repo | None:
    """The repository a git remote URL points at (https, ssh, git, scp-like)."""
    scp = _SCP_LIKE.match(url)
    if scp and "://" not in url:
        host, path = scp.group(1), scp.group(2)
    else:
        parts = urlsplit(url)
        host, path = parts.hostname or "", parts.path
    host = host.lower()
    if host.startswith("www."):
        host = host[4:]
    if host == "ssh.github.com":
        host = "github.com"
    pieces = [piece for piece in path.strip("/").split("/") if piece]
    if len(pieces) != 2 or not host:
        return None
    owner, name = pieces
    return Repo(owner, name.removesuffix(".git"), host)


def _run_git(args: list[str], cwd: str | None) -> str:
    try:
        done = subprocess.run(
            ["git", *args], capture_output=True, text=True, cwd=cwd, timeout=10, check=False
        )
    except FileNotFoundError:
        raise PlaceholderError("failed to run git: git: executable file not found") from None
    except (OSError, subprocess.SubprocessError) as exc:
        raise PlaceholderError(f"failed to run git: {exc}") from None
    if done.returncode != 0:
        message = done.stderr.strip()
        raise PlaceholderError(f"failed to run git: {message}" if message else "failed to run git")
    return done.stdout


def known_hosts(env: Mapping[str, str], hostname: str | None) -> set[str]:
    """Hosts gh would trust for remotes: github.com, --hostname, hosts.yml."""
    hosts = {"github.com"}
    if hostname:
        hosts.add(hostname.lower())
    config_dir = env.get("GH_CONFIG_DIR") or os.path.join(
        env.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config"), "gh"
    )
    try:
        with open(os.path.join(config_dir, "hosts.yml"), encoding="utf-8") as handle:
            for line in handle:
                match = re.match(r"^([^\s#:][^:]*):\s*$", line)
                if match:
                    hosts.add(match.group(1).strip().lower())
    except OSError:
        pass
    return hosts


def remote_repo(env: Mapping[str, str], hostname: str | None, cwd: str | None) -> Repo:
    """The repository of the current directory's git remotes, as gh picks it."""
    output = _run_git(["remote", "-v"], cwd)
    remotes: list[tuple[str, Repo]] = []
    seen: set[str] = set()
    for line in output.splitlines():
        fields = line.split()
        if len(fields) < 3 or fields[2] != "(fetch)" or fields[0] in seen:
            continue
        repo = repo_from_url(fields[1])
        if repo is not None:
            seen.add(fields[0])
            remotes.append((fields[0], repo))
    if not remotes:
        raise PlaceholderError("no git remotes found")
    remotes.sort(key=lambda item: -_REMOTE_PRIORITY.get(item[0], 0))
    gh_host = env.get("GH_HOST", "").strip().lower()
    if gh_host:
        matching = [repo for _, repo in remotes if repo.host == gh_host]
        if not matching:
            raise PlaceholderError(
                "none of the git remotes configured for this repository correspond to the "
                "GH_HOST environment variable. Try adding a matching remote or unsetting the "
                "variable."
            )
        return matching[0]
    hosts = known_hosts(env, hostname)
    matching = [repo for _, repo in remotes if repo.host in hosts or repo.host.endswith(".ghe.com")]
    if not matching:
        raise PlaceholderError(
            "none of the git remotes configured for this repository point to a known GitHub "
            "host. To tell gh about a new GitHub host, please use `gh auth login`"
        )
    return matching[0]


def current_branch(cwd: str | None) -> str:
    try:
        ref = _run_git(["symbolic-ref", "--quiet", "HEAD"], cwd).strip()
    except PlaceholderError as exc:
        message = str(exc)
        if message == "failed to run git":  # detached HEAD: symbolic-ref says nothing
            message = "failed to run git: not on any branch"
        raise PlaceholderError(f"could not determine current branch: {message}") from None
    return ref.removeprefix("refs/heads/")


class Resolver:
    """Fills placeholders, looking the repository and branch up once, only when needed."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        hostname: str | None = None,
        cwd: str | None = None,
    ) -> None:
        self.env = os.environ if env is None else env
        self.hostname = hostname
        self.cwd = cwd
        self._repo: Repo | None = None
        self._branch: str | None = None

    def repo(self) -> Repo:
        if self._repo is None:
            override = self.env.get("GH_REPO", "")
            if override:
                self._repo = parse_repo_name(override)
            else:
                self._repo = remote_repo(self.env, self.hostname, self.cwd)
        return self._repo

    def branch(self) -> str:
        if self._branch is None:
            self._branch = current_branch(self.cwd)
        return self._branch

    def fill(self, text: str) -> str:
        """``text`` with its placeholders filled; unknown ``{names}`` stay as they are."""
        return fill_placeholders(text, self.repo, self.branch)


def fill_placeholders(text: str, repo: Callable[[], Repo], branch: Callable[[], str]) -> str:
    problem: PlaceholderError | None = None

    def replace(match: re.Match[str]) -> str:
        nonlocal problem
        token = match.group(0)
        name = token[1:] if token.startswith(":") else token[1:-1]
        try:
            if name == "owner":
                return repo().owner
            if name == "repo":
                return repo().name
            if name == "branch":
                return branch()
        except PlaceholderError as exc:
            problem = exc
        return token

    filled = PLACEHOLDER.sub(replace, text)
    if problem is not None:
        raise problem
    return filled
