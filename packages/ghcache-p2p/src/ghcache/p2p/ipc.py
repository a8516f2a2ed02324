"""The local control socket's wire format, shared by the daemon and the sync client.

Standard library only: the CLI imports this on a cache miss.

Every message (request or answer) is one frame: a 4-byte big-endian length,
then the payload.  The payload is a 4-byte big-endian header length, a JSON
object (the header: ``{"op": "lookup", "key": ...}``, ``{"ok": true, ...}``)
and, after it, raw bytes for data that would be wasteful to put in JSON (no
operation sends any today: a lookup's entry is read from the store).
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

SOCKET_NAME = "daemon.sock"
PID_NAME = "daemon.pid"
LOCK_NAME = ".daemon.lock"
LOG_NAME = "daemon.log"
STATS_NAME = "p2p_stats.json"
IDENTITY_NAME = "p2p_identity.key"
PEERS_NAME = "p2p_peers.json"

# Entries are capped at 16 MiB by default; leave room for the header.
MAX_FRAME = 64 * 1024 * 1024
_LENGTH = struct.Struct(">I")


class FrameError(ValueError):
    """A frame is malformed or larger than allowed."""


def socket_path(cache_dir: Path) -> Path:
    return Path(cache_dir) / SOCKET_NAME


def pid_path(cache_dir: Path) -> Path:
    return Path(cache_dir) / PID_NAME


def encode_message(header: dict[str, Any], body: bytes = b"") -> bytes:
    """One frame holding ``header`` (JSON) and ``body`` (raw bytes)."""
    head = json.dumps(header, separators=(",", ":")).encode("utf-8")
    payload_len = _LENGTH.size + len(head) + len(body)
    return _LENGTH.pack(payload_len) + _LENGTH.pack(len(head)) + head + body


def frame_length(prefix: bytes, limit: int = MAX_FRAME) -> int:
    """The payload length announced by a frame's 4-byte prefix."""
    (length,) = _LENGTH.unpack(prefix)
    if length > limit or length < _LENGTH.size:
        raise FrameError(f"frame of {length} bytes refused")
    return length


def decode_payload(payload: bytes) -> tuple[dict[str, Any], bytes]:
    """Split a frame's payload into (header, body)."""
    if len(payload) < _LENGTH.size:
        raise FrameError("truncated frame")
    (head_len,) = _LENGTH.unpack_from(payload)
    end = _LENGTH.size + head_len
    if end > len(payload):
        raise FrameError("header longer than frame")
    try:
        header = json.loads(payload[_LENGTH.size : end])
    except (UnicodeDecodeError, ValueError):
        raise FrameError("header is not JSON") from None
    if not isinstance(header, dict):
        raise FrameError("header is not an object")
    return header, payload[end:]


PREFIX_SIZE = _LENGTH.size
