"""The simulated Kubo's state and its RPC commands (see :mod:`ghcache.ipfs.fakekubo`).

Each command takes the node's state, the query arguments and the multipart file part,
and returns JSON (a dict) or bytes (``text/plain``), or raises :class:`RpcError`, which
the server sends as Kubo does: HTTP 500 (400 for argument errors) with
``{"Message", "Code", "Type": "error"}``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import threading
from pathlib import Path
from typing import Any

VERSION = "0.26.0"
BLOCK_LIMIT = 1024 * 1024
PEER_ID = "12D3KooWFakeKuboFakeKuboFakeKuboFakeKuboFakeKuboFake"


def raw_cid(data: bytes) -> str:
    """CIDv1, raw codec (0x55), sha2-256 multihash (0x12, 32 bytes), base32 multibase ('b')."""
    prefix = bytes([0x01, 0x55, 0x12, 0x20])
    text = base64.b32encode(prefix + hashlib.sha256(data).digest()).decode("ascii")
    return "b" + text.lower().rstrip("=")


class RpcError(Exception):
    def __init__(self, message: str, status: int = 500, code: int = 0) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class KuboState:
    """Blocks, pins and MFS on disk; every method runs under one lock."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.blocks = directory / "blocks"
        self.mfs = directory / "mfs"
        self.pins_file = directory / "pins.json"
        for path in (self.blocks, self.mfs):
            path.mkdir(parents=True, exist_ok=True)
        self.lock = threading.Lock()

    def pins(self) -> dict[str, str]:
        try:
            loaded = json.loads(self.pins_file.read_text())
        except (OSError, ValueError):
            return {}
        return loaded if isinstance(loaded, dict) else {}

    def save_pins(self, pins: dict[str, str]) -> None:
        tmp = self.pins_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(pins, sort_keys=True))
        os.replace(tmp, self.pins_file)

    def block(self, cid: str) -> bytes | None:
        if not cid.isalnum():
            return None
        try:
            return (self.blocks / cid).read_bytes()
        except OSError:
            return None

    def mfs_path(self, path: str) -> Path:
        if not path.startswith("/"):
            raise RpcError("paths must start with a leading slash")
        parts = [part for part in path.split("/") if part]
        if any(part in (".", "..") for part in parts):
            raise RpcError(f"invalid path: {path}")
        return self.mfs.joinpath(*parts)


def _arg(args: dict[str, list[str]], name: str = "arg", *, required: bool = True) -> str:
    values = args.get(name)
    if not values:
        if required:
            raise RpcError(f'argument "{name}" is required', status=400, code=1)
        return ""
    return values[-1]


def _flag(args: dict[str, list[str]], name: str, default: bool = False) -> bool:
    values = args.get(name)
    if not values:
        return default
    return values[-1].lower() in ("", "true", "1")


def _id(state: KuboState, args: dict[str, list[str]], data: bytes | None) -> Any:
    return {
        "ID": PEER_ID,
        "PublicKey": "",
        "Addresses": [],  # no swarm: this node never listens for or dials peers
        "AgentVersion": f"kubo/{VERSION}/fakekubo",
        "Protocols": [],
    }


def _version(state: KuboState, args: dict[str, list[str]], data: bytes | None) -> Any:
    return {
        "Version": VERSION,
        "Commit": "fakekubo",
        "Repo": "15",
        "System": "simulated",
        "Golang": "",
    }


def _block_put(state: KuboState, args: dict[str, list[str]], data: bytes | None) -> Any:
    if data is None:
        raise RpcError('argument "data" is required', status=400, code=1)
    codec = _arg(args, "cid-codec", required=False) or "raw"
    mhtype = _arg(args, "mhtype", required=False) or "sha2-256"
    if codec != "raw" or mhtype != "sha2-256":
        raise RpcError(
            f"fakekubo supports cid-codec=raw and mhtype=sha2-256 only, got {codec}/{mhtype}"
        )
    if len(data) > BLOCK_LIMIT and not _flag(args, "allow-big-block"):
        raise RpcError(
            "produced block is over 1MiB: big blocks can't be exchanged with other peers. "
            "consider using UnixFS for automatic chunking of bigger files, or pass "
            "--allow-big-block to override"
        )
    cid = raw_cid(data)
    (state.blocks / cid).write_bytes(data)
    if _flag(args, "pin"):
        pins = state.pins()
        pins.setdefault(cid, "")
        state.save_pins(pins)
    return {"Key": cid, "Size": len(data)}


