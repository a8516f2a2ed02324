"""The reverse proxy under load: hit latency (p50, p99) and hits per second at 1, 8 and 32
concurrent clients, and the miss overhead over a direct request.

Run: ``python bench/bench_proxy.py [--seconds S]`` (about half a minute; loopback only).

It starts the simulated GitHub (fakehub) and ``python -m ghcache.proxy run`` in processes of
their own, on 127.0.0.1, warms one entry, checks that the proxy answers it as a hit (the hub
sees no request), then drives keep-alive connections from one asyncio loop with raw
HTTP/1.1 requests (a load generator that costs little next to the server).  When Debian's
nginx is on the machine (``which nginx``), the same load runs against nginx with
``proxy_cache`` in front of the same hub, the usual GitHub caching-proxy set-up; without it
the figures are reported alone.  Targets (issue 15): hit p50 <= 2 ms, and at 32 clients at
least 0.5 x nginx's hits per second.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from ghcache.fakehub import FakeHub

ENDPOINT = "/repos/octo/hello"
TOKEN = "ghp_alice"
CONCURRENCY = (1, 8, 32)
TARGET_P50_MS = 2.0
TARGET_NGINX_RATIO = 0.5
NGINX_CONF = """
daemon off;
worker_processes 1;
pid {dir}/nginx.pid;
error_log {dir}/error.log;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    keepalive_requests 10000000;  # the load keeps each connection for the whole level
    proxy_cache_path {dir}/cache keys_zone=gh:10m;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass {upstream};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_cache gh;
            proxy_cache_key "$request_uri $http_authorization $http_accept";
            proxy_cache_valid 200 5m;
            proxy_ignore_headers Cache-Control Vary;
        }}
    }}
}}
"""


def start_proxy(cache_dir: Path, hub_url: str) -> tuple[subprocess.Popen[bytes], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CACHE_", "GH_", "GITHUB_"))}
    env |= {
        "CACHE_DIR": str(cache_dir),
        "GITHUB_API_URL": hub_url,
        "CACHE_PROXY_PORT": "0",
        "CACHE_ENABLE_P2P": "false",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "ghcache.proxy", "run"], env=env, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            state = json.loads((cache_dir / "proxy.json").read_text())
        except (OSError, ValueError):
            state = {}
        if state.get("pid") == process.pid:
            return process, state["url"].rstrip("/")
        time.sleep(0.02)
    process.kill()
    raise SystemExit("the proxy did not start")


def start_nginx(work: Path, hub_url: str) -> tuple[subprocess.Popen[bytes], str] | None:
    binary = shutil.which("nginx")
    if binary is None:
        return None
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    conf = work / "nginx.conf"
    (work / "cache").mkdir()
    text = NGINX_CONF.format(dir=work, port=port, upstream=hub_url.rstrip("/"))
    if os.geteuid() == 0:
        # Started as root, nginx runs its worker as nobody, who cannot enter our 0700
        # temp dir to write the cache (every answer a 500): keep the worker as us.
        text = "user root;\n" + text
    conf.write_text(text)
    process = subprocess.Popen([binary, "-c", str(conf), "-p", str(work)])
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            httpx.get(url + "/", timeout=1, trust_env=False)
            return process, url
        except httpx.HTTPError:
            time.sleep(0.05)
    process.kill()
    return None


async def one_client(
    host: str, port: int, request: bytes, until: float, latencies: list[float]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while time.perf_counter() < until:
            started = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line[:15].lower() == b"content-length:":
                    length = int(line[15:])
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if not head.startswith(b"HTTP/1.1 200"):
                raise SystemExit(f"not a 200: {head[:200]!r}")
    finally:
        writer.close()


async def load(url: str, clients: int, seconds: float) -> list[float]:
    parts = httpx.URL(url)
    request = (
        f"GET {ENDPOINT} HTTP/1.1\r\nHost: 127.0.0.1:{parts.port}\r\n"
        f"Authorization: token {TOKEN}\r\nAccept: */*\r\n\r\n"
    ).encode()
    latencies: list[float] = []
    until = time.perf_counter() + seconds
    await asyncio.gather(
        *[
            one_client(parts.host, parts.port or 80, request, until, latencies)
            for _ in range(clients)
        ]
    )
    return latencies


def measure(name: str, url: str, seconds: float) -> dict[int, float]:
    rates = {}
    for clients in CONCURRENCY:
        latencies = sorted(asyncio.run(load(url, clients, seconds)))
        p50 = statistics.median(latencies) * 1000
        p99 = latencies[int(len(latencies) * 0.99)] * 1000
        rates[clients] = len(latencies) / seconds
        print(
            f"{name:6} {clients:3} clients: p50 {p50:6.2f} ms  p99 {p99:6.2f} ms  "
            f"{rates[clients]:8.0f} hits/s"
        )
    return rates


def miss_overhead(proxy_url: str, hub_url: str, runs: int = 60) -> tuple[float, float]:
    """Median ms of a request that is a miss through the proxy, and of the same straight."""
    headers = {"Authorization": f"token {TOKEN}"}
    direct, through = [], []
    with httpx.Client(trust_env=False, timeout=30) as client:
        for number in range(1, runs + 1):
            path = f"repos/octo/big/issues/{number}"
            started = time.perf_counter()
            client.get(hub_url + path, headers=headers)
            direct.append(time.perf_counter() - started)
            started = time.perf_counter()
            answer = client.get(f"{proxy_url}/{path}", headers=headers)
            through.append(time.perf_counter() - started)
            assert answer.headers["x-ghcache"] in ("miss", "confirmed"), answer.headers
    return statistics.median(through) * 1000, statistics.median(direct) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="per concurrency level")
    args = parser.parse_args()
    with FakeHub.start_subprocess() as hub, tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        proxy, proxy_url = start_proxy(work / "cache", hub.url)
        (work / "nginx").mkdir()
        nginx = start_nginx(work / "nginx", hub.url)
        try:
            warm = httpx.get(proxy_url + ENDPOINT, headers={"Authorization": f"token {TOKEN}"})
            assert warm.headers["x-ghcache"] == "miss", warm.headers
            seen = len(hub.control.log())
            hit = httpx.get(proxy_url + ENDPOINT, headers={"Authorization": f"token {TOKEN}"})
            assert hit.headers["x-ghcache"] == "hit", hit.headers
            print(
                f"hits of GET {ENDPOINT} ({len(hit.content)} bytes), {args.seconds:.0f} s a level"
            )
            ours = measure("proxy", proxy_url, args.seconds)
            assert len(hub.control.log()) == seen, "a hit reached the hub"
            if nginx is not None:
                theirs = measure("nginx", nginx[1], args.seconds)
                ratio = ours[32] / theirs[32]
                verdict = "met" if ratio >= TARGET_NGINX_RATIO else "missed"
                print(f"32 clients: proxy/nginx = {ratio:.2f} (target >= 0.5: {verdict})")
            else:
                print("nginx: not installed (apt-get install nginx): no baseline")
            through, direct = miss_overhead(proxy_url, hub.url)
            print(
                f"miss: {through:.2f} ms through the proxy, {direct:.2f} ms direct "
                f"(+{through - direct:.2f} ms: keying, storing, the second hop)"
            )
        finally:
            proxy.terminate()
            proxy.wait(timeout=15)
            if nginx is not None:
                nginx[0].terminate()
                nginx[0].wait(timeout=15)


if __name__ == "__main__":
    main()
