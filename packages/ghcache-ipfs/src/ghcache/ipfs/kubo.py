"""A client for exactly the Kubo RPC calls ghcache makes (``POST /api/v0/...``, httpx).

Every call runs against a :class:`Deadline`: a lookup or a store has one time
budget in all, and a node that trickles its answer is cut off when it is spent,
not after each read's timeout.  Answers are read up to a size cap, so a node
that answers garbage costs at most that much.  Environment proxies are ignored
(``trust_env=False``): the RPC is an admin API and goes straight to the address
configured.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import httpx

from ghcache.core.cid import cid_for_bytes

# Kubo refuses larger blocks without allow-big-block, and Bitswap cannot move them.
MAX_BLOCK_BYTES = 1024 * 1024
MAX_JSON_BYTES = 4 * 1024 * 1024
MAX_ERROR_BYTES = 64 * 1024


class KuboError(Exception):
    """The node answered with an error (its ``Message``), or something that is not Kubo's."""

    def __init__(self, message: str, *, status: int = 0) -> None:
        super().__init__(message)
        self.status = status

    @property
    def not_found(self) -> bool:
        text = str(self).lower()
        return self.status == 500 and ("does not exist" in text or "not found" in text)


class KuboUnavailable(KuboError):
    """The node could not be reached, or did not answer in time."""


class Deadline:
    def __init__(self, seconds: float) -> None:
        self.ends = time.monotonic() + seconds

    def remaining(self) -> float:
        left = self.ends - time.monotonic()
        if left <= 0:
            raise KuboUnavailable("no answer in time")
        return left


