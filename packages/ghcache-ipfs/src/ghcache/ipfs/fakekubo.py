"""A simulated Kubo RPC server for tests, benchmarks and demos (standard library only).

It follows Kubo's documented HTTP RPC (https://docs.ipfs.tech/reference/kubo/rpc/)
for exactly the calls ghcache makes, and nothing else (404 as Kubo answers an
unknown command): ``POST /api/v0/`` ``id``, ``version``, ``block/put`` (multipart,
``cid-codec``, ``mhtype``, ``pin``, the 1 MiB limit), ``block/get`` (``offline``),
``pin/add`` (``name``), ``pin/rm``, ``pin/ls`` (``type``, ``names``), ``files/write``
(multipart, ``create``, ``parents``, ``truncate``), ``files/read``, ``files/ls``,
``files/mkdir``, ``files/rm``.  Errors are Kubo's: HTTP 500 with
``{"Message", "Code": 0, "Type": "error"}``; other methods than POST get 405.
CIDs are computed here with hashlib and base32 (not with ghcache's code), and the
blocks, pins and MFS files persist in a directory, so a restarted node still
holds yesterday's entries.  It never opens a connection itself: no swarm, no DHT.

``python -m ghcache.ipfs.fakekubo DIR [--port N]`` prints its API multiaddr and serves
until Ctrl-C.  Tests steer faults in process: ``kubo.inject("slow", seconds=2)``,
``"trickle"``, ``"garbage"``, ``"error"``; ``kubo.calls`` logs each command.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import hashlib
import json
import os
import shutil
import socket
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

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


@dataclass
class Fault:
    mode: str  # slow, trickle, garbage, error
    seconds: float = 0.0
    commands: tuple[str, ...] = ()  # empty: every command


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


class Handler(BaseHTTPRequestHandler):
    server: FakeKuboServer
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in two writes: without this, Nagle and delayed ACKs add
        # ~40 ms to every answer on loopback (Go's net/http, which Kubo uses, sets it too).
        self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._plain(405, b"405 - Method Not Allowed\n")

    do_PUT = do_DELETE = do_GET

    def do_POST(self) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if not url.path.startswith("/api/v0/"):
            self._plain(404, b"404 page not found\n")
            return
        command = url.path[len("/api/v0/") :].rstrip("/")
        args = parse_qs(url.query, keep_blank_values=True)
        kubo = self.server.kubo
        kubo.calls.append((command, {k: v[-1] for k, v in args.items()}))
        method = COMMANDS.get(command)
        if method is None:
            self._plain(404, b"404 page not found\n")
            return
        fault = kubo.fault_for(command)
        if fault is not None and fault.mode == "slow":
            time.sleep(fault.seconds)
        if fault is not None and fault.mode == "error":
            self._error(RpcError("injected fault"))
            return
        try:
            with kubo.state.lock:
                answer = method(kubo.state, args, _file_part(self.headers, body))
        except RpcError as exc:
            self._error(exc)
            return
        if fault is not None and fault.mode == "garbage":
            answer = os.urandom(64)  # neither the block asked for nor JSON
        if isinstance(answer, bytes):
            self._send(200, "text/plain", answer, fault)
        else:
            data = json.dumps(answer).encode() + b"\n"
            self._send(200, "application/json", data, fault)

    def _error(self, exc: RpcError) -> None:
        data = json.dumps({"Message": str(exc), "Code": exc.code, "Type": "error"}).encode()
        self._send(exc.status, "application/json", data + b"\n", None)

    def _plain(self, status: int, data: bytes) -> None:
        self._send(status, "text/plain; charset=utf-8", data, None)

    def _send(self, status: int, kind: str, data: bytes, fault: Fault | None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if fault is not None and fault.mode == "trickle":
            for index in range(len(data)):
                self.wfile.write(data[index : index + 1])
                self.wfile.flush()
                time.sleep(fault.seconds)
            return
        self.wfile.write(data)


def _file_part(headers: Any, body: bytes) -> bytes | None:
    kind = headers.get("Content-Type", "")
    if not kind.startswith("multipart/form-data"):
        return None
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(
        b"Content-Type: " + kind.encode("latin-1") + b"\r\n\r\n" + body
    )
    for part in message.iter_parts():
        payload = part.get_payload(decode=True)
        return payload if isinstance(payload, bytes) else b""
    return None


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


class FakeKuboServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], kubo: FakeKubo) -> None:
        self.kubo = kubo
        super().__init__(address, Handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that gave up
            super().handle_error(request, client_address)


class FakeKubo:
    """``with FakeKubo(directory) as kubo:`` a node on 127.0.0.1 (a free port)."""

    def __init__(self, directory: Path | str, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = KuboState(Path(directory))
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.faults: list[Fault] = []
        self._address = (host, port)
        self._server: FakeKuboServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> FakeKubo:
        self._server = FakeKuboServer(self._address, self)
        self._address = self._server.server_address[:2]  # type: ignore[assignment]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> FakeKubo:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self._address[0]}:{self._address[1]}"

    @property
    def multiaddr(self) -> str:
        return f"/ip4/{self._address[0]}/tcp/{self._address[1]}"

    def inject(self, mode: str, *, seconds: float = 0.0, commands: tuple[str, ...] = ()) -> None:
        self.faults.append(Fault(mode, seconds, commands))

    def clear_faults(self) -> None:
        self.faults.clear()

    def fault_for(self, command: str) -> Fault | None:
        for fault in self.faults:
            if not fault.commands or command in fault.commands:
                return fault
        return None

    def commands(self) -> list[str]:
        return [command for command, _ in self.calls]

    def pins(self) -> dict[str, str]:
        with self.state.lock:
            return self.state.pins()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if not args or args[0].startswith("-"):
        print("usage: python -m ghcache.ipfs.fakekubo DIR [--port N]", file=sys.stderr)
        return 2
    port = int(args[args.index("--port") + 1]) if "--port" in args else 0
    with FakeKubo(args[0], port=port) as kubo:
        print(kubo.multiaddr, flush=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
