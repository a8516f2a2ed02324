"""The daemon's Ed25519 identity, kept in the cache directory so the peer id is stable."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ghcache.p2p.ipc import IDENTITY_NAME

SEED_BYTES = 32


class IdentityError(OSError):
    """The identity file exists but cannot be used."""


def load_or_create_seed(cache_dir: Path) -> bytes:
    """The 32-byte Ed25519 seed from ``<cache_dir>/p2p_identity.key`` (created 0600)."""
    path = Path(cache_dir) / IDENTITY_NAME
    try:
        seed = path.read_bytes()
    except FileNotFoundError:
        seed = os.urandom(SEED_BYTES)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(seed)
        # link (not replace) so two daemons starting at once agree on one key.
        try:
            os.link(tmp, path)
        except FileExistsError:
            seed = path.read_bytes()
        finally:
            os.unlink(tmp)
    if len(seed) != SEED_BYTES:
        raise IdentityError(f"{path} is not a {SEED_BYTES}-byte Ed25519 seed; remove it")
    return seed


def load_key_pair(cache_dir: Path) -> Any:
    """A libp2p Ed25519 ``KeyPair`` (imports libp2p: daemon only)."""
    from libp2p.crypto.ed25519 import create_new_key_pair

    return create_new_key_pair(load_or_create_seed(cache_dir))
