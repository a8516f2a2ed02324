"""Three (then more) real daemons on 127.0.0.1 sharing entries: push, pull, crashes, secrets."""

from __future__ import annotations

import os
import time
from dataclasses import replace

import pytest
from p2p_helpers import SECRET, Daemon, Network, make_entry, wait_until

from ghcache.core.cid import cid_for_bytes

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trio_of(network: Network) -> tuple[Daemon, Daemon, Daemon]:
    a = network.start("a")
    b = network.start("b", bootstrap=[a])
    c = network.start("c", bootstrap=[a, b])
    for daemon, others in ((a, (b, c)), (b, (a, c)), (c, (a, b))):
        daemon.wait_topic_peers(*others)
    return a, b, c


def test_entry_stored_on_one_daemon_is_pushed_to_the_others(trio_of: tuple[Daemon, ...]) -> None:
    a, b, c = trio_of
    entry = make_entry("push")
    a.put(entry)
    for daemon in (b, c):
        wait_until(lambda d=daemon: d.has(entry.key), 10, "push to peers")  # type: ignore[misc]
        copy = daemon.store().read(entry.key)
        assert copy is not None
        assert copy.body == entry.body and copy.body_cid == entry.body_cid
        assert copy.stored_at == entry.stored_at and copy.is_shared
    # The copies are plain local hits now; the daemon counted them as accepted entries.
    assert b.counters()["entries_accepted"] >= 1


def test_daemon_started_later_pulls_on_lookup(
    network: Network, trio_of: tuple[Daemon, ...]
) -> None:
    a, b, c = trio_of
    announced = make_entry("announced-before")
    a.put(announced)
    wait_until(lambda: b.has(announced.key) and c.has(announced.key), 10, "push")
    unannounced = make_entry("never-announced")
    a.store().write(unannounced)  # only a fetch can move this one
    late = network.start("late", bootstrap=[c])
    late.wait_topic_peers(c)
    # Peer exchange: bootstrapped to c alone, it meets a and b through c.
    late.wait_topic_peers(a, b, c, timeout=15)
    # Gossipsub may replay recent messages to a new peer; either way a lookup finds it.
    found = late.lookup(announced.key)
    assert found is not None and found.body == announced.body
    assert not late.has(unannounced.key)
    late.stop()
    late_to_a = network.start("late2", bootstrap=[b])
    late_to_a.wait_topic_peers(b)
    late_to_a.wait_topic_peers(a, timeout=15)  # met through b
    found = late_to_a.lookup(unannounced.key)  # only a has it
    assert found is not None and found.body == unannounced.body
    assert found.key == unannounced.key and found.is_shared
    assert late_to_a.has(unannounced.key)  # the daemon kept it: the next CLI run is a local hit
    assert late_to_a.counters()["lookup_peer_hits"] == 1
    # A key nobody has: None, well within the peer timeout.
    started = time.monotonic()
    assert late_to_a.lookup(cid_for_bytes(b"no-such-key")) is None
    assert time.monotonic() - started < 4  # every peer said "not found": no need to wait 5 s
    late_to_a.stop()


def test_lookup_of_an_expired_entry_fetches_a_fresher_copy(trio_of: tuple[Daemon, ...]) -> None:
    a, b, c = trio_of
    fresh = make_entry("refreshed")
    stale = replace(
        fresh, stored_at=fresh.stored_at - 3600, body=b'{"old": true}', body_cid="", data=None
    )
    b.store().write(stale)  # expired here (ttl 300) ...
    c.store().write(stale)  # ... and at c
    a.store().write(fresh)  # a refreshed it (not announced)
    found = b.lookup(fresh.key)
    assert found is not None and found.body == fresh.body  # a's, not b's own stale copy
    assert b.store().read(fresh.key).body == fresh.body  # type: ignore[union-attr]
    # Only a copy stored after ``newer_than`` is an answer, here or at a peer.
    assert b.client.lookup(fresh.key, newer_than=fresh.stored_at - 1, timeout=5.0) is True
    assert b.client.lookup(fresh.key, newer_than=fresh.stored_at, timeout=5.0) is False
    # Nobody has anything fresher than c's stale copy of another key: no answer.
    other = make_entry("stale-everywhere", stored_at=time.time() - 3600)
    for daemon in (a, b):
        daemon.store().write(other)
    assert c.lookup(other.key) is None
    assert sum(c.refused().values()) == 0  # older copies are ignored, not "refused"


def test_identity_scoped_entries_never_leave_the_machine(trio_of: tuple[Daemon, ...]) -> None:
    a, b, c = trio_of
    private = make_entry("private", scope="token:0123456789abcdef")
    before = a.counters()["announcements_sent"]
    a.put(private)  # the plugin does not even ask the daemon
    answer, _ = a.client.request({"op": "announce", "key": private.key})
    assert answer["queued"] is False and answer["reason"] == "not_shared"
    # Nobody can fetch it either: A answers "not found" for non-shared entries.
    assert b.lookup(private.key) is None
    marker = make_entry("marker")
    a.put(marker)
    wait_until(lambda: b.has(marker.key) and c.has(marker.key), 10, "marker")
    assert not b.has(private.key) and not c.has(private.key)
    assert a.counters()["announcements_sent"] == before + 1


