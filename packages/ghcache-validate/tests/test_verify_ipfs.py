"""IPFS on an installation: ``ghcache api`` on a fresh machine answers from the team's node,
and verify's ipfs check (skipped without a node, passing with one, failing on a dead one)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from ghcache.fakehub import FakeHub
from ghcache.ipfs.fakekubo import FakeKubo
from ghcache.validate.network import clean_env, ghcache_command
from ghcache.validate.verify import run_installed

SECRET = "team-secret-for-verify-ipfs-tests-0123"


def env_for(tmp_path: Path, name: str, **extra: str) -> dict[str, str]:
    return {
        **clean_env(),
        "CACHE_DIR": str(tmp_path / name),
        "IPFS_PATH": str(tmp_path / f"{name}-ipfs"),  # never the real user's node
        "CACHE_ENABLE_P2P": "false",
        "CACHE_SHARED_SECRET": SECRET,
        "CACHE_IPFS_TIMEOUT_MS": "3000",
        **extra,
    }


def ipfs_check(env: dict[str, str]) -> tuple[str, str]:
    (result,) = [r for r in run_installed(env).results if r.name == "ipfs"]
    return result.status, result.reason


@pytest.mark.slow
def test_ghcache_api_on_a_fresh_machine_answers_from_ipfs(tmp_path: Path) -> None:
    with FakeHub() as hub, FakeKubo(tmp_path / "kubo") as kubo:

        def ghcache_api(name: str, token: str) -> subprocess.CompletedProcess[str]:
            env = env_for(
                tmp_path, name, GH_TOKEN=token, GITHUB_API_URL=hub.url, CACHE_IPFS_API=kubo.url
            )
            return subprocess.run(
                [*ghcache_command(), "api", "repos/octo/hello"],
                env=env,
                capture_output=True,
                text=True,
                timeout=60,
            )

        first = ghcache_api("alice", "ghp_alice")
        assert first.returncode == 0, first.stderr
        assert len(kubo.pins()) == 1
        fresh = ghcache_api("ci-runner", "ghp_bob")
        assert fresh.returncode == 0, fresh.stderr
        assert fresh.stdout == first.stdout and fresh.stderr == ""
        assert hub.counted("ghp_bob") == 0  # one free 304 under bob's own token, at most
        assert [r.status for r in hub.requests if r.token == "ghp_bob"] == [304]


def test_verify_skips_ipfs_without_a_node(tmp_path: Path) -> None:
    status, reason = ipfs_check(env_for(tmp_path, "none"))
    assert status == "skip"
    assert reason == f"no CACHE_IPFS_API and no Kubo api file at {tmp_path / 'none-ipfs' / 'api'}"


def test_verify_ipfs_round_trip_passes_and_leaves_nothing(tmp_path: Path) -> None:
    with FakeKubo(tmp_path / "kubo") as kubo:
        # Found through Kubo's own api file, as when `ipfs daemon` runs on this machine.
        (tmp_path / "node-ipfs").mkdir()
        (tmp_path / "node-ipfs" / "api").write_text(kubo.multiaddr)
        status, reason = ipfs_check(env_for(tmp_path, "node"))
        assert status == "pass", reason
        assert reason.startswith(f"Kubo 0.26.0 at {kubo.url}: probe block put, found and opened")
        assert kubo.pins() == {}  # the probe is released again
        assert "block/get" in kubo.commands()


def test_verify_ipfs_fails_on_a_dead_node(tmp_path: Path) -> None:
    with FakeKubo(tmp_path / "kubo") as kubo:
        api = kubo.url
    status, reason = ipfs_check(env_for(tmp_path, "dead", CACHE_IPFS_API=api))
    assert status == "fail"
    assert reason.startswith(f"{api}: version: ConnectError") and "\n" not in reason
