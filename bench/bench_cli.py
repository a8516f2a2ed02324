"""Whole-process cache hit: ``ghcache api`` against ``gh api --cache 1h``, same run.

Run: ``python bench/bench_cli.py [--runs N]`` (about 20 s; loopback only).

It starts the simulated GitHub (fakehub) on 127.0.0.1, points both clients at
it the way gh is pointed at a test host (``GH_HOST=github.localhost``,
``HTTP_PROXY``, ``GH_TOKEN``, ``GH_CONFIG_DIR``; ghcache honours the same
variables), warms both caches with one request each, checks that the next
calls are hits (the hub sees no request) with identical output, and then times
as whole processes:

* ``ghcache api repos/octo/hello``       (the console script; a fresh hit)
* ``gh api --cache 1h repos/octo/hello`` (Debian's gh; a fresh hit in gh's cache)
* ``python -c pass``                     (the interpreter's floor)

with hyperfine when installed (``--export-json``), else its own loop of
interleaved runs.  It prints both medians, the ratio (target: ghcache <= 0.6 x
gh) and the import budget of the hit path from ``python -X importtime``.

Byte-code caching is left on for the timed processes (an installed wheel has
its .pyc files; an editable checkout writes them on the warm-up runs), even if
the calling shell sets PYTHONDONTWRITEBYTECODE.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENDPOINT = "repos/octo/hello"
TARGET_RATIO = 0.6
# What the hit path must not import (issue 5), checked in the same run.
FORBIDDEN = ("click", "httpx", "pluggy", "multiformats", "jq", "rich", "cryptography", "libp2p")


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


def warm_and_check(hub: object, env: dict[str, str], ghcache: str, gh: str) -> None:
    """One miss each, then prove the next call is a hit with the same output."""
    for label, cmd in (
        ("ghcache", [ghcache, "api", ENDPOINT]),
        ("gh", [gh, "api", "--cache", "1h", ENDPOINT]),
    ):
        first = run(cmd, env)
        if first.returncode != 0:
            sys.exit(f"bench_cli: warming {label} failed: {first.stderr.decode().strip()}")
        before = hub.upstream_count()  # type: ignore[attr-defined]
        second = run(cmd, env)
        after = hub.upstream_count()  # type: ignore[attr-defined]
        if second.returncode != 0 or after != before:
            sys.exit(f"bench_cli: {label}'s second call was not a cache hit")
        if second.stdout != first.stdout:
            sys.exit(f"bench_cli: {label}'s hit printed different bytes than its miss")
    ours = run([ghcache, "api", ENDPOINT], env).stdout
    theirs = run([gh, "api", "--cache", "1h", ENDPOINT], env).stdout
    print(f"hit output identical to gh's: {'yes' if ours == theirs else 'NO'} ({len(ours)} bytes)")


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
            cmd += ["--command-name", label, " ".join(argv)]
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
    parser.add_argument("--runs", type=int, default=60, help="timed runs per command")
    parser.add_argument("--rounds", type=int, default=4, help="hyperfine rounds (load drift)")
    parser.add_argument("--no-hyperfine", action="store_true", help="use the built-in loop")
    args = parser.parse_args()

    from ghcache.fakehub import FakeHub

    gh = shutil.which("gh")
    if gh is None:
        sys.exit("bench_cli: gh is not installed (apt-get install gh)")
    ghcache = console_script("ghcache")
    with tempfile.TemporaryDirectory(prefix="bench_cli_") as tmp, FakeHub() as hub:
        work = Path(tmp)
        env = bench_env(hub, work)
        print(f"fakehub at {hub.url}; cache dirs under {work}")
        warm_and_check(hub, env, ghcache, gh)
        commands = {
            "ghcache api (hit)": [ghcache, "api", ENDPOINT],
            "gh api --cache 1h (hit)": [gh, "api", "--cache", "1h", ENDPOINT],
            "python -c pass": [sys.executable, "-c", "pass"],
        }
        use_hyperfine = shutil.which("hyperfine") is not None and not args.no_hyperfine
        before = hub.upstream_count()
        if use_hyperfine:
            times = time_with_hyperfine(commands, env, args.runs, args.rounds, work)
        else:
            times = time_with_loop(commands, env, args.runs)
        upstream_during = hub.upstream_count() - before
        rows, own_rows = import_budget(ghcache, env)
        slow_total_us = slow_path_import_total(ghcache, env)

    tool = f"hyperfine -N, {args.rounds} rounds" if use_hyperfine else "built-in interleaved loop"
    samples_each = len(next(iter(times.values())))
    print(f"\nwhole-process time, {samples_each} runs each ({tool}), milliseconds:")
    print(f"  {'command':<26} {'median':>7} {'mean':>7} {'min':>7} {'max':>7}")
    medians = {}
    for label, samples in times.items():
        medians[label] = statistics.median(samples)
        print(
            f"  {label:<26} {medians[label]:7.1f} {statistics.mean(samples):7.1f}"
            f" {min(samples):7.1f} {max(samples):7.1f}"
        )
    ours, theirs = medians["ghcache api (hit)"], medians["gh api --cache 1h (hit)"]
    floor = medians["python -c pass"]
    ratio = ours / theirs
    verdict = "meets" if ratio <= TARGET_RATIO else "MISSES"
    print(f"\nratio ghcache/gh (medians): {ratio:.2f}  ({verdict} the target <= {TARGET_RATIO})")
    print(f"ghcache above the bare interpreter: {ours - floor:.1f} ms")
    print(f"requests that reached the hub while timing: {upstream_during} (all hits: expect 0)")

    total_us = sum(self_us for _, self_us, _ in rows)
    own_us = sum(self_us for _, self_us, _ in own_rows)
    print(
        f"\nimport budget of the hit path (python -X importtime): {total_us / 1000:.1f} ms total,"
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


if __name__ == "__main__":
    main()