def test_thousand_entries_all_reach_every_peer(trio_of: tuple[Daemon, ...]) -> None:
    a, b, c = trio_of
    entries = [make_entry("bulk") for _ in range(1000)]
    for entry in entries:
        a.put(entry)
    for daemon in (b, c):
        wait_until(
            lambda d=daemon: all(d.has(e.key) for e in entries),  # type: ignore[misc]
            60,
            "1000 entries",
        )
    missing = [e.key for e in entries if not (b.has(e.key) and c.has(e.key))]
    assert missing == []
    assert sum(b.refused().values()) == 0


def test_a_big_entry_is_announced_without_its_body_and_fetched(
    trio_of: tuple[Daemon, ...],
) -> None:
    a, b, c = trio_of
    big = make_entry("big", body=b'{"blob": "' + os.urandom(150_000).hex().encode() + b'"}')
    before = b.counters()["fetch_hits"]
    a.put(big)
    wait_until(lambda: b.has(big.key) and c.has(big.key), 15, "big entry")
    assert b.store().read(big.key).body == big.body  # type: ignore[union-attr]
    assert b.counters()["fetch_hits"] == before + 1


def test_killed_daemon_restarts_with_same_peer_id_and_catches_up(
    network: Network, trio_of: tuple[Daemon, ...]
) -> None:
    a, b, c = trio_of
    peer_id = b.peer_id
    b.kill()
    entry = make_entry("while-b-down")
    a.put(entry)
    quiet = make_entry("quiet-while-b-down")
    a.store().write(quiet)
    wait_until(lambda: c.has(entry.key), 10, "the others go on")
    b.start()
    assert b.peer_id == peer_id
    b.wait_topic_peers(a, c)
    # Pushed while it was down: gossipsub may replay it, else the lookup fetches it.
    found = b.lookup(entry.key)
    assert found is not None and found.body == entry.body
    assert b.has(entry.key)
    # Stored (not announced) while it was down: only a fetch brings it.
    assert not b.has(quiet.key)
    found = b.lookup(quiet.key)
    assert found is not None and found.body == quiet.body
    # And it receives pushes again.
    after = make_entry("after-restart")
    a.put(after)
    wait_until(lambda: b.has(after.key), 10, "push after restart")


def test_daemon_with_another_secret_cannot_read_or_inject(
    network: Network, trio_of: tuple[Daemon, ...]
) -> None:
    a, b, c = trio_of
    outsider = network.start("outsider", bootstrap=[a, b], secret="some-other-team-secret-xyz")
    wait_until(lambda: a.peer_id in {p["peer_id"] for p in outsider.status()["peers"]}, 10, "dial")
    assert outsider.status()["network_id"] != a.status()["network_id"]
    injected = make_entry("injected")
    outsider.put(injected)
    secret = make_entry("team-only")
    a.put(secret)
    wait_until(lambda: b.has(secret.key) and c.has(secret.key), 10, "team push")
    # The outsider cannot pull the team's entry, and nothing it announced got stored.
    assert outsider.lookup(secret.key) is None
    assert not outsider.has(secret.key)
    time.sleep(1.0)
    for daemon in (a, b, c):
        assert not daemon.has(injected.key)
    assert outsider.counters()["entries_accepted"] == 0
    outsider.stop()


def test_rotated_daemon_still_hears_peers_on_the_previous_secret(
    network: Network, trio_of: tuple[Daemon, ...]
) -> None:
    a = trio_of[0]
    rotated = network.start(
        "rotated",
        bootstrap=[a],
        secret="the-new-team-secret-0987654321",
        CACHE_PREVIOUS_SECRETS=SECRET,
    )
    status = rotated.status()
    assert len(status["topics"]) == 2 and a.status()["topic"] in status["topics"]
    rotated.wait_topic_peers(a)
    entry = make_entry("rotation")
    a.put(entry)
    wait_until(lambda: rotated.has(entry.key), 10, "push over the previous secret's topic")
    rotated.stop()


def test_fetches_work_both_ways_during_a_rotation(
    network: Network, trio_of: tuple[Daemon, ...]
) -> None:
    a = trio_of[0]  # still on the previous secret alone
    rotated = network.start(
        "rotated-fetch",
        bootstrap=[a],
        secret="the-new-team-secret-0987654321",
        CACHE_PREVIOUS_SECRETS=SECRET,
    )
    rotated.wait_topic_peers(a)
    a.wait_topic_peers(rotated)
    refused_before = a.refused()["bad_envelope"], rotated.refused()["bad_envelope"]
    only_on_a, only_on_rotated = make_entry("on-old"), make_entry("on-new")
    a.store().write(only_on_a)  # not announced: only a fetch moves them
    rotated.store().write(only_on_rotated)
    found = rotated.lookup(only_on_a.key)
    assert found is not None and found.body == only_on_a.body
    found = a.lookup(only_on_rotated.key)
    assert found is not None and found.body == only_on_rotated.body
    assert (a.refused()["bad_envelope"], rotated.refused()["bad_envelope"]) == refused_before
    rotated.stop()


def test_a_dropped_bootstrap_peer_is_redialled(network: Network) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    hub = network.start("hub", CACHE_LISTEN_PORT=str(port))
    spoke = network.start("spoke", bootstrap=[hub])
    spoke.wait_topic_peers(hub)
    hub.kill()
    wait_until(lambda: not spoke.status()["peers"], 10, "spoke to notice the drop")
    (hub.cache_dir / "p2p_peers.json").unlink(missing_ok=True)  # only the spoke may dial
    hub.start()  # same port, same peer id
    spoke.wait_topic_peers(hub, timeout=20)
    entry = make_entry("after-redial")
    hub.put(entry)
    wait_until(lambda: spoke.has(entry.key), 10, "push after the redial")
    spoke.stop()
    hub.stop()
