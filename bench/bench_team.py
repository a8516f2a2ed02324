"""A team's workload: rate-limit units of gh's cache, ghcache, and ghcache with per-job CI tokens.

Run: ``python bench/bench_team.py`` (about 4.5 minutes on two busy cores; ``--quick``:
120 calls over 20 s, about 3).  127.0.0.1 only.

Ten machines share the simulated GitHub (fakehub on 127.0.0.1): eight developers
(one fixed token each) and two CI runners (user ``github-actions``).  Every
machine has its own cache directory, ``GH_CONFIG_DIR`` and ``TMPDIR`` (where gh
keeps its cache) and, for ghcache, its own real p2p daemon on 127.0.0.1; the ten
daemons share one ``CACHE_SHARED_SECRET`` and are bootstrapped to each other
(each dials those started before it: a full mesh).  A seeded schedule
(``--seed``) of 350 GET calls over compressed time (``--duration`` 45 s,
``CACHE_DEFAULT_TTL=--ttl`` 3 s) reads ``octo/hello`` and ``octo/big``
(repository, issue lists, issues, pulls); alice also reads her private
``alice/private-notes``.  A quarter of the calls come from CI jobs, bursts of
3-4 calls.  Meanwhile issues are edited at scheduled points (in the hub's
state, as by someone outside the team), so repositories, lists and issues change.

The same schedule runs three times, each on a fresh hub with empty caches:

1. ``gh api --cache <TTL>s`` on every machine (gh's own cache, per machine);
2. ``ghcache`` (``CACHE_SHARING=verified``, the default) with fixed CI tokens;
3. ``ghcache`` with a new token for every CI job (as GitHub Actions mints a
   ``GITHUB_TOKEN`` per job): every job is a new identity.

Runs 2 and 3 use the same ten daemons (started once, every store emptied in
between).  Calls are made by one worker process per machine with the machine's
environment: by default through core's ``CachingClient`` (what ``ghcache api``
runs, without the process start-up: a ``ghcache api`` that cannot take the
fast path costs about a second of CPU, too much for 700 calls on two cores);
``--cli`` makes them real ``ghcache api`` processes.  An edit waits until the
calls in flight have finished and later calls wait for the edit, so every run
sees the same versions.

Per run it reports the rate-limit units counted by the hub (all tokens), the
lower bound (one 200 per resource version the team asked for: distinct
(endpoint, body) pairs over the calls), their ratio (target <= 1.1 for both
ghcache runs), requests that reached the hub, 304s among them, and answers
older than the TTL (the body differs from what GitHub would have given at that
moment and the resource changed more than TTL seconds before the call).  A
breakdown says where answers came from, what each counted request was, and
what the daemons did.

Last, the latency a verified peer hit adds over a trusted one: carol fetches an
issue; once her copy is in a teammate's store (gossip, else a lookup) the
teammate asks for it with ``CACHE_SHARING=verified`` (a confirmation: one 304)
or ``CACHE_SHARING=team`` (no request), as a whole ``ghcache api`` process and
in process (``CachingClient.request``; also without the peer lookup that a
confirmation makes first), ``--samples`` (20) of each.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import queue
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import parse_qsl

ROOT = Path(__file__).resolve().parent.parent
HELPERS = ROOT / "packages" / "ghcache-p2p" / "tests"
TARGET_RATIO = 1.1
API_BASE = (
    "http://api.github.localhost/"  # what gh and ghcache ask for with GH_HOST=github.localhost
)

DEVELOPERS = ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi")
CI_RUNNERS = ("ci1", "ci2")
CI_LOGIN = "github-actions"

# What developers read, with weights.  Issue 47 is a pull request (its issue and pull views).
DEV_ENDPOINTS: dict[str, int] = {
    "repos/octo/hello": 14,
    "repos/octo/hello/issues": 10,
    "repos/octo/hello/pulls": 8,
    "repos/octo/hello/pulls/47": 6,
    "repos/octo/hello/issues/47": 4,
    "repos/octo/hello/issues/24": 5,
    "repos/octo/hello/issues/3": 5,
    "repos/octo/hello/issues/7": 3,
    "repos/octo/big": 8,
    "repos/octo/big/issues?per_page=20": 6,
    "repos/octo/big/issues/215": 4,
    "repos/octo/big/issues/100": 3,
    "repos/octo/big/issues/1": 2,
}
# Readable by alice alone: only her calls ask for them.
PRIVATE_ENDPOINTS: dict[str, int] = {
    "repos/alice/private-notes": 6,
    "repos/alice/private-notes/issues/1": 4,
}
CI_JOBS: tuple[tuple[str, ...], ...] = (
    (
        "repos/octo/hello",
        "repos/octo/hello/pulls",
        "repos/octo/hello/pulls/47",
        "repos/octo/hello/issues/47",
    ),
    ("repos/octo/hello", "repos/octo/hello/issues", "repos/octo/hello/issues/24"),
    ("repos/octo/big", "repos/octo/big/issues?per_page=20", "repos/octo/big/issues/215"),
)
CI_CALL_GAP = 0.25  # seconds between the calls of one CI job
# Issues edited during the run (repository, number, weight); each edit changes the issue, the
# repository's updated_at and the lists showing the issue.
EDITS: tuple[tuple[str, int, int], ...] = (
    ("octo/hello", 47, 3),
    ("octo/hello", 24, 3),
    ("octo/hello", 3, 2),
    ("octo/big", 215, 2),
    ("octo/big", 100, 1),
    ("alice/private-notes", 1, 1),
)
LATENCY_FIRST_ISSUE = 110  # octo/big issues used by the latency part, none in the schedule


# -- the schedule ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Call:
    at: float  # seconds after the start
    machine: str
    endpoint: str
    job: int | None = None  # CI job number


@dataclass(frozen=True)
class Edit:
    at: float
    repo: str
    number: int


@dataclass
class Schedule:
    calls: list[Call]
    edits: list[Edit]
    jobs: int


def make_schedule(seed: int, calls: int, duration: float) -> Schedule:
    rng = random.Random(seed)
    ci_share = 0.25
    job_lengths = [len(j) for j in CI_JOBS]
    n_jobs = max(2, round(calls * ci_share / statistics.mean(job_lengths)))
    out: list[Call] = []
    # CI: jobs alternate between the runners, starts spread evenly with jitter (a runner
    # runs one job at a time).
    slot = (duration - 2.0) / n_jobs
    ci_calls = 0
    for job in range(n_jobs):
        start = 1.0 + job * slot + rng.uniform(0, max(0.0, slot - 1.2))
        runner = CI_RUNNERS[job % len(CI_RUNNERS)]
        for i, endpoint in enumerate(rng.choice(CI_JOBS)):
            out.append(Call(round(start + i * CI_CALL_GAP, 3), runner, endpoint, job))
            ci_calls += 1
    # Developers: some busier than others, calls at random moments.
    busy = [rng.uniform(0.5, 1.5) for _ in DEVELOPERS]
    for _ in range(calls - ci_calls):
        dev = rng.choices(DEVELOPERS, busy)[0]
        menu = dict(DEV_ENDPOINTS)
        if dev == "alice":
            menu |= PRIVATE_ENDPOINTS
        endpoint = rng.choices(list(menu), list(menu.values()))[0]
        out.append(Call(round(rng.uniform(0.3, duration), 3), dev, endpoint))
    out.sort(key=lambda c: (c.at, c.machine))
    n_edits = max(3, round(duration / 3.5))
    edits = sorted(
        (
            Edit(round(rng.uniform(1.5, duration - 0.5), 3), repo, number)
            for repo, number, _ in rng.choices(EDITS, [w for *_, w in EDITS], k=n_edits)
        ),
        key=lambda e: e.at,
    )
    return Schedule(out, edits, n_jobs)


# -- GitHub's side: tokens, edits and the versions of every endpoint -------------------------


def digest(body: bytes) -> str:
    """The body as JSON with sorted keys (gh and ghcache may format it differently), hashed."""
    try:
        canonical = json.dumps(
            json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    except ValueError:
        canonical = body
    return hashlib.sha256(canonical).hexdigest()[:20]


def token_of(login: str) -> str:
    return f"ghp_{login}"


def fixed_token(machine: str) -> str:
    return token_of(machine) if machine in DEVELOPERS else f"ghs_{machine}_fixed"


def job_token(job: int) -> str:
    return f"ghs_job{job:03d}"


def login_of(machine: str) -> str:
    return machine if machine in DEVELOPERS else CI_LOGIN


class Versions:
    """Every endpoint's body as GitHub would give it now, and since when (rendered in process)."""

    def __init__(self, hub: Any, endpoints: list[str]) -> None:
        self.hub = hub
        self.endpoints = endpoints
        self.history: dict[str, list[tuple[float, str]]] = {}
        self.refresh(0.0)

    def render(self, endpoint: str) -> str:
        from ghcache.fakehub.rest import RestRequest
        from ghcache.fakehub.schema import Bases
        from ghcache.fakehub.server import compact

        path, _, query = endpoint.partition("?")
        with self.hub.lock:
            viewer = self.hub.world.user(
                "alice"
            )  # sees everything; octo's bodies are alike for all
            request = RestRequest(
                "GET",
                "/" + path,
                parse_qsl(query, keep_blank_values=True),
                b"",
                viewer,
                Bases.for_api(API_BASE),
                self.hub.now(),
            )
            reply = self.hub.router.handle(request)
        if reply.status != 200:
            raise SystemExit(f"bench_team: {endpoint} renders {reply.status}")
        return digest(compact(reply.body))

    def refresh(self, now: float) -> None:
        for endpoint in self.endpoints:
            current = self.render(endpoint)
            versions = self.history.setdefault(endpoint, [])
            if not versions or versions[-1][1] != current:
                versions.append((now, current))

    def current(self, endpoint: str) -> str:
        return self.history[endpoint][-1][1]

    def index(self, endpoint: str, body_digest: str) -> int | None:
        for i, (_, d) in enumerate(self.history[endpoint]):
            if d == body_digest:
                return i
        return None

    def changed_at(self, endpoint: str, index: int) -> float:
        return self.history[endpoint][index][0]


