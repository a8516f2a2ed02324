"""Usage errors of ``ghcache api`` against real ``gh api`` (2.23): the same exit status and
the same message after the program prefix.

gh follows a flag error with a blank line and its usage text; ghcache says the one
line (its flag list is gh's plus its own, so the usage text could not match) and
prefixes ``ghcache:``.  Both facts are documented in docs/cli.md.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ghcache.fakehub import FakeHub

_spec = importlib.util.spec_from_file_location(
    "ghcache_api_helpers", Path(__file__).with_name("apihelpers.py")
)
assert _spec and _spec.loader
helpers = importlib.util.module_from_spec(_spec)
sys.modules.setdefault("ghcache_api_helpers", helpers)
_spec.loader.exec_module(helpers)

pytestmark = [
    pytest.mark.needs_gh,
    pytest.mark.skipif(helpers.GH is None, reason="the reference client gh is not installed"),
]

REPO = "repos/octo/hello"
USAGE_CASES: list[list[str]] = [
    [],
    [REPO, "extra"],
    [REPO, "--bogus"],
    [REPO, "-z"],
    [REPO, "-iz"],
    [REPO, "-X"],
    [REPO, "--jq"],
    [REPO, "--hostname"],
    [REPO, "-p"],
    [REPO, "--paginate=x"],
    [REPO, "--include=maybe"],
    [REPO, "--jq", "--paginate=x", "-X"],
    [REPO, "--jq", ".a", "--silent"],
    [REPO, "-t", "{{.a}}", "--jq", ".a"],
    [REPO, "--paginate", "-X", "POST"],
    [REPO, "-f", "nokey"],
    [REPO, "-F", "nokey"],
    [REPO, "-H", "bad"],
    [REPO, "--input", "/nonexistent/body.json"],
    [REPO, "--cache", "5"],
    [REPO, "--cache", "soon"],
    [REPO, "-t", "{{foo .a}}"],
    ["repos/octo/a\nb"],
    ["repos/octo/a\rb"],
]
# Accepted by both: pflag reads a boolean flag's value with strconv.ParseBool.
ACCEPTED_CASES: list[list[str]] = [
    [REPO, "--paginate=false", "--jq", ".name"],
    [REPO, "--silent=true"],
    [REPO, "--include=0", "--jq", ".full_name"],
    [REPO, "--silent=T", "--include=F"],
]


@pytest.fixture(scope="module")
def hub() -> Iterator[Any]:
    with FakeHub() as running:
        yield running


@pytest.fixture
def env(hub: Any, tmp_path: Path) -> dict[str, str]:
    return helpers.hub_env(hub.proxy_url, tmp_path)


def first_line(data: bytes) -> str:
    return data.decode("utf-8", "replace").split("\n", 1)[0]


@pytest.mark.parametrize("args", USAGE_CASES, ids=[repr(" ".join(a)) for a in USAGE_CASES])
def test_usage_error_exit_status_and_message_match_gh(
    hub: Any, env: dict[str, str], args: list[str]
) -> None:
    gh = helpers.run(helpers.gh_api(*args), env)
    before = hub.upstream_count()
    ours = helpers.run(helpers.ghcache_api(*args), env)
    assert hub.upstream_count() == before, "a usage error reached the API"
    assert gh.code == 1, gh.describe()
    assert ours.code == gh.code, ours.describe()
    assert ours.out == gh.out == b""
    assert ours.err.count(b"\n") == 1, ours.describe()  # one line, never gh's usage block
    assert first_line(ours.err).removeprefix("ghcache: ") == first_line(gh.err)


@pytest.mark.parametrize("args", ACCEPTED_CASES, ids=[" ".join(a) for a in ACCEPTED_CASES])
def test_boolean_flag_values_read_as_gh(env: dict[str, str], args: list[str]) -> None:
    gh = helpers.run(helpers.gh_api(*args), env)
    ours = helpers.run(helpers.ghcache_api(*args), env)
    assert gh.code == 0, gh.describe()
    assert (ours.code, ours.out, ours.err) == (gh.code, gh.out, gh.err), ours.describe()
