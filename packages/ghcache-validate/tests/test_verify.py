"""`ghcache-validate verify` on an installation: healthy daemons, a wrong secret, broken dirs."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ghcache.fakehub import FakeHub
from ghcache.validate.network import LocalNetwork, Peer, clean_env, short_temp_dir, wait_for
from ghcache.validate.report import CheckResult, Report, github_annotations
from ghcache.validate.verify import run_installed

BIN = Path(sys.executable).parent
TEAM_SECRET = "team-secret-for-verify-tests-0123456789"
OTHER_SECRET = "another-team-secret-9876543210-abcdef"


@pytest.fixture(scope="module")
def team() -> Iterator[tuple[FakeHub, Peer, Peer, Peer]]:
    """A hub; peers a and b sharing a secret; c with another secret, dialling a."""
    with LocalNetwork(Path(short_temp_dir())) as net:
        hub = net.start_hub()
        a = net.add_peer("a", TEAM_SECRET)
        a.start_daemon()
        a.wait_ready()
        b = net.add_peer("b", TEAM_SECRET, bootstrap=[a])
        c = net.add_peer("c", OTHER_SECRET, bootstrap=[a])
        for peer in (b, c):
            peer.start_daemon()
        for peer in (b, c):
            peer.wait_ready()
        wait_for(lambda: b.peer_id in a.team_peers() and a.peer_id in b.team_peers(), 20, "team")
        wait_for(lambda: a.peer_id in c.connected(), 20, "c to dial a")
        yield hub, a, b, c


def verify_process(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "ghcache-validate"), "verify", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def statuses(report: dict[str, Any]) -> dict[str, str]:
    return {check["name"]: check["status"] for check in report["checks"]}


def checks(report: Report) -> dict[str, CheckResult]:
    return {result.name: result for result in report.results}


def test_healthy_team_peer_passes_every_check(team: tuple[FakeHub, Peer, Peer, Peer]) -> None:
    hub, a, b, _ = team
    rate_limit_calls = hub.upstream_count("/rate_limit")
    done = verify_process(b.env, "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    # The ipfs check has tests of its own (test_verify_ipfs.py); no node runs here.
    assert {s for name, s in statuses(report).items() if name != "ipfs"} == {"pass"}, report
    by_name = {c["name"]: c for c in report["checks"]}
    # The upstream check asked the hub once and reports what the hub says is left.
    assert hub.upstream_count("/rate_limit") == rate_limit_calls + 1
    assert by_name["upstream"]["details"]["remaining"] == hub.remaining("ghp_alice")
    assert by_name["peers"]["details"]["team_peers"] == [a.peer_id]
    # Sources are named, values never printed.
    assert "GH_TOKEN" in by_name["token or secret"]["reason"]
    assert TEAM_SECRET not in done.stdout and "ghp_alice" not in done.stdout


def test_daemon_with_the_wrong_secret_fails_the_peers_check(
    team: tuple[FakeHub, Peer, Peer, Peer],
) -> None:
    c = team[3]
    done = verify_process(c.env, "--github-annotations")
    assert done.returncode == 1
    assert "peers" in done.stdout
    assert (
        "::error title=ghcache verify::peers: no team peers connected; "
        "1 connected outside the team (another secret?)"
    ) in done.stdout.splitlines()
    assert "::notice title=ghcache verify::peer round trip: no team peers connected" in done.stdout
    assert "1 failed" in done.stdout.splitlines()[-1]
    assert OTHER_SECRET not in done.stdout


def test_daemon_started_with_another_secret_fails_the_daemon_secret_check(
    team: tuple[FakeHub, Peer, Peer, Peer],
) -> None:
    b = team[2]
    # b's daemon runs with TEAM_SECRET; this shell names another one.
    done = verify_process({**b.env, "CACHE_SHARED_SECRET": OTHER_SECRET}, "--json")
    assert done.returncode == 1
    report = json.loads(done.stdout)
    result = next(c for c in report["checks"] if c["name"] == "daemon secret")
    assert result["status"] == "fail"
    ours = result["details"]["network_id"]
    theirs = result["details"]["daemon_network_id"]
    assert theirs == b.info["network_id"] != ours
    assert result["reason"] == (
        "the daemon runs with another secret than CACHE_SHARED_SECRET here "
        f"(its network {theirs[:12]}, this environment's {ours[:12]}): "
        "restart it from this environment (ghcache daemon stop; ghcache daemon start)"
    )
    # Everything else about this daemon is fine: only that check fails.
    failed = [c["name"] for c in report["checks"] if c["status"] == "fail"]
    assert failed == ["daemon secret"]
    assert OTHER_SECRET not in done.stdout and TEAM_SECRET not in done.stdout


def test_invalid_bootstrap_peer_fails_the_configuration_check(tmp_path: Path) -> None:
    bad = "/ip4/127.0.0.1/tcp/4001/p2p/QmHash1"
    env = {
        **clean_env(),
        "CACHE_DIR": str(tmp_path / "cache"),
        "CACHE_ENABLE_P2P": "false",
        "CACHE_BOOTSTRAP_PEERS": bad,
    }
    results = checks(run_installed(env))
    assert results["configuration"].status == "fail"
    assert results["configuration"].reason == (
        f"CACHE_BOOTSTRAP_PEERS: entry 1 '{bad}' is not a valid multiaddr with a peer id: "
        "Invalid CID: QmHash1"
    )
    # Core's settings are fine: what needs only them still runs.
    assert results["cache directory"].status == "pass"


def test_cache_dir_below_a_regular_file_fails(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    env = {**clean_env(), "CACHE_DIR": str(blocker / "cache"), "CACHE_ENABLE_P2P": "false"}
    report = run_installed(env)
    result = checks(report)["cache directory"]
    assert result.status == "fail"
    assert result.reason == f"cannot use cache directory {blocker / 'cache'}: Not a directory"
    assert not report.ok


def test_files_readable_by_others_fail(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    loose = cache / "stats.json"
    loose.write_text("{}")
    loose.chmod(0o644)
    env = {**clean_env(), "CACHE_DIR": str(cache), "CACHE_ENABLE_P2P": "false"}
    result = checks(run_installed(env))["cache directory"]
    assert result.status == "fail"
    assert "stats.json (0644, want 0600)" in result.reason
    loose.chmod(0o600)
    assert checks(run_installed(env))["cache directory"].status == "pass"


def test_invalid_setting_fails_in_one_line_and_skips_what_needs_it(tmp_path: Path) -> None:
    env = {**clean_env(), "CACHE_DIR": str(tmp_path), "CACHE_DEFAULT_TTL": "soon"}
    results = checks(run_installed(env))
    assert results["configuration"].status == "fail"
    assert results["configuration"].reason == "CACHE_DEFAULT_TTL must be a whole number, got 'soon'"
    for name in ("cache directory", "disk put/get/stale", "daemon"):
        assert results[name].status == "skip", name


def test_no_credentials_and_no_daemon(tmp_path: Path) -> None:
    env = {
        **clean_env(),
        "CACHE_DIR": str(tmp_path / "cache"),
        "GH_CONFIG_DIR": str(tmp_path / "gh"),  # `gh auth token` finds nothing here
        "CACHE_ENABLE_P2P": "true",
    }
    report = run_installed(env)
    results = checks(report)
    assert results["token or secret"].status == "fail"
    assert results["crypto round trip"].status == "skip"
    assert results["upstream"].status == "skip"
    assert results["daemon"].status == "fail"
    assert "no daemon socket" in results["daemon"].reason
    assert results["peers"].status == "skip"
    # The store itself works: put/get and the stale policy need nothing else.
    assert results["disk put/get/stale"].status == "pass"
    assert results["cache directory"].status == "pass"
    assert not any(p.name.startswith("gh_api_") for p in (tmp_path / "cache").iterdir())


def test_unreachable_api_is_skipped_not_failed(tmp_path: Path) -> None:
    with FakeHub() as hub:
        url = hub.url
    # The hub is stopped: nothing listens on its port any more.
    env = {
        **clean_env(),
        "CACHE_DIR": str(tmp_path),
        "GH_TOKEN": "ghp_alice",
        "GITHUB_API_URL": url,
        "CACHE_ENABLE_P2P": "false",
    }
    result = checks(run_installed(env))["upstream"]
    assert result.status == "skip"
    assert result.reason == f"cannot reach {url} (ConnectError)"


def test_bad_token_fails_upstream(tmp_path: Path, fakehub: FakeHub) -> None:
    env = {
        **clean_env(),
        "CACHE_DIR": str(tmp_path),
        "GH_TOKEN": "ghp_nobody",
        "GITHUB_API_URL": fakehub.url,
        "CACHE_ENABLE_P2P": "false",
    }
    result = checks(run_installed(env))["upstream"]
    assert result.status == "fail"
    assert "rejects the token from GH_TOKEN (401 Bad credentials)" in result.reason
    assert "ghp_nobody" not in result.reason


def test_annotations_escape_newlines_and_percent() -> None:
    report = Report("t")
    report.run("odd", lambda details: (_ for _ in ()).throw(ValueError("100%\nbroken")))
    assert report.results[0].reason == "ValueError: 100% broken"
    lines = github_annotations(report)
    assert lines[0] == "::error title=ghcache verify::odd: ValueError: 100%25 broken"
    assert lines[-1].startswith("::error title=ghcache verify::t: 1 failed")


def test_plain_output_when_not_a_terminal(tmp_path: Path) -> None:
    env = {
        **clean_env(),
        "CACHE_DIR": str(tmp_path / "cache"),
        "CACHE_ENABLE_P2P": "false",
        "CACHE_SHARED_SECRET": "x" * 32,
        "GH_CONFIG_DIR": str(tmp_path / "gh"),
        "IPFS_PATH": str(tmp_path / "ipfs"),  # no Kubo node: the ipfs check is skipped
    }
    done = verify_process(env)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("PASS  dependencies: ")
    assert (
        "PASS  token or secret: no GitHub token; sharing secret from CACHE_SHARED_SECRET" in lines
    )
    assert "SKIP  upstream: no GitHub token, not asking the API" in lines
    assert "SKIP  daemon: CACHE_ENABLE_P2P is off" in lines
    assert "SKIP  daemon secret: no daemon to ask" in lines
    assert (
        f"SKIP  ipfs: no CACHE_IPFS_API and no Kubo api file at {tmp_path / 'ipfs' / 'api'}"
        in lines
    )
    assert lines[-1] == "ghcache verify: all checks passed (6 passed, 0 failed, 6 skipped)"
    assert "x" * 32 not in done.stdout