def edit_issue(hub: Any, edit: Edit, count: int) -> None:
    owner, name = edit.repo.split("/")
    with hub.lock:
        repo = hub.world.repo(owner, name)
        issue = repo.issues[edit.number]
        text = f"Body of issue {edit.number}, edited by the team workload ({count})."
        hub.world.update_issue(repo, issue, {"body": text}, hub.now())


# -- machines: environment, daemon, worker ----------------------------------------------------


def clean_env() -> dict[str, str]:
    drop = ("CACHE_", "GH_", "GHCACHE_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    for name in (
        "GITHUB_TOKEN",
        "GITHUB_API_URL",
        "HTTPS_PROXY",
        "https_proxy",
        "ALL_PROXY",
        "all_proxy",
        "CLICOLOR_FORCE",
    ):
        env.pop(name, None)
    return env


def free_ports(count: int, rng: random.Random) -> list[int]:
    """Ports free now, below Linux's ephemeral range (32768-60999): outgoing connections of
    other processes cannot take them between this check and the daemons' start."""
    ports: list[int] = []
    while len(ports) < count:
        port = rng.randrange(20000, 32000)
        if port in ports:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        ports.append(port)
    return ports


class Worker:
    """``python bench_team.py --worker``: one machine's calls, made one after the other."""

    def __init__(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker"],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            bufsize=1,
        )

    def ask(self, message: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(message) + "\n")
        self.process.stdin.flush()
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"bench_team: a worker died (exit {self.process.poll()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)


