"""Settings from the environment, and get_global_cache() configured by it (in subprocesses)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest

from ghcache.core.config import DEFAULTS, ConfigError, Settings


def test_defaults() -> None:
    settings = Settings.from_env({})
    assert settings.cache_dir == Path(os.path.expanduser("~/.cache/github_cli"))
    assert settings.default_ttl == 300
    assert settings.max_bytes == 512 * 1024 * 1024
    assert settings.max_stale == 24 * 3600
    assert settings.negative_ttl == 60
    assert settings.sharing == "verified"
    assert set(settings.sources) == set(DEFAULTS)
    assert set(settings.sources.values()) == {"default"}


def test_values_from_env(tmp_path: Path) -> None:
    env = {
        "CACHE_DIR": str(tmp_path / "c"),
        "CACHE_DEFAULT_TTL": " 60 ",
        "CACHE_MAX_BYTES": "1000",
        "CACHE_MAX_STALE": "0",
        "CACHE_SHARING": " Team ",
        "CACHE_ENABLE_P2P": "whatever",  # p2p's variable: core neither reads nor checks it
    }
    settings = Settings.from_env(env)
    assert settings.cache_dir == tmp_path / "c"
    assert (settings.default_ttl, settings.max_bytes, settings.max_stale) == (60, 1000, 0)
    assert settings.sharing == "team"
    assert settings.env is env
    assert settings.sources["CACHE_DIR"] == "env"
    assert settings.sources["CACHE_NEGATIVE_TTL"] == "default"


def test_cache_dir_expands_home() -> None:
    settings = Settings.from_env({"CACHE_DIR": "~/somewhere"})
    assert settings.cache_dir == Path(os.path.expanduser("~/somewhere"))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("CACHE_DEFAULT_TTL", "abc"),
        ("CACHE_DEFAULT_TTL", "-1"),
        ("CACHE_DEFAULT_TTL", "1.5"),
        ("CACHE_DEFAULT_TTL", ""),
        ("CACHE_MAX_BYTES", "0"),
        ("CACHE_MAX_BYTES", "1GB"),
        ("CACHE_MAX_STALE", "-5"),
        ("CACHE_NEGATIVE_TTL", "x"),
        ("CACHE_SHARING", "everyone"),
    ],
)
def test_invalid_values_name_the_variable(name: str, value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({name: value})
    message = str(caught.value)
    assert name in message
    assert repr(value.strip()) in message
    assert "\n" not in message


# ---- get_global_cache(): a process singleton, so each case runs in its own process ---------

PROBE = """
import json
from ghcache.core import get_global_cache
from ghcache.core.config import ConfigError
from ghcache.core.store import CacheDirError
try:
    cache = get_global_cache()
except (ConfigError, CacheDirError) as exc:
    print(json.dumps({"error": type(exc).__name__, "message": str(exc)}))
else:
    assert get_global_cache() is cache
    print(json.dumps({
        "cache_dir": str(cache.cache_dir),
        "default_ttl": cache.default_ttl,
        "max_stale": cache.max_stale,
        "max_bytes": cache.store.max_bytes,
    }))
"""


def probe(env: dict[str, str], prefix: Sequence[str] = ()) -> dict[str, object]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("CACHE_", "GH_", "GITHUB_"))}
    full.update(env)
    done = subprocess.run(
        [*prefix, sys.executable, "-c", PROBE],
        capture_output=True,
        text=True,
        env=full,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_global_cache_from_env(tmp_path: Path) -> None:
    result = probe(
        {
            "CACHE_DIR": str(tmp_path / "cache"),
            "CACHE_DEFAULT_TTL": "42",
            "CACHE_MAX_STALE": "7",
            "CACHE_MAX_BYTES": "123456",
        }
    )
    assert result == {
        "cache_dir": str(tmp_path / "cache"),
        "default_ttl": 42,
        "max_stale": 7,
        "max_bytes": 123456,
    }
    assert (tmp_path / "cache").is_dir()


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"CACHE_DEFAULT_TTL": "abc"}, "CACHE_DEFAULT_TTL"),
        ({"CACHE_DEFAULT_TTL": "-300"}, "CACHE_DEFAULT_TTL"),
        ({"CACHE_SHARING": "perhaps"}, "CACHE_SHARING"),
    ],
)
def test_global_cache_bad_value_is_a_clear_error(
    tmp_path: Path, env: dict[str, str], variable: str
) -> None:
    result = probe({"CACHE_DIR": str(tmp_path / "cache"), **env})
    assert result["error"] == "ConfigError"
    assert variable in str(result["message"])


def test_global_cache_unusable_dir_names_the_variable(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    result = probe({"CACHE_DIR": str(blocker / "cache")})
    assert result["error"] == "CacheDirError"
    assert "CACHE_DIR" in str(result["message"])
    assert str(blocker / "cache") in str(result["message"])


def test_global_cache_read_only_dir_names_the_variable(tmp_path: Path) -> None:
    directory = tmp_path / "cache"
    directory.mkdir()
    directory.chmod(0o555)
    prefix: list[str] = []
    if os.geteuid() == 0:  # root writes anywhere: drop the capability that allows it
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("running as root and setpriv (util-linux) is not installed")
        prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--"]
    try:
        result = probe({"CACHE_DIR": str(directory)}, prefix=prefix)
    finally:
        directory.chmod(0o700)
    assert result["error"] == "CacheDirError"
    assert "CACHE_DIR" in str(result["message"])
    assert "not writable" in str(result["message"])


def test_global_cache_unusable_default_dir_says_how_to_change_it(tmp_path: Path) -> None:
    home = tmp_path / "home-is-a-file"
    home.write_text("x")
    result = probe({"HOME": str(home)})
    assert result["error"] == "CacheDirError"
    assert str(home / ".cache" / "github_cli") in str(result["message"])
    assert "set CACHE_DIR" in str(result["message"])
