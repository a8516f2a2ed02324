"""Which API to talk to and with which token, resolved the way gh does.

The URL and token rules are :mod:`ghcache.core.kernel.hosts` (the hit path
uses them too); this adds the ``ApiHost`` value and ``gh auth token``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

from ghcache.core.kernel import hosts as kernel_hosts

DEFAULT_HOSTNAME = kernel_hosts.DEFAULT_HOSTNAME
LOCAL_HOSTNAME = kernel_hosts.LOCAL_HOSTNAME


@dataclass(frozen=True)
class ApiHost:
    hostname: str
    rest_url: str
    graphql_url: str

    @property
    def is_enterprise(self) -> bool:
        return kernel_hosts.is_enterprise(self.hostname)


def resolve_host(hostname: str | None = None, env: Mapping[str, str] | None = None) -> ApiHost:
    """``--hostname``, else ``GH_HOST``, else github.com; ``GITHUB_API_URL`` overrides the URL."""
    host, rest, graphql = kernel_hosts.api_urls(hostname, os.environ if env is None else env)
    return ApiHost(hostname=host, rest_url=rest, graphql_url=graphql)


def token_from_env(
    host: ApiHost, env: Mapping[str, str] | None = None
) -> tuple[str | None, str | None]:
    """(token, name of the variable it came from), without running anything."""
    return kernel_hosts.token_from_env(host.hostname, os.environ if env is None else env)


def resolve_token(
    host: ApiHost, env: Mapping[str, str] | None = None
) -> tuple[str | None, str | None]:
    """The environment's token, else ``gh auth token`` when gh is installed."""
    token, source = token_from_env(host, env)
    if token or shutil.which("gh") is None:
        return token, source
    if not kernel_hosts.gh_may_have_token(os.environ if env is None else env):
        return None, None  # no `gh auth login` here: the hit path draws the same conclusion
    try:
        done = subprocess.run(
            ["gh", "auth", "token", "--hostname", host.hostname],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None, None
    value = done.stdout.strip()
    if done.returncode == 0 and value and "\n" not in value:
        return value, "gh auth token"
    return None, None