@dataclass
class Machine:
    name: str
    home: Path
    base_env: dict[str, str]  # the machine's environment without the hub
    daemon: Any = None  # p2p_helpers.Daemon
    worker: Worker | None = None
    env: dict[str, str] = field(default_factory=dict)  # base_env with the run's hub

    @property
    def cache_dir(self) -> Path:
        return self.home / "cache"


def identity_peer_id(cache_dir: Path) -> str:
    """Create the daemon's identity ahead of its start, so every bootstrap list is known."""
    from libp2p.peer.id import ID

    from ghcache.p2p.identity import load_key_pair

    cache_dir.mkdir(parents=True, exist_ok=True)
    return str(ID.from_pubkey(load_key_pair(cache_dir).public_key).to_base58())


def make_machines(
    root: Path, ttl: int, *, daemons: bool, peer_timeout_ms: int | None
) -> list[Machine]:
    """The ten machines' directories and environments (and daemons, not started)."""
    from p2p_helpers import SECRET, Daemon, base_env

    names = [*DEVELOPERS, *CI_RUNNERS]
    ports = dict(zip(names, free_ports(len(names), random.Random()), strict=True))
    peer_ids = {name: identity_peer_id(root / name / "cache") for name in names} if daemons else {}
    outside = clean_env()
    machines = []
    for name in names:
        home = root / name
        (home / "tmp").mkdir(parents=True, exist_ok=True)
        (home / "cache").mkdir(parents=True, exist_ok=True)
        extra = {"CACHE_DEFAULT_TTL": str(ttl)}
        if peer_timeout_ms is not None:
            extra["CACHE_PEER_TIMEOUT_MS"] = str(peer_timeout_ms)
        if daemons:
            # Each dials those started before it, never both ways: simultaneous dials between
            # two starting daemons can leave a connection whose streams time out.
            others = names[: names.index(name)]
            extra["CACHE_BOOTSTRAP_PEERS"] = ",".join(
                f"/ip4/127.0.0.1/tcp/{ports[n]}/p2p/{peer_ids[n]}" for n in others
            )
            extra["CACHE_LISTEN_PORT"] = str(ports[name])
        else:
            extra["CACHE_ENABLE_P2P"] = "false"
        env = {k: v for k, v in base_env(SECRET, **extra).items() if k in outside or k in extra}
        env |= {k: v for k, v in base_env(SECRET).items() if k.startswith("CACHE_")}
        env |= extra
        machine = Machine(name, home, env)
        if daemons:
            machine.daemon = Daemon(home / "cache", env)
        machines.append(machine)
    return machines


def start_daemons(machines: list[Machine]) -> None:
    import p2p_helpers

    p2p_helpers.START_TIMEOUT = 120.0  # ten daemons starting at once on two busy cores
    with ThreadPoolExecutor(len(machines)) as pool:
        list(pool.map(lambda m: m.daemon.start(), machines))
    wait_for_mesh(machines)


def stop_daemons(machines: list[Machine]) -> None:
    for machine in machines:
        if machine.daemon is not None:
            machine.daemon.stop()


def start_workers(machines: list[Machine], hub: Any) -> None:
    for machine in machines:
        machine.env = {
            **machine.base_env,
            **hub.gh_env(str(machine.home / "gh-config"), fixed_token(machine.name)),
            "CACHE_DIR": str(machine.cache_dir),
            "TMPDIR": str(machine.home / "tmp"),  # gh's cache is $TMPDIR/gh-cli-cache
        }
        machine.worker = Worker(machine.env)


def stop_workers(machines: list[Machine]) -> None:
    for machine in machines:
        if machine.worker is not None:
            machine.worker.close()
            machine.worker = None


def clear_caches(machines: list[Machine]) -> None:
    """Every machine's entries go (the daemons keep running): the next run starts cold."""
    from ghcache.core.store import DiskStore

    for machine in machines:
        DiskStore(machine.cache_dir).clear()
        shutil.rmtree(machine.home / "tmp" / "gh-cli-cache", ignore_errors=True)


def wait_for_mesh(machines: list[Machine], timeout: float = 60.0) -> None:
    """Until every daemon sees all the others on the team topic; on a busy machine some
    connections drop and come back, so after ``timeout`` three peers each are enough."""
    daemons = [m.daemon for m in machines]
    wanted = len(daemons) - 1
    deadline = time.monotonic() + timeout
    while True:
        seen = [len(d.topic_peers()) for d in daemons]
        if min(seen) >= wanted:
            break
        if time.monotonic() > deadline:
            if min(seen) < 3:
                raise SystemExit(f"bench_team: the daemons did not form a mesh: {seen}")
            print(f"  (mesh not full after {timeout:.0f} s: topic peers per daemon {seen})")
            break
        time.sleep(0.2)
    time.sleep(2.0)  # a couple of gossipsub heartbeats: meshes formed


