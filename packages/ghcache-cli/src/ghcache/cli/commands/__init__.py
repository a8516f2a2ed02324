"""The built-in commands besides ``api``, and what they share."""

from __future__ import annotations

import os
from collections.abc import Mapping

from ghcache.core.config import Settings
from ghcache.core.hosts import ApiHost
from ghcache.core.store import DiskStore


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """The effective settings; a bad variable raises ``ConfigError`` (shown as one line)."""
    return Settings.from_env(env)


def open_store(settings: Settings) -> DiskStore:
    return DiskStore(settings.cache_dir, max_bytes=settings.max_bytes)


class EndpointError(ValueError):
    """An endpoint that cannot be turned into a URL (e.g. placeholders without a repo)."""


def endpoint_url(
    endpoint: str,
    host: ApiHost,
    env: Mapping[str, str] | None = None,
    *,
    hostname: str | None = None,
) -> str:
    """The URL ``ghcache api ENDPOINT`` would GET: REST base + path, placeholders filled
    as the api command fills them (GH_REPO, else the git remotes; the current branch)."""
    from ghcache.cli.gh.endpoints import BadEndpoint, check_endpoint
    from ghcache.cli.gh.placeholders import PlaceholderError, Resolver

    env = os.environ if env is None else env
    endpoint = endpoint.strip()
    if not endpoint:
        raise EndpointError("empty endpoint")
    try:
        check_endpoint(endpoint, hostname)
    except BadEndpoint as exc:
        raise EndpointError(str(exc)) from None
    if endpoint == "graphql":
        raise EndpointError("graphql needs a query; use `ghcache api graphql -f query=...`")
    try:
        filled = Resolver(env, hostname=hostname).fill(endpoint)
    except PlaceholderError as exc:
        raise EndpointError(f"unable to expand placeholder in path: {exc}") from None
    if "://" in filled:
        return filled
    return host.rest_url + filled.removeprefix("/")
