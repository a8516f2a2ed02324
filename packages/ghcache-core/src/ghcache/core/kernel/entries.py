"""Entry files: their names, and reading one safely and checking it.

The on-disk form (format 2) is one compact JSON object whose last member is
``data`` (``core.entry`` writes it; its docstring shows the layout).  A
reader parses only the header before ``"data":`` and slices a verbatim JSON
body off the end, then checks the body against its length and CID, so a
served body is always the one that was stored.  Format 1 files (the whole
record parsed, ``body`` taken) are still read.
"""

from __future__ import annotations

import os
import stat
import time
from _json import make_scanner

from ghcache.core.kernel.keys import cid_for_bytes

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

FORMAT_VERSION = 2
LEGACY_FORMAT_VERSION = 1
ENTRY_PREFIX = "gh_api_"
ENTRY_SUFFIX = ".json"
# Every format-2 file ends with DATA_MARKER + value + b"}"; JSON strings escape
# their quotes, so the first occurrence of the marker is the structural one.
DATA_MARKER = b',"data":'
NON_VERBATIM_TAIL = b"null}"
# Far beyond any GitHub answer; bounds what one read may take from a file.
MAX_ENTRY_FILE_BYTES = 1 << 30
_WHITESPACE = " \t\n\r"
# Reads must not move access times by themselves (relatime would on a first read):
# atime is the LRU order, and only hits set it, explicitly.
_NOATIME = getattr(os, "O_NOATIME", 0)
# Never follow a link out of the directory, never wait on a FIFO or device.
_SAFE_OPEN = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


class CorruptEntry(ValueError):
    """The bytes are not a valid entry (truncated, wrong schema, body/CID mismatch)."""


class BodyMismatch(CorruptEntry):
    """A well-formed entry whose body is not the one its CID (or length) names."""


class EntryFields:
    """A checked entry, as read (``core.entry.Entry`` is built from these)."""

    __slots__ = (
        "access",
        "body",
        "body_cid",
        "headers",
        "http_version",
        "key",
        "method",
        "reason",
        "scope",
        "status",
        "stored_at",
        "ttl",
        "url",
    )

    def __init__(self, record: dict[str, Any], body: bytes) -> None:
        self.key: str = _text(record["key"])
        self.scope: str = _text(record["scope"])
        self.method: str = _text(record["method"])
        self.url: str = _text(record["url"])
        self.stored_at = float(record["stored_at"])
        self.ttl = float(record["ttl"])
        self.status = int(record["status"])
        self.reason: str = _text(record.get("reason", ""))
        self.http_version: str = _text(record.get("http_version", "HTTP/1.1"))
        self.headers: list[tuple[str, str]] = [(str(k), str(v)) for k, v in record["headers"]]
        self.body = body
        self.body_cid: str = record["body_cid"]
        self.access: dict[str, float] = _access(record.get("access"))

    def with_body(self, body: bytes) -> EntryFields:
        """A copy holding ``body``, with containers of its own (a caller may change them)."""
        copy = EntryFields.__new__(EntryFields)
        for name in EntryFields.__slots__:
            setattr(copy, name, getattr(self, name))
        copy.headers = list(self.headers)
        copy.access = dict(self.access)
        copy.body = body
        return copy


def is_safe_key(key: str) -> bool:
    """Whether ``key`` can name a file in the store (keys may come from peers)."""
    return bool(key) and key.isascii() and key.isprintable() and "/" not in key


def entry_path(directory: str, key: str) -> str:
    return os.path.join(directory, ENTRY_PREFIX + key + ENTRY_SUFFIX)


def read_entry_file(directory: str, key: str, *, touch: bool) -> EntryFields | None:
    """The checked entry stored for ``key``; None when there is none.

    Raises :class:`CorruptEntry` for anything else at that name (damaged, not a
    regular file, a link, stored under another key): the caller drops it.
    ``touch`` marks the entry as just used for LRU eviction.
    """
    opened = open_entry_file(directory, key)
    if opened is None:
        return None
    fd, info = opened
    try:
        raw = read_exactly(fd, info.st_size)
        fields = parse_entry(raw)
        if fields.key != key:
            raise CorruptEntry("entry stored under another key")
        if touch:
            touch_entry(fd, info)
        return fields
    except OSError:
        return None  # e.g. the file vanished: a miss, nothing to drop
    finally:
        os.close(fd)


def open_entry_file(directory: str, key: str) -> tuple[int, os.stat_result] | None:
    """(descriptor, its fstat) of the regular file stored for ``key``; None when there is none.

    Raises :class:`CorruptEntry` for anything else at that name (a link, a FIFO, a
    directory, a file larger than any entry).  The caller closes the descriptor.
    """
    fd = open_entry_fd(directory, key)
    if fd is None:
        return None
    try:
        info = os.fstat(fd)
        check_entry_stat(info)
    except OSError:
        os.close(fd)
        return None
    except BaseException:
        os.close(fd)
        raise
    return fd, info


def open_entry_fd(directory: str, key: str) -> int | None:
    """A descriptor on what is stored for ``key`` (never through a link, never blocking on
    a FIFO), or None; CorruptEntry when the name holds something that cannot be opened so.
    The caller checks the file (:func:`check_entry_stat`) and closes the descriptor."""
    if not is_safe_key(key):
        return None
    return open_entry_path(entry_path(directory, key))


def open_entry_path(path: str) -> int | None:
    """:func:`open_entry_fd` for an entry's path already made from a safe key."""
    try:
        return os.open(path, _SAFE_OPEN | _NOATIME)
    except PermissionError:  # O_NOATIME needs us to own the file
        try:
            return os.open(path, _SAFE_OPEN)
        except OSError:
            return None
    except FileNotFoundError:
        return None
    except OSError as exc:  # ELOOP (a link), ENXIO (a socket), ...
        raise CorruptEntry(f"not a regular file: {exc.strerror}") from None