def warm_up(machines: list[Machine], how: str) -> None:
    """One call per machine outside the schedule: imports, plugins and connections ready."""

    def warm(machine: Machine) -> None:
        assert machine.worker is not None
        answer = machine.worker.ask(
            {
                "op": "call",
                "how": how,
                "endpoint": "repos/octo/empty",
                "token": fixed_token(machine.name),
                "gh_cache": "1s",
            }
        )
        if not answer.get("ok"):
            raise SystemExit(f"bench_team: warm-up on {machine.name} failed: {answer}")

    with ThreadPoolExecutor(len(machines)) as pool:
        list(pool.map(warm, machines))


# -- one run ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class RunConfig:
    label: str
    how: str  # "gh", "client" or "cli"
    per_job_tokens: bool = False

    @property
    def ghcache(self) -> bool:
        return self.how != "gh"


@dataclass
class Result:
    call: Call
    token: str
    start: float
    end: float
    ok: bool
    source: str
    digest: str
    expected: str
    error: str = ""
    held: str | None = None  # digest of the body this machine's store held before the call
    records: list[Any] = field(default_factory=list)


class Runner:
    """Plays a schedule against the machines: calls on time, edits between calls."""

    def __init__(
        self,
        schedule: Schedule,
        machines: list[Machine],
        config: RunConfig,
        hub: Any,
        versions: Versions,
        ttl: int,
    ) -> None:
        self.schedule = schedule
        self.machines = {m.name: m for m in machines}
        self.config = config
        self.hub = hub
        self.versions = versions
        self.ttl = ttl
        self.results: list[Result] = []
        self.lock = threading.Lock()
        self.idle = threading.Condition(self.lock)
        self.in_flight = 0
        self.queues: dict[str, queue.Queue[Call | None]] = {m: queue.Queue() for m in self.machines}
        self.lag: list[float] = []
        self.started = 0.0

    def token_for(self, call: Call) -> str:
        if call.job is not None and self.config.per_job_tokens:
            return job_token(call.job)
        return fixed_token(call.machine)

    def serve(self, name: str) -> None:
        worker = self.machines[name].worker
        assert worker is not None
        while (call := self.queues[name].get()) is not None:
            token = self.token_for(call)
            message: dict[str, Any] = {
                "op": "call",
                "how": self.config.how,
                "endpoint": call.endpoint,
                "token": token,
                "gh_cache": f"{self.ttl}s",
                "held": self.config.ghcache,
            }
            answer = worker.ask(message)
            expected = self.versions.current(call.endpoint)  # no edit while a call is in flight
            result = Result(
                call,
                token,
                answer.get("start", 0.0),
                answer.get("end", 0.0),
                bool(answer.get("ok")),
                answer.get("source", ""),
                answer.get("digest", ""),
                expected,
                answer.get("error", ""),
                held=answer.get("held"),
            )
            with self.lock:
                self.results.append(result)
                self.lag.append(result.start - (self.started + call.at))
                self.in_flight -= 1
                self.idle.notify_all()

    def run(self) -> list[Result]:
        events: list[tuple[float, int, Call | Edit]] = [(c.at, 1, c) for c in self.schedule.calls]
        events += [(e.at, 0, e) for e in self.schedule.edits]
        events.sort(key=lambda e: (e[0], e[1]))
        threads = [
            threading.Thread(target=self.serve, args=(name,), daemon=True) for name in self.machines
        ]
        for thread in threads:
            thread.start()
        self.started = time.time() + 0.2
        edits = 0
        for at, _, event in events:
            delay = self.started + at - time.time()
            if delay > 0:
                time.sleep(delay)
            if isinstance(event, Edit):
                with self.lock:
                    while self.in_flight:
                        self.idle.wait()
                    edits += 1
                    edit_issue(self.hub, event, edits)
                    self.versions.refresh(time.time())
            else:
                with self.lock:
                    self.in_flight += 1
                self.queues[event.machine].put(event)
        for name in self.machines:
            self.queues[name].put(None)
        for thread in threads:
            thread.join()
        self.results.sort(key=lambda r: r.start)
        return self.results


# -- what a run cost --------------------------------------------------------------------------


@dataclass
class Report:
    config: RunConfig
    calls: int
    units: int
    lower_bound: int
    requests: int
    not_modified: int
    stale_over_ttl: int
    stale_within_ttl: int
    unrecognised: int
    errors: int
    unattributed: int
    wall: float
    lag_p95: float
    sources: Counter[str]
    unit_reasons: Counter[str]
    redundant_gaps: list[float]
    redundant_detail: Counter[str]
    by_kind: Counter[str]
    error_samples: list[str]
    p2p: Counter[str] = field(default_factory=Counter)  # the daemons' counters, summed

    @property
    def ratio(self) -> float:
        return self.units / self.lower_bound if self.lower_bound else float("nan")


