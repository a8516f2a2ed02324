"""Shared fixtures for the fakehub tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ghcache.fakehub import FakeHub


@pytest.fixture
def fakehub() -> Iterator[FakeHub]:
    """A fresh simulated GitHub on 127.0.0.1 (random port), stopped after the test.

    Tokens: "ghp_alice" (alice), "ghp_bob" (bob). Repos: octo/hello (45 issues + 5 PRs),
    octo/big (230 issues), octo/empty, alice/private-notes (private, alice only)."""
    with FakeHub() as hub:
        yield hub
