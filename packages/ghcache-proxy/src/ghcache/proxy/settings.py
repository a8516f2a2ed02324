"""The proxy's own variables, read from the environment core's settings came from.

Standard library only: ``ghcache config`` shows these rows through the plugin
without importing the server.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass

# Beside the daemon's 9100; nothing common listens on 9180 by default.
DEFAULT_PORT = 9180
# Loopback unless set: the proxy answers with what the cache holds.
DEFAULT_ADDR = "127.0.0.1"
DEFAULTS = {"CACHE_PROXY_ADDR": DEFAULT_ADDR, "CACHE_PROXY_PORT": str(DEFAULT_PORT)}


class ProxyConfigError(ValueError):
    """A proxy variable that cannot be used; the message names it."""


@dataclass(frozen=True)
class ProxySettings:
    addr: str
    port: int  # 0: any free port (the one chosen is in proxy.json and `proxy status`)
    sources: dict[str, str]

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
        raw_port = env.get("CACHE_PROXY_PORT", "").strip() or str(DEFAULT_PORT)
        if not (raw_port.isascii() and raw_port.isdigit() and int(raw_port) <= 65535):
            raise ProxyConfigError(
                f"CACHE_PROXY_PORT must be a port number from 0 to 65535, got {raw_port!r}"
            )
        return cls(addr=addr, port=int(raw_port), sources=sources)

    @property
    def is_loopback(self) -> bool:
        return ipaddress.ip_address(self.addr).is_loopback


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