def _block_get(state: KuboState, args: dict[str, list[str]], data: bytes | None) -> Any:
    cid = _arg(args)
    block = state.block(cid)
    if block is None:
        # Kubo online would search the network; offline (and here) it fails at once.
        raise RpcError(f"block was not found locally (offline): ipld: could not find {cid}")
    return block


def _pin_add(state: KuboState, args: dict[str, list[str]], data: bytes | None) -> Any:
    cid = _arg(args)
    if state.block(cid) is None:
        raise RpcError(f"pin: block was not found locally (offline): ipld: could not find {cid}")
    pins = state.pins()
    pins[cid] = _arg(args, "name", required=False)
    state.save_pins(pins)
    return {"Pins": [cid]}


def _pin_rm(state: KuboState, args: dict[str, list[str]], data: bytes | None) -> Any:
    cid = _arg(args)
    pins = state.pins()
    if cid not in pins:
        raise RpcError("not pinned or pinned indirectly")
    del pins[cid]
    state.save_pins(pins)
    return {"Pins": [cid]}


def _pin_ls(state: KuboState, args: dict[str, list[str]], data: bytes | None) -> Any:
    names = _flag(args, "names")
    keys: dict[str, Any] = {}
    for cid, name in state.pins().items():
        keys[cid] = {"Type": "recursive", **({"Name": name} if names else {})}
    return {"Keys": keys}


def _files_write(state: KuboState, args: dict[str, list[str]], data: bytes | None) -> Any:
    if data is None:
        raise RpcError('argument "data" is required', status=400, code=1)
    path = state.mfs_path(_arg(args))
    if path.is_dir():
        raise RpcError(f"{_arg(args)} is a directory")
    if not path.parent.is_dir():
        if not _flag(args, "parents"):
            raise RpcError("file does not exist")
        path.parent.mkdir(parents=True)
    if not path.exists() and not _flag(args, "create"):
        raise RpcError("file does not exist")
    old = b"" if _flag(args, "truncate") or not path.exists() else path.read_bytes()
    offset = int(_arg(args, "offset", required=False) or 0)
    content = old[:offset].ljust(offset, b"\0") + data + old[offset + len(data) :]
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(content)
    os.replace(tmp, path)
    return b""


def _files_read(state: KuboState, args: dict[str, list[str]], data: bytes | None) -> Any:
    path = state.mfs_path(_arg(args))
    if not path.is_file():
        raise RpcError(
            "file does not exist" if not path.exists() else f"{_arg(args)} was not a file"
        )
    content = path.read_bytes()
    offset = int(_arg(args, "offset", required=False) or 0)
    count = _arg(args, "count", required=False)
    return content[offset : offset + int(count)] if count else content[offset:]


def _files_ls(state: KuboState, args: dict[str, list[str]], data: bytes | None) -> Any:
    path = state.mfs_path(_arg(args, required=False) or "/")
    if not path.exists():
        raise RpcError("file does not exist")
    if path.is_file():
        return {"Entries": [{"Name": path.name, "Type": 0, "Size": 0, "Hash": ""}]}
    long = _flag(args, "long")
    entries = [
        {
            "Name": child.name,
            "Type": 1 if child.is_dir() else 0,
            "Size": child.stat().st_size if long and child.is_file() else 0,
            "Hash": "",
        }
        for child in sorted(path.iterdir())
        if not child.name.startswith(".")
    ]
    return {"Entries": entries or None}  # Kubo answers null for an empty directory


def _files_mkdir(state: KuboState, args: dict[str, list[str]], data: bytes | None) -> Any:
    path = state.mfs_path(_arg(args))
    if path.exists() and not _flag(args, "parents"):
        raise RpcError("file already exists")
    if not path.parent.is_dir() and not _flag(args, "parents"):
        raise RpcError("file does not exist")
    path.mkdir(parents=True, exist_ok=True)
    return b""


def _files_rm(state: KuboState, args: dict[str, list[str]], data: bytes | None) -> Any:
    path = state.mfs_path(_arg(args))
    if not path.exists():
        raise RpcError("file does not exist")
    if path.is_dir():
        if not (_flag(args, "recursive") or _flag(args, "force")):
            raise RpcError(f"{_arg(args)} is a directory, use -r to remove directories")
        shutil.rmtree(path)
    else:
        path.unlink()
    return b""


COMMANDS = {
    "id": _id,
    "version": _version,
    "block/put": _block_put,
    "block/get": _block_get,
    "pin/add": _pin_add,
    "pin/rm": _pin_rm,
    "pin/ls": _pin_ls,
    "files/write": _files_write,
    "files/read": _files_read,
    "files/ls": _files_ls,
    "files/mkdir": _files_mkdir,
    "files/rm": _files_rm,
}
