"""The core settings table: documented variables, defaults and validation."""

from __future__ import annotations

import os

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs ~10 ms to import: only the checker sees these
    from collections.abc import Mapping

DEFAULT_CACHE_DIR = "~/.cache/github_cli"
SHARING_MODES = ("verified", "team", "off")
DEFAULT_UPSTREAM_TIMEOUT = 10

# name -> (default, minimum, maximum) for whole numbers; the others are below.
INT_SETTINGS: dict[str, tuple[str, int, int | None]] = {
    "CACHE_DEFAULT_TTL": ("300", 0, None),
    "CACHE_MAX_BYTES": (str(512 * 1024 * 1024), 1, None),
    "CACHE_MAX_STALE": (str(24 * 3600), 0, None),
    "CACHE_NEGATIVE_TTL": ("60", 0, None),
    # seconds GitHub may take to answer before a stored answer is served stale
    "CACHE_UPSTREAM_TIMEOUT": (str(DEFAULT_UPSTREAM_TIMEOUT), 1, 3600),
}
DEFAULTS: dict[str, str] = {
    "CACHE_DIR": DEFAULT_CACHE_DIR,
    **{name: spec[0] for name, spec in INT_SETTINGS.items()},
    "CACHE_SHARING": "verified",
}
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off", "")


class ConfigError(ValueError):
    """An environment variable has an invalid value; the message names it."""


def raw_setting(env: Mapping[str, str], name: str) -> tuple[str, str]:
    """(stripped value, "env" or "default") of a core variable."""
    if name in env:
        return env[name].strip(), "env"
    return DEFAULTS[name], "default"


def read_settings(env: Mapping[str, str]) -> tuple[dict[str, object], dict[str, str]]:
    """Every core setting, validated: (values by variable, sources by variable).

    Raises :class:`ConfigError` naming the first invalid variable.
    """
    values: dict[str, object] = {}
    sources: dict[str, str] = {}
    text, sources["CACHE_DIR"] = raw_setting(env, "CACHE_DIR")
    values["CACHE_DIR"] = os.path.expanduser(text or DEFAULT_CACHE_DIR)
    for name, (_, minimum, maximum) in INT_SETTINGS.items():
        text, sources[name] = raw_setting(env, name)
        values[name] = parse_int(name, text, minimum=minimum, maximum=maximum)
    text, sources["CACHE_SHARING"] = raw_setting(env, "CACHE_SHARING")
    values["CACHE_SHARING"] = parse_choice("CACHE_SHARING", text, SHARING_MODES)
    return values, sources


def cache_dir(env: Mapping[str, str]) -> str:
    return os.path.expanduser(env.get("CACHE_DIR", "").strip() or DEFAULT_CACHE_DIR)


def parse_int(name: str, value: str, *, minimum: int = 0, maximum: int | None = None) -> int:
    try:
        number = int(value)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, got {value!r}") from None
    if number < minimum or (maximum is not None and number > maximum):
        upper = f" and at most {maximum}" if maximum is not None else ""
        raise ConfigError(f"{name} must be at least {minimum}{upper}, got {value!r}")
    return number


def parse_bool(name: str, value: str) -> bool:
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigError(f"{name} must be true or false, got {value!r}")


def parse_choice(name: str, value: str, choices: tuple[str, ...]) -> str:
    lowered = value.lower() or choices[0]
    if lowered not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return lowered
