"""Which ``ghcache api`` command lines the fast path takes, and what it reads from them.

Everything it does not take goes to the click command, so the cases that
must return None matter as much as the ones it parses."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ghcache.cli import fastargs
from ghcache.cli.fastargs import parse_api_args, parse_duration


def test_plain_endpoint() -> None:
    request = parse_api_args(["api", "repos/octo/hello"])
    assert request is not None
    assert request.endpoint == "repos/octo/hello"
    assert (request.accept, request.api_version, request.ttl, request.hostname) == (None,) * 4
    assert not request.include and not request.silent


def test_supported_flags_in_every_spelling() -> None:
    request = parse_api_args(
        [
            "api",
            "-i",
            "--header",
            "accept: application/vnd.github.raw",
            "repos/octo/hello",
            "--silent",
            "-H",
            "X-GitHub-Api-Version:2022-11-28",
            "--cache=1h30m",
            "--hostname",
            "github.localhost",
            "--offline",
        ]
    )
    assert request is not None
    assert request.endpoint == "repos/octo/hello"
    assert request.accept == "application/vnd.github.raw"
    assert request.api_version == "2022-11-28"
    assert request.ttl == 5400.0
    assert request.hostname == "github.localhost"
    assert request.include and request.silent
    assert parse_api_args(["api", "x", "--include", "--ttl", "60"]).ttl == 60.0  # type: ignore[union-attr]
    assert parse_api_args(["api", "x", "--ttl=0"]).ttl == 0.0  # type: ignore[union-attr]
    assert parse_api_args(["api", "x", "--cache=0s"]).ttl is None  # type: ignore[union-attr]
    for method in (["-X", "GET"], ["--method", "get"], ["--method=Get"]):
        assert parse_api_args(["api", *method, "x"]) is not None


def test_previews_become_gh_accept_header() -> None:
    request = parse_api_args(["api", "x", "-p", "corsair,scarlet-witch", "--preview=baptiste"])
    assert request is not None
    assert request.accept == (
        "application/vnd.github.corsair-preview+json, "
        "application/vnd.github.scarlet-witch-preview, "
        "application/vnd.github.baptiste-preview"
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["api", "x", "--jq", ".id"], {"jq": ".id"}),
        (["api", "-q", ".[].n", "x", "--paginate"], {"jq": ".[].n", "paginate": True}),
        (["api", "x", "--template={{.id}}"], {"template": "{{.id}}"}),
        (["api", "x", "--paginate", "--slurp", "-i"], {"paginate": True, "slurp": True}),
        (["api", "x", "--jq", "-1"], {"jq": "-1"}),  # a value, even if it starts with "-"
        (
            ["api", "graphql", "-f", "query={ a }", "-F", "n=3", "--raw-field=b=-1"],
            {"raw_fields": ["query={ a }", "b=-1"], "typed_fields": ["n=3"]},
        ),
    ],
)
def test_filters_and_pages_are_read(args: list[str], expected: dict[str, object]) -> None:
    request = parse_api_args(args)
    assert request is not None and request.endpoint in ("x", "graphql")
    assert request.is_plain is False
    for name, value in expected.items():
        assert getattr(request, name) == value


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["api"],
        ["stats"],
        ["--version"],
        ["api", "--help"],
        ["api", "a", "b"],  # two endpoints: a usage error for click to word
        ["api", "x", "--jq", ".id", "-t", "{{.id}}"],  # usage errors: click words them
        ["api", "x", "--jq", ".id", "--silent"],
        ["api", "x", "--slurp"],
        ["api", "x", "--paginate", "--slurp", "-q", "."],
        ["api", "x", "--jq", ""],
        ["api", "x", "-q=.id"],
        ["api", "x", "-f", "a=b"],  # fields make a REST call a POST
        ["api", "graphql"],  # no query
        ["api", "graphql", "-f", "query={ a }", "-F", "body=@file.txt"],  # reads a file
        ["api", "graphql", "-f", "query={ a }", "-F", "owner={owner}"],  # a placeholder
        ["api", "graphql", "-f", "query={ a }", "-F", "owner=:owner"],
        ["api", "x", "-X", "POST"],
        ["api", "x", "--method=HEAD"],
        ["api", "x", "-f", "a=b"],
        ["api", "x", "--refresh"],
        ["api", "x", "--no-cache"],
        ["api", "x", "--verbose"],
        ["api", "x", "--cache"],  # missing value
        ["api", "x", "--cache", "1.5h"],  # valid for gh, not whole units: click decides
        ["api", "x", "--cache", "500ms"],
        ["api", "x", "--cache", "soon"],
        ["api", "x", "--cache", "-1h"],
        ["api", "x", "--ttl", "ten"],
        ["api", "x", "--ttl", "-5"],
        ["api", "x", "--cache", "1h", "--ttl", "60"],
        ["api", "x", "--ttl", "1", "--ttl", "2"],
        ["api", "x", "--hostname", "a", "--hostname", "b"],
        ["api", "x", "-H", "no colon"],
        ["api", "x", "-H", "Accept : x"],
        ["api", "x", "--hostname", "https://ghe.example.com"],
        ["api", "x", "--hostname", "github.localhost/"],
        ["api", "x", "--hostname", " github.com"],
        ["api", "x", "-H", "If-None-Match: abc"],  # changes what is sent
        ["api", "x", "-H", "Authorization: token t"],
        ["api", "x", "-H", "Accept:"],
        ["api", "x", "-H", "Accept: a", "-H", "accept: b"],
        ["api", "x", "-H", "Accept: a", "-p", "corsair"],
        ["api", "x", "-p", "bad name"],
        ["api", "x", "-Haccept:x"],  # click's glued form: left to click
        ["api", "x", "-H=accept:x"],
        ["api", "x", "-ii"],
        ["api", "--", "x"],
        ["api", "x", "--silent=yes"],
    ],
)
def test_anything_else_is_left_to_click(args: list[str]) -> None:
    assert parse_api_args(args) is None


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("1h", 3600.0), ("30m", 1800.0), ("45s", 45.0), ("1h2m3s", 3723.0), ("0s", 0.0)],
)
def test_whole_unit_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "1", "h", "1m1h", "1.5h", "1hh", "+1h", "1d", "\u0661h"])
def test_other_durations_are_not_fast(text: str) -> None:
    assert parse_duration(text) is None


@given(st.text(st.sampled_from(list("0123456789hms.")), max_size=8))
def test_fast_durations_agree_with_the_api_command(text: str) -> None:
    from ghcache.cli.gh import durations  # the api command's Go-duration parser

    seconds = parse_duration(text)
    if seconds is not None:
        assert durations.parse_duration(text) == seconds


def gh_fill(endpoint: str, owner: str, repo: str) -> str | None:
    """gh's fillPlaceholders (pkg/cmd/api), with {branch} unsupported (it needs git)."""
    import re

    unsupported = False

    def fill(match: re.Match[str]) -> str:
        nonlocal unsupported
        text = match.group(0)
        if text in (":owner", "{owner}"):
            return owner
        if text in (":repo", "{repo}"):
            return repo
        unsupported = True  # {branch}, or a {name} gh leaves as is
        return text

    filled = re.sub(r"(:(owner|repo|branch)\b|\{[a-z]+\})", fill, endpoint)
    return None if unsupported else filled


@settings(max_examples=300)
@given(st.text(st.sampled_from(list("{}:ownerpbach/_xé1")), max_size=24))
def test_fill_placeholders_matches_gh(endpoint: str) -> None:
    got = fastargs.fill_placeholders(endpoint, {"GH_REPO": "octo/hello"})
    if got is not None:
        assert got == gh_fill(endpoint, "octo", "hello")


def test_fill_placeholders_cases() -> None:
    env = {"GH_REPO": "octo/hello"}
    fill = fastargs.fill_placeholders
    assert fill("repos/{owner}/{repo}/issues", env) == "repos/octo/hello/issues"
    assert fill("repos/:owner/:repo", env) == "repos/octo/hello"
    assert fill("repos/:owners/x", env) == "repos/:owners/x"
    assert fill("repos/{owner}/x", {}) is None  # needs git: slow path
    assert fill("repos/{owner}/{repo}/branches/{branch}", env) is None
    assert fill("repos/{owner}/x", {"GH_REPO": "host/octo/hello"}) is None
    assert fill("plain/path", {}) == "plain/path"
