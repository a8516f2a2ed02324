"""A request's canonical bytes and its cache key (a CIDv1 string).

The canonical form is a JSON array, so no two different requests can encode
to the same bytes (``("a:b",)`` never equals ``("a", "b")``).  It is written
with ``_json``'s C string encoder, byte for byte what ``json.dumps(parts,
ensure_ascii=False, separators=(",", ":"))`` gives.
"""

from __future__ import annotations

from _json import encode_basestring

try:
    from _sha256 import sha256
except ImportError:  # pragma: no cover - Python 3.12+ renamed it
    from hashlib import sha256

KEY_SCHEMA = "ghcache-key-v1"
# <cid version 1><multicodec raw 0x55><multihash sha2-256 0x12><digest length 32>
_RAW_SHA256_PREFIX = b"\x01\x55\x12\x20"
_BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
_BASE32_SET = frozenset(_BASE32)


def cid_for_bytes(data: bytes) -> str:
    """The CIDv1 that ``ipfs block put`` gives for ``data`` (``bafkrei...``).

    Base32 by hand: ``base64`` is a Python module the hit path need not load.
    """
    raw = _RAW_SHA256_PREFIX + sha256(data).digest()
    number = int.from_bytes(raw, "big") << 2  # 288 bits, padded to 58 groups of 5
    return "b" + "".join([_BASE32[(number >> shift) & 31] for shift in range(285, -1, -5)])


def is_cid(text: str) -> bool:
    """Whether ``text`` has the shape of a CID this module produces."""
    return len(text) == 59 and text.startswith("bafkrei") and _BASE32_SET.issuperset(text)


def canonical_bytes(
    base_url: str,
    method: str,
    path: str,
    query: tuple[tuple[str, str], ...] | list[tuple[str, str]],
    accept: str,
    api_version: str,
    body: str,
    scope: str,
) -> bytes:
    """The canonical request; every part already normalised (see ``core.keys.make_request``)."""
    pairs = ",".join(
        f"[{encode_basestring(name)},{encode_basestring(value)}]" for name, value in query
    )
    text = (
        f"[{encode_basestring(KEY_SCHEMA)},{encode_basestring(base_url)},"
        f"{encode_basestring(method)},{encode_basestring(path)},[{pairs}],"
        f"{encode_basestring(accept)},{encode_basestring(api_version)},"
        f"{encode_basestring(body)},{encode_basestring(scope)}]"
    )
    # surrogatepass: text decoded from non-UTF-8 bytes (argv, a Latin-1 body) holds
    # lone surrogates; strict UTF-8 cannot encode them.  Still injective, and the
    # same bytes as plain UTF-8 for every other string.
    return text.encode("utf-8", "surrogatepass")


def normalize_base(base_url: str) -> str:
    """Scheme and host lower-cased, one trailing slash."""
    if not base_url.endswith("/"):
        base_url += "/"
    scheme, sep, rest = base_url.partition("://")
    host, slash, tail = rest.partition("/")
    return f"{scheme.lower()}{sep}{host.lower()}{slash}{tail}"


_DOT = (".", "%2e", "%2E")
_DOT_DOT = ("..", ".%2e", ".%2E", "%2e.", "%2E.", "%2e%2e", "%2E%2E", "%2e%2E", "%2E%2e")


def normalize_path(path: str) -> str:
    """``path`` (no query) with dot segments resolved, percent-encoded ones too (RFC 3986
    5.2.4), and no leading slash: the path a server resolves, so the key and the
    scope rule see what is actually asked for.  ``..`` above the root stays at the root.
    """
    segments = path.split("/")
    if not any(segment in _DOT or segment in _DOT_DOT for segment in segments):
        return path.lstrip("/")
    out: list[str] = []
    for segment in segments:
        if segment in _DOT:
            continue
        if segment in _DOT_DOT:
            if out:
                out.pop()
            continue
        out.append(segment)
    trailing = "/" if segments[-1] in _DOT or segments[-1] in _DOT_DOT else ""
    return ("/".join(out) + trailing).lstrip("/")


def parse_query(text: str) -> list[tuple[str, str]]:
    """``urllib.parse.parse_qsl(text, keep_blank_values=True)``."""
    if "%" in text:
        from urllib.parse import parse_qsl  # percent-decoding: only these pay for urllib

        return parse_qsl(text, True)
    pairs = []
    for field in text.split("&") if text else []:
        if not field:
            continue
        name, _, value = field.partition("=")
        pairs.append((name.replace("+", " "), value.replace("+", " ")))
    return pairs
