"""Fixtures for the proxy's tests: the simulated GitHub in this process, and one real
proxy process per test module in front of it (``python -m ghcache.proxy run``)."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

import httpx
import pytest

from ghcache.fakehub import FakeHub


def load_helpers() -> ModuleType:
    """``proxyhelpers.py`` as one module, ``ghcache_proxy_helpers``, for conftest and every
    test module (``sys.modules["ghcache_proxy_helpers"]``)."""
    name = "ghcache_proxy_helpers"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            name, Path(__file__).with_name("proxyhelpers.py")
        )
        assert spec and spec.loader
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


helpers = load_helpers()
if TYPE_CHECKING:
    from proxyhelpers import ProxyProcess
else:
    ProxyProcess = helpers.ProxyProcess


@pytest.fixture(scope="module")
def hub() -> Iterator[FakeHub]:
    with FakeHub() as server:
        yield server


@pytest.fixture(scope="module")
def proxy(hub: FakeHub, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    """One proxy per module (starting one costs about half a second)."""
    running = ProxyProcess.start(tmp_path_factory.mktemp("proxy") / "cache", hub)
    yield running
    assert running.alive(), running.log()
    assert running.stop() == 0, running.log()
    assert "Traceback" not in running.log(), running.log()


@pytest.fixture(scope="module")
def http(proxy: ProxyProcess) -> Iterator[httpx.Client]:
    """A plain HTTP client on the proxy (never through an environment proxy)."""
    with httpx.Client(base_url=proxy.url, trust_env=False, timeout=30) as client:
        yield client
