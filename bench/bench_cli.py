"""Whole-process cache hits: ``ghcache api`` against ``gh api --cache 1h``, same run,
for every hit path: plain, ``-i``, ``--jq``, ``-t``, ``--paginate`` (all pages
cached), ``--slurp`` and a GraphQL query.

Run: ``python bench/bench_cli.py [--runs N]`` (about a minute; loopback only).

It starts the simulated GitHub (fakehub) on 127.0.0.1, points both clients at
it the way gh is pointed at a test host (``GH_HOST=github.localhost``,
``HTTP_PROXY``, ``GH_TOKEN``, ``GH_CONFIG_DIR``; ghcache honours the same
variables), and for each pair warms both caches, checks that the next calls
are hits (the hub sees no request) and prints the same bytes, then times both
as whole processes, with hyperfine when installed (``--export-json``), else
its own loop of interleaved runs.  gh 2.23 has no ``--slurp``: that pair's
baseline is gh's ``--paginate`` of the same pages.  It prints each pair's
medians and ratio (target: ghcache <= 0.5 x gh), which modules each hit
imported that it must not (click, httpx: no HTTP client for a hit), and the
import budget of the plain hit path from ``python -X importtime``.

Byte-code caching is left on for the timed processes (an installed wheel has
its .pyc files; an editable checkout writes them on the warm-up runs), even if
the calling shell sets PYTHONDONTWRITEBYTECODE.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENDPOINT = "repos/octo/hello"
ISSUES = "repos/octo/hello/issues?per_page=20&state=all"
GRAPHQL = (
    'query=query { repository(owner: "octo", name: "hello") '
    "{ name issues(first: 5) { nodes { number title } } } }"
)
TARGET_RATIO = 0.5
# What the plain hit path must not import (issue 5), checked in the same run.
FORBIDDEN = ("click", "httpx", "pluggy", "multiformats", "jq", "rich", "cryptography", "libp2p")
# Header values that change between two requests (``-i`` output compares without them).
VOLATILE_HEADERS = re.compile(rb"(?m)^(Date|X-Github-Request-Id|X-Ratelimit-[A-Za-z-]+): [^\r\n]*")
# What no hit may import: a hit builds no HTTP client and no click command (issue 14).
FORBIDDEN_FOR_ANY_HIT = ("click", "httpx")
# (label, ghcache api arguments, gh api arguments before --cache 1h)
PAIRS: list[tuple[str, list[str], list[str]]] = [
    ("plain", [ENDPOINT], [ENDPOINT]),
    ("-i", ["-i", ENDPOINT], ["-i", ENDPOINT]),
    ("--jq", ["--jq", ".name", ENDPOINT], ["--jq", ".name", ENDPOINT]),
    ("-t", ["-t", "{{.full_name}}", ENDPOINT], ["-t", "{{.full_name}}", ENDPOINT]),
    ("--paginate", ["--paginate", ISSUES], ["--paginate", ISSUES]),
    ("--slurp", ["--paginate", "--slurp", ISSUES], ["--paginate", ISSUES]),
    ("graphql", ["graphql", "-f", GRAPHQL], ["graphql", "-f", GRAPHQL]),
]


def console_script(name: str) -> str:
    beside = Path(sys.executable).parent / name
    found = str(beside) if beside.exists() else shutil.which(name)
    if found is None:
        sys.exit(f"bench_cli: {name!r} is not installed (pip install ./packages/ghcache-cli)")
    return found


def bench_env(hub: object, work: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CACHE_", "GH_", "GHCACHE_"))}
    for name in ("GITHUB_TOKEN", "GITHUB_API_URL", "PYTHONDONTWRITEBYTECODE", "CLICOLOR_FORCE"):
        env.pop(name, None)
    env.update(hub.gh_env(str(work / "gh-config")))  # type: ignore[attr-defined]
    env["CACHE_DIR"] = str(work / "ghcache")
    env["CACHE_ENABLE_P2P"] = "false"  # no daemon side effects while warming
    return env


def run(cmd: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(cmd, env=env, capture_output=True, timeout=60, check=False)


def warm_and_check(
    hub: object, env: dict[str, str], label: str, ours: list[str], theirs: list[str]
) -> bool:
    """One miss each, then prove the next calls are hits; whether both print the same."""
    outputs = []
    for name, cmd in (("ghcache", ours), ("gh", theirs)):
        first = run(cmd, env)
        if first.returncode != 0:
            sys.exit(f"bench_cli: warming {name} {label} failed: {first.stderr.decode().strip()}")
        before = hub.upstream_count()  # type: ignore[attr-defined]
        second = run(cmd, env)
        after = hub.upstream_count()  # type: ignore[attr-defined]
        if second.returncode != 0 or after != before:
            sys.exit(f"bench_cli: {name} {label}: the second call was not a cache hit")
        outputs.append(VOLATILE_HEADERS.sub(rb"\1: *", second.stdout))
    return outputs[0] == outputs[1]


def hit_imports(cmd: list[str], env: dict[str, str]) -> list[str]:
    """The modules of FORBIDDEN_FOR_ANY_HIT that a hit imported."""
    names = {name for name, _, _ in importtime_rows(cmd, env)}
    return sorted(
        name
        for name in names
        for bad in FORBIDDEN_FOR_ANY_HIT
        if name == bad or name.startswith(bad + ".")
    )


def time_with_hyperfine(
    commands: dict[str, list[str]], env: dict[str, str], runs: int, rounds: int, work: Path
) -> dict[str, list[float]]:
    """hyperfine in ``rounds`` rounds, so a change in machine load hits every command alike."""
    times: dict[str, list[float]] = {label: [] for label in commands}
    per_round = max(1, runs // rounds)
    for number in range(rounds):
        export = work / f"hyperfine-{number}.json"
        cmd = ["hyperfine", "-N", "--warmup", "3", "--runs", str(per_round)]
        cmd += ["--export-json", str(export)]
        for label, argv in commands.items():
            cmd += ["--command-name", label, shlex.join(argv)]
        done = subprocess.run(cmd, env=env, capture_output=True, timeout=600, check=False)
        if done.returncode != 0:
            sys.exit(f"bench_cli: hyperfine failed: {done.stderr.decode().strip()}")
        for item in json.loads(export.read_text())["results"]:
            times[item["command"]] += [t * 1000 for t in item["times"]]
    return times


def time_with_loop(
    commands: dict[str, list[str]], env: dict[str, str], runs: int
) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {label: [] for label in commands}
    for argv in commands.values():  # warm-up
        for _ in range(5):
            run(argv, env)
    for _ in range(runs):  # interleaved, so drift in machine load hits all alike
        for label, argv in commands.items():
            start = time.perf_counter()
            subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, check=False)
            times[label].append((time.perf_counter() - start) * 1000)
    return times


def importtime_rows(cmd: list[str], env: dict[str, str]) -> list[tuple[str, int, int]]:
    """(module, self us, cumulative us) for each import of a process."""
    done = run([sys.executable, "-X", "importtime", *cmd], env)
    rows = []
    for line in done.stderr.decode().splitlines():
        if not line.startswith("import time:") or "imported package" in line:
            continue
        fields = line.removeprefix("import time:").split("|")
        rows.append((fields[2].strip(), int(fields[0]), int(fields[1])))
    return rows


def import_budget(
    ghcache: str, env: dict[str, str]
) -> tuple[list[tuple[str, int, int]], list[tuple[str, int, int]]]:
    """Imports of the hit path: (all of them, those beyond a bare ``python -c pass``)."""
    rows = importtime_rows([ghcache, "api", ENDPOINT], env)
    startup = {name for name, _, _ in importtime_rows(["-c", "pass"], env)}
    return rows, [row for row in rows if row[0] not in startup]


def slow_path_import_total(ghcache: str, env: dict[str, str]) -> int:
    rows = importtime_rows([ghcache, "api", ENDPOINT], {**env, "GHCACHE_NO_FASTPATH": "1"})
    return sum(self_us for _, self_us, _ in rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=30, help="timed runs per command")
    parser.add_argument("--rounds", type=int, default=2, help="hyperfine rounds (load drift)")
    parser.add_argument("--no-hyperfine", action="store_true", help="use the built-in loop")
    args = parser.parse_args()

    from ghcache.fakehub import FakeHub

    gh = shutil.which("gh")
    if gh is None:
        sys.exit("bench_cli: gh is not installed (apt-get install gh)")
    ghcache = console_script("ghcache")
    use_hyperfine = shutil.which("hyperfine") is not None and not args.no_hyperfine
    tool = f"hyperfine -N, {args.rounds} rounds" if use_hyperfine else "built-in interleaved loop"
    results = []
    with tempfile.TemporaryDirectory(prefix="bench_cli_") as tmp, FakeHub() as hub:
        work = Path(tmp)
        env = bench_env(hub, work)
        print(f"fakehub at {hub.url}; cache dirs under {work}; {args.runs} runs each ({tool})")
        floor_cmd = {"python -c pass": [sys.executable, "-c", "pass"]}
        floor = statistics.median(time_commands(floor_cmd, env, args, work)["python -c pass"])
        upstream_during = 0
        for label, ours_args, theirs_args in PAIRS:
            ours = [ghcache, "api", *ours_args]
            theirs = [gh, "api", "--cache", "1h", *theirs_args]
            same = warm_and_check(hub, env, label, ours, theirs)
            before = hub.upstream_count()
            times = time_commands({"ghcache": ours, "gh": theirs}, env, args, work)
            upstream_during += hub.upstream_count() - before
            medians = {name: statistics.median(samples) for name, samples in times.items()}
            results.append((label, medians["ghcache"], medians["gh"], same, hit_imports(ours, env)))
        rows, own_rows = import_budget(ghcache, env)
        slow_total_us = slow_path_import_total(ghcache, env)

    print(f"\nwhole-process hit, median milliseconds (python -c pass: {floor:.1f} ms):")
    print(f"  {'flags':<12} {'ghcache':>8} {'gh':>8} {'ratio':>6}  same output  imports")
    for label, ours_ms, gh_ms, same, bad in results:
        ratio = ours_ms / gh_ms
        mark = "" if ratio <= TARGET_RATIO else "  MISSES"
        same_text = "yes" if same else ("n/a (gh: --paginate)" if label == "--slurp" else "NO")
        print(
            f"  {label:<12} {ours_ms:8.1f} {gh_ms:8.1f} {ratio:6.2f}  {same_text:<11}  "
            f"{', '.join(bad) or 'no click/httpx'}{mark}"
        )
    print(f"target: every ratio <= {TARGET_RATIO}")
    print(f"requests that reached the hub while timing: {upstream_during} (all hits: expect 0)")

    total_us = sum(self_us for _, self_us, _ in rows)
    own_us = sum(self_us for _, self_us, _ in own_rows)
    print(
        f"\nimport budget of the plain hit path (python -X importtime): {total_us / 1000:.1f} ms,"
    )
    print(
        f"  of which {own_us / 1000:.1f} ms beyond the interpreter's own start-up"
        f" ({len(own_rows)} modules):"
    )
    for name, self_us, cumulative in sorted(own_rows, key=lambda r: r[1], reverse=True)[:10]:
        print(
            f"    {name:<32} self {self_us / 1000:5.2f} ms  cumulative {cumulative / 1000:5.2f} ms"
        )
    found = sorted(
        {
            name
            for name, _, _ in rows
            for bad in FORBIDDEN
            if name == bad or name.startswith(bad + ".")
        }
    )
    print(f"  forbidden modules imported: {', '.join(found) if found else 'none'}")
    print(
        f"  (for scale, the click path, GHCACHE_NO_FASTPATH=1, imports {slow_total_us / 1000:.1f} ms)"
    )


def time_commands(
    commands: dict[str, list[str]], env: dict[str, str], args: argparse.Namespace, work: Path
) -> dict[str, list[float]]:
    if shutil.which("hyperfine") is not None and not args.no_hyperfine:
        return time_with_hyperfine(commands, env, args.runs, args.rounds, work)
    return time_with_loop(commands, env, args.runs)


if __name__ == "__main__":
    main()
