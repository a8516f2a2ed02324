"""One stored response: what the disk keeps, what peers exchange, byte-exact.

The on-disk/on-wire form is one JSON object.  ``stored_at``, ``ttl`` and
``data`` are the documented inspection fields; ``body`` (or ``body_b64`` for
bytes that are not UTF-8) keeps exactly what GitHub sent, and ``body_cid``
addresses it, so a reader can prove the body is intact.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any

from ghcache.core.cid import cid_for_bytes

FORMAT_VERSION = 1
SHARED_SCOPE = "shared"


class CorruptEntry(ValueError):
    """The bytes are not a valid entry (truncated, wrong schema, body/CID mismatch)."""


def header_value(headers: list[tuple[str, str]], name: str) -> str | None:
    """First value of header ``name`` (case-insensitive), or None."""
    lowered = name.lower()
    for key, value in headers:
        if key.lower() == lowered:
            return value
    return None


@dataclass
class Entry:
    key: str
    scope: str
    method: str
    url: str
    stored_at: float
    ttl: float
    status: int
    headers: list[tuple[str, str]]
    body: bytes
    reason: str = "OK"
    http_version: str = "HTTP/1.1"
    body_cid: str = ""
    data: Any = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.body_cid:
            self.body_cid = cid_for_bytes(self.body)
        if self.data is None:
            self.data = decode_json(self.body)

    @property
    def etag(self) -> str | None:
        return header_value(self.headers, "etag")

    @property
    def last_modified(self) -> str | None:
        return header_value(self.headers, "last-modified")

    @property
    def link(self) -> str | None:
        return header_value(self.headers, "link")

    @property
    def content_type(self) -> str | None:
        return header_value(self.headers, "content-type")

    @property
    def is_shared(self) -> bool:
        return self.scope == SHARED_SCOPE

    def age(self, now: float) -> float:
        return max(0.0, now - self.stored_at)

    def is_fresh(self, now: float) -> bool:
        return self.age(now) < self.ttl

    def to_dict(self) -> dict[str, Any]:
        record: dict[str, Any] = {
            "format": FORMAT_VERSION,
            "key": self.key,
            "scope": self.scope,
            "method": self.method,
            "url": self.url,
            "stored_at": self.stored_at,
            "ttl": self.ttl,
            "status": self.status,
            "reason": self.reason,
            "http_version": self.http_version,
            "headers": [[k, v] for k, v in self.headers],
            "etag": self.etag,
            "last_modified": self.last_modified,
            "link": self.link,
            "content_type": self.content_type,
            "body_cid": self.body_cid,
            "data": self.data,
        }
        try:
            record["body"] = self.body.decode("utf-8")
        except UnicodeDecodeError:
            record["body_b64"] = base64.b64encode(self.body).decode("ascii")
        return record

    def to_bytes(self) -> bytes:
        record = self.to_dict()
        try:
            return json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        except UnicodeEncodeError:
            # Lone surrogates (a URL from non-UTF-8 argv): \u escapes read back exactly.
            return json.dumps(record, separators=(",", ":")).encode("ascii")

    @classmethod
    def from_dict(cls, record: Any, *, trust_data: bool = True) -> Entry:
        """Rebuild an entry, verifying schema and the body against its CID.

        ``trust_data=False`` (for bytes from elsewhere, e.g. a peer) re-derives
        ``data`` from the verified body instead of taking the stored field.
        """
        try:
            if record.get("format") != FORMAT_VERSION:
                raise CorruptEntry(f"unknown entry format {record.get('format')!r}")
            if "body" in record:
                body = str(record["body"]).encode("utf-8")
            else:
                body = base64.b64decode(record["body_b64"], validate=True)
            body_cid = record["body_cid"]
            if not isinstance(body_cid, str) or cid_for_bytes(body) != body_cid:
                raise CorruptEntry("body does not match its CID")
            headers = [(str(k), str(v)) for k, v in record["headers"]]
            stored_at = float(record["stored_at"])
            ttl = float(record["ttl"])
            status = int(record["status"])
            entry = cls(
                key=_text(record["key"]),
                scope=_text(record["scope"]),
                method=_text(record["method"]),
                url=_text(record["url"]),
                stored_at=stored_at,
                ttl=ttl,
                status=status,
                headers=headers,
                body=body,
                reason=_text(record.get("reason", "")),
                http_version=_text(record.get("http_version", "HTTP/1.1")),
                body_cid=body_cid,
                data=record.get("data") if trust_data else None,
            )
        except CorruptEntry:
            raise
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise CorruptEntry(f"malformed entry: {type(exc).__name__}") from None
        if stored_at != stored_at or ttl != ttl or ttl < 0:  # NaN or negative
            raise CorruptEntry("malformed entry: bad stored_at/ttl")
        return entry

    @classmethod
    def from_bytes(cls, raw: bytes, *, trust_data: bool = True) -> Entry:
        try:
            record = json.loads(raw)
        except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested too deep
            raise CorruptEntry("not JSON") from None
        return cls.from_dict(record, trust_data=trust_data)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise CorruptEntry("malformed entry: expected a string")
    return value


def decode_json(body: bytes) -> Any:
    """The decoded JSON body, or None when the body is not JSON."""
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None
