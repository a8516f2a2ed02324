"""Shared fixtures: keys are derived once per process (derive_key caches), so reuse is cheap."""

from __future__ import annotations

import pytest

from ghcache.crypto import SealingKey, derive_key

# Deliberately recognisable so leak checks can search for it anywhere.
TEAM_SECRET = "team-secret-6f1d2c9a-DO-NOT-LEAK-e83b"
OTHER_SECRET = "other-secret-0a9b8c7d-DO-NOT-LEAK-41f2"


@pytest.fixture(scope="session")
def key() -> SealingKey:
    return derive_key(TEAM_SECRET)


@pytest.fixture(scope="session")
def other_key() -> SealingKey:
    return derive_key(OTHER_SECRET)


@pytest.fixture(scope="session")
def team_secret() -> str:
    return TEAM_SECRET


@pytest.fixture(scope="session")
def other_secret() -> str:
    return OTHER_SECRET
