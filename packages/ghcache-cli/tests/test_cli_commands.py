"""``ghcache stats``, ``cache``, ``config``, ``--version`` and bad input, run as
real processes (the installed console script) against real cache directories."""

from __future__ import annotations

import json
import os
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest

from ghcache.cli import __version__
from ghcache.core.stats import Stats
from ghcache.core.store import DiskStore


def test_version_is_the_package_version(cli: Any, env: dict[str, str]) -> None:
    done = cli(["--version"], env)
    assert done.returncode == 0
    assert done.stdout.decode() == f"ghcache {__version__}\n"
    assert __version__ == version("ghcache-cli")


@pytest.mark.parametrize("args", [["--help"], ["-h"], []])
def test_help_lists_the_builtin_commands(cli: Any, env: dict[str, str], args: list[str]) -> None:
    done = cli(args, env)
    assert done.returncode == 0
    listed = done.stdout.decode()
    for name in ("api", "cache", "config", "stats", "warm"):
        assert f"  {name} " in listed


@pytest.mark.parametrize(
    "args",
    [["nope"], ["stats", "--bogus"], ["cache"], ["cache", "show"], ["cache", "ls", "extra"]],
)
def test_usage_errors_exit_1_as_gh_without_traceback(
    cli: Any, env: dict[str, str], args: list[str]
) -> None:
    done = cli(args, env)
    assert done.returncode == 1 or (args == ["cache"] and done.returncode in (0, 1))
    assert b"Traceback" not in done.stderr


def test_stats_reports_counters_and_disk_use(
    cli: Any, store: Any, env: dict[str, str], cache_dir: Path
) -> None:
    store(cache_dir, "repos/octo/hello", b'{"a": 1}', env=env)
    store(cache_dir, "repos/octo/other", b'{"b": 2}', env=env)
    Stats(cache_dir).add(hits=3, misses=1, revalidated=1, stale_served=0, upstream_requests=2)
    done = cli(["stats", "--json"], env)
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["hits"] == 3
    assert summary["misses"] == 1
    assert summary["hit_rate"] == 0.75
    assert summary["rate_limit_units_saved"] == 4  # 3 hits + 1 free revalidation
    assert summary["upstream_requests"] == 2
    assert summary["entries"] == 2
    assert summary["bytes"] == sum(p.stat().st_size for p in DiskStore(cache_dir).paths())
    text = cli(["stats"], env).stdout.decode()
    assert "hit rate                75.0%" in text
    assert "entries on disk         2" in text


def test_stats_on_a_missing_cache_dir_is_all_zero(cli: Any, env: dict[str, str]) -> None:
    done = cli(["stats", "--json"], env)
    assert done.returncode == 0
    summary = json.loads(done.stdout)
    assert summary["hits"] == summary["entries"] == summary["bytes"] == 0


def test_cache_ls_lists_entries_without_touching_access_times(
    cli: Any, store: Any, env: dict[str, str], cache_dir: Path
) -> None:
    fresh = store(cache_dir, "repos/octo/hello", b'{"a": 1}', env=env)
    stale = store(cache_dir, "repos/octo/old", b"[]", env=env, age=1000, ttl=60)
    disk = DiskStore(cache_dir)
    old_atime = time.time() - 5000
    for entry in (fresh, stale):
        path = disk.path_for(entry.key)
        os.utime(path, (old_atime, path.stat().st_mtime))
    done = cli(["cache", "ls", "--json"], env)
    assert done.returncode == 0, done.stderr
    rows = {row["key"]: row for row in json.loads(done.stdout)}
    assert rows[fresh.key]["fresh"] is True
    assert rows[stale.key]["fresh"] is False
    assert rows[fresh.key]["url"] == fresh.url
    assert [row["key"] for row in json.loads(done.stdout)] == [fresh.key, stale.key]
    for entry in (fresh, stale):
        assert disk.path_for(entry.key).stat().st_atime == pytest.approx(old_atime, abs=1)
    text = cli(["cache", "ls"], env).stdout.decode().splitlines()
    assert text[0].startswith(fresh.key) and " fresh " in text[0] and fresh.url in text[0]
    assert text[1].startswith(stale.key) and " stale " in text[1]


def test_cache_show_by_key_and_by_endpoint(
    cli: Any, store: Any, env: dict[str, str], cache_dir: Path
) -> None:
    body = b'{"full_name": "octo/hello"}'
    entry = store(cache_dir, "repos/octo/hello", body, env=env)
    by_key = cli(["cache", "show", entry.key], env)
    assert by_key.returncode == 0, by_key.stderr
    assert f"key     {entry.key}" in by_key.stdout.decode()
    assert 'ETag: "abc"' in by_key.stdout.decode()
    by_endpoint = cli(["cache", "show", "/repos/octo/hello"], env)

    def without_age(text: bytes) -> list[bytes]:  # "stored 0s ago" may tick between the calls
        return [line for line in text.splitlines() if b" ago" not in line]

    assert without_age(by_endpoint.stdout) == without_age(by_key.stdout)
    assert cli(["cache", "show", "--body", entry.key], env).stdout == body
    as_json = json.loads(cli(["cache", "show", "--json", "repos/octo/hello"], env).stdout)
    assert as_json["key"] == entry.key and as_json["data"] == {"full_name": "octo/hello"}


