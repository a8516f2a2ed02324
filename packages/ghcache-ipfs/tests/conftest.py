"""Fixtures for the ipfs tests; helpers live in ``ipfs_helpers`` (importable from the tests)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from ghcache.fakehub import FakeHub
from ghcache.ipfs.fakekubo import FakeKubo


@pytest.fixture
def kubo(tmp_path: Path) -> Iterator[FakeKubo]:
    with FakeKubo(tmp_path / "kubo-repo") as node:
        yield node


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    with FakeHub() as server:
        yield server
