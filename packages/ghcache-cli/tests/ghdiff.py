"""Differential runs of ``--jq`` / ``--template`` against real gh (imported by path).

gh runs once per program as its own process (it compiles the program after fetching
the stub's one answer); ghcache runs the whole corpus in this process through the
printer the ``api`` command uses (``build_printer`` then ``page``), which is what
the console script does with the same answer, minus the request.  A sample of
programs also runs through the console script, to keep that shortcut honest.
"""

from __future__ import annotations

import contextlib
import io
import sys
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import click

helpers: Any = sys.modules["ghcache_api_helpers"]

JSON_HEADERS = [("Content-Type", "application/json; charset=utf-8")]
ENDPOINT = "corpus"
COMPILE_PREFIX = "ghcache: invalid --jq program: "


@dataclass(frozen=True)
class Outcome:
    code: int
    out: bytes
    err: str

    def describe(self) -> str:
        return f"exit {self.code}, stdout {self.out[:400]!r}, stderr {self.err[:400]!r}"


def from_process(result: Any) -> Outcome:
    return Outcome(result.code, result.out, result.err.decode("utf-8", "replace"))


def gh_outcomes(env: Mapping[str, str], flag: str, programs: Iterable[str]) -> list[Outcome]:
    """Real gh for each program; two at a time (the machine's cores are shared)."""

    def one(program: str) -> Outcome:
        return from_process(helpers.run(helpers.gh_api(ENDPOINT, flag, program), env))

    with ThreadPoolExecutor(max_workers=2) as pool:
        return list(pool.map(one, programs))


def ghcache_outcome(env: Mapping[str, str], option: str, program: str, body: bytes) -> Outcome:
    """ghcache's printer on ``body`` in this process: stdout, stderr and exit status as the
    console script would produce them for the same answer."""
    from ghcache.cli.api.options import ApiOptions
    from ghcache.cli.api.printer import build_printer

    out = io.BytesIO()
    err = io.StringIO()
    code = 0
    answer = SimpleNamespace(status=200, headers=JSON_HEADERS, body=body)
    with contextlib.redirect_stderr(err):
        try:
            if option == "jq":
                opts = ApiOptions(endpoint=ENDPOINT, jq=program)
            else:
                opts = ApiOptions(endpoint=ENDPOINT, template=program)
            printer = build_printer(opts, env, "github.localhost")
            printer.out = out
            printer.page(answer, graphql=False)
            printer.finish()
        except click.ClickException as exc:
            exc.show()
            code = exc.exit_code
    return Outcome(code, out.getvalue(), err.getvalue())


def comparable_err(text: str) -> str:
    """stderr after the program's prefix (gh's failures here print bare, ours may carry
    ``ghcache:``; an invalid program also says so before gh's message)."""
    for prefix in (COMPILE_PREFIX, "ghcache: ", "gh: "):
        if text.startswith(prefix):
            return text[len(prefix) :]
    return text


def same(gh: Outcome, ours: Outcome) -> bool:
    return (gh.code, gh.out, comparable_err(gh.err)) == (
        ours.code,
        ours.out,
        comparable_err(ours.err),
    )


def compare_corpus(
    env: Mapping[str, str],
    flag: str,
    option: str,
    programs: list[str],
    body: bytes,
    known: Mapping[str, str],
    check: Callable[[str, Outcome, Outcome], str | None] | None = None,
) -> list[str]:
    """Every program through gh and ghcache; the problems found, one text each."""
    problems: list[str] = []
    for program, gh in zip(programs, gh_outcomes(env, flag, programs), strict=True):
        ours = ghcache_outcome(env, option, program, body)
        alike = same(gh, ours)
        if program in known and alike:
            problems.append(f"{program!r} now prints like gh: drop it from the known list")
        elif program not in known and not alike:
            problems.append(
                f"{program!r}\n  gh:      {gh.describe()}\n  ghcache: {ours.describe()}"
            )
        extra = check(program, gh, ours) if check else None
        if extra:
            problems.append(extra)
    return problems


def stub_env(stub: Any, tmp: Path) -> dict[str, str]:
    return dict(helpers.hub_env(stub.proxy_url, tmp))