def analyse(
    config: RunConfig,
    results: list[Result],
    records: list[Any],
    versions: Versions,
    ttl: int,
    wall: float,
    lag: list[float],
) -> Report:
    by_token: dict[str | None, list[Any]] = defaultdict(list)
    for record in records:
        by_token[record.token].append(record)
    # A machine makes its calls one after the other, and tokens are per machine (per job):
    # a request belongs to the call of its token that was under way when the hub got it.
    taken: set[int] = set()
    for result in results:
        mine = [
            r
            for r in by_token.get(result.token, [])
            if id(r) not in taken and result.start - 0.002 <= r.time <= result.end + 0.002
        ]
        taken.update(id(r) for r in mine)
        result.records = mine
    attributed = len(taken)

    lower = {(r.call.endpoint, r.expected) for r in results}
    first_fetch: dict[tuple[str, str], tuple[float, str]] = {}
    reasons: Counter[str] = Counter()
    detail: Counter[str] = Counter()
    gaps: list[float] = []
    sources: Counter[str] = Counter()
    by_kind: Counter[str] = Counter()
    stale_over = stale_within = unrecognised = errors = 0
    error_samples: list[str] = []
    counted: list[tuple[Any, Result]] = []
    for result in results:
        if not result.ok:
            errors += 1
            if len(error_samples) < 3:
                error_samples.append(
                    f"{result.call.machine} {result.call.endpoint}: {result.error}"
                )
            continue
        statuses = [r.status for r in result.records]
        source = result.source or (
            "no request" if not statuses else "/".join(str(s) for s in statuses)
        )
        sources[source] += 1
        counted += [(record, result) for record in result.records if record.counted]
        if result.digest != result.expected:
            index = versions.index(result.call.endpoint, result.digest)
            if index is None:
                unrecognised += 1
                continue
            replaced_at = versions.changed_at(result.call.endpoint, index + 1)
            if result.start - replaced_at > ttl:
                stale_over += 1
            else:
                stale_within += 1
    # What each counted request was, in the order the hub received them.
    for record, result in sorted(counted, key=lambda pair: pair[0].time):
        by_kind["CI" if result.call.job is not None else "developers"] += 1
        key = (result.call.endpoint, result.expected)
        if key not in first_fetch:
            first_fetch[key] = (record.time, result.call.machine)
            reasons["first 200 of a version (the lower bound)"] += 1
            continue
        first_time, first_machine = first_fetch[key]
        gap = record.time - first_time
        gaps.append(gap)
        if not config.ghcache:
            what = "no copy of it here"
        elif result.held is None:
            what = "no copy here"
        elif result.held == result.expected:
            what = "this very version here (!)"
        elif "If-Modified-Since" in record.headers:  # core sends it for its own copy only
            what = "its own older version here (revalidated; no peer lookup first)"
        else:
            what = "a teammate's older version here (confirmed after a peer lookup)"
        who = "this machine" if first_machine == result.call.machine else "another machine"
        reasons[f"again a version {who} had fetched; {what}"] += 1
        bucket = "<0.5 s" if gap < 0.5 else f"<{ttl} s (TTL)" if gap < ttl else ">= TTL"
        detail[f"{bucket} after the version's first fetch"] += 1
    ordered = sorted(lag)
    return Report(
        config=config,
        calls=len(results),
        units=sum(1 for r in records if r.counted),
        lower_bound=len(lower),
        requests=len(records),
        not_modified=sum(1 for r in records if r.status == 304),
        stale_over_ttl=stale_over,
        stale_within_ttl=stale_within,
        unrecognised=unrecognised,
        errors=errors,
        unattributed=len(records) - attributed,
        wall=wall,
        lag_p95=ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] if ordered else 0.0,
        sources=sources,
        unit_reasons=reasons,
        redundant_gaps=gaps,
        redundant_detail=detail,
        by_kind=by_kind,
        error_samples=error_samples,
    )


@contextmanager
def hub_with_tokens(schedule: Schedule) -> Iterator[Any]:
    """A fresh simulated GitHub that knows every token of the schedule."""
    from ghcache.fakehub import FakeHub

    with FakeHub() as hub:
        for login in DEVELOPERS:
            hub.add_token(token_of(login), login)
        for runner in CI_RUNNERS:
            hub.add_token(fixed_token(runner), CI_LOGIN)
        for job in range(schedule.jobs):
            hub.add_token(job_token(job), CI_LOGIN)
        yield hub


P2P_COUNTERS = (
    "announcements_sent",
    "announcements_received",
    "entries_accepted",
    "duplicates",
    "announce_dropped",
    "lookups",
    "lookup_local_hits",
    "lookup_peer_hits",
    "fetches_made",
    "fetch_hits",
    "fetches_not_found",
)


def p2p_counters(machines: list[Machine]) -> Counter[str]:
    total: Counter[str] = Counter()
    for machine in machines:
        if machine.daemon is not None:
            status = machine.daemon.status()
            total.update({k: v for k, v in status["counters"].items() if k in P2P_COUNTERS})
            total.update({f"refused {k}": v for k, v in status["refused"].items() if v})
    return total


def play(
    config: RunConfig, schedule: Schedule, hub: Any, machines: list[Machine], ttl: int
) -> Report:
    endpoints = sorted({c.endpoint for c in schedule.calls})
    warm_up(machines, config.how)
    versions = Versions(hub, endpoints)
    time.sleep(0.5)
    hub.clear_log()
    before = p2p_counters(machines)
    runner = Runner(schedule, machines, config, hub, versions, ttl)
    started = time.perf_counter()
    results = runner.run()
    wall = time.perf_counter() - started
    report = analyse(config, results, hub.requests, versions, ttl, wall, runner.lag)
    report.p2p = p2p_counters(machines) - before
    return report


def run_once(config: RunConfig, schedule: Schedule, machines: list[Machine], ttl: int) -> Report:
    return run_once_with_latency(config, schedule, machines, ttl, 0)[0]


