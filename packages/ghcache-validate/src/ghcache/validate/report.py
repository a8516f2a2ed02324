"""Check results and the ways to show them: a rich table, plain lines, JSON, Actions annotations.

A check is a function that returns a one-line reason when it passes and raises
:class:`CheckFailed` or :class:`CheckSkipped` (with the reason) otherwise; any
other exception is a failure named by its type, never a traceback.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any

PASS = "pass"
FAIL = "fail"
SKIP = "skip"


class CheckFailed(Exception):
    """The check ran and what it checks is broken; the message is the one-line reason."""


class CheckSkipped(Exception):
    """The check cannot run here (no token, no daemon configured, ...); the message says why."""


@dataclass
class CheckResult:
    name: str
    status: str
    reason: str
    seconds: float = 0.0
    details: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "reason": self.reason,
            "seconds": round(self.seconds, 3),
            "details": self.details,
        }


@dataclass
class Report:
    title: str
    results: list[CheckResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.status != FAIL for r in self.results)

    @property
    def failed(self) -> list[CheckResult]:
        return [r for r in self.results if r.status == FAIL]

    def counts(self) -> dict[str, int]:
        return {s: sum(1 for r in self.results if r.status == s) for s in (PASS, FAIL, SKIP)}

    def run(
        self,
        name: str,
        check: Callable[[dict[str, Any]], str],
        on_result: Callable[[CheckResult], None] | None = None,
    ) -> CheckResult:
        """Run one check; ``check`` gets a dict to put details in and returns the reason."""
        details: dict[str, Any] = {}
        started = time.monotonic()
        try:
            reason = check(details)
            status = PASS
        except CheckSkipped as exc:
            status, reason = SKIP, one_line(exc)
        except CheckFailed as exc:
            status, reason = FAIL, one_line(exc)
        except Exception as exc:  # an unexpected error is a failure of this check, not a crash
            status, reason = FAIL, f"{type(exc).__name__}: {one_line(exc)}"
        result = CheckResult(name, status, reason, time.monotonic() - started, details)
        self.results.append(result)
        if on_result is not None:
            on_result(result)
        return result

    def as_json(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "ok": self.ok,
            "counts": self.counts(),
            "checks": [r.as_json() for r in self.results],
        }


def one_line(exc: BaseException | str) -> str:
    text = " ".join(str(exc).split())
    if not text and isinstance(exc, BaseException):
        return type(exc).__name__
    return text


def summary_line(report: Report) -> str:
    counts = report.counts()
    verdict = "all checks passed" if report.ok else f"{counts[FAIL]} failed"
    return (
        f"{report.title}: {verdict} "
        f"({counts[PASS]} passed, {counts[FAIL]} failed, {counts[SKIP]} skipped)"
    )


def plain_line(result: CheckResult) -> str:
    return f"{result.status.upper():<4}  {result.name}: {result.reason}"


def write_plain(report: Report, out: IO[str]) -> None:
    for result in report.results:
        out.write(plain_line(result) + "\n")
    out.write(summary_line(report) + "\n")


_STYLE = {PASS: "bold green", FAIL: "bold red", SKIP: "yellow"}


def rich_table(report: Report) -> Any:
    from rich.table import Table

    table = Table(title=report.title, title_justify="left", expand=False)
    table.add_column("", no_wrap=True)
    table.add_column("check", no_wrap=True)
    table.add_column("result")
    table.add_column("s", justify="right", no_wrap=True)
    for result in report.results:
        table.add_row(
            f"[{_STYLE[result.status]}]{result.status.upper()}[/]",
            result.name,
            result.reason,
            f"{result.seconds:.1f}",
        )
    return table


def github_annotations(report: Report) -> list[str]:
    """Workflow commands: ``::error`` per failure, ``::notice`` per skip, one summary."""
    lines = []
    for result in report.results:
        message = _escape(f"{result.name}: {result.reason}")
        if result.status == FAIL:
            lines.append(f"::error title=ghcache verify::{message}")
        elif result.status == SKIP:
            lines.append(f"::notice title=ghcache verify::{message}")
    level = "notice" if report.ok else "error"
    lines.append(f"::{level} title=ghcache verify::{_escape(summary_line(report))}")
    return lines


def _escape(text: str) -> str:
    # GitHub's workflow-command escaping for the message part.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
