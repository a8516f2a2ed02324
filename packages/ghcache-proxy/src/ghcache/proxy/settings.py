"""The proxy's own variables, read from the environment core's settings came from.

Standard library only: ``ghcache config`` shows these rows through the plugin
without importing the server.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

# Beside the daemon's 9100; nothing common listens on 9180 by default.
DEFAULT_PORT = 9180
# Loopback unless set: the proxy answers with what the cache holds.
DEFAULT_ADDR = "127.0.0.1"
# The forward proxy (HTTPS_PROXY of `ghcache run`): always on loopback, since it tunnels.
DEFAULT_FORWARD_PORT = 9181
# Every host is tunnelled unless told otherwise: gh for github.com also reaches
# uploads.github.com, codeload.github.com and objects.githubusercontent.com, and git
# run by gh reaches github.com, none of which the proxy caches.
DEFAULT_TUNNEL = "*"
DEFAULTS = {
    "CACHE_PROXY_ADDR": DEFAULT_ADDR,
    "CACHE_PROXY_PORT": str(DEFAULT_PORT),
    "CACHE_PROXY_FORWARD_PORT": str(DEFAULT_FORWARD_PORT),
    "CACHE_PROXY_TUNNEL": DEFAULT_TUNNEL,
}
# Tests only, never shown by `ghcache config`: every request for the API host goes over
# plain HTTP to this loopback address instead, in absolute form as to an HTTP proxy, so
# that the simulated GitHub answers as api.github.com would (bodies, URLs and all).
TEST_UPSTREAM = "CACHE_PROXY_TEST_UPSTREAM"


class ProxyConfigError(ValueError):
    """A proxy variable that cannot be used; the message names it."""


@dataclass(frozen=True)
class ProxySettings:
    addr: str
    port: int  # 0: any free port (the one chosen is in proxy.json and `proxy status`)
    sources: dict[str, str]
    forward_port: int = DEFAULT_FORWARD_PORT  # 0: any free port, as for `port`
    # Host names CONNECT may reach untouched; None: every host.
    tunnel: frozenset[str] | None = None
    test_upstream: tuple[str, int] | None = None  # (loopback address, port); tests only

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ProxySettings:
        sources = {name: "env" if env.get(name, "").strip() else "default" for name in DEFAULTS}
        addr = env.get("CACHE_PROXY_ADDR", "").strip() or DEFAULT_ADDR
        try:
            ipaddress.ip_address(addr)
        except ValueError:
            raise ProxyConfigError(
                f"CACHE_PROXY_ADDR must be an IP address such as 127.0.0.1 or ::1, got {addr!r}"
            ) from None
        port = _port(env, "CACHE_PROXY_PORT", DEFAULT_PORT)
        return cls(
            addr=addr,
            port=port,
            sources=sources,
            # A proxy on any free port (tests, benchmarks, several cache directories)
            # would otherwise collide on the forward proxy's fixed one.
            forward_port=_port(
                env, "CACHE_PROXY_FORWARD_PORT", DEFAULT_FORWARD_PORT if port else 0
            ),
            tunnel=_tunnel(env.get("CACHE_PROXY_TUNNEL", "").strip() or DEFAULT_TUNNEL),
            test_upstream=_test_upstream(env.get(TEST_UPSTREAM, "").strip()),
        )

    def may_tunnel(self, host: str) -> bool:
        return self.tunnel is None or host.lower() in self.tunnel

    @property
    def is_loopback(self) -> bool:
        return ipaddress.ip_address(self.addr).is_loopback


def _port(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name, "").strip() or str(default)
    if not (raw.isascii() and raw.isdigit() and int(raw) <= 65535):
        raise ProxyConfigError(f"{name} must be a port number from 0 to 65535, got {raw!r}")
    return int(raw)


def _tunnel(raw: str) -> frozenset[str] | None:
    if raw == "*":
        return None
    if raw.lower() == "none":
        return frozenset()
    names = frozenset(part.strip().lower() for part in raw.split(",") if part.strip())
    if not names or not all(name.isascii() and name.isprintable() for name in names):
        raise ProxyConfigError(
            f"CACHE_PROXY_TUNNEL must be '*', 'none' or host names separated by commas, got {raw!r}"
        )
    return names


def _test_upstream(raw: str) -> tuple[str, int] | None:
    """Only ever a loopback address: the setting exists to reach the simulated GitHub."""
    if not raw:
        return None
    parts = urlsplit(raw)
    try:
        loopback = parts.scheme == "http" and ipaddress.ip_address(parts.hostname or "").is_loopback
        port = parts.port
    except ValueError:
        loopback, port = False, None
    if not loopback or port is None:
        raise ProxyConfigError(
            f"{TEST_UPSTREAM} (tests only) must be http://127.0.0.1:PORT/ or another"
            f" loopback address, got {raw!r}"
        )
    return parts.hostname or "", port


def config_problem(env: Mapping[str, str]) -> str | None:
    try:
        ProxySettings.from_env(env)
    except ProxyConfigError as exc:
        return str(exc)
    return None


def config_rows(env: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """``(variable, value, "env" or "default")``: what was given, also when it is unusable."""
    return [
        (
            name,
            env[name].strip() if env.get(name, "").strip() else default,
            "env" if env.get(name, "").strip() else "default",
        )
        for name, default in DEFAULTS.items()
    ]
