"""Which API a call goes to and which token it carries, resolved as gh does."""

from __future__ import annotations

import os

from ghcache.core.kernel.settings import ConfigError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

DEFAULT_HOSTNAME = "github.com"
LOCAL_HOSTNAME = "github.localhost"


def api_urls(hostname: str | None, env: Mapping[str, str]) -> tuple[str, str, str]:
    """(host name, REST base URL, GraphQL URL): ``--hostname``, else ``GH_HOST``, else
    github.com; ``GITHUB_API_URL`` (and ``GITHUB_GRAPHQL_URL``) override the URLs
    when no ``--hostname`` is given."""
    given = hostname or env.get("GH_HOST") or DEFAULT_HOSTNAME
    host = given.strip().lower()
    if host.startswith(("https://", "http://")):
        host = host.split("://", 1)[1]
    host = host.rstrip("/")
    if not is_printable_ascii(host) or not host or " " in host or "/" in host:
        source = "--hostname" if hostname else "GH_HOST"
        raise ConfigError(f"{source}: invalid hostname {shown(given)}")
    if host == DEFAULT_HOSTNAME:
        rest, graphql = "https://api.github.com/", "https://api.github.com/graphql"
    elif host == LOCAL_HOSTNAME:
        rest, graphql = "http://api.github.localhost/", "http://api.github.localhost/graphql"
    else:
        rest, graphql = f"https://{host}/api/v3/", f"https://{host}/api/graphql"
    override = env.get("GITHUB_API_URL", "").strip()
    if override and hostname is None:
        rest = override if override.endswith("/") else override + "/"
        graphql = env.get("GITHUB_GRAPHQL_URL", "").strip() or graphql_beside(rest)
        for name, url in (("GITHUB_API_URL", rest), ("GITHUB_GRAPHQL_URL", graphql)):
            if not (is_printable_ascii(url) and url.startswith(("https://", "http://"))):
                raise ConfigError(f"{name}: not an http(s) URL: {shown(env.get(name, url))}")
    return host, rest, graphql


def is_printable_ascii(text: str) -> bool:
    """Whether ``text`` is visible ASCII (a name, URL or token can be nothing else; a
    non-UTF-8 byte from the environment or argv arrives as a lone surrogate)."""
    return text.isascii() and text.isprintable()


def shown(value: str) -> str:
    """``value`` quoted for a one-line message, control characters and undecodable
    bytes escaped (``\\n``, ``\\xff``)."""
    return '"' + repr(value.encode("utf-8", "surrogateescape"))[2:-1] + '"'


def graphql_beside(rest: str) -> str:
    if rest.endswith("/api/v3/"):
        return rest[: -len("v3/")] + "graphql"
    return rest + "graphql"


def is_enterprise(host: str) -> bool:
    return host not in (DEFAULT_HOSTNAME, LOCAL_HOSTNAME)


def token_from_env(host: str, env: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(token, name of the variable it came from), without running anything."""
    names = (
        ("GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN")
        if is_enterprise(host)
        else ("GH_TOKEN", "GITHUB_TOKEN")
    )
    for name in names:
        value = env.get(name, "").strip()
        if value:
            if not is_printable_ascii(value):
                # never echo a token, not even a damaged one
                raise ConfigError(f"{name}: a token is printable ASCII; this value is not")
            return value, name
    return None, None


def gh_config_dir(env: Mapping[str, str]) -> str:
    """Where gh keeps ``hosts.yml``: ``GH_CONFIG_DIR``, else ``$XDG_CONFIG_HOME/gh``, else
    ``~/.config/gh``."""
    if env.get("GH_CONFIG_DIR"):
        return env["GH_CONFIG_DIR"]
    if env.get("XDG_CONFIG_HOME"):
        return os.path.join(env["XDG_CONFIG_HOME"], "gh")
    return os.path.join(os.path.expanduser("~"), ".config", "gh")


def gh_may_have_token(env: Mapping[str, str]) -> bool:
    """Whether ``gh auth token`` could answer: never without gh's ``hosts.yml``, where
    ``gh auth login`` records every host it logged in to (the token itself may be in
    the system keyring)."""
    return os.path.exists(os.path.join(gh_config_dir(env), "hosts.yml"))
