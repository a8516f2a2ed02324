"""The files a proxy keeps in the cache directory, its URL, and the API host its forward
proxy intercepts (standard library and core's kernel only: ``ghcache run`` reads them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ghcache.core.kernel.hosts import LOCAL_HOSTNAME, api_urls

STATE_NAME = "proxy.json"  # {"pid", "url", "upstream", "started_at"} while it runs
LOCK_NAME = "proxy.lock"  # held for the life of the process: one proxy per cache directory
LOG_NAME = "proxy.log"  # output of a proxy started with `ghcache proxy start`
STATUS_PATH = "_ghcache/status"


def intercepted_host(hostname: str) -> tuple[str, int] | None:
    """(host, port) that gh reaches the API of ``hostname`` at: api.github.com for
    github.com, the Enterprise host itself for GH_HOST=HOST; None for github.localhost,
    which gh speaks plain HTTP to.  Always gh's host, also when GITHUB_API_URL sends the
    proxy's own requests elsewhere (gh does not read it)."""
    if hostname == LOCAL_HOSTNAME:
        return None
    _, rest, _ = api_urls(hostname, {})
    parts = urlsplit(rest)
    return (parts.hostname or "").lower(), parts.port or 443


def proxy_url(host: str, port: int) -> str:
    """The URL clients use; a proxy on every address is reached on loopback from here."""
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1" if host == "0.0.0.0" else "::1"
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def read_state(cache_dir: Path) -> dict[str, Any] | None:
    try:
        state = json.loads((cache_dir / STATE_NAME).read_bytes()[: 1 << 16])
    except (OSError, ValueError):
        return None
    if not isinstance(state, dict) or not isinstance(state.get("pid"), int):
        return None
    if not isinstance(state.get("url"), str):
        return None
    return state
