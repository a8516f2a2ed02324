"""``ghcache run -- CMD...`` and ``ghcache proxy env``: the variables that send a command's
HTTPS through the forward proxy, and the proxy started when none runs.

Standard library and core's kernel only (the commands import it, not the server).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ghcache.core.kernel.hosts import api_urls
from ghcache.core.kernel.settings import ConfigError
from ghcache.proxy.control import ControlError, running_status, start
from ghcache.proxy.state import intercepted_host

# HTTPS_PROXY is what Go, curl, Python (httpx, requests, urllib) and git read; some read
# the lower-case name only.  The bundle goes to every variable a common client reads its
# trust store from: Go and OpenSSL-based tools (SSL_CERT_FILE), requests, curl, Node (which
# adds NODE_EXTRA_CA_CERTS to its own store, so it gets the CA alone).
PROXY_VARIABLES = ("HTTPS_PROXY", "https_proxy")
BUNDLE_VARIABLES = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
CA_VARIABLES = ("NODE_EXTRA_CA_CERTS",)


class LaunchError(RuntimeError):
    def __init__(self, message: str, status: int = 1) -> None:
        super().__init__(message)
        self.status = status


def ensure_proxy(cache_dir: Path) -> tuple[dict[str, Any], bool]:
    """The running proxy's status, started in the background when none runs; and whether
    this call started it."""
    status = running_status(cache_dir)
    if status is not None:
        return status, False
    try:
        return start(cache_dir), True
    except ControlError as exc:
        raise LaunchError(f"cannot start the proxy: {exc}", exc.status) from None


def forward_variables(status: Mapping[str, Any]) -> dict[str, str]:
    """What a command needs to go through the forward proxy of ``status``."""
    url = status.get("forward_url")
    if not isinstance(url, str):
        raise LaunchError("the running proxy has no forward proxy; restart it")
    out = dict.fromkeys(PROXY_VARIABLES, url)
    bundle, ca = status.get("ca_bundle"), status.get("ca_cert")
    if isinstance(bundle, str) and isinstance(ca, str):
        out.update(dict.fromkeys(BUNDLE_VARIABLES, bundle))
        out.update(dict.fromkeys(CA_VARIABLES, ca))
    return out


def host_mismatch(status: Mapping[str, Any], env: Mapping[str, str]) -> str | None:
    """Why the caller's API host (its GH_HOST) is not the one the proxy intercepts, if so."""
    try:
        hostname = api_urls(None, env)[0]
    except ConfigError as exc:
        return str(exc)
    wanted = intercepted_host(hostname)
    have = status.get("intercepted") or []
    if wanted is None or f"{wanted[0]}:{wanted[1]}" in have:
        return None
    shown = ", ".join(have) or "no host"
    return (
        f"the running proxy intercepts {shown}, not {wanted[0]}: that host's requests are"
        " tunnelled uncached (restart the proxy with this GH_HOST to cache them)"
    )


def shell_lines(variables: Mapping[str, str]) -> str:
    """``export NAME=value`` lines for ``eval`` in sh, bash and zsh."""
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in variables.items())