def run_once_with_latency(
    config: RunConfig, schedule: Schedule, machines: list[Machine], ttl: int, samples: int
) -> tuple[Report, Latency | None]:
    """The schedule on a fresh hub with fresh workers; then, if asked, the peer-hit latency."""
    with hub_with_tokens(schedule) as hub:
        start_workers(machines, hub)
        try:
            report = play(config, schedule, hub, machines, ttl)
            print(
                f"{config.label}: schedule played in {report.wall:.0f} s"
                f" (load average {os.getloadavg()[0]:.1f})"
            )
            latency = peer_hit_latency(hub, machines, samples) if samples else None
        finally:
            stop_workers(machines)
    return report, latency


# -- verified vs trusted peer hit ---------------------------------------------------------------


@dataclass(frozen=True)
class Role:
    label: str
    how: str  # "cli" (a ghcache api process) or "client" (CachingClient.request)
    env: tuple[tuple[str, str], ...]


LATENCY_ROLES = (
    Role("ghcache api, CACHE_SHARING=team", "cli", (("CACHE_SHARING", "team"),)),
    Role("ghcache api, CACHE_SHARING=verified", "cli", (("CACHE_SHARING", "verified"),)),
    Role("CachingClient.request, team", "client", (("CACHE_SHARING", "team"),)),
    Role("CachingClient.request, verified", "client", (("CACHE_SHARING", "verified"),)),
    Role(
        "  the same, CACHE_ENABLE_P2P=false",
        "client",
        (("CACHE_SHARING", "verified"), ("CACHE_ENABLE_P2P", "false")),
    ),
)
LATENCY_READERS = ("bob", "dave", "erin", "frank", "grace")


@dataclass
class Latency:
    times: dict[str, list[float]] = field(default_factory=dict)  # role label -> seconds
    requests: dict[str, Counter[str]] = field(default_factory=dict)  # role label -> statuses
    delivery: Counter[str] = field(default_factory=Counter)  # how carol's copies arrived
    gossip_ms: list[float] = field(default_factory=list)  # her fetch -> their store


def peer_hit_latency(hub: Any, machines: list[Machine], samples: int) -> Latency:
    """carol fetches an issue nobody has read; once her copy is in five teammates' stores,
    each reads it in one of the roles (which rotate every round)."""
    by_name = {m.name: m for m in machines}
    carol = by_name["carol"]
    readers = [by_name[name] for name in LATENCY_READERS]
    out = Latency()
    ghcache = Path(sys.executable).parent / "ghcache"
    if not ghcache.exists() and shutil.which("ghcache") is None:
        raise SystemExit(
            "bench_team: ghcache is not installed (pip install ./packages/ghcache-cli)"
        )

    def ask(machine: Machine, message: dict[str, Any]) -> dict[str, Any]:
        assert machine.worker is not None
        return machine.worker.ask(message)

    def delivered(endpoint: str, fetched_at: float) -> list[Machine]:
        """The readers whose store holds carol's copy: by gossip within 2 s, else by a
        lookup as a miss makes (5 s at most, all at once)."""
        keys = {
            m.name: ask(m, {"op": "key", "endpoint": endpoint, "token": fixed_token(m.name)})["key"]
            for m in readers
        }
        waiting = {m.name for m in readers}
        deadline = time.monotonic() + 2.0
        while waiting and time.monotonic() < deadline:
            for m in readers:
                if m.name in waiting and m.daemon.has(keys[m.name]):
                    waiting.discard(m.name)
                    out.delivery["gossip"] += 1
                    out.gossip_ms.append((time.time() - fetched_at) * 1000)
            time.sleep(0.002)
        late = [m for m in readers if m.name in waiting]
        with ThreadPoolExecutor(len(late) or 1) as pool:
            list(pool.map(lambda m: m.daemon.lookup(keys[m.name]), late))
        for m in late:
            if m.daemon.has(keys[m.name]):
                waiting.discard(m.name)
                out.delivery["lookup (5 s)"] += 1
            else:
                out.delivery["neither (sample skipped)"] += 1
        return [m for m in readers if m.name not in waiting]

    # Warm the readers' in-process clients (imports, plugins) for every role.
    for reader in readers:
        for role in LATENCY_ROLES:
            ask(
                reader,
                {
                    "op": "call",
                    "how": "client",
                    "endpoint": "repos/octo/empty",
                    "token": fixed_token(reader.name),
                    "env": dict(role.env),
                },
            )
    for round_number in range(samples):
        endpoint = f"repos/octo/big/issues/{LATENCY_FIRST_ISSUE + round_number}"
        fetched = ask(
            carol,
            {
                "op": "call",
                "how": "client",
                "endpoint": endpoint,
                "token": fixed_token(carol.name),
                "ttl": 60,  # fresh through the round, whatever the gossip takes
            },
        )
        if fetched.get("source") != "upstream":
            raise SystemExit(f"bench_team: carol's fetch of {endpoint} was {fetched}")
        ready = delivered(endpoint, fetched["end"])
        for index, reader in enumerate(readers):
            if reader not in ready:
                continue
            role = LATENCY_ROLES[(index + round_number) % len(LATENCY_ROLES)]
            before = len(hub.requests)
            answer = ask(
                reader,
                {
                    "op": "call",
                    "how": role.how,
                    "endpoint": endpoint,
                    "token": fixed_token(reader.name),
                    "env": dict(role.env),
                },
            )
            if not answer.get("ok"):
                raise SystemExit(f"bench_team: {reader.name}'s {role.label} failed: {answer}")
            seen = out.requests.setdefault(role.label, Counter())
            records = hub.requests[before:]
            for record in records:
                seen[str(record.status)] += 1
            if not records:
                seen["no request"] += 1
            out.times.setdefault(role.label, []).append(answer["elapsed"])
    return out


