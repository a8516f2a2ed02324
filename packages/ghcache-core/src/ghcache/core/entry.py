"""One stored response: what the disk keeps, what peers exchange, byte-exact.

The on-disk/on-wire form (format 2) is one compact JSON object whose last
member is ``data``::

    {"format":2,"key":...,...,"body_cid":"bafkrei...","body_length":N,"data":<BODY>}

When the body is UTF-8 JSON, ``<BODY>`` is the body's exact bytes, so the file
stays valid JSON (``jq .data`` works) while a reader parses only the small
header before ``"data":`` and slices the body off the end: no second copy of
the body, no full parse to serve bytes, and ``data`` can no longer disagree
with the CID-verified body.  Any other body (text, binary, empty, JSON that
would not embed cleanly) is kept as today in ``body`` (UTF-8 text) or
``body_b64``, before ``"data":null``.  ``stored_at``, ``ttl`` and ``data``
remain the documented inspection fields.

Format 1 files (``data`` decoded and ``body`` as a string, both always
present) are still read, taking only ``body``; every write is format 2.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field, replace
from typing import Any

from ghcache.core.kernel import serving
from ghcache.core.kernel.entries import (
    DATA_MARKER,
    FORMAT_VERSION,
    NON_VERBATIM_TAIL,
    BodyMismatch,
    CorruptEntry,
    EntryFields,
    check_record,
    parse_entry,
)
from ghcache.core.kernel.identity import SHARED_SCOPE
from ghcache.core.kernel.keys import cid_for_bytes

__all__ = [
    "DATA_MARKER",
    "SHARED_SCOPE",
    "BodyMismatch",
    "CorruptEntry",
    "Entry",
    "decode_json",
    "header_value",
]

_UTF8_BOM = b"\xef\xbb\xbf"


def header_value(headers: list[tuple[str, str]], name: str) -> str | None:
    """First value of header ``name`` (case-insensitive), or None."""
    lowered = name.lower()
    for key, value in headers:
        if key.lower() == lowered:
            return value
    return None


_PENDING: Any = object()


class _LazyData:
    """``Entry.data``: the decoded JSON body, decoded on first access.

    A reader that only prints bytes never pays for decoding; ``data=None``
    (the default) means "derive it from the body", a value passed in (e.g. by
    ``GitHubAPICache.put``, which has it already) is kept as given.
    """

    def __get__(self, entry: Entry | None, owner: type | None = None) -> Any:
        if entry is None:
            return self
        value = entry.__dict__.get("_data", _PENDING)
        if value is _PENDING:
            value = decode_json(entry.body)
            entry.__dict__["_data"] = value
        return value

    def __set__(self, entry: Entry, value: Any) -> None:
        # The dataclass passes this descriptor itself when ``data`` is omitted.
        pending = value is None or value is self
        entry.__dict__["_data"] = _PENDING if pending else value


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
    # identity fingerprint -> when GitHub last showed that identity this body
    # (kernel.serving has the rule that reads it).
    access: dict[str, float] = field(default_factory=dict)
    data: Any = field(default=_LazyData(), repr=False)

    def __post_init__(self) -> None:
        if not self.body_cid:
            self.body_cid = cid_for_bytes(self.body)

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
        return serving.age(self.stored_at, now)

    def is_fresh(self, now: float) -> bool:
        return serving.is_fresh(self.stored_at, self.ttl, now)

    def for_peers(self) -> bytes:
        """The bytes a teammate gets: who here was shown it (``access``) stays on this machine."""
        return (self.replace(access={}) if self.access else self).to_bytes()

    def replace(self, **changes: Any) -> Entry:
        """A copy with ``changes``; ``data`` re-derives from the body unless given."""
        return replace(self, **changes)

    def header_dict(self) -> dict[str, Any]:
        """Every stored field except the body and ``data``, in file order."""
        return {
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
            "access": self.access,
            "body_cid": self.body_cid,
            "body_length": len(self.body),
        }

    def to_dict(self) -> dict[str, Any]:
        """The header, the body as ``body``/``body_b64`` and the decoded ``data`` (for display)."""
        record = self.header_dict()
        record.update(_body_field(self.body))
        record["data"] = self.data
        return record

    def to_bytes(self) -> bytes:
        record = self.header_dict()
        verbatim = _verbatim_json(self.body)
        if verbatim is None:
            record.update(_body_field(self.body))
            tail = NON_VERBATIM_TAIL
        else:
            if self.__dict__.get("_data", _PENDING) is _PENDING:
                self.__dict__["_data"] = verbatim[0]  # decoded anyway: keep it
            tail = self.body + b"}"
        try:
            head = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        except UnicodeEncodeError:
            # Lone surrogates (a URL from non-UTF-8 argv): \u escapes read back exactly.
            head = json.dumps(record, separators=(",", ":")).encode("ascii")
        return head[:-1] + DATA_MARKER + tail

    @classmethod
    def from_dict(cls, record: Any) -> Entry:
        """Rebuild an entry from a decoded record holding ``body`` or ``body_b64``
        (a format 1 file or :meth:`to_dict`'s output); ``data`` re-derives from the body."""
        return cls.from_fields(check_record(record))

    @classmethod
    def from_bytes(cls, raw: bytes) -> Entry:
        """Parse and verify an entry file (schema, body length, body CID)."""
        return cls.from_fields(parse_entry(raw))

    @classmethod
    def from_fields(cls, fields: EntryFields) -> Entry:
        # EntryFields' slots are named as this class's fields (data derives from the body).
        return cls(**{name: getattr(fields, name) for name in EntryFields.__slots__})


def _body_field(body: bytes) -> dict[str, str]:
    try:
        return {"body": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"body_b64": base64.b64encode(body).decode("ascii")}


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


# Strict JSON only: Python's NaN/Infinity extensions would make the file invalid JSON.
_STRICT_JSON = json.JSONDecoder(parse_constant=_refuse_constant)


def _verbatim_json(body: bytes) -> list[Any] | None:
    """``[decoded body]`` when ``body`` can be ``data``'s value verbatim, else None.

    That is UTF-8 JSON (no BOM) that stays valid one level deeper, inside the file.
    """
    if not body or body.startswith(_UTF8_BOM):
        return None
    try:
        wrapped = _STRICT_JSON.decode("[" + body.decode("utf-8") + "]")
    except (ValueError, RecursionError):
        return None
    return wrapped if len(wrapped) == 1 else None


try:
    # About twice json.loads' speed on GitHub-sized bodies (bench/bench_core.py), and exact:
    # integers of any size stay ints (orjson turns those past 64 bits into floats), and
    # what it reads differently from json (NaN, 1e999, lone surrogates, a BOM) it refuses,
    # so falling back to json.loads gives json's answer every time.
    from msgspec import DecodeError as _DecodeError
    from msgspec.json import Decoder as _Decoder

    _fast_decode: Any = _Decoder().decode
    _FAST_ERRORS: tuple[type[BaseException], ...] = (_DecodeError, ValueError, RecursionError)
except ImportError:  # pragma: no cover - a declared dependency; json alone is only slower
    _fast_decode = None
    _FAST_ERRORS = ()


def decode_json(body: bytes) -> Any:
    """``json.loads(body)`` (a new object each call), or None when the body is not JSON."""
    if not body:
        return None
    if _fast_decode is not None:
        try:
            return _fast_decode(body)
        except _FAST_ERRORS:  # DecodeError is a ValueError only from msgspec 0.19 on
            pass
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None
