"""`ghcache run` with no proxy running (it starts one), a Python client through it, and an
Enterprise host intercepted by the forward proxy (its API served from the cache, its other
paths streamed).  The upstream is the simulated GitHub, as in test_forward.py."""

from __future__ import annotations

import json
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from cryptography import x509

from ghcache.fakehub import FakeHub

if TYPE_CHECKING:
    from proxyhelpers import ProxyProcess

helpers = sys.modules["ghcache_proxy_helpers"]  # loaded by conftest.py
pytestmark = pytest.mark.slow
GHE = "ghe.test"  # never resolved: the forward proxy answers CONNECT to it itself

# A client that knows nothing of ghcache: httpx reads HTTPS_PROXY and SSL_CERT_FILE.
CLIENT = """
import httpx, sys
answer = httpx.get("https://api.github.com/repos/octo/hello",
                   headers={"Authorization": "token ghp_alice"})
print(answer.status_code, answer.headers["x-ghcache"], answer.json()["url"])
sys.exit(3)
"""


def test_ghcache_run_starts_the_proxy(tmp_path: Path, hub: FakeHub) -> None:
    env = helpers.clean_env(
        tmp_path / "cache", CACHE_PROXY_PORT="0", CACHE_PROXY_TEST_UPSTREAM=hub.url
    )
    missing = subprocess.run(
        [helpers.console_script("ghcache"), "run", "--", "no-such-command-here"],
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert missing.returncode == 127 and b"cannot run 'no-such-command-here'" in missing.stderr
    assert not (tmp_path / "cache" / "proxy.json").exists()  # no proxy started for it
    command = [helpers.console_script("ghcache"), "run", "--", sys.executable, "-c", CLIENT]
    try:
        first = subprocess.run(command, env=env, capture_output=True, timeout=60, check=False)
        second = subprocess.run(command, env=env, capture_output=True, timeout=60, check=False)
    finally:
        stopped = helpers.run_ghcache(["proxy", "stop"], env)
    assert first.returncode == 3, first.stderr  # the command's own exit status
    assert first.stderr.startswith(b"ghcache: proxy started (pid ")
    assert first.stdout == b"200 miss https://api.github.com/repos/octo/hello\n"
    assert (second.returncode, second.stderr) == (3, b"")  # the same proxy, still running
    assert second.stdout == b"200 hit https://api.github.com/repos/octo/hello\n"
    assert stopped.stdout.startswith(b"proxy stopped (pid ")


@pytest.fixture(scope="module")
def enterprise(hub: FakeHub, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    running = helpers.ProxyProcess.start(
        tmp_path_factory.mktemp("ghe") / "cache",
        hub,
        GITHUB_API_URL="",
        GH_HOST=GHE,
        CACHE_PROXY_TEST_UPSTREAM=hub.url,
        CACHE_PROXY_TUNNEL="none",
    )
    yield running
    assert running.stop() == 0, running.log()
    assert "Traceback" not in running.log(), running.log()


def test_an_enterprise_host_is_intercepted(enterprise: ProxyProcess, hub: FakeHub) -> None:
    state = json.loads((enterprise.cache_dir / "proxy.json").read_text())
    assert state["intercepted"] == [f"{GHE}:443"]
    cert = x509.load_pem_x509_certificate(Path(state["ca_cert"]).read_bytes())
    names = cert.extensions.get_extension_for_class(x509.NameConstraints).value
    assert names.permitted_subtrees == [x509.DNSName(GHE)]
    with httpx.Client(
        proxy=state["forward_url"],
        verify=ssl.create_default_context(cafile=state["ca_bundle"]),
        trust_env=False,
    ) as client:
        api = [
            client.get(f"https://{GHE}/api/v3/repos/octo/hello", headers=helpers.ALICE)
            for _ in range(2)
        ]
        before = len(hub.requests)
        web = client.get(f"https://{GHE}/octo/hello.git/info/refs", headers=helpers.ALICE)
    assert [answer.headers["x-ghcache"] for answer in api] == ["miss", "hit"]
    assert api[1].json()["url"] == f"https://{GHE}/api/v3/repos/octo/hello"
    # Outside /api/: streamed to the host as it is, never cached.
    assert web.headers["x-ghcache"] == "bypass"
    streamed = hub.requests[before:]
    assert [(r.path, r.host, r.proxied) for r in streamed] == [
        ("/octo/hello.git/info/refs", GHE, True)
    ]
