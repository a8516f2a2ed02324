"""Core's settings from the documented environment variables, with where each came from.

The table and its validation are :mod:`ghcache.core.kernel.settings` (the hit
path checks the same values).  Plugins own their variables: ghcache-p2p reads
``CACHE_ENABLE_P2P``, ``CACHE_LISTEN_PORT``... from ``Settings.env``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ghcache.core.kernel.settings import (
    DEFAULT_CACHE_DIR,
    DEFAULT_UPSTREAM_TIMEOUT,
    DEFAULTS,
    ConfigError,
    read_settings,
)

__all__ = ["DEFAULTS", "DEFAULT_CACHE_DIR", "ConfigError", "Settings"]


@dataclass(frozen=True)
class Settings:
    cache_dir: Path
    default_ttl: int
    max_bytes: int
    max_stale: int
    negative_ttl: int
    sharing: str = "verified"  # CACHE_SHARING: verified, team or off (kernel.serving)
    upstream_timeout: float = DEFAULT_UPSTREAM_TIMEOUT
    sources: dict[str, str] = field(default_factory=dict, compare=False)
    # The environment these came from: plugins read their own variables from it.
    env: Mapping[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        values, sources = read_settings(env)
        return cls(
            cache_dir=Path(str(values["CACHE_DIR"])),
            default_ttl=_whole(values["CACHE_DEFAULT_TTL"]),
            max_bytes=_whole(values["CACHE_MAX_BYTES"]),
            max_stale=_whole(values["CACHE_MAX_STALE"]),
            negative_ttl=_whole(values["CACHE_NEGATIVE_TTL"]),
            sharing=str(values["CACHE_SHARING"]),
            upstream_timeout=float(_whole(values["CACHE_UPSTREAM_TIMEOUT"])),
            sources=sources,
            env=env,
        )


def _whole(value: object) -> int:
    assert isinstance(value, int)
    return value


def rows_as_given(
    env: Mapping[str, str], defaults: Mapping[str, str]
) -> list[tuple[str, str, str]]:
    """``(variable, value, "env" or "default")`` as given, unchecked: what ``ghcache config``
    shows for a plugin's variables when one of them is invalid (that is where people look)."""
    return [
        (name, env[name].strip(), "env") if name in env else (name, default, "default")
        for name, default in defaults.items()
    ]
