"""``ghcache api`` against real ``gh api`` on a recording stub server.

The stub answers with fixed bytes (fixed Date and Server headers), so stdout
must match gh's byte for byte, including ``--include``; it also records what
each client sent, so the requests built from -f/-F/--input/-p/placeholders
are compared too.  Cacheable calls run a second time and must print the same
bytes without reaching the stub.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

import pytest

_spec = importlib.util.spec_from_file_location(
    "ghcache_api_helpers", Path(__file__).with_name("apihelpers.py")
)
assert _spec and _spec.loader
helpers = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("ghcache_api_helpers", helpers)
_spec.loader.exec_module(helpers)

pytestmark = [
    pytest.mark.needs_gh,
    pytest.mark.slow,
    pytest.mark.skipif(helpers.GH is None, reason="the reference client gh is not installed"),
]


@pytest.fixture(scope="module")
def stub() -> Any:
    with helpers.StubHub() as hub:
        yield hub


@pytest.fixture
def env(stub: Any, tmp_path: Path) -> dict[str, str]:
    return helpers.hub_env(stub.proxy_url, tmp_path)


def shape(record: Any) -> tuple[str, str, Any]:
    body: Any = record.body
    if body and record.headers.get("content-type", "").startswith("application/json"):
        try:
            body = json.loads(body)
        except ValueError:
            pass
    return (record.method, record.target, body)


def compare(
    stub: Any,
    env: dict[str, str],
    args: list[str],
    *,
    stdin: bytes | None = None,
    cwd: Path | None = None,
    cached: bool = True,
) -> tuple[Any, Any]:
    """Run gh then ghcache (twice when ``cached``); assert same requests and output."""
    stub.log.clear()
    gh = helpers.run(helpers.gh_api(*args), env, stdin=stdin, cwd=cwd)
    gh_requests = [shape(r) for r in stub.log]
    stub.log.clear()
    ours = helpers.run(helpers.ghcache_api(*args), env, stdin=stdin, cwd=cwd)
    our_requests = [shape(r) for r in stub.log]
    assert our_requests == gh_requests, f"gh: {gh.describe()}\nours: {ours.describe()}"
    assert ours.out == gh.out, f"gh: {gh.describe()}\nours: {ours.describe()}"
    assert helpers.same_stderr(gh.err, ours.err), f"gh: {gh.describe()}\nours: {ours.describe()}"
    assert ours.code == gh.code
    if cached:
        stub.log.clear()
        again = helpers.run(helpers.ghcache_api(*args), env, stdin=stdin, cwd=cwd)
        assert stub.log == [], "the second call should be answered from the cache"
        assert (again.code, again.out, again.err) == (ours.code, ours.out, ours.err)
    return gh, ours


# --------------------------------------------------------------------------- output


@pytest.mark.parametrize(
    "args",
    [
        ["floats"],
        ["/floats"],
        ["floats", "-i"],
        ["floats", "--silent"],
        ["floats", "-i", "--silent"],
        ["text"],
        ["text", "-i"],
        ["nocontent", "-i"],
        ["floats", "--jq", ".a,.b,.c,.d,.e,.f,.s,.u,.arr,.obj,.big,.neg,.tab"],
        ["floats", "--jq", "."],
        ["floats", "-q", "[.a,.b,.c,.d,.s] | length, ."],
        ["floats", "-q", ".obj | keys"],
        ["floats", "-q", ".missing"],
        ["floats", "-q", ".big, .d, .a, .c, .neg | tostring"],
        ["floats", "-q", "[.c, .d, .a, .big] | @csv, @json"],
        ["floats", "-q", ".obj[], (.obj | keys), (.obj | to_entries | map(.key))"],
        ["floats", "-q", '"\\(.c)/\\(.a)/\\(.big)", (.c / 3), (.c * 1e25), ([.a] | add)'],
        [
            "floats",
            "-t",
            "{{.a}}|{{.b}}|{{.c}}|{{.d}}|{{.e}}|{{.missing}}|{{.f}}|{{.s}}|{{.obj}}|{{.big}}\n",
        ],
        [
            "floats",
            "-t",
            '{{range $k, $v := .obj}}{{$k}}={{$v}} {{end}}{{len .obj}} {{index .obj "z"}} '
            '{{printf "%v-%s-%d-%.1f" .s .s .c .a}} {{if .f}}yes{{else}}no{{end}} '
            '{{timefmt "2006-01-02 15:04" .when}} {{truncate 5 "abcdefghij"}}\n',
        ],
        ["pages", "-t", '{{range .}}{{tablerow .n "x"}}{{end}}'],
        ["pages", "--paginate"],
        ["pages", "--paginate", "-i"],
        ["pages", "--paginate", "--jq", ".[].n"],
        ["pages", "--paginate", "-t", "{{range .}}{{.n}},{{end}}"],
        ["graphql", "--paginate", "-f", "query=query($endCursor:String){viewer{items}}"],
        [
            "graphql",
            "--paginate",
            "-f",
            "query=query($endCursor:String){viewer{items}}",
            "-q",
            ".data",
        ],
        ["-p", "foo,bar", "-H", "X-Extra: 1", "previews"],
    ],
    ids=lambda args: " ".join(args)[:60],
)
def test_output_matches_gh(stub: Any, env: dict[str, str], args: list[str]) -> None:
    compare(stub, env, args)


@pytest.mark.parametrize(
    "args",
    [
        ["notfound"],
        ["notfound", "-i"],
        ["notfound", "--jq", ".message"],
        ["unprocessable"],
        ["errors-only"],
        ["string-error"],
        ["scopes"],
        ["plain500"],
        ["graphql", "-f", "query={broken}"],
        ["text", "--jq", "."],
    ],
    ids=lambda args: " ".join(args),
)
def test_errors_match_gh(stub: Any, env: dict[str, str], args: list[str]) -> None:
    # 4xx answers may be cached briefly; 5xx and GraphQL errors are not.
    _gh, ours = compare(stub, env, args, cached=False)
    assert ours.code == 1


@pytest.mark.parametrize("force", [{"GH_FORCE_TTY": "1"}, {"CLICOLOR_FORCE": "1"}])
@pytest.mark.parametrize("args", [["floats"], ["floats", "-i"], ["nocontent"]])
def test_colour_matches_gh(
    stub: Any, env: dict[str, str], force: dict[str, str], args: list[str]
) -> None:
    env = dict(env)
    env.pop("NO_COLOR")
    env.update(force)
    _gh, ours = compare(stub, env, args)
    if args == ["floats"]:
        assert b"\x1b[1;34m" in ours.out


def test_no_color_wins_over_gh_force_tty(stub: Any, env: dict[str, str]) -> None:
    env = dict(env, GH_FORCE_TTY="1")
    _gh, ours = compare(stub, env, ["floats"])
    assert b"\x1b" not in ours.out


# --------------------------------------------------------------------------- requests


def test_typed_and_raw_fields_make_the_same_post_body(
    stub: Any, env: dict[str, str], tmp_path: Path
) -> None:
    value = tmp_path / "value.txt"
    value.write_text("hello\n")
    args = ["x", "-f", "a=1", "-F", "b=2", "-F", "c=true", "-F", "d=null", "-F", f"e=@{value}"]
    args += ["-F", "n[k]=v", "-F", "arr[]=1", "-F", "arr[]=x", "-F", "empty[]", "-f", "s=<&>"]
    args += ["-F", "list[][a]=1", "-F", "list[][b]=2", "-F", "list[][a]=3", "-F", "big=+7"]
    compare(stub, env, args, cached=False)
    method, target, body = shape(stub.log[0])
    assert (method, target) == ("POST", "/x")
    assert body["e"] == "hello\n" and body["list"] == [{"a": 1, "b": 2}, {"a": 3}]


def test_fields_on_get_become_the_same_query(stub: Any, env: dict[str, str]) -> None:
    args = ["-X", "GET", "x", "-f", "a=1", "-F", "b=2", "-F", "c=true", "-F", "d=null"]
    args += ["-f", "sp=a b&c/é~*", "-f", "zz=<>"]
    compare(stub, env, args)
    assert stub.log == []  # second call came from the cache
    compare(stub, env, ["x?q=1", "-X", "GET", "-f", "a=2"])


def test_field_from_stdin(stub: Any, env: dict[str, str]) -> None:
    compare(stub, env, ["x", "-F", "e=@-"], stdin=b"from stdin\n", cached=False)


def test_graphql_fields_become_query_and_variables(stub: Any, env: dict[str, str]) -> None:
    args = ["graphql", "-f", "query=query Q($n:Int){x}", "-F", "n=3", "-F", "owner=o"]
    args += ["-f", "operationName=Q"]
    compare(stub, env, args)


def test_input_file_and_stdin(stub: Any, env: dict[str, str], tmp_path: Path) -> None:
    payload = tmp_path / "payload.json"
    payload.write_bytes(b'{"raw": [1, 2]}')
    compare(stub, env, ["x", "--input", str(payload), "-f", "q=1"], cached=False)
    # With --input the body is the file and the fields go to the query string.
    assert [shape(r) for r in stub.log] == [("POST", "/x?q=1", {"raw": [1, 2]})]
    compare(stub, env, ["x", "--input", "-", "-X", "PUT"], stdin=b'{"put":true}', cached=False)


@pytest.mark.parametrize("method", ["DELETE", "PATCH", "put"])
def test_other_methods(stub: Any, env: dict[str, str], method: str) -> None:
    # Deliberate difference: gh sends the method as typed ("put"), which the stub (like most
    # servers) refuses with 501; ghcache upper-cases it (httpx does), so it behaves as gh -X PUT.
    if method.islower():
        stub.log.clear()
        gh = helpers.run(helpers.gh_api("-X", method, "x"), env)
        assert (gh.code, gh.err, stub.log) == (1, b"gh: HTTP 501\n", []), gh.describe()
        ours = helpers.run(helpers.ghcache_api("-X", method, "x"), env)
        assert [shape(r) for r in stub.log] == [(method.upper(), "/x", b"")]
        gh_upper = helpers.run(helpers.gh_api("-X", method.upper(), "x"), env)
        assert (ours.code, ours.out, ours.err) == (gh_upper.code, gh_upper.out, gh_upper.err)
        return
    compare(stub, env, ["-X", method, "x"], cached=False)


@pytest.mark.parametrize(
    "args",
    [
        ["controls"],
        ["controls", "-q", ".a,.esc,.e"],
        ["controls-text"],
        ["controls", "-t", "{{.a}}"],
    ],
)
def test_control_characters_are_defused_like_gh(
    stub: Any, env: dict[str, str], args: list[str]
) -> None:
    """gh rewrites JSON escapes of C0/C1 control characters (\\u001b -> ^[) before printing."""
    stub.log.clear()
    gh = helpers.run(helpers.gh_api(*args), env)
    slow_env = dict(env, GHCACHE_NO_FASTPATH="1")
    first = helpers.run(helpers.ghcache_api(*args), slow_env)
    cached_slow = helpers.run(helpers.ghcache_api(*args), slow_env)
    assert (first.code, first.out, first.err) == (gh.code, gh.out, gh.err)
    assert (cached_slow.code, cached_slow.out) == (gh.code, gh.out)
    if args == ["controls"]:
        assert b"\x1b" not in first.out and b"^[" in first.out
    cached_fast = helpers.run(helpers.ghcache_api(*args), env)
    # The fast path must hand JSON bodies with \\u00XX escapes to output.write_cached.
    assert cached_fast.out == gh.out


def test_placeholders_from_gh_repo(stub: Any, env: dict[str, str]) -> None:
    env = dict(env, GH_REPO="own/rep")
    args = ["repos/{owner}/{repo}/x", "-F", "o={owner}", "-F", "r=:repo", "-f", "raw={owner}"]
    compare(stub, env, [*args, "-X", "GET"])
    assert stub.log == []


def test_placeholders_from_the_git_remote(stub: Any, env: dict[str, str], tmp_path: Path) -> None:
    import subprocess

    repo = tmp_path / "work"
    repo.mkdir()
    git_env = dict(env, GIT_CONFIG_GLOBAL=str(tmp_path / "gitconfig"))
    for command in (
        ["git", "init", "-q", "-b", "feature"],
        ["git", "remote", "add", "zz", "https://github.localhost/zz/zz.git"],
        ["git", "remote", "add", "origin", "git@github.localhost:orig/inal.git"],
        ["git", "remote", "add", "upstream", "https://github.com/elsewhere/repo"],
    ):
        subprocess.run(command, cwd=repo, env=git_env, check=True)
    compare(stub, env, ["repos/{owner}/{repo}/{branch}"], cwd=repo)
    compare(stub, env, ["repos/:owner/:repo/x", "-X", "GET", "-F", "b={branch}"], cwd=repo)


@pytest.mark.parametrize(
    "pager,args",
    [
        ("sed s/^/PAGED:/", ["floats"]),
        ("sed s/^/PAGED:/", ["pages", "--paginate", "-q", ".[].n"]),
        ("cat", ["floats", "-i"]),
        ("no-such-pager-here", ["floats", "-q", ".a"]),
    ],
)
def test_pager_on_a_terminal_like_gh(
    stub: Any, env: dict[str, str], pager: str, args: list[str]
) -> None:
    env = dict(env, GH_FORCE_TTY="1", GH_PAGER=pager)
    env.pop("NO_COLOR")
    slow = dict(env, GHCACHE_NO_FASTPATH="1")
    gh, ours = compare(stub, slow, args)
    if pager.startswith("sed"):
        assert ours.out.startswith(b"PAGED:")
    hit = helpers.run(helpers.ghcache_api(*args), env)
    # A hit on a terminal with a pager configured must go through the pager too.
    assert hit.out == gh.out
