"""``ghcache-validate verify``: the checks of :mod:`ghcache.validate.checks`, in order."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from ghcache.validate.checks import INSTALLED_CHECKS, Context
from ghcache.validate.report import CheckResult, Report


def run_installed(
    env: Mapping[str, str] | None = None,
    *,
    on_result: Callable[[CheckResult], None] | None = None,
) -> Report:
    """Check this machine's installation as configured by ``env`` (default: os.environ)."""
    report = Report("ghcache verify")
    ctx = Context.from_env(env)
    for name, check in INSTALLED_CHECKS:
        report.run(name, lambda details, c=check: c(ctx, details), on_result)  # type: ignore[misc]
    return report