# -- the worker (one per machine) ---------------------------------------------------------------


def worker_main() -> None:
    """Answer JSON lines on stdin: calls made with this process's environment."""
    clients: OrderedDict[tuple[str, str], Any] = OrderedDict()
    ghcache = Path(sys.executable).parent / "ghcache"
    ghcache_cmd = str(ghcache) if ghcache.exists() else "ghcache"

    def client_for(token: str, extra: dict[str, str]) -> Any:
        from ghcache.core.client import CachingClient

        key = (token, json.dumps(extra, sort_keys=True))
        client = clients.get(key)
        if client is None:
            client = CachingClient.from_env(env={**os.environ, "GH_TOKEN": token, **extra})
            clients[key] = client
            while len(clients) > 6:  # per-job tokens: old jobs' clients go
                clients.popitem(last=False)[1].close()
        clients.move_to_end(key)
        return client

    def call(message: dict[str, Any]) -> dict[str, Any]:
        endpoint, token = message["endpoint"], message["token"]
        extra: dict[str, str] = message.get("env") or {}
        how = message["how"]
        env = {**os.environ, "GH_TOKEN": token, **extra}
        held: dict[str, Any] = {}
        if message.get("held"):  # what this machine's store holds for the call, before it
            client = client_for(token, extra)
            key = client.cache_request("GET", client.host.rest_url + endpoint).key
            entry = client.store.read(key, touch=False)
            if entry is not None:
                held = {"held": digest(entry.body), "held_stored_at": entry.stored_at}
        start = time.time()
        began = time.perf_counter()
        if how == "client":
            client = client_for(token, extra)
            response = client.request(
                "GET", client.host.rest_url + endpoint, ttl=message.get("ttl")
            )
            ok, body, source = response.status == 200, response.body, str(response.source)
            error = "" if ok else f"HTTP {response.status}"
        else:
            argv = (
                [ghcache_cmd, "api", endpoint]
                if how == "cli"
                else ["gh", "api", "--cache", message["gh_cache"], endpoint]
            )
            done = subprocess.run(argv, env=env, capture_output=True, timeout=120, check=False)
            ok, body, source = done.returncode == 0, done.stdout, ""
            error = done.stderr.decode(errors="replace").strip()[-300:]
        elapsed = time.perf_counter() - began
        return {
            "ok": ok,
            "start": start,
            "end": time.time(),
            "elapsed": elapsed,
            "source": source,
            "digest": digest(body),
            "error": error,
            **held,
        }

    out: IO[str] = sys.stdout
    for line in sys.stdin:
        message = json.loads(line)
        try:
            if message["op"] == "call":
                answer = call(message)
            elif message["op"] == "key":
                client = client_for(message["token"], {})
                request = client.cache_request("GET", client.host.rest_url + message["endpoint"])
                answer = {"key": request.key}
            else:
                answer = {"error": f"unknown op {message['op']!r}"}
        except Exception as exc:  # reported to the bench, which counts it as an error
            answer = {"ok": False, "error": repr(exc), "start": time.time(), "end": time.time()}
        out.write(json.dumps(answer) + "\n")
        out.flush()
    for client in clients.values():
        client.close()


# -- printing -----------------------------------------------------------------------------------


def ms(seconds: float) -> str:
    return f"{seconds * 1000:7.1f} ms"


def print_reports(reports: list[Report], schedule: Schedule, ttl: int) -> None:
    calls = len(schedule.calls)
    print()
    print(
        f"{'run':<34} {'units':>5} {'lower':>5} {'ratio':>6} {'requests':>8} {'304s':>5}"
        f" {'stale>TTL':>9} {'<=TTL':>5} {'errors':>6} {'wall':>6}"
    )
    for r in reports:
        target = ""
        if r.config.ghcache:
            target = "  ok" if r.ratio <= TARGET_RATIO else "  MISSED (target <= 1.1)"
        print(
            f"{r.config.label:<34} {r.units:5d} {r.lower_bound:5d} {r.ratio:6.2f} {r.requests:8d}"
            f" {r.not_modified:5d} {r.stale_over_ttl:9d} {r.stale_within_ttl:5d} {r.errors:6d}"
            f" {r.wall:5.0f}s{target}"
        )
    lower = reports[0].lower_bound if reports else 0
    print(
        f"{'gh api, no --cache (by construction)':<34} {calls:5d} {lower:5d}"
        f" {calls / lower if lower else float('nan'):6.2f} {calls:8d} {0:5d}"
    )
    print(
        "\nunits: requests the hub counted against a primary rate limit (all tokens);"
        " lower: distinct (endpoint, body) pairs asked for;\nstale>TTL: an answer differing"
        f" from GitHub's at call time for a change older than the TTL ({ttl} s); <=TTL: out of"
        " date by less than the TTL."
    )
    for r in reports:
        print(f"\n{r.config.label}")
        sources = ", ".join(f"{name} {n}" for name, n in r.sources.most_common())
        print(f"  answers by source: {sources}")
        print(
            f"  units by caller: developers {r.by_kind['developers']}, CI {r.by_kind['CI']};"
            f" start lag p95 {r.lag_p95:.2f} s"
        )
        for reason, n in r.unit_reasons.most_common():
            print(f"  {n:4d} units: {reason}")
        if r.redundant_gaps:
            gaps = sorted(r.redundant_gaps)
            print(
                f"       after the version's first fetch: median {statistics.median(gaps):.2f} s,"
                f" min {gaps[0]:.2f} s, max {gaps[-1]:.2f} s"
            )
            if r.config.ghcache:
                for what, n in sorted(r.redundant_detail.items()):
                    print(f"       {n:3d} x {what}")
        if r.p2p:
            print(
                "  daemons (all ten, this run): " + ", ".join(f"{k} {n}" for k, n in r.p2p.items())
            )
        if r.unrecognised or r.unattributed:
            print(
                f"  answers matching no version: {r.unrecognised};"
                f" hub requests matching no call: {r.unattributed}"
            )
        for sample in r.error_samples:
            print(f"  error: {sample}")


