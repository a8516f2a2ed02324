"""CACHE_BOOTSTRAP_PEERS: the one rule (``ghcache.p2p.settings``) and the daemon refusing,
in one line naming the entry, what it could not dial."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from p2p_helpers import base_env

from ghcache.core.config import ConfigError
from ghcache.p2p.settings import bootstrap_peer_problem, check_bootstrap_peers, config_problem

ED25519_ID = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"
RSA_ID = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"
# A valid CID, but of a dag-pb block: no peer has it as its id.
NOT_A_PEER = "bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"


@pytest.mark.parametrize(
    "text",
    [
        f"/ip4/10.0.0.5/tcp/9100/p2p/{ED25519_ID}",
        f"/ip6/::1/tcp/9100/p2p/{RSA_ID}",
        f"/dns4/build-7.example.com/tcp/9100/p2p/{ED25519_ID}",
    ],
)
def test_dialable_entries_pass(text: str) -> None:
    assert bootstrap_peer_problem(text) is None


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("/ip4/127.0.0.1/tcp/4001/p2p/QmHash1", "Invalid CID: QmHash1"),
        ("/ip4/10.0.0.5/tcp/9100", "it does not end in /p2p/<peer id>"),
        (f"/p2p/{ED25519_ID}", "it has no address before /p2p/<peer id>"),
        (
            f"/ip4/10.0.0.5/tcp/9100/p2p/{ED25519_ID}/tcp/1",
            f"/p2p/{ED25519_ID} is not its last part",
        ),
        (
            f"/ip4/10.0.0.5/tcp/9100/p2p/{NOT_A_PEER}",
            f"{NOT_A_PEER} is not a base58 peer id (12D3KooW... or Qm...)",
        ),
        (
            f"/ip4/10.0.0.5/udp/9100/quic/p2p/{ED25519_ID}",
            "it has no /tcp/<port> part (the daemon speaks TCP only)",
        ),
        (f"/ip4/10.0.0.256/tcp/9100/p2p/{ED25519_ID}", "base address '10.0.0.256' is not IPv4"),
        (f"10.0.0.5:9100/p2p/{ED25519_ID}", "unknown protocol: 10.0.0.5:9100"),
    ],
)
def test_each_refused_entry_says_why(text: str, problem: str) -> None:
    assert bootstrap_peer_problem(text) == problem


def test_the_error_names_the_entry_by_number_and_text() -> None:
    good = f"/ip4/10.0.0.5/tcp/9100/p2p/{ED25519_ID}"
    bad = "/ip4/127.0.0.1/tcp/4001/p2p/QmHash1"
    check_bootstrap_peers([good])
    with pytest.raises(ConfigError) as info:
        check_bootstrap_peers([good, bad, "/ip4/10.0.0.6/tcp/1"])
    assert str(info.value) == (
        "CACHE_BOOTSTRAP_PEERS: entry 2 '/ip4/127.0.0.1/tcp/4001/p2p/QmHash1' "
        "is not a valid multiaddr with a peer id: Invalid CID: QmHash1"
    )
    # Counted as the daemon reads the list: blanks between commas are no entry.
    assert config_problem({"CACHE_BOOTSTRAP_PEERS": f" {good}, ,{bad}"}) == str(info.value)
    assert config_problem({"CACHE_BOOTSTRAP_PEERS": good}) is None
    # Another p2p variable that cannot be used is a problem of the same kind.
    assert config_problem({"CACHE_LISTEN_PORT": "99999"}) == (
        "CACHE_LISTEN_PORT must be at least 0 and at most 65535, got '99999'"
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "bad",
    [
        f"/ip4/127.0.0.1/tcp/4001/p2p/{NOT_A_PEER}",
        f"/ip4/127.0.0.1/udp/4001/quic/p2p/{ED25519_ID}",
        "/ip4/127.0.0.1/tcp/4001/p2p/QmHash1",
    ],
)
def test_the_daemon_refuses_to_start_naming_the_entry(tmp_path: Path, bad: str) -> None:
    good = f"/ip4/127.0.0.1/tcp/4001/p2p/{ED25519_ID}"
    env = {
        **base_env(CACHE_BOOTSTRAP_PEERS=f"{good},{bad}"),
        "CACHE_DIR": str(tmp_path / "cache"),
    }
    done = subprocess.run(
        [sys.executable, "-m", "ghcache.p2p.daemon"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr == (
        f"ghcache daemon: CACHE_BOOTSTRAP_PEERS: entry 2 {bad!r} is not a valid multiaddr "
        f"with a peer id: {bootstrap_peer_problem(bad)}\n"
    )
    assert not (tmp_path / "cache" / "daemon.sock").exists()
