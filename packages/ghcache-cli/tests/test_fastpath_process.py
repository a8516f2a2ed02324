"""The installed ``ghcache`` script serves a fresh cache hit on the standard
library alone, and hands everything else to the click group.

Each test runs the real console script under ``python -X importtime`` and
reads which modules the process imported."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from ghcache.core.stats import Stats
from ghcache.core.store import DiskStore

# Heavy or slow-path modules a cache hit must never import (the list,
# plus what the fast path avoids on purpose to stay within its budget).
FORBIDDEN_ON_HIT = (
    "click",
    "httpx",
    "pluggy",
    "multiformats",
    "jq",
    "rich",
    "cryptography",
    "libp2p",
    "trio",
    "importlib.metadata",
    "ghcache.cli.main",
    "json",
    "re",
    "typing",
    "dataclasses",
    "subprocess",
)
# Of core, a hit loads the package (which imports nothing) and its stdlib-only kernel.
CORE_ON_HIT = ("ghcache.core", "ghcache.core.kernel")


def heavy_modules(modules: list[str]) -> list[str]:
    forbidden = [
        m for m in modules for bad in FORBIDDEN_ON_HIT if m == bad or m.startswith(bad + ".")
    ]
    core = [
        m
        for m in modules
        if m.startswith("ghcache.core")
        and m not in CORE_ON_HIT
        and not m.startswith("ghcache.core.kernel.")
    ]
    return sorted(forbidden + core)


BODY = b'{"id":1296269,"full_name":"octo/hello","description":"caf\xc3\xa9"}'


def test_hit_prints_the_body_on_the_standard_library_alone(
    traced: Any, store: Any, env: dict[str, str], cache_dir: Path
) -> None:
    store(cache_dir, "repos/octo/hello", BODY, env=env)
    done, modules = traced(["api", "repos/octo/hello"])
    assert done.returncode == 0, done.stderr
    assert done.stdout == BODY
    assert done.stderr == b""
    assert "ghcache.cli.fastpath" in modules
    assert heavy_modules(modules) == []
    assert Stats(cache_dir).read()["hits"] == 1


def test_include_hit_also_stays_on_the_fast_path(
    traced: Any, store: Any, env: dict[str, str], cache_dir: Path
) -> None:
    store(cache_dir, "repos/octo/hello", BODY, env=env, headers=[("ETag", '"x"')])
    done, modules = traced(["api", "-i", "repos/octo/hello"])
    assert done.returncode == 0, done.stderr
    assert done.stdout == b'HTTP/1.1 200 OK\nEtag: "x"\r\n\r\n' + BODY
    assert "click" not in modules and "ghcache.cli.main" not in modules


def test_gh_api_cached_is_ghcache_api(
    traced: Any, store: Any, env: dict[str, str], cache_dir: Path
) -> None:
    store(cache_dir, "repos/octo/hello", BODY, env=env)
    done, modules = traced(["repos/octo/hello"], name="gh-api-cached")
    assert (done.returncode, done.stdout) == (0, BODY)
    assert "click" not in modules


def test_identity_endpoint_hits_only_for_the_same_token(
    traced: Any, store: Any, env: dict[str, str], cache_dir: Path
) -> None:
    store(cache_dir, "user", b'{"login":"alice"}', env=env, token="ghp_alice")
    done, modules = traced(["api", "user"], {"GH_TOKEN": "ghp_alice"})
    assert (done.returncode, done.stdout) == (0, b'{"login":"alice"}')
    assert "click" not in modules
    _, modules = traced(["api", "user"], {"GH_TOKEN": "ghp_bob"})
    assert "ghcache.cli.main" in modules  # bob's key differs: not a hit
    _, modules = traced(["api", "user"], {"PATH": "/nonexistent"})
    assert "ghcache.cli.main" in modules  # no env token: the client may ask gh


@pytest.mark.parametrize(
    ("why", "args", "extra", "entry"),
    [
        ("stale", ["api", "repos/octo/hello"], {}, {"age": 400, "ttl": 300}),
        ("--cache shorter than age", ["api", "--cache", "1m", "repos/octo/hello"], {}, {"age": 90}),
        ("--ttl shorter than age", ["api", "--ttl", "5", "repos/octo/hello"], {}, {"age": 10}),
        ("not 2xx", ["api", "repos/octo/hello"], {}, {"status": 404, "reason": "Not Found"}),
        ("debug switch", ["api", "repos/octo/hello"], {"GHCACHE_NO_FASTPATH": "1"}, {}),
        ("bad setting", ["api", "repos/octo/hello"], {"CACHE_MAX_BYTES": "0"}, {}),
        ("other flag", ["api", "--verbose", "repos/octo/hello"], {}, {}),
        ("filter with --silent", ["api", "--jq", ".id", "--silent", "repos/octo/hello"], {}, {}),
        ("invalid jq", ["api", "--jq", ".[", "repos/octo/hello"], {}, {}),
        ("placeholders need git", ["api", "repos/{owner}/{repo}"], {}, {}),
    ],
)
def test_everything_else_goes_to_click(
    traced: Any,
    store: Any,
    env: dict[str, str],
    cache_dir: Path,
    why: str,
    args: list[str],
    extra: dict[str, str],
    entry: dict[str, Any],
) -> None:
    store(cache_dir, "repos/octo/hello", BODY, env=env, **entry)
    done, modules = traced(args, extra)
    assert "ghcache.cli.main" in modules, why
    assert b"Traceback" not in done.stderr


def test_longer_ttl_flag_turns_a_stale_entry_into_a_hit(
    traced: Any, store: Any, env: dict[str, str], cache_dir: Path
) -> None:
    store(cache_dir, "repos/octo/hello", BODY, env=env, age=400, ttl=300)
    done, modules = traced(["api", "--cache", "1h", "repos/octo/hello"])
    assert (done.returncode, done.stdout) == (0, BODY)
    assert "click" not in modules
    done, modules = traced(
        ["api", "repos/{owner}/{repo}", "--ttl", "3600"], {"GH_REPO": "octo/hello"}
    )
    assert (done.returncode, done.stdout) == (0, BODY)
    assert "click" not in modules


def test_corrupt_entry_is_left_for_core_to_remove(
    traced: Any, store: Any, env: dict[str, str], cache_dir: Path
) -> None:
    entry = store(cache_dir, "repos/octo/hello", BODY, env=env)
    path = DiskStore(cache_dir).path_for(entry.key)
    path.write_bytes(path.read_bytes().replace(b"octo/hello", b"octo/HELLO"))
    done, modules = traced(["api", "repos/octo/hello"])
    assert "ghcache.cli.main" in modules
    assert BODY not in done.stdout


def test_placeholders_from_git_take_the_click_path_to_the_same_hit(
    traced: Any, store: Any, env: dict[str, str], cache_dir: Path, git_checkout: Path
) -> None:
    store(cache_dir, "repos/octo/hello", BODY, env=env)
    done, modules = traced(["api", "repos/{owner}/{repo}"])
    assert "ghcache.cli.main" in modules  # git is the api command's business
    assert (done.returncode, done.stdout, done.stderr) == (0, BODY, b"")
    assert Stats(cache_dir).read()["hits"] == 1


def test_hit_marks_the_entry_as_recently_used(
    traced: Any, store: Any, env: dict[str, str], cache_dir: Path
) -> None:
    import os
    import time

    entry = store(cache_dir, "repos/octo/hello", BODY, env=env)
    path = DiskStore(cache_dir).path_for(entry.key)
    long_ago = time.time() - 86400
    os.utime(path, (long_ago, path.stat().st_mtime))
    done, modules = traced(["api", "repos/octo/hello"])
    assert done.returncode == 0 and "click" not in modules
    assert path.stat().st_atime > time.time() - 60  # eviction now sees it as just used


@pytest.mark.parametrize("target", ["/dev/full"])
def test_unwritable_stdout_is_reported_like_the_api_command(
    store: Any, script: Any, env: dict[str, str], cache_dir: Path, workdir: Path, target: str
) -> None:
    store(cache_dir, "repos/octo/hello", BODY, env=env)
    results = []
    for extra in ({}, {"GHCACHE_NO_FASTPATH": "1"}):
        with open(target, "wb") as sink:
            done = subprocess.run(
                [script("ghcache"), "api", "repos/octo/hello"],
                env={**env, **extra},
                cwd=workdir,
                stdout=sink,
                stderr=subprocess.PIPE,
                timeout=60,
                check=False,
            )
        results.append((done.returncode, done.stderr))
    assert results[0] == results[1] == (1, b"write /dev/stdout: no space left on device\n")


def test_closed_pipe_is_quiet_and_exits_like_the_api_command(
    store: Any, script: Any, env: dict[str, str], cache_dir: Path, workdir: Path
) -> None:
    store(cache_dir, "repos/octo/big", b"[" + b"1," * 100_000 + b"1]", env=env)
    results = []
    for extra in ("", "GHCACHE_NO_FASTPATH=1 "):
        # `true` never reads and exits at once: the write meets a closed pipe.
        done = subprocess.run(
            f"{extra}'{script('ghcache')}' api repos/octo/big | true; echo \"${{PIPESTATUS[0]}}\"",
            shell=True,
            executable="/bin/bash",
            env=env,
            cwd=workdir,
            capture_output=True,
            timeout=60,
            check=False,
        )
        results.append((done.stdout, done.stderr))
    assert results[0] == results[1] == (b"141\n", b"")  # quiet, and SIGPIPE's code, as gh