def print_latency(latency: Latency, samples: int) -> None:
    print(
        f"\npeer hit: a teammate's fresh entry already in this machine's store"
        f" ({samples} rounds, one sample per way each)"
    )
    print(f"  {'':<42} {'n':>2} {'median':>10} {'min':>10} {'max':>10}   hub saw")
    medians: dict[str, float] = {}
    for role in LATENCY_ROLES:
        values = latency.times.get(role.label, [])
        if not values:
            print(f"  {role.label:<42}  0")
            continue
        medians[role.label] = statistics.median(values)
        seen = ", ".join(
            f"{k} x{n}" for k, n in latency.requests.get(role.label, Counter()).items()
        )
        print(
            f"  {role.label:<42} {len(values):2d} {ms(medians[role.label]):>10}"
            f" {ms(min(values)):>10} {ms(max(values)):>10}   {seen}"
        )
    for how, team, verified in (
        ("ghcache api", LATENCY_ROLES[0].label, LATENCY_ROLES[1].label),
        ("CachingClient", LATENCY_ROLES[2].label, LATENCY_ROLES[3].label),
    ):
        if team in medians and verified in medians:
            added = medians[verified] - medians[team]
            print(f"  verified adds over team, {how} (medians): {ms(added).strip()}")
    delivery = ", ".join(f"{k} {n}" for k, n in latency.delivery.items())
    gossip = (
        f"; by gossip after median {statistics.median(latency.gossip_ms):.0f} ms"
        if latency.gossip_ms
        else ""
    )
    print(f"  how carol's copies reached the readers: {delivery}{gossip}")


# -- main ---------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="120 calls over 20 s, 8 samples")
    parser.add_argument("--calls", type=int, help="calls in the schedule (350)")
    parser.add_argument("--duration", type=float, help="seconds the schedule spans (45)")
    parser.add_argument("--ttl", type=int, default=3, help="CACHE_DEFAULT_TTL and gh --cache (3)")
    parser.add_argument("--seed", type=int, default=7, help="schedule seed (7)")
    parser.add_argument("--samples", type=int, help="latency samples per mode (20)")
    parser.add_argument("--cli", action="store_true", help="real ghcache api processes")
    parser.add_argument(
        "--peer-timeout-ms", type=int, help="CACHE_PEER_TIMEOUT_MS (default: ghcache's, 300)"
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker_main()
        return
    sys.path.insert(0, str(HELPERS))
    calls = args.calls or (120 if args.quick else 350)
    duration = args.duration or (20.0 if args.quick else 45.0)
    samples = args.samples or (8 if args.quick else 20)
    if shutil.which("gh") is None:
        raise SystemExit("bench_team: gh is not installed (apt-get install gh)")
    schedule = make_schedule(args.seed, calls, duration)
    how = "cli" if args.cli else "client"
    runs = [
        RunConfig(f"gh api --cache {args.ttl}s", "gh"),
        RunConfig("ghcache, fixed CI tokens", how),
        RunConfig("ghcache, new token per CI job", how, per_job_tokens=True),
    ]
    print(
        f"schedule: seed {args.seed}, {len(schedule.calls)} calls over {duration:.0f} s"
        f" ({sum(c.job is not None for c in schedule.calls)} in {schedule.jobs} CI jobs),"
        f" {len(schedule.edits)} issue edits; TTL {args.ttl} s;"
        f" ghcache calls via {'ghcache api processes' if args.cli else 'CachingClient per machine'}"
    )
    print(f"load average before starting: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    reports: list[Report] = []
    latency: Latency | None = None
    with tempfile.TemporaryDirectory(prefix="bench_team_") as tmp:
        gh_machines = make_machines(Path(tmp) / "gh", args.ttl, daemons=False, peer_timeout_ms=None)
        reports.append(run_once(runs[0], schedule, gh_machines, args.ttl))
        # One network of ten daemons for both ghcache runs; every store is emptied between.
        machines = make_machines(
            Path(tmp) / "ghcache", args.ttl, daemons=True, peer_timeout_ms=args.peer_timeout_ms
        )
        began = time.perf_counter()
        try:
            start_daemons(machines)
            print(f"ten daemons started and meshed in {time.perf_counter() - began:.0f} s")
            reports.append(run_once(runs[1], schedule, machines, args.ttl))
            time.sleep(2.0)  # the last announcements land before the stores are emptied
            clear_caches(machines)
            report, latency = run_once_with_latency(runs[2], schedule, machines, args.ttl, samples)
            reports.append(report)
        finally:
            stop_daemons(machines)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    print_reports(reports, schedule, args.ttl)
    if latency is not None:
        print_latency(latency, samples)


if __name__ == "__main__":
    main()
