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
from dataclasses import dataclass, field
from typing import Any

from ghcache.core.cid import cid_for_bytes

FORMAT_VERSION = 2
LEGACY_FORMAT_VERSION = 1
SHARED_SCOPE = "shared"
# Every format-2 file ends with DATA_MARKER + value + b"}"; JSON strings escape
# their quotes, so the first occurrence of the marker is the structural one.
DATA_MARKER = b',"data":'
_NON_VERBATIM_TAIL = b"null}"
_UTF8_BOM = b"\xef\xbb\xbf"


class CorruptEntry(ValueError):
    """The bytes are not a valid entry (truncated, wrong schema, body/CID mismatch)."""


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
        return max(0.0, now - self.stored_at)

    def is_fresh(self, now: float) -> bool:
        return self.age(now) < self.ttl

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
            tail = _NON_VERBATIM_TAIL
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
    def from_dict(cls, record: Any, *, trust_data: bool = True) -> Entry:
        """Rebuild an entry from a decoded record holding ``body`` or ``body_b64``.

        That is a format 1 file or :meth:`to_dict`'s output.  ``data`` is always
        re-derived from the verified body, whatever the record says, so
        ``trust_data`` (kept for callers) no longer changes anything.
        """
        try:
            if record.get("format") not in (FORMAT_VERSION, LEGACY_FORMAT_VERSION):
                raise CorruptEntry(f"unknown entry format {record.get('format')!r}")
            body = _body_from_field(record)
        except CorruptEntry:
            raise
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise CorruptEntry(f"malformed entry: {type(exc).__name__}") from None
        return _build(cls, record, body, check_length="body_length" in record)

    @classmethod
    def from_bytes(cls, raw: bytes, *, trust_data: bool = True) -> Entry:
        """Parse and verify an entry file (schema, body length, body CID).

        Only the header is parsed; a verbatim JSON body is sliced off the end
        and decoded when ``.data`` is first read.  ``trust_data`` is kept for
        callers: ``data`` always derives from the verified body now.
        """
        split = raw.find(DATA_MARKER)
        if split < 0:  # not laid out by our writer, e.g. to_dict()'s output re-serialized
            return cls._from_whole_record(raw)
        try:
            header = json.loads(raw[:split] + b"}")
        except (ValueError, RecursionError):  # RecursionError: "[[[[..." nested too deep
            raise CorruptEntry("not JSON") from None
        if not isinstance(header, dict):
            raise CorruptEntry("not an entry: not a JSON object")
        if header.get("format") == LEGACY_FORMAT_VERSION:
            return cls._from_whole_record(raw)
        if header.get("format") != FORMAT_VERSION:
            raise CorruptEntry(f"unknown entry format {header.get('format')!r}")
        value_start = split + len(DATA_MARKER)
        try:
            if "body" in header or "body_b64" in header:
                if raw[value_start:] != _NON_VERBATIM_TAIL:
                    raise CorruptEntry("data is not null after a body field")
                body = _body_from_field(header)
            else:
                if raw[-1:] != b"}":
                    raise CorruptEntry("data is not the last member")
                body = raw[value_start:-1]
        except CorruptEntry:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptEntry(f"malformed entry: {type(exc).__name__}") from None
        return _build(cls, header, body, check_length=True)

    @classmethod
    def _from_whole_record(cls, raw: bytes) -> Entry:
        """A format 1 file, or any JSON record with ``body``/``body_b64``: parse it all."""
        try:
            record = json.loads(raw)
        except (ValueError, RecursionError):
            raise CorruptEntry("not JSON") from None
        return cls.from_dict(record)


def _build(cls: type[Entry], record: Any, body: bytes, *, check_length: bool) -> Entry:
    """Check ``record``'s fields and the body against its length and CID; the entry."""
    try:
        body_cid = record["body_cid"]
        if not isinstance(body_cid, str) or cid_for_bytes(body) != body_cid:
            raise CorruptEntry("body does not match its CID")
        if check_length:
            length = record["body_length"]
            if type(length) is not int or length != len(body):
                raise CorruptEntry("body does not match its length")
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
        )
    except CorruptEntry:
        raise
    except (AttributeError, KeyError, TypeError, ValueError) as exc:
        raise CorruptEntry(f"malformed entry: {type(exc).__name__}") from None
    if stored_at != stored_at or ttl != ttl or ttl < 0:  # NaN or negative
        raise CorruptEntry("malformed entry: bad stored_at/ttl")
    return entry


def _body_field(body: bytes) -> dict[str, str]:
    try:
        return {"body": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"body_b64": base64.b64encode(body).decode("ascii")}


def _body_from_field(record: Any) -> bytes:
    if "body" in record:
        return str(record["body"]).encode("utf-8")
    return base64.b64decode(record["body_b64"], validate=True)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise CorruptEntry("malformed entry: expected a string")
    return value


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


def decode_json(body: bytes) -> Any:
    """The decoded JSON body, or None when the body is not JSON."""
    if not body:
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return None
