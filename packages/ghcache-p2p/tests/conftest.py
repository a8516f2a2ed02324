"""Fixtures for the p2p tests; helpers live in ``p2p_helpers`` (importable from the tests)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from p2p_helpers import Network


@pytest.fixture(scope="module")
def network(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Network]:
    net = Network(tmp_path_factory.mktemp("p2p"))
    yield net
    net.close()