class Kubo:
    """``Kubo(url)``; each method takes the deadline it must finish within."""

    def __init__(self, url: str, *, client: httpx.Client | None = None) -> None:
        self.url = url.rstrip("/")
        self._client = client or httpx.Client(trust_env=False)

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> Kubo:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- node -------------------------------------------------------------------------

    def id(self, deadline: Deadline) -> dict[str, Any]:
        return self._json("id", {}, deadline)

    def version(self, deadline: Deadline) -> str:
        answer = self._json("version", {}, deadline)
        return str(answer.get("Version", "?"))

    # -- blocks and pins ----------------------------------------------------------------

    def block_put(self, data: bytes, deadline: Deadline) -> str:
        """Store ``data`` as a raw block; its CIDv1 (raw, sha2-256), checked against ours."""
        answer = self._json(
            "block/put",
            {"cid-codec": "raw", "mhtype": "sha2-256", "mhlen": "-1"},
            deadline,
            files={"file": ("block", data, "application/octet-stream")},
        )
        expected = cid_for_bytes(data)
        if answer.get("Key") != expected:
            raise KuboError(f"block/put answered {str(answer.get('Key'))[:80]!r}, not {expected}")
        return expected

    def block_get(self, cid: str, deadline: Deadline, *, max_bytes: int = MAX_BLOCK_BYTES) -> bytes:
        """The block's bytes, checked to hash to ``cid``.  ``offline``: a block the node
        does not hold fails at once instead of being searched for on the network."""
        data = self._bytes("block/get", {"arg": cid, "offline": "true"}, deadline, max_bytes)
        if cid_for_bytes(data) != cid:
            raise KuboError(f"block/get {cid}: the bytes do not hash to that CID")
        return data

    def pin_add(self, cid: str, name: str, deadline: Deadline) -> None:
        self._json("pin/add", {"arg": cid, "name": name}, deadline)

    def pin_rm(self, cid: str, deadline: Deadline) -> bool:
        """Release the pin; False when it was not pinned (already released)."""
        try:
            self._json("pin/rm", {"arg": cid}, deadline)
        except KuboUnavailable:
            raise
        except KuboError as exc:
            if "not pinned" in str(exc):
                return False
            raise
        return True

    def pin_ls_names(self, deadline: Deadline) -> dict[str, str]:
        """Recursive pins and their names (Kubo 0.26+ names pins), by CID."""
        answer = self._json("pin/ls", {"type": "recursive", "names": "true"}, deadline)
        keys = answer.get("Keys") or {}
        if not isinstance(keys, dict):
            raise KuboError("pin/ls: Keys is not an object")
        return {
            str(cid): str(info.get("Name", "")) if isinstance(info, dict) else ""
            for cid, info in keys.items()
        }

    # -- MFS ------------------------------------------------------------------------

    def files_write(self, path: str, data: bytes, deadline: Deadline) -> None:
        params = {"arg": path, "create": "true", "parents": "true", "truncate": "true"}
        files = {"file": ("data", data, "application/octet-stream")}
        self._call("files/write", params, deadline, files=files, max_bytes=MAX_JSON_BYTES)

    def files_read(self, path: str, deadline: Deadline, *, max_bytes: int) -> bytes | None:
        """The file's bytes, or None when there is no such file."""
        try:
            return self._bytes("files/read", {"arg": path}, deadline, max_bytes)
        except KuboUnavailable:
            raise
        except KuboError as exc:
            if exc.not_found:
                return None
            raise

    def files_ls(self, path: str, deadline: Deadline) -> list[str] | None:
        """Names in the directory, or None when there is no such directory."""
        try:
            answer = self._json("files/ls", {"arg": path}, deadline)
        except KuboUnavailable:
            raise
        except KuboError as exc:
            if exc.not_found:
                return None
            raise
        entries = answer.get("Entries") or []  # Kubo answers null for an empty directory
        if not isinstance(entries, list):
            raise KuboError("files/ls: Entries is not a list")
        return [str(item.get("Name")) for item in entries if isinstance(item, dict)]

    def files_rm(self, path: str, deadline: Deadline) -> None:
        try:
            self._call("files/rm", {"arg": path}, deadline, max_bytes=MAX_JSON_BYTES)
        except KuboUnavailable:
            raise
        except KuboError as exc:
            if not exc.not_found:
                raise

    # -- transport ------------------------------------------------------------------

    def _json(
        self,
        command: str,
        params: Mapping[str, str],
        deadline: Deadline,
        *,
        files: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        raw = self._call(command, params, deadline, files=files, max_bytes=MAX_JSON_BYTES)
        try:
            answer = json.loads(raw)
        except ValueError:
            raise KuboError(f"{command}: the answer is not JSON") from None
        if not isinstance(answer, dict):
            raise KuboError(f"{command}: the answer is not a JSON object")
        return answer

    def _bytes(
        self, command: str, params: Mapping[str, str], deadline: Deadline, max_bytes: int
    ) -> bytes:
        return self._call(command, params, deadline, max_bytes=max_bytes)

    def _call(
        self,
        command: str,
        params: Mapping[str, str],
        deadline: Deadline,
        *,
        max_bytes: int,
        files: Mapping[str, Any] | None = None,
    ) -> bytes:
        url = f"{self.url}/api/v0/{command}"
        try:
            request = self._client.build_request(
                "POST", url, params=dict(params), files=files, timeout=deadline.remaining()
            )
            response = self._client.send(request, stream=True)
            try:
                # An error's Message is read whatever the cap for the answer it replaces.
                cap = max_bytes if response.status_code == 200 else MAX_ERROR_BYTES
                body = _read_capped(response, deadline, cap, command)
            finally:
                response.close()
        except httpx.TimeoutException:
            raise KuboUnavailable(f"{command}: no answer in time") from None
        except httpx.HTTPError as exc:
            raise KuboUnavailable(f"{command}: {type(exc).__name__}: {exc}"[:200]) from None
        if response.status_code != 200:
            raise KuboError(
                f"{command}: {_message(body, response.status_code)}", status=response.status_code
            )
        return body


def _read_capped(
    response: httpx.Response, deadline: Deadline, max_bytes: int, command: str
) -> bytes:
    chunks: list[bytes] = []
    size = 0
    for chunk in response.iter_bytes():
        size += len(chunk)
        if size > max_bytes:
            raise KuboError(f"{command}: answer larger than {max_bytes} bytes")
        chunks.append(chunk)
        deadline.remaining()  # a trickling answer is cut off when the budget is spent
    return b"".join(chunks)


def _message(body: bytes, status: int) -> str:
    """Kubo's error ``Message`` (``{"Message", "Code", "Type": "error"}``), else the status."""
    try:
        answer = json.loads(body)
    except ValueError:
        answer = None
    if isinstance(answer, dict) and isinstance(answer.get("Message"), str):
        return " ".join(answer["Message"].split())[:200]
    return f"HTTP {status}"
