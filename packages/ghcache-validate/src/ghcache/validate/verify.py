"""``ghcache-validate verify``: the checks of :mod:`ghcache.validate.checks` and
:mod:`ghcache.validate.daemon_checks` and :mod:`ghcache.validate.ipfs_checks`, in order."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from ghcache.validate.checks import (
    Context,
    check_cache_dir,
    check_configuration,
    check_credentials,
    check_crypto,
    check_dependencies,
    check_disk,
    check_upstream,
)
from ghcache.validate.daemon_checks import (
    check_daemon,
    check_daemon_secret,
    check_peer_round_trip,
    check_peers,
)
from ghcache.validate.ipfs_checks import check_ipfs
from ghcache.validate.report import CheckResult, Report

INSTALLED_CHECKS: tuple[tuple[str, Callable[[Context, dict[str, Any]], str]], ...] = (
    ("dependencies", check_dependencies),
    ("configuration", check_configuration),
    ("cache directory", check_cache_dir),
    ("token or secret", check_credentials),
    ("crypto round trip", check_crypto),
    ("disk put/get/stale", check_disk),
    ("upstream", check_upstream),
    ("daemon", check_daemon),
    ("daemon secret", check_daemon_secret),
    ("peers", check_peers),
    ("peer round trip", check_peer_round_trip),
    ("ipfs", check_ipfs),
)


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
