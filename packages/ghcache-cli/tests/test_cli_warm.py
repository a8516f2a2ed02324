"""``ghcache warm`` fetches endpoints into the cache (against the simulated
GitHub), so that the next ``ghcache api`` calls are hits that reach nothing."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ghcache.core.store import DiskStore


@pytest.fixture
def hub_env(hub: Any, env: dict[str, str], tmp_path: Path) -> Iterator[dict[str, str]]:
    values = {**env, **hub.gh_env(str(tmp_path / "gh-config"))}
    values.pop("GITHUB_API_URL", None)
    yield values


def test_warm_then_hits(cli: Any, hub: Any, hub_env: dict[str, str], cache_dir: Path) -> None:
    done = cli(["warm", "repos/octo/hello", "/users/octo"], hub_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"warmed 2 endpoint(s): 2 fetched, 0 already cached, 0 failed\n"
    assert done.stderr == b""
    assert len(list(DiskStore(cache_dir).paths())) == 2
    before = hub.upstream_count()
    again = cli(["warm", "repos/octo/hello", "users/octo"], hub_env)
    assert again.stdout == b"warmed 2 endpoint(s): 0 fetched, 2 already cached, 0 failed\n"
    hit = cli(["api", "repos/octo/hello"], hub_env)
    assert hit.returncode == 0 and b'"full_name":"octo/hello"' in hit.stdout
    assert hub.upstream_count() == before


def test_warm_refresh_asks_again(cli: Any, hub: Any, hub_env: dict[str, str]) -> None:
    assert cli(["warm", "repos/octo/hello"], hub_env).returncode == 0
    before = hub.upstream_count()
    done = cli(["warm", "--refresh", "repos/octo/hello"], hub_env)
    assert done.stdout == b"warmed 1 endpoint(s): 1 fetched, 0 already cached, 0 failed\n"
    assert hub.upstream_count() == before + 1


def test_warm_from_file_and_stdin(
    cli: Any, hub_env: dict[str, str], cache_dir: Path, tmp_path: Path
) -> None:
    listing = tmp_path / "endpoints.txt"
    listing.write_text("# what the nightly job reads\nrepos/octo/hello\n\n  users/octo  \n")
    from_file = cli(["warm", "--file", str(listing)], hub_env)
    assert from_file.returncode == 0, from_file.stderr
    assert from_file.stdout.startswith(b"warmed 2 endpoint(s): 2 fetched")
    from_stdin = cli(["warm", "-"], hub_env, stdin=b"repos/octo/hello/issues\nusers/octo\n")
    assert from_stdin.stdout == b"warmed 2 endpoint(s): 1 fetched, 1 already cached, 0 failed\n"
    also_dash_file = cli(["warm", "--file", "-"], hub_env, stdin=b"repos/octo/hello\n")
    assert also_dash_file.stdout.startswith(b"warmed 1 endpoint(s): 0 fetched, 1 already cached")


def test_warm_reports_failures_and_exits_1(cli: Any, hub_env: dict[str, str]) -> None:
    # The cli fixture runs outside any git checkout: {owner} has neither GH_REPO nor a remote.
    done = cli(["warm", "repos/octo/hello", "repos/octo/no-such-repo", "repos/{owner}/x"], hub_env)
    assert done.returncode == 1
    assert done.stdout == b"warmed 3 endpoint(s): 1 fetched, 0 already cached, 2 failed\n"
    errors = done.stderr.decode().splitlines()
    assert errors[0] == "ghcache: warm repos/octo/no-such-repo: HTTP 404 Not Found"
    assert errors[1].startswith("ghcache: warm repos/{owner}/x: unable to expand placeholder")
    assert len(errors) == 2


def test_warm_bad_input(cli: Any, hub_env: dict[str, str], tmp_path: Path) -> None:
    # usage errors exit 1, as gh's
    nothing = cli(["warm"], hub_env)
    assert nothing.returncode == 1 and b"give at least one ENDPOINT" in nothing.stderr
    missing = cli(["warm", "--file", str(tmp_path / "none.txt")], hub_env)
    assert missing.returncode == 1 and b"Traceback" not in missing.stderr
    bad_ttl = cli(["warm", "--ttl", "-1", "x"], hub_env)
    assert bad_ttl.returncode == 1
    bad_setting = cli(["warm", "x"], {**hub_env, "CACHE_DEFAULT_TTL": "abc"})
    assert bad_setting.returncode == 1
    assert bad_setting.stderr == b"ghcache: CACHE_DEFAULT_TTL must be a whole number, got 'abc'\n"


def test_warm_refuses_endpoints_no_url_can_be_made_of(
    cli: Any, hub: Any, hub_env: dict[str, str], tmp_path: Path
) -> None:
    """Non-UTF-8 bytes or a line break in an endpoint (argument, file or stdin): one line
    each naming it, never a request, the others still warmed."""
    listing = tmp_path / "endpoints.txt"
    listing.write_bytes(b"repos/\xff\nrepos/octo/hello\n")
    before = hub.upstream_count()
    done = cli(["warm", "repos/a\nb", "--file", str(listing)], hub_env)
    assert done.returncode == 1, done.stderr
    assert done.stdout == b"warmed 3 endpoint(s): 1 fetched, 0 already cached, 2 failed\n"
    assert done.stderr.decode().splitlines() == [
        'ghcache: warm "repos/a\\nb": parse "http://api.github.localhost/repos/a\\nb": '
        "net/url: invalid control character in URL",
        'ghcache: warm "repos/\\xff": invalid API endpoint "repos/\\xff": not valid UTF-8',
    ]
    piped = cli(["warm", "-"], hub_env, stdin=b"repos/\xfe\n")
    assert piped.returncode == 1 and b"Traceback" not in piped.stderr
    assert b'"repos/\\xfe": not valid UTF-8' in piped.stderr
    assert hub.upstream_count() == before + 1  # repos/octo/hello alone


def test_warm_unreachable_api_fails_per_endpoint(
    cli: Any, env: dict[str, str], cache_dir: Path
) -> None:
    # env points GITHUB_API_URL at a closed port on 127.0.0.1.
    done = cli(["warm", "repos/octo/hello"], env)
    assert done.returncode == 1
    assert done.stdout == b"warmed 1 endpoint(s): 0 fetched, 0 already cached, 1 failed\n"
    assert done.stderr.startswith(b"ghcache: warm repos/octo/hello: ")
    assert done.stderr.count(b"\n") == 1


def test_warm_unwritable_cache_dir(cli: Any, hub_env: dict[str, str], tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    done = cli(["warm", "repos/octo/hello"], {**hub_env, "CACHE_DIR": str(blocker / "cache")})
    assert done.returncode == 1
    assert b"Traceback" not in done.stderr
    assert done.stderr.startswith(b"ghcache: warm repos/octo/hello: not cached: ")


def test_warm_shows_a_progress_bar_on_a_terminal(
    hub_env: dict[str, str], script: Any, workdir: Path
) -> None:
    import os
    import pty
    import subprocess

    controller, terminal = pty.openpty()
    try:
        done = subprocess.run(
            [script("ghcache"), "warm", "repos/octo/hello", "users/octo", "repos/octo/nope"],
            env={**hub_env, "COLUMNS": "100", "TERM": "xterm"},
            cwd=workdir,
            stdout=subprocess.PIPE,
            stderr=terminal,
            timeout=60,
            check=False,
        )
        os.close(terminal)
        terminal = -1
        seen = b""
        while True:
            try:
                chunk = os.read(controller, 65536)
            except OSError:  # EIO: the terminal side is closed and drained
                break
            if not chunk:
                break
            seen += chunk
    finally:
        if terminal >= 0:
            os.close(terminal)
        os.close(controller)
    assert done.returncode == 1
    assert done.stdout == b"warmed 3 endpoint(s): 2 fetched, 0 already cached, 1 failed\n"
    assert b"\x1b[" in seen  # rich drew (and cleared) a live bar
    assert b"/3" in seen  # its "done/total" column
    assert b"ghcache: warm repos/octo/nope: HTTP 404 Not Found" in seen
    assert b"Traceback" not in seen
