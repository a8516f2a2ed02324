"""The real gh (2.23) through the proxy: gh speaks plain HTTP to GH_HOST=github.localhost,
through HTTP_PROXY, so the proxy serves it as it serves any client; its output is
byte-identical to gh's straight against the simulated GitHub, and a second run is
answered from the cache.

The proxy's own upstream is github.localhost too, reached through the hub as gh reaches
it (HTTP_PROXY), so that the hub writes the same URLs into bodies for both."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from ghcache.fakehub import FakeHub

if TYPE_CHECKING:
    from proxyhelpers import ProxyProcess

helpers = sys.modules["ghcache_proxy_helpers"]  # loaded by conftest.py
pytestmark = [
    pytest.mark.needs_gh,
    pytest.mark.skipif(shutil.which("gh") is None, reason="gh is not installed"),
]


@pytest.fixture(scope="module")
def proxy(hub: FakeHub, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    running = helpers.ProxyProcess.start(
        tmp_path_factory.mktemp("gh-proxy") / "cache",
        hub,
        GITHUB_API_URL="",
        GH_HOST="github.localhost",
        HTTP_PROXY=hub.proxy_url,
        NO_PROXY="",
    )
    yield running
    assert running.stop() == 0, running.log()


def gh(args: list[str], env: dict[str, str]) -> bytes:
    done = subprocess.run(["gh", *args], env=env, capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["api", "repos/octo/hello"],
        ["api", "repos/octo/big/issues", "--paginate", "--jq", ".[].number"],
        ["api", "graphql", "-f", "query=query { viewer { login } }"],
        ["repo", "view", "octo/hello", "--json", "name,description"],
    ],
    ids=["rest", "paginate", "graphql", "repo-view"],
)
def test_gh_through_the_proxy(
    args: list[str], proxy: ProxyProcess, hub: FakeHub, tmp_path: Path
) -> None:
    base = {k: v for k, v in os.environ.items() if k not in helpers.LEAKY_ENV}
    direct_env = {**base, **hub.gh_env(str(tmp_path / "gh-config"))}
    direct = gh(args, direct_env)
    through_env = {**direct_env, "HTTP_PROXY": proxy.url, "http_proxy": proxy.url}
    first = gh(args, through_env)
    requests = hub.upstream_count()
    second = gh(args, through_env)
    assert first == direct and second == direct
    assert hub.upstream_count() == requests  # the second run: all from the cache