def check_entry_stat(info: os.stat_result) -> None:
    """CorruptEntry unless ``info`` is a regular file no larger than any entry."""
    if not stat.S_ISREG(info.st_mode):
        raise CorruptEntry("not a regular file")
    if info.st_size > MAX_ENTRY_FILE_BYTES:
        raise CorruptEntry("larger than any entry")


def touch_entry(fd: int, info: os.stat_result, at_ns: int | None = None) -> None:
    """Mark the open entry as used (now, or at ``at_ns``): its access time is the LRU order
    eviction follows."""
    try:  # set explicitly: noatime/relatime mounts would not
        os.utime(fd, ns=(time.time_ns() if at_ns is None else at_ns, info.st_mtime_ns))
    except OSError:
        pass


def read_exactly(fd: int, size: int, *, check_end: bool = True) -> bytes:
    """The file's ``size`` bytes; CorruptEntry when it shrank (or, with ``check_end``, grew)."""
    chunks = []
    left = size
    while left > 0:
        chunk = os.read(fd, min(left, 1 << 24))
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    if left or (check_end and os.read(fd, 1)):  # our writers replace files, never rewrite
        raise CorruptEntry("file changed while read")
    return b"".join(chunks)


def parse_entry(raw: bytes) -> EntryFields:
    """Parse and check an entry file (schema, field types, body length and CID)."""
    split = raw.find(DATA_MARKER)
    if split < 0:  # not laid out by our writer, e.g. a whole record re-serialized
        return _parse_whole_record(raw)
    header = json_loads(raw[:split] + b"}")
    if not isinstance(header, dict):
        raise CorruptEntry("not an entry: not a JSON object")
    if header.get("format") == LEGACY_FORMAT_VERSION:
        return _parse_whole_record(raw)
    if header.get("format") != FORMAT_VERSION:
        raise CorruptEntry(f"unknown entry format {header.get('format')!r}")
    value_start = split + len(DATA_MARKER)
    if "body" in header or "body_b64" in header:
        if raw[value_start:] != NON_VERBATIM_TAIL:
            raise CorruptEntry("data is not null after a body field")
        body = body_from_field(header)
    else:
        if raw[-1:] != b"}":
            raise CorruptEntry("data is not the last member")
        body = raw[value_start:-1]
    return check_entry(header, body, check_length=True)


def _parse_whole_record(raw: bytes) -> EntryFields:
    record = json_loads(raw)
    return check_record(record)


def check_record(record: object) -> EntryFields:
    """A decoded record holding ``body`` or ``body_b64`` (format 1, or ``to_dict`` output)."""
    if not isinstance(record, dict):
        raise CorruptEntry("not an entry: not a JSON object")
    if record.get("format") not in (FORMAT_VERSION, LEGACY_FORMAT_VERSION):
        raise CorruptEntry(f"unknown entry format {record.get('format')!r}")
    return check_entry(record, body_from_field(record), check_length="body_length" in record)


def check_entry(record: dict[str, Any], body: bytes, *, check_length: bool) -> EntryFields:
    try:
        body_cid = record["body_cid"]
        if not isinstance(body_cid, str) or cid_for_bytes(body) != body_cid:
            raise BodyMismatch("body does not match its CID")
        if check_length:
            length = record["body_length"]
            if type(length) is not int or length != len(body):
                raise BodyMismatch("body does not match its length")
        fields = EntryFields(record, body)
    except CorruptEntry:
        raise
    except (AttributeError, KeyError, TypeError, ValueError, OverflowError) as exc:
        raise CorruptEntry(f"malformed entry: {type(exc).__name__}") from None
    stored_at, ttl = fields.stored_at, fields.ttl
    if stored_at != stored_at or ttl != ttl or ttl < 0 or stored_at in (_INF, -_INF):
        raise CorruptEntry("malformed entry: bad stored_at/ttl")
    return fields


_INF = float("inf")


def body_from_field(record: dict[str, Any]) -> bytes:
    try:
        if "body" in record:
            return str(record["body"]).encode("utf-8")
        import base64  # only entries of non-text bodies pay for it

        return base64.b64decode(record["body_b64"], validate=True)
    except (KeyError, TypeError, ValueError, UnicodeEncodeError) as exc:
        raise CorruptEntry(f"malformed entry: {type(exc).__name__}") from None


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise CorruptEntry("malformed entry: expected a string")
    return value


def _access(value: object) -> dict[str, float]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise CorruptEntry("malformed entry: access is not an object")
    access = {}
    for identity, when in value.items():
        if type(when) not in (int, float) or when != when:
            raise CorruptEntry("malformed entry: bad access time")
        access[identity] = float(when)
    return access


class _ScanContext:
    """What ``_json.make_scanner`` reads from a ``json.JSONDecoder`` (strict JSON)."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int

    @staticmethod
    def parse_constant(name: str) -> object:
        raise ValueError(f"{name} is not JSON")


_scan_once = make_scanner(_ScanContext())  # type: ignore[arg-type]  # duck-typed decoder


def json_loads(raw: bytes) -> Any:
    """``json.loads`` of UTF-8 bytes without importing ``json``; CorruptEntry when not one
    JSON document."""
    try:
        text = raw.decode("utf-8", "surrogatepass")
        start = len(text) - len(text.lstrip(_WHITESPACE))
        value, end = _scan_once(text, start)
    except (StopIteration, RecursionError, ValueError):  # RecursionError: "[[[[..." too deep
        raise CorruptEntry("not JSON") from None
    if text[end:].strip(_WHITESPACE):
        raise CorruptEntry("not JSON: extra data")
    return value