def test_cache_show_placeholders_from_gh_repo(
    cli: Any, store: Any, env: dict[str, str], cache_dir: Path
) -> None:
    entry = store(cache_dir, "repos/octo/hello/issues", b"[]", env=env)
    done = cli(["cache", "show", "repos/{owner}/{repo}/issues"], {**env, "GH_REPO": "octo/hello"})
    assert done.returncode == 0, done.stderr
    assert entry.key in done.stdout.decode()


def test_cache_show_identity_endpoint_uses_the_token_scope(
    cli: Any, store: Any, env: dict[str, str], cache_dir: Path
) -> None:
    alice = store(cache_dir, "user", b'{"login": "alice"}', env=env, token="ghp_alice")
    done = cli(["cache", "show", "--body", "user"], {**env, "GH_TOKEN": "ghp_alice"})
    assert done.stdout == b'{"login": "alice"}'
    other = cli(["cache", "show", "user"], {**env, "GH_TOKEN": "ghp_bob"})
    assert other.returncode == 1
    assert other.stderr == b"ghcache: no cached response for user\n"
    assert alice.key not in other.stdout.decode()


def test_cache_show_missing_and_corrupt(
    cli: Any, store: Any, env: dict[str, str], cache_dir: Path
) -> None:
    missing = cli(["cache", "show", "repos/octo/none"], env)
    assert (missing.returncode, missing.stderr) == (
        1,
        b"ghcache: no cached response for repos/octo/none\n",
    )
    entry = store(cache_dir, "repos/octo/hello", b"{}", env=env)
    DiskStore(cache_dir).path_for(entry.key).write_bytes(b"{not json")
    corrupt = cli(["cache", "show", entry.key], env)
    assert corrupt.returncode == 1
    assert (
        corrupt.stderr.startswith(b"ghcache: the entry for ") and corrupt.stderr.count(b"\n") == 1
    )
    unfilled = cli(["cache", "show", "repos/{owner}/x"], env)
    assert unfilled.returncode == 1
    assert unfilled.stderr.startswith(b"ghcache: unable to expand placeholder in path: ")
    assert unfilled.stderr.count(b"\n") == 1


def test_cache_clear_removes_entries_and_keeps_stats(
    cli: Any, store: Any, env: dict[str, str], cache_dir: Path
) -> None:
    store(cache_dir, "repos/octo/hello", b"{}", env=env)
    store(cache_dir, "repos/octo/other", b"{}", env=env)
    Stats(cache_dir).add(hits=5)
    done = cli(["cache", "clear"], env)
    assert done.returncode == 0
    assert done.stdout.decode() == f"removed 2 cached response(s) from {cache_dir}\n"
    assert list(DiskStore(cache_dir).paths()) == []
    assert Stats(cache_dir).read()["hits"] == 5


