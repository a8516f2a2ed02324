"""``verify --local``: the whole path proven on one machine, no token and no network.

A simulated GitHub (fakehub) and daemons on 127.0.0.1 in a temporary
directory; every call is a real ``ghcache api`` process.  Each step is a check
of the report; a step that cannot run because an earlier one failed is skipped.

    peer-a, peer-b  same generated CACHE_SHARED_SECRET, b bootstraps to a
    outsider        another secret, bootstraps to a
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ghcache.fakehub import FakeHub
from ghcache.validate.checks import Context, check_dependencies
from ghcache.validate.network import LocalNetwork, NetworkError, Peer, wait_for
from ghcache.validate.report import CheckFailed, CheckResult, CheckSkipped, Report

REPO = "repos/octo/hello"
ISSUE = "repos/octo/hello/issues/1"
TOKEN = "ghp_alice"
SHORT_TTL = 1  # seconds: lets the demo watch an entry expire
PEERS_TIMEOUT = 20.0


@dataclass
class Scenario:
    """State the steps share; each step reads what earlier ones left."""

    net: LocalNetwork
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    outsider_secret: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    peers: dict[str, Peer] = field(default_factory=dict)
    repo_output: str | None = None
    repo_key: str | None = None

    @property
    def hub(self) -> FakeHub:
        if self.net.hub is None:
            raise CheckSkipped("the simulated GitHub is not running")
        return self.net.hub

    def peer(self, name: str) -> Peer:
        peer = self.peers.get(name)
        if peer is None or not peer.info:
            raise CheckSkipped(f"{name} is not running")
        return peer


def api(peer: Peer, endpoint: str, *extra: str, env: dict[str, str] | None = None) -> str:
    """``ghcache api ENDPOINT`` on ``peer``; its stdout, or a failure naming what went wrong."""
    done = peer.ghcache("api", endpoint, *extra, env=env)
    if done.returncode != 0:
        stderr = " ".join(done.stderr.split())[-300:]
        raise CheckFailed(
            f"`ghcache api {endpoint}` on {peer.name} exited {done.returncode}: {stderr}"
        )
    return done.stdout


def call(peer: Peer, endpoint: str, **env: str) -> subprocess.CompletedProcess[str]:
    return peer.ghcache("api", endpoint, env=env)


# -- steps -----------------------------------------------------------------------------


def step_hub(sc: Scenario, details: dict[str, Any]) -> str:
    hub = sc.net.start_hub()
    details["url"] = hub.url
    return f"simulated GitHub API on {hub.url} (tokens ghp_alice, ghp_bob)"


def step_cache_dirs(sc: Scenario, details: dict[str, Any]) -> str:
    from ghcache.core.store import CacheDirError

    try:
        sc.peers["peer-a"] = sc.net.add_peer("peer-a", sc.secret)
    except CacheDirError as exc:
        raise CheckFailed(str(exc)) from None
    probe = sc.peers["peer-a"].cache_dir / ".ghcache-validate-probe"
    try:
        probe.write_bytes(b"probe")
        probe.unlink()
    except OSError as exc:
        raise CheckFailed(f"cannot write to {probe.parent}: {exc.strerror}") from None
    details["root"] = str(sc.net.root)
    return f"{sc.net.root} (one 0700 cache dir per peer)"


def step_daemons(sc: Scenario, details: dict[str, Any]) -> str:
    if "peer-a" not in sc.peers:
        raise CheckSkipped("no cache directories")
    a = sc.peers["peer-a"]
    try:
        a.start_daemon()
        a.wait_ready()
        b = sc.peers["peer-b"] = sc.net.add_peer("peer-b", sc.secret, bootstrap=[a])
        outsider = sc.peers["outsider"] = sc.net.add_peer(
            "outsider", sc.outsider_secret, bootstrap=[a]
        )
        b.start_daemon()
        outsider.start_daemon()
        b.wait_ready()
        outsider.wait_ready()
        wait_for(lambda: b.peer_id in a.team_peers(), PEERS_TIMEOUT, "peer-a to see peer-b")
        wait_for(lambda: a.peer_id in b.team_peers(), PEERS_TIMEOUT, "peer-b to see peer-a")
        wait_for(lambda: outsider.peer_id in a.connected(), PEERS_TIMEOUT, "the outsider to dial")
    except NetworkError as exc:
        raise CheckFailed(str(exc)) from None
    if a.connected().get(outsider.peer_id):
        raise CheckFailed("peer-a counts the outsider (another secret) as a team peer")
    details.update(
        {name: {"peer_id": p.peer_id, "address": p.address} for name, p in sc.peers.items()}
    )
    network = (a.status() or {}).get("network_id")
    return (
        f"peer-a and peer-b joined network {network}; the outsider (another secret) "
        "is connected to peer-a but not in its team"
    )


def step_cached_call(sc: Scenario, details: dict[str, Any]) -> str:
    a, hub = sc.peer("peer-a"), sc.hub
    before = hub.upstream_count()
    first = api(a, REPO)
    after_first = hub.upstream_count()
    second = api(a, REPO)
    after_second = hub.upstream_count()
    details.update(first=after_first - before, second=after_second - after_first)
    if after_first - before != 1:
        raise CheckFailed(f"the first call made {after_first - before} upstream requests, not 1")
    if after_second != after_first:
        raise CheckFailed(f"the second call made {after_second - after_first} upstream requests")
    if second != first:
        raise CheckFailed("the cached answer differs from the upstream one")
    try:
        json.loads(first)
    except ValueError:
        raise CheckFailed("`ghcache api` did not print the JSON answer") from None
    stats = a.stats()
    if stats["hits"] < 1:
        raise CheckFailed(f"peer-a counted no cache hit ({stats})")
    sc.repo_output = first
    sc.repo_key = _stored_key(a, hub.url + REPO)
    return f"`ghcache api {REPO}`: 1 upstream request, then 0 (same output from the disk cache)"


def step_revalidation(sc: Scenario, details: dict[str, Any]) -> str:
    a, hub = sc.peer("peer-a"), sc.hub
    short = {"CACHE_DEFAULT_TTL": str(SHORT_TTL)}
    first = api(a, ISSUE, env=short)
    time.sleep(SHORT_TTL + 0.1)  # the entry expires
    counted_before, upstream_before = hub.counted(TOKEN), hub.upstream_count()
    revalidated_before = a.stats()["revalidated"]
    second = api(a, ISSUE, env=short)
    last = hub.requests[-1]
    details.update(status=last.status, counted=hub.counted(TOKEN) - counted_before)
    if hub.upstream_count() - upstream_before != 1:
        raise CheckFailed("the expired entry was not revalidated with one upstream request")
    if last.status != 304:
        raise CheckFailed(f"revalidating the expired entry got HTTP {last.status}, not 304")
    if not any(name.lower() == "if-none-match" for name in last.headers):
        raise CheckFailed("the revalidation request carried no If-None-Match")
    if hub.counted(TOKEN) != counted_before:
        raise CheckFailed("the 304 was counted against the rate limit")
    if second != first:
        raise CheckFailed("the revalidated answer differs from the stored one")
    if a.stats()["revalidated"] != revalidated_before + 1:
        raise CheckFailed("peer-a did not count the revalidation")
    return f"expired `{ISSUE}` revalidated with If-None-Match: 304, not counted against the limit"


def step_shared(sc: Scenario, details: dict[str, Any]) -> str:
    """peer-a's entry on peer-b: trusted as is in ``team`` mode; in ``verified`` mode (the
    default) another identity gets it only after GitHub confirms it with a free 304."""
    sc.peer("peer-a")  # skipped, not failed, when peer-a never ran
    b, hub = sc.peer("peer-b"), sc.hub
    if sc.repo_output is None:
        raise CheckSkipped("nothing was cached on peer-a")
    pushed = sc.repo_key is not None and b.cache_dir.joinpath(f"gh_api_{sc.repo_key}.json").exists()
    before = len(hub.requests)
    trusted = api(b, REPO, env={"CACHE_SHARING": "team"})
    details.update(team_upstream=len(hub.requests) - before, pushed_before_call=pushed)
    if len(hub.requests) != before:
        raise CheckFailed(
            f"peer-b went upstream ({len(hub.requests) - before} request(s)) "
            "instead of using peer-a's entry (CACHE_SHARING=team)"
        )
    if trusted != sc.repo_output:
        raise CheckFailed("peer-b printed a different answer than peer-a")
    if b.counters().get("entries_accepted", 0) < 1:
        raise CheckFailed("peer-b's daemon accepted no entry from peer-a")
    confirmed = api(b, REPO, env={"GH_TOKEN": "ghp_bob"})
    sent = hub.requests[before:]
    details.update(verified_requests=[(r.status, r.counted, r.login) for r in sent])
    if confirmed != sc.repo_output:  # bob is shown the same body (no repository of his)
        raise CheckFailed("peer-b printed bob another answer than GitHub gave alice")
    if len(sent) != 1 or sent[0].status != 304 or sent[0].counted:
        raise CheckFailed(
            "bob's call on peer-b should confirm peer-a's copy with one free 304, "
            f"got {[(r.status, r.counted) for r in sent]}"
        )
    how = "pushed to it by gossip" if pushed else "fetched from peer-a on the miss"
    return (
        f"peer-b answered `{REPO}` from peer-a's entry ({how}, sealed with the secret): "
        "0 requests trusting the teammate (CACHE_SHARING=team); for another token (bob), "
        "1 conditional request answered 304, 0 rate-limit units (verified, the default)"
    )


def step_outsider(sc: Scenario, details: dict[str, Any]) -> str:
    from ghcache.validate.outsider import fetch_with_secret

    a, outsider, hub = sc.peer("peer-a"), sc.peer("outsider"), sc.hub
    if sc.repo_key is None:
        raise CheckSkipped("nothing was cached on peer-a")
    if outsider.cache_dir.joinpath(f"gh_api_{sc.repo_key}.json").exists():
        raise CheckFailed("the outsider received peer-a's entry")
    refused_before = sum(a.refused().values())
    if fetch_with_secret(a.address, sc.repo_key, sc.outsider_secret):
        raise CheckFailed("peer-a answered a fetch sealed with another secret")
    refused = wait_for(
        lambda: sum(a.refused().values()) - refused_before, 5.0, "peer-a to count the refusal"
    )
    before = hub.upstream_count()
    api(outsider, REPO)
    went_upstream = hub.upstream_count() - before
    counters = outsider.counters()
    details.update(
        refused_by_peer_a=a.refused(),
        outsider_upstream=went_upstream,
        outsider_accepted=counters.get("entries_accepted", 0),
    )
    if went_upstream != 1:
        raise CheckFailed(f"the outsider's call made {went_upstream} upstream requests, not 1")
    if counters.get("entries_accepted", 0) or counters.get("lookup_peer_hits", 0):
        raise CheckFailed(f"the outsider's daemon took entries from the team ({counters})")
    return (
        f"the outsider's fetch was refused (peer-a counted {refused} bad_envelope); "
        "it got nothing and had to ask GitHub itself"
    )


def step_stale(sc: Scenario, details: dict[str, Any]) -> str:
    a, hub = sc.peer("peer-a"), sc.hub
    short = {"CACHE_DEFAULT_TTL": str(SHORT_TTL)}
    stored = api(a, ISSUE, env=short)  # fresh, or refreshed by a 304
    time.sleep(SHORT_TTL + 0.1)
    hub.exhaust(TOKEN)
    try:
        before, stale_before = hub.upstream_count(), a.stats()["stale_served"]
        limited = call(a, ISSUE, **short)
        first_trip = hub.upstream_count() - before
        again = call(a, ISSUE, **short)
        second_trip = hub.upstream_count() - before - first_trip
    finally:
        hub.reset_limits()
    details.update(
        upstream=[first_trip, second_trip], notice=limited.stderr.strip(), exit=limited.returncode
    )
    for done in (limited, again):
        if done.returncode != 0:
            raise CheckFailed(
                f"while rate limited `ghcache api` exited {done.returncode}: "
                f"{' '.join(done.stderr.split())[-200:]}"
            )
        if done.stdout != stored:
            raise CheckFailed("the stale answer differs from the stored one")
    if "cached answer" not in limited.stderr:
        raise CheckFailed("no notice on stderr that the answer is stale")
    if first_trip != 1 or second_trip != 0:
        raise CheckFailed(
            f"upstream requests while limited: {first_trip} then {second_trip} (want 1 then 0)"
        )
    if a.stats()["stale_served"] != stale_before + 2:
        raise CheckFailed("peer-a did not count both stale answers")
    return (
        "rate limited (403): the expired entry was served with a notice; "
        "the next call did not ask GitHub again"
    )


STEPS: tuple[tuple[str, Callable[[Scenario, dict[str, Any]], str]], ...] = (
    ("simulated GitHub", step_hub),
    ("cache directories", step_cache_dirs),
    ("daemons", step_daemons),
    ("cached call", step_cached_call),
    ("ETag revalidation", step_revalidation),
    ("shared to a peer", step_shared),
    ("wrong secret refused", step_outsider),
    ("stale while rate limited", step_stale),
)


def run_local(
    *,
    workdir: Path | None = None,
    keep: bool = False,
    on_result: Callable[[CheckResult], None] | None = None,
) -> Report:
    """Run the scenario; every process it started is stopped before this returns."""
    report = Report("ghcache verify --local")
    ctx = Context.from_env()
    report.run("dependencies", lambda d: check_dependencies(ctx, d), on_result)
    if not report.ok:
        return report
    if workdir is not None:
        workdir = workdir / f"ghcv-{secrets.token_hex(3)}"  # short: socket paths max ~100
    with LocalNetwork(workdir, keep=keep) as net:
        scenario = Scenario(net)
        for name, step in STEPS:
            report.run(name, lambda d, s=step: s(scenario, d), on_result)  # type: ignore[misc]
        if keep:
            report.results[-1].details["kept"] = str(net.root)
    return report


def _stored_key(peer: Peer, url: str) -> str | None:
    from ghcache.core.store import DiskStore

    for entry in DiskStore(peer.cache_dir).entries():
        if entry.url == url:
            return entry.key
    return None
