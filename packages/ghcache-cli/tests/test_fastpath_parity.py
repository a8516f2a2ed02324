"""For every flag combination the fast path shares with the click ``api``
command, a cache hit gives the same stdout, stderr and exit code both ways.

Against the simulated GitHub, reached the way gh reaches a test host
(``GH_HOST=github.localhost`` plus ``HTTP_PROXY``): a first call through click
(``GHCACHE_NO_FASTPATH=1``) stores the answer; then the same call is a hit
through click and a hit through the fast path (proved by the imports of that
process), and neither reaches the hub."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ghcache.core.stats import Stats

ENDPOINT = "repos/octo/hello"

FLAG_CASES: list[list[str]] = [
    [],
    ["-i"],
    ["--include"],
    ["--silent"],
    ["-i", "--silent"],
    ["--offline"],
    ["--cache", "1h"],
    ["--cache=1h30m", "-i"],
    ["--ttl", "600"],
    ["-X", "get"],
    ["--cache", "0s"],  # gh: a zero duration is no --cache at all
    ["--ttl=0"],  # nothing is fresh for 0 s: both ways go to click, which revalidates
    ["-H", "Accept: application/vnd.github.raw+json"],
    ["--header", "X-GitHub-Api-Version: 2022-11-28"],
    ["-p", "mercy,squirrel-girl"],
    ["--hostname", "github.localhost"],
    ["--jq", ".name"],
    ["-q", ".owner.login", "-i"],
    ["-q", ".topics[]?, .id, .private, .stargazers_count"],
    ["-t", "{{.full_name}} {{.owner.login}}\n"],
    ["--template={{.name}}", "--cache", "1h"],
    [
        "-i",
        "--silent",
        "--offline",
        "--ttl=900",
        "--header",
        "accept: application/vnd.github+json",
        "--hostname=github.localhost",
    ],
]
ENDPOINT_CASES: list[tuple[str, dict[str, str]]] = [
    ("/repos/octo/hello", {}),
    ("repos/{owner}/{repo}", {"GH_REPO": "octo/hello"}),
    ("repos/:owner/:repo/issues?per_page=2&state=all", {"GH_REPO": "octo/hello"}),
    ("repos/octo/hello/issues?labels=bug%2Cui&per_page=1", {}),
    ("user", {}),  # identity-scoped: keyed to the token
    ("users/octo", {}),
]
ISSUES = "repos/octo/hello/issues?per_page=20&state=all"
PAGE_CASES: list[list[str]] = [
    ["--paginate"],
    ["--paginate", "--slurp"],
    ["--paginate", "-q", ".[].number"],
    ["-i", "--paginate"],
    ["--paginate", "-t", "{{range .}}{{.number}} {{end}}"],
]
CASES = [
    pytest.param([*flags, ENDPOINT], {}, id=" ".join(flags) or "plain") for flags in FLAG_CASES
]
CASES += [pytest.param([*flags, ISSUES], {}, id=" ".join(flags)) for flags in PAGE_CASES]
GRAPHQL_REPO = (
    "query=query($owner: String!, $name: String!, $n: Int) { repository(owner: $owner, "
    "name: $name) { name issues(first: $n) { nodes { number title } } } }"
)
GRAPHQL_PAGES = (
    'query=query($endCursor: String) { repository(owner: "octo", name: "hello") '
    "{ issues(first: 20, after: $endCursor) { nodes { number } "
    "pageInfo { hasNextPage endCursor } } } }"
)
GRAPHQL_CASES: list[tuple[list[str], dict[str, str]]] = [
    (["-f", GRAPHQL_REPO, "-F", "owner=octo", "-F", "name=hello", "-F", "n=3"], {}),
    (["-f", GRAPHQL_REPO, "-f", "owner=octo", "-f", "name=hello", "-F", "n=2", "-q", ".data"], {}),
    (["--paginate", "-f", GRAPHQL_PAGES], {}),
    (["--paginate", "-f", GRAPHQL_PAGES, "--jq", ".data.repository.issues.nodes[].number"], {}),
    (["-f", "query={ viewer { login } }"], {}),
    (
        ["-f", GRAPHQL_REPO, "-F", "owner=octo", "-F", "name=hello", "-F", "n=1"],
        {"CACHE_SHARING": "team"},
    ),
]
CASES += [
    pytest.param(["graphql", *flags], extra, id=f"graphql {' '.join(flags)[:60]} {extra}")
    for flags, extra in GRAPHQL_CASES
]
# gh's colour rules apply on a pipe too when these say so.
CASES += [
    pytest.param([*flags, ENDPOINT], extra, id=f"{' '.join(flags)} {extra}".strip())
    for extra in ({"CLICOLOR_FORCE": "1"}, {"GH_FORCE_TTY": "1"}, {"NO_COLOR": "1"})
    for flags in ([], ["-i"])
]
CASES += [
    pytest.param([*flags, endpoint], extra, id=f"{' '.join(flags)} {endpoint}".strip())
    for endpoint, extra in ENDPOINT_CASES
    for flags in ([], ["-i"])
    if not flags or "?" in endpoint or endpoint == "user"
]


@pytest.fixture(scope="module")
def shared_hub() -> Iterator[Any]:
    from ghcache.fakehub import FakeHub

    with FakeHub() as hub:
        yield hub


@pytest.fixture
def hub_env(shared_hub: Any, env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    values = {**env, **shared_hub.gh_env(str(tmp_path / "gh-config"))}
    values.pop("GITHUB_API_URL", None)
    values.pop("NO_COLOR", None)  # output is not a terminal anyway; keep gh's default rules
    return values


@pytest.mark.parametrize(("args", "extra"), CASES)
def test_hit_is_identical_through_click_and_fast_path(
    traced: Any,
    shared_hub: Any,
    hub_env: dict[str, str],
    cache_dir: Path,
    args: list[str],
    extra: dict[str, str],
) -> None:
    api = ["api", *args]
    env = {**hub_env, **extra}
    slow = {**env, "GHCACHE_NO_FASTPATH": "1"}
    if "--offline" in args:  # --offline cannot fill the cache: store with the same call minus it
        store_args = [arg for arg in api if arg != "--offline"]
        first, _ = traced(store_args, slow)
    else:
        first, _ = traced(api, slow)
    assert first.returncode == 0, first.stderr
    fresh = "--ttl=0" not in args
    before = shared_hub.upstream_count()
    hits_before = Stats(cache_dir).read()["hits"]

    click_hit, click_modules = traced(api, slow)
    hits_after_click = Stats(cache_dir).read()["hits"]
    fast_hit, fast_modules = traced(api, env)

    assert "click" in click_modules
    if fresh:
        assert shared_hub.upstream_count() == before, "a hit must not reach the hub"
        assert "click" not in fast_modules and "ghcache.cli.main" not in fast_modules
        assert "httpx" not in fast_modules
        pages = hits_after_click - hits_before  # each page answered is a hit, both ways
        assert pages >= (3 if "--paginate" in args else 1)
        assert Stats(cache_dir).read()["hits"] == hits_after_click + pages
    else:
        assert "ghcache.cli.main" in fast_modules  # nothing is fresh for 0 s: click answers
    assert (fast_hit.returncode, fast_hit.stdout, fast_hit.stderr) == (
        click_hit.returncode,
        click_hit.stdout,
        click_hit.stderr,
    )
    if "--offline" not in args and fresh:
        assert fast_hit.stdout == first.stdout  # and a hit prints what the miss printed


def test_stale_entry_goes_through_click_and_revalidates(
    traced: Any, shared_hub: Any, hub_env: dict[str, str]
) -> None:
    first, _ = traced(["api", ENDPOINT], {**hub_env, "CACHE_DEFAULT_TTL": "0"})
    assert first.returncode == 0
    before = shared_hub.upstream_count()
    again, modules = traced(["api", ENDPOINT], {**hub_env, "CACHE_DEFAULT_TTL": "0"})
    assert "ghcache.cli.main" in modules
    assert shared_hub.upstream_count() == before + 1  # a conditional request
    assert again.stdout == first.stdout


def imported(importtime_stderr: bytes) -> set[str]:
    lines = importtime_stderr.decode("utf-8", "replace").splitlines()
    return {line.rsplit("|", 1)[-1].strip() for line in lines if line.startswith("import time:")}


def read_terminal(controller: int) -> bytes:
    import os

    seen = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:  # EIO: the terminal side is closed and drained
            return seen
        if not chunk:
            return seen
        seen += chunk


@pytest.mark.parametrize(
    ("flags", "pager"),
    [([], ""), (["-i"], ""), ([], "sed s/^/PAGED:/")],
    ids=["plain", "include", "pager"],
)
def test_terminal_hit_is_identical_through_click_and_fast_path(
    script: Any,
    shared_hub: Any,
    hub_env: dict[str, str],
    workdir: Path,
    flags: list[str],
    pager: str,
) -> None:
    import os
    import pty
    import subprocess
    import sys

    cmd = [script("ghcache"), "api", *flags, ENDPOINT]
    assert subprocess.run(cmd, env=hub_env, capture_output=True, check=False).returncode == 0
    before = shared_hub.upstream_count()
    results = {}
    for label, extra in (("click", {"GHCACHE_NO_FASTPATH": "1"}), ("fast", {})):
        controller, terminal = pty.openpty()
        try:
            done = subprocess.run(
                [sys.executable, "-X", "importtime", *cmd],
                env={**hub_env, **extra, "TERM": "xterm", "GH_PAGER": pager},
                cwd=workdir,
                stdout=terminal,
                stderr=subprocess.PIPE,
                timeout=60,
                check=False,
            )
            os.close(terminal)
            terminal = -1
            results[label] = (done.returncode, read_terminal(controller), done.stderr)
        finally:
            if terminal >= 0:
                os.close(terminal)
            os.close(controller)
    assert shared_hub.upstream_count() == before
    click_code, click_out, click_imports = results["click"]
    fast_code, fast_out, fast_imports = results["fast"]
    assert "click" in imported(click_imports)
    # gh pages a terminal's output: with a pager set, the api command answers the hit.
    assert ("click" in imported(fast_imports)) == bool(pager)
    assert (fast_code, fast_out) == (click_code, click_out)
    assert fast_code == 0
    assert b"\x1b[1;34m" in fast_out  # coloured keys: it really was a terminal
    assert (b"PAGED:" in fast_out) == bool(pager)
