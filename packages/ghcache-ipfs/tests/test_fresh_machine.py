"""A fresh machine (empty cache, no daemon) answers from the team's IPFS node what a
teammate fetched yesterday, with no counted GitHub request; other teams read nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from ipfs_helpers import OTHER_SECRET, YESTERDAY, assert_loopback_only, machine

from ghcache.core.store import DiskStore
from ghcache.crypto import Keyring, OpenError
from ghcache.fakehub import FakeHub
from ghcache.ipfs import records
from ghcache.ipfs.fakekubo import FakeKubo, raw_cid

pytestmark = pytest.mark.slow

PATHS = ["repos/octo/hello", "repos/octo/hello/issues/1", "repos/octo/big"]


def seed_yesterday(tmp_path: Path, hub: FakeHub, kubo: FakeKubo) -> dict[str, str]:
    """Alice's machine fetched PATHS yesterday and kept them in IPFS; body hashes by path."""
    alice = machine(
        tmp_path,
        "alice",
        GH_TOKEN="ghp_alice",
        CACHE_IPFS_API=kubo.multiaddr,
        GITHUB_API_URL=hub.url,
    )
    bodies = {}
    for path in PATHS:
        response = alice.call_in_process(hub.url + path, clock_offset=YESTERDAY)
        assert response.status == 200
        bodies[path] = hashlib.sha256(response.body).hexdigest()
    assert hub.counted("ghp_alice") == len(PATHS)
    return bodies


def test_fresh_machine_answers_from_ipfs_with_no_counted_request(
    tmp_path: Path, hub: FakeHub, kubo: FakeKubo
) -> None:
    bodies = seed_yesterday(tmp_path, hub, kubo)
    # What the node holds: one pinned raw block per entry, named for gc, and one record each.
    assert kubo.commands().count("block/put") == len(PATHS)
    pins = kubo.pins()
    assert len(pins) == len(PATHS)
    for cid, name in pins.items():
        block = kubo.state.block(cid)
        assert block is not None and raw_cid(block) == cid  # hashed by the node, not by us
        assert records.parse_pin_name(name) is not None
    keyring = Keyring.from_env(
        {"CACHE_SHARED_SECRET": machine(tmp_path, "x").env["CACHE_SHARED_SECRET"]}
    )
    assert keyring is not None
    index = kubo.state.mfs / "ghcache" / keyring.network_id / "index"
    assert len(list(index.iterdir())) == len(PATHS)

    bob = machine(
        tmp_path, "bob", GH_TOKEN="ghp_bob", CACHE_IPFS_API=kubo.multiaddr, GITHUB_API_URL=hub.url
    )
    for path in PATHS:
        answer = bob.call(hub.url + path)
        assert answer["status"] == 200, answer
        assert answer["body_sha256"] == bodies[path]
        # #10's rule: another identity's copy is confirmed under bob's token by a free 304.
        assert answer["source"] == "confirmed", answer
        assert answer["stderr"] == ""
        assert_loopback_only(answer["connects"])
    bob_requests = [r for r in hub.requests if r.token == "ghp_bob"]
    assert hub.counted("ghp_bob") == 0
    assert [r.status for r in bob_requests] == [304] * len(PATHS)
    # Stored by the plugin as a peer entry: now a plain local hit, no request at all.
    again = bob.call(hub.url + PATHS[0])
    assert again["source"] == "cache" and again["body_sha256"] == bodies[PATHS[0]]
    assert len([r for r in hub.requests if r.token == "ghp_bob"]) == len(PATHS)


def test_team_mode_serves_a_fresh_ipfs_copy_with_no_request(
    tmp_path: Path, hub: FakeHub, kubo: FakeKubo
) -> None:
    alice = machine(
        tmp_path,
        "alice",
        GH_TOKEN="ghp_alice",
        CACHE_IPFS_API=kubo.multiaddr,
        GITHUB_API_URL=hub.url,
    )
    assert alice.call_in_process(hub.url + "repos/octo/hello").status == 200
    ci = machine(
        tmp_path,
        "ci",
        GH_TOKEN="ghp_bob",
        CACHE_IPFS_API=kubo.multiaddr,
        CACHE_SHARING="team",
        GITHUB_API_URL=hub.url,
    )
    answer = ci.call(hub.url + "repos/octo/hello")
    assert answer["source"] == "peer", answer
    assert [r for r in hub.requests if r.token == "ghp_bob"] == []
    assert DiskStore(ci.cache_dir).stats.read()["peer_hits"] == 1


def test_other_teams_get_nothing_readable(tmp_path: Path, hub: FakeHub, kubo: FakeKubo) -> None:
    bodies = seed_yesterday(tmp_path, hub, kubo)
    # Another secret, or none (the token then keys it): the team's index is not even found.
    for name, secret in (("eve", OTHER_SECRET), ("tokenonly", None)):
        other = machine(
            tmp_path,
            name,
            secret=secret,
            GH_TOKEN="ghp_bob",
            CACHE_IPFS_API=kubo.multiaddr,
            GITHUB_API_URL=hub.url,
        )
        answer = other.call(hub.url + PATHS[0])
        assert answer["source"] == "upstream" and answer["body_sha256"] == bodies[PATHS[0]]
        assert_loopback_only(answer["connects"])
    assert hub.counted("ghp_bob") == 2
    # Every block the node holds is opaque without the secret.
    eve = Keyring.from_env({"CACHE_SHARED_SECRET": OTHER_SECRET})
    assert eve is not None
    for cid in kubo.pins():
        block = kubo.state.block(cid)
        assert block is not None and b"octo" not in block
        with pytest.raises(OpenError):
            eve.open(block)


def test_identity_scoped_and_negative_answers_never_reach_ipfs(
    tmp_path: Path, hub: FakeHub, kubo: FakeKubo
) -> None:
    alice = machine(
        tmp_path,
        "alice",
        GH_TOKEN="ghp_alice",
        CACHE_IPFS_API=kubo.multiaddr,
        GITHUB_API_URL=hub.url,
    )
    assert alice.call_in_process(hub.url + "user").status == 200
    assert alice.call_in_process(hub.url + "repos/octo/missing").status == 404
    assert alice.call_in_process(hub.url + "repos/alice/private-notes").status == 200
    # Only the shared 2xx answer was put (a private repo's answer is shared scope: teammates
    # still confirm it under their own token before seeing it).
    assert kubo.commands().count("block/put") == 1