def test_cache_prune_drops_long_expired_and_evicts_over_budget(
    cli: Any, store: Any, env: dict[str, str], cache_dir: Path
) -> None:
    keep = store(cache_dir, "repos/octo/hello", b"{}", env=env)
    stale_ok = store(cache_dir, "repos/octo/recent", b"{}", env=env, age=120, ttl=60)
    gone = store(cache_dir, "repos/octo/ancient", b"{}", env=env, age=7200, ttl=60)
    done = cli(["cache", "prune"], {**env, "CACHE_MAX_STALE": "3600"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.decode().startswith("pruned 1 expired or corrupt, evicted 0")
    disk = DiskStore(cache_dir)
    assert disk.path_for(keep.key).exists() and disk.path_for(stale_ok.key).exists()
    assert not disk.path_for(gone.key).exists()
    size = disk.path_for(keep.key).stat().st_size
    now = time.time()
    for entry, used in ((keep, now), (stale_ok, now - 600)):
        path = disk.path_for(entry.key)
        os.utime(path, (used, path.stat().st_mtime))
    squeezed = cli(["cache", "prune"], {**env, "CACHE_MAX_BYTES": str(size * 3 // 2)})
    assert squeezed.returncode == 0
    assert "evicted 1 least recently used; 1 left" in squeezed.stdout.decode()
    # The least recently used goes: pruning itself must not count as use.
    assert disk.path_for(keep.key).exists() and not disk.path_for(stale_ok.key).exists()


@pytest.mark.parametrize("args", [["stats"], ["cache", "ls"], ["config"], ["cache", "prune"]])
def test_bad_setting_is_one_line_exit_1(cli: Any, env: dict[str, str], args: list[str]) -> None:
    done = cli(args, {**env, "CACHE_DEFAULT_TTL": "abc"})
    assert done.returncode == 1
    assert done.stderr == b"ghcache: CACHE_DEFAULT_TTL must be a whole number, got 'abc'\n"
    assert done.stdout == b""


def test_config_shows_sources_and_never_secrets(cli: Any, env: dict[str, str]) -> None:
    secret_env = {
        **env,
        "CACHE_DEFAULT_TTL": "120",
        "GH_TOKEN": "ghp_supersecret_value",
        "CACHE_SHARED_SECRET": "team-shared-passphrase",
    }
    done = cli(["config", "--json"], secret_env)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["settings"]["CACHE_DEFAULT_TTL"] == {"value": 120, "source": "env"}
    assert report["settings"]["CACHE_MAX_STALE"] == {"value": 86400, "source": "default"}
    assert report["token"] == {"present": True, "source": "GH_TOKEN"}
    assert report["shared_secret"] == {"present": True, "source": "CACHE_SHARED_SECRET"}
    assert report["host"]["source"] == "GITHUB_API_URL"
    text = cli(["config"], secret_env)
    for output in (done.stdout + done.stderr, text.stdout + text.stderr):
        assert b"supersecret" not in output and b"passphrase" not in output
    lines = text.stdout.decode().splitlines()
    assert any(
        line.startswith("token ") and "present" in line and "(GH_TOKEN)" in line for line in lines
    )
    assert any(line.startswith("CACHE_DEFAULT_TTL ") and "(env)" in line for line in lines)


def test_config_without_token(cli: Any, env: dict[str, str], tmp_path: Path) -> None:
    # An empty PATH hides gh, so `gh auth token` cannot be asked either.
    done = cli(["config", "--json"], {**env, "PATH": str(tmp_path)})
    report = json.loads(done.stdout)
    assert report["token"] == {"present": False, "source": None}
    assert report["shared_secret"] == {"present": False, "source": None}


def test_unusable_cache_dir_is_one_line(cli: Any, env: dict[str, str], tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    bad_env = {**env, "CACHE_DIR": str(blocker / "cache")}
    for args in (["stats"], ["cache", "ls"], ["cache", "clear"], ["cache", "prune"]):
        done = cli(args, bad_env)
        assert done.returncode in (0, 1), (args, done.stderr)
        assert b"Traceback" not in done.stderr
        assert done.stderr.count(b"\n") <= 2


def test_cache_show_placeholders_from_the_git_remote(
    cli: Any, store: Any, env: dict[str, str], cache_dir: Path, git_checkout: Path
) -> None:
    entry = store(cache_dir, "repos/octo/hello", b"{}", env=env)
    done = cli(["cache", "show", "repos/{owner}/{repo}"], env, cwd=git_checkout)
    assert done.returncode == 0, done.stderr
    assert entry.key in done.stdout.decode()


def test_closed_pipe_is_quiet(
    store: Any, script: Any, env: dict[str, str], cache_dir: Path, workdir: Path
) -> None:
    import subprocess

    entry = store(cache_dir, "repos/octo/big", b"[" + b'"x",' * 50_000 + b'"x"]', env=env)
    for command in (f"cache show --body {entry.key}", "cache ls", "stats"):
        # `true` never reads and exits at once: the output meets a closed pipe.
        done = subprocess.run(
            f"'{script('ghcache')}' {command} | true; echo \"${{PIPESTATUS[0]}}\"",
            shell=True,
            executable="/bin/bash",
            env=env,
            cwd=workdir,
            capture_output=True,
            timeout=60,
            check=False,
        )
        assert done.stderr == b"", command
        assert done.stdout in (b"0\n", b"1\n"), command


def test_ratelimit_shows_and_clears_what_is_remembered(
    cli: Any, env: dict[str, str], cache_dir: Path
) -> None:
    from ghcache.core.ratelimit import RateLimitMemory, limit_key

    assert b"no rate limit remembered" in cli(["ratelimit"], env).stdout
    now = time.time()
    RateLimitMemory(cache_dir).remember(limit_key("github.com", "abc123", "graphql"), now + 90, now)
    shown = cli(["ratelimit"], env)
    assert shown.returncode == 0
    assert b"github.com  abc123  graphql" in shown.stdout
    rows = json.loads(cli(["ratelimit", "--json"], env).stdout)
    assert rows[0]["resource"] == "graphql" and rows[0]["until"] == pytest.approx(now + 90)
    assert b"forgot 1" in cli(["ratelimit", "clear"], env).stdout
    assert json.loads(cli(["ratelimit", "--json"], env).stdout) == []
