"""Which API to talk to and with which token, resolved the way gh does.

Standard library only: the CLI's hit path needs the base URL to compute a key.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_HOSTNAME = "github.com"
LOCAL_HOSTNAME = "github.localhost"


@dataclass(frozen=True)
class ApiHost:
    hostname: str
    rest_url: str
    graphql_url: str

    @property
    def is_enterprise(self) -> bool:
        return self.hostname not in (DEFAULT_HOSTNAME, LOCAL_HOSTNAME)


def resolve_host(hostname: str | None = None, env: Mapping[str, str] | None = None) -> ApiHost:
    """``--hostname``, else ``GH_HOST``, else github.com; ``GITHUB_API_URL`` overrides the URL."""
    env = os.environ if env is None else env
    host = (hostname or env.get("GH_HOST") or DEFAULT_HOSTNAME).strip().lower()
    if host.startswith(("https://", "http://")):
        host = host.split("://", 1)[1]
    host = host.rstrip("/")
    if host == DEFAULT_HOSTNAME:
        rest, graphql = "https://api.github.com/", "https://api.github.com/graphql"
    elif host == LOCAL_HOSTNAME:
        rest, graphql = "http://api.github.localhost/", "http://api.github.localhost/graphql"
    else:
        rest, graphql = f"https://{host}/api/v3/", f"https://{host}/api/graphql"
    override = env.get("GITHUB_API_URL", "").strip()
    if override and hostname is None:
        rest = override if override.endswith("/") else override + "/"
        graphql = env.get("GITHUB_GRAPHQL_URL", "").strip() or _graphql_beside(rest)
    return ApiHost(hostname=host, rest_url=rest, graphql_url=graphql)


def _graphql_beside(rest: str) -> str:
    if rest.endswith("/api/v3/"):
        return rest[: -len("v3/")] + "graphql"
    return rest + "graphql"


def token_from_env(
    host: ApiHost, env: Mapping[str, str] | None = None
) -> tuple[str | None, str | None]:
    """(token, name of the variable it came from), without running anything."""
    env = os.environ if env is None else env
    names = (
        ("GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN")
        if host.is_enterprise
        else ("GH_TOKEN", "GITHUB_TOKEN")
    )
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value, name
    return None, None


def resolve_token(
    host: ApiHost, env: Mapping[str, str] | None = None
) -> tuple[str | None, str | None]:
    """The environment's token, else ``gh auth token`` when gh is installed."""
    token, source = token_from_env(host, env)
    if token or shutil.which("gh") is None:
        return token, source
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
