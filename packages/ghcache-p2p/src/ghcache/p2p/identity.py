"""The daemon's Ed25519 identity, kept in the cache directory so the peer id is stable."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from ghcache.p2p.ipc import IDENTITY_NAME

SEED_BYTES = 32


class IdentityError(OSError):
    """The identity file exists but cannot be used; the message says what to do."""

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(
            f"{path} is not a usable identity key ({problem}): "
            "remove it to make a new identity (this daemon gets a new peer id)"
        )


def load_or_create_seed(cache_dir: Path) -> bytes:
    """The 32-byte Ed25519 seed from ``<cache_dir>/p2p_identity.key`` (created 0600)."""
    path = Path(cache_dir) / IDENTITY_NAME
    try:
        seed = _read_seed(path)
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
            seed = _read_seed(path)
        finally:
            os.unlink(tmp)
    if len(seed) != SEED_BYTES:
        raise IdentityError(path, f"{len(seed)} bytes instead of {SEED_BYTES}")
    return seed


def _read_seed(path: Path) -> bytes:
    """The file's first bytes (one more than a seed, to tell a longer file).

    Anything but a regular file (a directory, a FIFO that would block the
    start) or an unreadable one is an IdentityError, not a traceback.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise IdentityError(path, (exc.strerror or str(exc)).lower()) from None
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            raise IdentityError(path, "a directory" if stat.S_ISDIR(mode) else "not a file")
        try:
            return os.read(fd, SEED_BYTES + 1)
        except OSError as exc:  # EISDIR on some systems, EIO
            raise IdentityError(path, (exc.strerror or str(exc)).lower()) from None
    finally:
        os.close(fd)


def load_key_pair(cache_dir: Path) -> Any:
    """A libp2p Ed25519 ``KeyPair`` (imports libp2p: daemon only)."""
    from libp2p.crypto.ed25519 import create_new_key_pair

    return create_new_key_pair(load_or_create_seed(cache_dir))
