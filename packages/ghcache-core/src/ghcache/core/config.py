"""Settings from the documented environment variables, with where each came from.

Standard library only: the CLI's hit path reads these.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

DEFAULT_CACHE_DIR = "~/.cache/github_cli"
DEFAULTS: dict[str, str] = {
    "CACHE_DIR": DEFAULT_CACHE_DIR,
    "CACHE_DEFAULT_TTL": "300",
    "CACHE_MAX_BYTES": str(512 * 1024 * 1024),
    "CACHE_MAX_STALE": str(24 * 3600),
    "CACHE_NEGATIVE_TTL": "60",
    "CACHE_ENABLE_P2P": "true",
    "CACHE_LISTEN_PORT": "9100",
    "CACHE_LISTEN_ADDR": "0.0.0.0",
    "CACHE_BOOTSTRAP_PEERS": "",
    "CACHE_ENABLE_MDNS": "false",
    "CACHE_PEER_TIMEOUT_MS": "300",
    "CACHE_METRICS_PORT": "",
}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


class ConfigError(ValueError):
    """An environment variable has an invalid value; the message names it."""


@dataclass(frozen=True)
class Settings:
    cache_dir: Path
    default_ttl: int
    max_bytes: int
    max_stale: int
    negative_ttl: int
    enable_p2p: bool
    listen_port: int
    listen_addr: str
    bootstrap_peers: tuple[str, ...]
    enable_mdns: bool
    peer_timeout: float
    metrics_port: int | None
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        sources: dict[str, str] = {}

        def raw(name: str) -> str:
            if name in env:
                sources[name] = "env"
                return env[name].strip()
            sources[name] = "default"
            return DEFAULTS[name]

        metrics = raw("CACHE_METRICS_PORT")
        return cls(
            cache_dir=Path(os.path.expanduser(raw("CACHE_DIR") or DEFAULT_CACHE_DIR)),
            default_ttl=_int("CACHE_DEFAULT_TTL", raw("CACHE_DEFAULT_TTL")),
            max_bytes=_int("CACHE_MAX_BYTES", raw("CACHE_MAX_BYTES"), minimum=1),
            max_stale=_int("CACHE_MAX_STALE", raw("CACHE_MAX_STALE")),
            negative_ttl=_int("CACHE_NEGATIVE_TTL", raw("CACHE_NEGATIVE_TTL")),
            enable_p2p=_bool("CACHE_ENABLE_P2P", raw("CACHE_ENABLE_P2P")),
            listen_port=_int("CACHE_LISTEN_PORT", raw("CACHE_LISTEN_PORT"), maximum=65535),
            listen_addr=raw("CACHE_LISTEN_ADDR") or "0.0.0.0",
            bootstrap_peers=tuple(
                p.strip() for p in raw("CACHE_BOOTSTRAP_PEERS").split(",") if p.strip()
            ),
            enable_mdns=_bool("CACHE_ENABLE_MDNS", raw("CACHE_ENABLE_MDNS")),
            peer_timeout=_int("CACHE_PEER_TIMEOUT_MS", raw("CACHE_PEER_TIMEOUT_MS")) / 1000,
            metrics_port=_int("CACHE_METRICS_PORT", metrics, maximum=65535) if metrics else None,
            sources=sources,
        )


def _int(name: str, value: str, *, minimum: int = 0, maximum: int | None = None) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from None
    if number < minimum or (maximum is not None and number > maximum):
        upper = f" and at most {maximum}" if maximum is not None else ""
        raise ConfigError(f"{name} must be at least {minimum}{upper}, got {value!r}")
    return number


def _bool(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, got {value!r}")
