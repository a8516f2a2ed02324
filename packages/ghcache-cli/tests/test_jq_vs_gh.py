"""``ghcache api --jq`` against ``gh api --jq`` (gh 2.23 runs gojq; ghcache libjq).

Every program of ``jq_corpus`` runs on the same stub answer through real gh and
through ghcache's printer; stdout, stderr after the program's prefix, and the exit
status must be the same, except for the listed known differences, which must still
differ (so the list stays true).  ``docs/cli.md`` lists the same differences.
"""

from __future__ import annotations

import importlib.util
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest


def _load(name: str, alias: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(alias, Path(__file__).with_name(name))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault(alias, module)
    spec.loader.exec_module(module)
    return module


helpers = _load("apihelpers.py", "ghcache_api_helpers")
ghdiff = _load("ghdiff.py", "ghcache_ghdiff")
corpus = _load("jq_corpus.py", "ghcache_jq_corpus")

pytestmark = [
    pytest.mark.needs_gh,
    pytest.mark.slow,
    pytest.mark.skipif(helpers.GH is None, reason="the reference client gh is not installed"),
]


@pytest.fixture(scope="module")
def stub() -> Iterator[Any]:
    route = helpers.Canned(body=corpus.BODY)
    with helpers.StubHub({f"/{ghdiff.ENDPOINT}": route}) as hub:
        yield hub


@pytest.fixture
def env(stub: Any, tmp_path: Path) -> dict[str, str]:
    return ghdiff.stub_env(stub, tmp_path)


def _invalid_says_so(program: str, gh: Any, ours: Any) -> str | None:
    # ghcache checks the program before the request and says so; gh prints gojq's
    # message alone after fetching.  Only programs libjq cannot compile carry that prefix.
    flagged = ours.err.startswith(ghdiff.COMPILE_PREFIX)
    expected = program in corpus.INVALID or program in corpus.FOLDED
    if program not in corpus.KNOWN and flagged != expected:
        return f"{program!r}: 'invalid --jq program' is {flagged}: {ours.describe()}"
    return None


def test_corpus_is_large_and_distinct() -> None:
    assert len(corpus.PROGRAMS) >= 100
    assert len(set(corpus.PROGRAMS)) == len(corpus.PROGRAMS)
    assert set(corpus.KNOWN) <= set(corpus.PROGRAMS)


def test_jq_corpus_prints_like_gh(env: dict[str, str]) -> None:
    started = time.monotonic()
    problems = ghdiff.compare_corpus(
        env, "--jq", "jq", corpus.PROGRAMS, corpus.BODY, corpus.KNOWN, _invalid_says_so
    )
    assert not problems, "\n".join(problems)
    assert time.monotonic() - started < 120, "the corpus should stay well under two minutes"


@pytest.mark.parametrize(
    "program",
    [
        ".items[0].title, .big, .exact, 9007199254740993",
        ".items | map(.number) | .[1:]",
        '.items[] | if .number == 2 then error("stop at 2") else .number end',
        '"bye\\n" | halt_error(3)',
        "1, error(null), 2",
        '.total + "a"',
        ".items | | .x",
        "[1e1000]",
    ],
)
def test_the_console_script_prints_what_the_printer_does(env: dict[str, str], program: str) -> None:
    """The corpus runs in this process; the real command (request, cache, printer,
    error printing) must give the same bytes and status for a sample, and gh's too; so
    must the second call, a cache hit (the fast path prints a hit's results)."""
    command = helpers.ghcache_api(ghdiff.ENDPOINT, "--jq", program)
    process = ghdiff.from_process(helpers.run(command, env))
    in_process = ghdiff.ghcache_outcome(env, "jq", program, corpus.BODY)
    assert process == in_process
    assert ghdiff.from_process(helpers.run(command, env)) == process
    gh = ghdiff.from_process(helpers.run(helpers.gh_api("corpus", "--jq", program), env))
    assert ghdiff.same(gh, process), f"gh: {gh.describe()}\nghcache: {process.describe()}"
