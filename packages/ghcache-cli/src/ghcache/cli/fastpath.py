"""Serve a plain ``ghcache api ENDPOINT`` cache hit before click or httpx load.

A whole-process cache hit must cost well under ``gh api --cache``'s time, and
on this machine even ``ghcache.core``'s stdlib modules cost ~40 ms to import
(``typing``, ``dataclasses``, ``subprocess``, ``urllib.parse``, ``pathlib``).
So this module recomputes, with C built-ins only (``_json``'s scanner and string
encoder, ``_sha256``: no ``json``, ``re``, ``enum``, ``hashlib`` or ``typing``),
exactly what core does on a hit: the canonical request and its key (``core.scope.build_request``),
the entry file (``core.store.DiskStore.read``) and the hit counter
(``core.stats.Stats.add``).  ``tests/test_fastpath_core_parity.py`` proves each
piece equal to core's over many inputs, so drift in core fails a test.

The contract is conservative: :func:`serve_hit` answers only when it is sure
the slow path (the click ``api`` command) would print the same bytes from a
fresh stored entry; in every other case it returns None and touches nothing,
and ``entry.main`` hands the arguments to click.  A wrong guess can only cost
speed (a miss here), never a different answer, because a key here names a
request whose every keyed part (method, URL, Accept, API version, scope) is
what the slow path would send.
"""

from __future__ import annotations

import os
import sys
import time

# ``import json`` costs ~9 ms (it imports re and enum); its C core costs nothing.
from _json import encode_basestring, encode_basestring_ascii, make_scanner

# ``typing`` costs ~10 ms to import here; annotations are strings, so only the
# type checker needs these names.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import IO

try:  # the C module itself: hashlib would load OpenSSL (~3 ms) for one digest
    from _sha256 import sha256
except ImportError:  # pragma: no cover - Python 3.12+ renamed it
    from hashlib import sha256

# Mirrors of core constants; the parity tests compare them with core's.
KEY_SCHEMA = "ghcache-key-v1"
ENTRY_FORMAT = 2
ENTRY_DATA_MARKER = b',"data":'  # core.entry.DATA_MARKER
ENTRY_PREFIX = "gh_api_"
ENTRY_SUFFIX = ".json"
STATS_FILE = "stats.json"
STATS_LOCK_FILE = ".stats.lock"
STATS_COUNTERS = (
    "hits",
    "misses",
    "stale_served",
    "revalidated",
    "upstream_requests",
    "peer_hits",
    "corrupt_dropped",
    "evictions",
)
SHARED_SCOPE = "shared"
IDENTITY_PREFIX = "identity:"
IDENTITY_PATHS = (
    "user",
    "user/",
    "notifications",
    "notifications/",
    "issues",
    "rate_limit",
    "installation/",
    "app",
    "app/",
)
DEFAULT_CACHE_DIR = "~/.cache/github_cli"
# Settings that core validates on every run: the slow path would fail on a bad
# value, so the fast path steps aside unless each present value is plainly valid.
INT_SETTINGS = {
    "CACHE_DEFAULT_TTL": (0, None),
    "CACHE_MAX_BYTES": (1, None),
    "CACHE_MAX_STALE": (0, None),
    "CACHE_NEGATIVE_TTL": (0, None),
    "CACHE_LISTEN_PORT": (0, 65535),
    "CACHE_PEER_TIMEOUT_MS": (0, None),
    "CACHE_METRICS_PORT": (0, 65535),
}
BOOL_SETTINGS = ("CACHE_ENABLE_P2P", "CACHE_ENABLE_MDNS")
_BOOL_WORDS = {"1", "true", "yes", "on", "0", "false", "no", "off", ""}

NO_FASTPATH_ENV = "GHCACHE_NO_FASTPATH"
# gh prints for a terminal (colour, pretty JSON) when these say so even on a pipe.
STYLE_ENV = ("GH_FORCE_TTY", "CLICOLOR_FORCE")

_B32 = "abcdefghijklmnopqrstuvwxyz234567"
_CID_PREFIX = b"\x01\x55\x12\x20"  # CIDv1, raw codec, sha2-256, 32-byte digest
_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_NAME_CHARS = _ALNUM + "._-"  # repository owners and names, preview names
# Endpoint characters whose URL form and key form are plainly the same.
_SAFE_ENDPOINT_CHARS = _ALNUM + "._~/%:@!$&'()*+,;=?-"
_WORD_CHARS = _ALNUM + "_"
_MAX_DURATION = (2**63 - 1) // 10**9  # Go durations are int64 nanoseconds
_PLACEHOLDER_WORDS = ("owner", "repo", "branch")
_WHITESPACE = " \t\n\r"
_KEYED_HEADERS = ("accept", "x-github-api-version")
# Flags that take a value (the next argument, or after "=" for long ones).
_VALUE_FLAGS = (
    "-X",
    "--method",
    "-H",
    "--header",
    "-p",
    "--preview",
    "--cache",
    "--ttl",
    "--hostname",
)
_NOATIME = getattr(os, "O_NOATIME", 0)


class FastRequest:
    """A parsed ``api`` call the fast path can answer (plain class: no dataclasses import)."""

    __slots__ = ("accept", "api_version", "endpoint", "hostname", "include", "silent", "ttl")

    def __init__(self) -> None:
        self.endpoint = ""
        self.hostname: str | None = None
        self.accept: str | None = None
        self.api_version: str | None = None
        self.ttl: float | None = None
        self.include = False
        self.silent = False


def serve_hit(
    args: list[str],
    env: Mapping[str, str] | None = None,
    stdout: IO[bytes] | None = None,
    *,
    stdout_is_tty: bool | None = None,
) -> int | None:
    """Answer a fresh cache hit and return 0, or return None having written nothing."""
    env = os.environ if env is None else env
    if env.get(NO_FASTPATH_ENV):
        return None
    request = parse_api_args(args)
    if request is None:
        return None
    if stdout is None:
        if sys.stdout is None or not hasattr(sys.stdout, "buffer"):
            return None  # stdout closed (``>&-``) or replaced: the slow path copes
        stdout = sys.stdout.buffer
    if stdout_is_tty is None:
        try:
            stdout_is_tty = stdout.isatty()
        except (OSError, ValueError):
            return None
    try:
        stored = lookup(request, env, time.time())
    except Exception:  # anything unexpected: the slow path gives the real answer
        return None
    if stored is None:
        return None
    color = False
    if stdout_is_tty or any(env.get(name) for name in STYLE_ENV):
        try:
            from ghcache.cli import output  # the api command's own rules

            if output.wants_pager(env, stdout_is_tty):
                return None  # gh pages a terminal's output: the api command runs the pager
            color = output.color_enabled(env, stdout_is_tty or output.is_terminal(env, stdout))
        except Exception:
            return None
    count_hit(cache_dir(env))
    try:
        write_response(stored, request, stdout, color=color)
    except BrokenPipeError:  # the reader went away (``| head``): gh dies of SIGPIPE, 141
        silence_stdout()
        return 128 + 13
    except OSError as exc:  # e.g. a full disk behind a redirect: gh's wording, as the api command
        silence_stdout()
        sys.stderr.write(f"write /dev/stdout: {(exc.strerror or 'write error').lower()}\n")
        return 1
    return 0


def lookup(request: FastRequest, env: Mapping[str, str], now: float) -> StoredResponse | None:
    """The fresh 2xx entry that answers ``request``, or None (then the slow path runs)."""
    if not settings_are_plain(env):
        return None
    endpoint = request.endpoint
    if endpoint == "graphql" or endpoint.startswith(("http://", "https://")):
        return None
    filled = fill_placeholders(endpoint, env)
    if filled is None:
        return None
    if filled.startswith("/"):
        filled = filled[1:]
    base = rest_url(request.hostname, env)
    path = filled.partition("?")[0]
    scope = SHARED_SCOPE
    if is_identity_path(path.lstrip("/")):
        token = env_token(request.hostname, env)
        if token is None:
            return None  # the client would ask `gh auth token`: too slow for here
        scope = IDENTITY_PREFIX + identity_fingerprint(token)
    key = request_key(
        base, filled, accept=request.accept, api_version=request.api_version, scope=scope
    )
    if key is None:
        return None
    stored = read_entry(cache_dir(env), key)
    if stored is None or not 200 <= stored.status < 300:
        return None
    limit = request.ttl if request.ttl is not None else stored.ttl
    if not max(0.0, now - stored.stored_at) < limit:
        return None
    return stored


def write_response(
    stored: StoredResponse, request: FastRequest, out: IO[bytes], *, color: bool = False
) -> None:
    """Print the hit as ``ghcache.cli.output.write_cached`` does (the api command's printer).

    Uncoloured, without ``--include`` and with no ``\\u00XX`` escape for gh's
    control-character sanitizer to rewrite, that is the body as stored
    (nothing for a 204), so the common case skips importing ``output`` (which
    loads json and re, ~9 ms); ``tests/test_fastpath_output.py`` holds this
    equal to ``write_cached``.
    """
    if request.include or color or b"\\u00" in stored.body:
        from ghcache.cli import output

        output.write_cached(
            out, stored, include=request.include, silent=request.silent, color=color
        )
        return
    if not request.silent and stored.status != 204:
        out.write(stored.body)
    out.flush()


def silence_stdout() -> None:
    """After a closed pipe, keep Python's exit-time flush from printing an error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


# --------------------------------------------------------------------------- arguments


def parse_api_args(args: list[str]) -> FastRequest | None:
    """``api ENDPOINT`` with only the supported flags, else None.

    Supported: ``-X/--method GET``, ``-H/--header`` (Accept and X-GitHub-Api-Version only),
    ``-p/--preview``, ``--cache DURATION`` (whole h/m/s only), ``--ttl N``,
    ``--hostname H``, ``-i/--include``, ``--silent``, ``--offline``.
    """
    if len(args) < 2 or args[0] != "api":
        return None
    request = FastRequest()
    headers: list[tuple[str, str]] = []
    previews: list[str] = []
    endpoint: str | None = None
    seen: set[str] = set()
    rest = args[1:]
    i = 0
    while i < len(rest):
        arg = rest[i]
        i += 1
        if not arg.startswith("-") or arg == "-":
            if endpoint is not None:
                return None
            endpoint = arg
            continue
        if arg in ("-i", "--include"):
            request.include = True
            continue
        if arg == "--silent":
            request.silent = True
            continue
        if arg == "--offline":
            continue  # a fresh hit is answered the same offline or not
        name, eq, value = arg.partition("=")
        if not eq:
            if name not in _VALUE_FLAGS:
                return None
            if i >= len(rest):
                return None
            value = rest[i]
            i += 1
        elif not name.startswith("--"):
            return None  # "-H=..." means something else to click
        if value.startswith("-"):
            return None
        if name in ("-H", "--header"):
            header_name, colon, header_value = value.partition(":")
            if not colon:
                return None
            if header_name != header_name.strip():
                return None  # whether "Accept :" names Accept is the slow path's call
            headers.append((header_name, header_value.strip()))
        elif name in ("-X", "--method"):
            if value.upper() != "GET":
                return None  # only a plain GET can be a cache hit here
        elif name in ("-p", "--preview"):
            for preview in value.split(","):
                if not is_plain_name(preview):
                    return None
                previews.append(preview)
        elif name in ("--cache", "--ttl", "--hostname"):
            if name in seen or (name != "--hostname" and {"--cache", "--ttl"} & seen):
                return None
            seen.add(name)
            if name == "--hostname":
                if not is_plain_hostname(value):
                    return None
                request.hostname = value
            else:
                ttl = parse_duration(value) if name == "--cache" else parse_seconds(value)
                if ttl is None:
                    return None
                # gh takes a zero --cache as not given (the stored TTL decides); --ttl 0 is 0.
                request.ttl = None if name == "--cache" and ttl == 0 else ttl
        else:
            return None
    if endpoint is None:
        return None
    request.endpoint = endpoint
    if previews:
        headers.append(("Accept", preview_accept(previews)))
    for header_name, header_value in headers:
        lowered = header_name.lower()
        if lowered not in _KEYED_HEADERS or not header_value:
            return None  # other headers change what is sent: the slow path decides
        if lowered == "accept":
            if request.accept is not None:
                return None
            request.accept = header_value
        else:
            if request.api_version is not None:
                return None
            request.api_version = header_value
    return request


def preview_accept(names: list[str]) -> str:
    """gh's Accept header for ``-p`` previews."""
    first = f"application/vnd.github.{names[0]}-preview+json"
    return ", ".join([first, *(f"application/vnd.github.{name}-preview" for name in names[1:])])


def is_plain_hostname(text: str) -> bool:
    """A bare host name such as "github.localhost" (URLs, paths, spaces: the slow path)."""
    return bool(text) and not text.strip(_NAME_CHARS + ":")


def is_plain_name(text: str) -> bool:
    return bool(text) and not text.strip(_NAME_CHARS)


def parse_duration(text: str) -> float | None:
    """Seconds for a gh ``--cache`` duration in whole h/m/s units ("1h", "90s", "1h30m").

    Other forms gh accepts ("1.5h", "500ms") are left to the slow path.
    """
    total = 0
    rest = text
    for unit, seconds in (("h", 3600), ("m", 60), ("s", 1)):
        number, found, after = rest.partition(unit)
        if not found:
            continue
        if not (number.isascii() and number.isdigit()):
            return None
        total += int(number) * seconds
        rest = after
    if rest or not text or total > _MAX_DURATION:
        return None
    return float(total)


def parse_seconds(text: str) -> float | None:
    if not (text.isascii() and text.isdigit()):
        return None
    return float(int(text))


# ------------------------------------- settings, host, token (core.config, core.hosts)


def settings_are_plain(env: Mapping[str, str]) -> bool:
    """Whether core's ``Settings.from_env`` surely accepts every ``CACHE_*`` value."""
    for name, (minimum, maximum) in INT_SETTINGS.items():
        if name not in env:
            continue
        value = env[name].strip()
        if name == "CACHE_METRICS_PORT" and not value:
            continue
        if not (value.isascii() and value.isdigit()) or len(value) > 18:
            return False
        number = int(value)
        if number < minimum or (maximum is not None and number > maximum):
            return False
    return all(env[name].strip().lower() in _BOOL_WORDS for name in BOOL_SETTINGS if name in env)


def cache_dir(env: Mapping[str, str]) -> str:
    return os.path.expanduser(env.get("CACHE_DIR", "").strip() or DEFAULT_CACHE_DIR)


def rest_url(hostname: str | None, env: Mapping[str, str]) -> str:
    """``ghcache.core.hosts.resolve_host(hostname, env).rest_url``."""
    host = (hostname or env.get("GH_HOST") or "github.com").strip().lower()
    if host.startswith(("https://", "http://")):
        host = host.split("://", 1)[1]
    host = host.rstrip("/")
    if host == "github.com":
        rest = "https://api.github.com/"
    elif host == "github.localhost":
        rest = "http://api.github.localhost/"
    else:
        rest = f"https://{host}/api/v3/"
    override = env.get("GITHUB_API_URL", "").strip()
    if override and hostname is None:
        rest = override if override.endswith("/") else override + "/"
    return rest


def is_enterprise(hostname: str | None, env: Mapping[str, str]) -> bool:
    host = (hostname or env.get("GH_HOST") or "github.com").strip().lower()
    if host.startswith(("https://", "http://")):
        host = host.split("://", 1)[1]
    return host.rstrip("/") not in ("github.com", "github.localhost")


def env_token(hostname: str | None, env: Mapping[str, str]) -> str | None:
    """``ghcache.core.hosts.token_from_env``'s token."""
    if is_enterprise(hostname, env):
        names = ("GH_ENTERPRISE_TOKEN", "GITHUB_ENTERPRISE_TOKEN")
    else:
        names = ("GH_TOKEN", "GITHUB_TOKEN")
    for name in names:
        value = env.get(name, "").strip()
        if value:
            return value
    return None


def fill_placeholders(endpoint: str, env: Mapping[str, str]) -> str | None:
    """``{owner}``/``{repo}`` (and ``:owner``/``:repo``) from a plain ``GH_REPO=OWNER/REPO``.

    gh's pattern is ``(:(owner|repo|branch)\\b|\\{[a-z]+\\})``.  None when
    filling needs git (no GH_REPO, ``{branch}``), for any other ``{name}``, or
    when a word boundary is in doubt.
    """
    if "{" not in endpoint and ":" not in endpoint:
        return endpoint
    parts = env.get("GH_REPO", "").split("/")
    repo_ok = len(parts) == 2 and all(is_plain_name(part) for part in parts)
    values = {"owner": parts[0], "repo": parts[-1]} if repo_ok else {}
    out: list[str] = []
    i = 0
    while i < len(endpoint):
        char = endpoint[i]
        if char == "{":
            close = endpoint.find("}", i + 1)
            name = endpoint[i + 1 : close] if close > i else ""
            if name and name.isascii() and name.isalpha() and name.islower():
                if name not in values:
                    return None
                out.append(values[name])
                i = close + 1
                continue
        elif char == ":":
            word = next((w for w in _PLACEHOLDER_WORDS if endpoint.startswith(w, i + 1)), None)
            if word is not None:
                after = endpoint[i + 1 + len(word) : i + 2 + len(word)]
                if not after.isascii():
                    return None  # \\b with a non-ASCII neighbour: let the slow path judge
                if not after or after not in _WORD_CHARS:
                    if word not in values:
                        return None
                    out.append(values[word])
                    i += 1 + len(word)
                    continue
        out.append(char)
        i += 1
    return "".join(out)


# ------------------------------------------ the key (core.scope, core.keys, core.cid)


def is_identity_path(path: str) -> bool:
    path = path.strip("/")
    for pattern in IDENTITY_PATHS:
        if pattern.endswith("/") and (path + "/").startswith(pattern):
            return True
        if path == pattern:
            return True
    return False


def identity_fingerprint(token: str) -> str:
    import hashlib
    import hmac

    digest = hmac.new(b"ghcache/identity/v1", token.encode("utf-8"), hashlib.sha256)
    return digest.hexdigest()[:32]


def cid_for_bytes(data: bytes) -> str:
    """``ghcache.core.cid.cid_for_bytes`` without base64's import."""
    raw = _CID_PREFIX + sha256(data).digest()
    bits = len(raw) * 8
    chars = -(-bits // 5)
    number = int.from_bytes(raw, "big") << (chars * 5 - bits)
    encoded = [_B32[(number >> shift) & 31] for shift in range((chars - 1) * 5, -1, -5)]
    return "b" + "".join(encoded)


def normalized_base(base_url: str) -> str:
    """``keys.make_request``'s base URL: scheme and host lower-cased, trailing slash."""
    if not base_url.endswith("/"):
        base_url += "/"
    scheme, sep, rest = base_url.partition("://")
    host, slash, tail = rest.partition("/")
    return f"{scheme.lower()}{sep}{host.lower()}{slash}{tail}"


def request_key(
    base_url: str,
    endpoint: str,
    *,
    accept: str | None,
    api_version: str | None,
    scope: str,
) -> str | None:
    """The key core gives a GET of ``base_url + endpoint`` (no body), or None if unsure."""
    if not endpoint or endpoint.strip(_SAFE_ENDPOINT_CHARS):
        return None
    if "?" in base_url or "#" in base_url:
        return None
    path, question, query_text = endpoint.partition("?")
    query = parse_query(query_text) if question else []
    pairs = ",".join(
        f"[{encode_basestring(name)},{encode_basestring(value)}]" for name, value in sorted(query)
    )
    # json.dumps(parts, ensure_ascii=False, separators=(",", ":")) of keys.CacheRequest.canonical
    fields = [
        encode_basestring(KEY_SCHEMA),
        encode_basestring(normalized_base(base_url)),
        encode_basestring("GET"),
        encode_basestring(path.lstrip("/")),
        f"[{pairs}]",
        encode_basestring((accept or "").strip()),
        encode_basestring((api_version or "").strip()),
        encode_basestring(""),
        encode_basestring(scope),
    ]
    return cid_for_bytes(("[" + ",".join(fields) + "]").encode("utf-8"))


def parse_query(text: str) -> list[tuple[str, str]]:
    """``urllib.parse.parse_qsl(text, keep_blank_values=True)``."""
    if "%" in text:
        from urllib.parse import parse_qsl  # percent-decoding rules: only these pay for urllib

        return parse_qsl(text, True)
    pairs = []
    for field in text.split("&") if text else []:
        if not field:
            continue
        name, _, value = field.partition("=")
        pairs.append((name.replace("+", " "), value.replace("+", " ")))
    return pairs


# ------------------------------------------- the store (core.store, core.entry, core.stats)


class _ScanContext:
    """What ``_json.make_scanner`` reads from a ``json.JSONDecoder``."""

    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = {
        "-Infinity": float("-inf"),
        "Infinity": float("inf"),
        "NaN": float("nan"),
    }.__getitem__


_scan_once = make_scanner(_ScanContext())  # type: ignore[arg-type]  # duck-typed decoder


def json_loads(raw: bytes) -> object:
    """``json.loads`` of UTF-8 bytes (ValueError when not one JSON document)."""
    text = raw.decode("utf-8", "surrogatepass")
    start = len(text) - len(text.lstrip(_WHITESPACE))
    try:
        value, end = _scan_once(text, start)
    except (StopIteration, RecursionError):  # RecursionError: "[[[[..." nested too deep
        raise ValueError("not JSON") from None
    if text[end:].strip(_WHITESPACE):
        raise ValueError("extra data after JSON")
    return value


class StoredResponse:
    """The parts of a verified entry file that printing needs."""

    __slots__ = ("body", "headers", "http_version", "reason", "status", "stored_at", "ttl")

    def __init__(
        self,
        status: int,
        reason: str,
        http_version: str,
        headers: list[tuple[str, str]],
        body: bytes,
        stored_at: float,
        ttl: float,
    ) -> None:
        self.status = status
        self.reason = reason
        self.http_version = http_version
        self.headers = headers
        self.body = body
        self.stored_at = stored_at
        self.ttl = ttl


def read_entry(directory: str, key: str) -> StoredResponse | None:
    """The verified entry for ``key`` like ``DiskStore.read``, but never deleting.

    Anything doubtful returns None: the slow path then reads it with core,
    which removes and counts a corrupt entry.
    """
    path = os.path.join(directory, f"{ENTRY_PREFIX}{key}{ENTRY_SUFFIX}")
    try:  # like core: no kernel atime update on read, ours is set explicitly below
        fd = os.open(path, os.O_RDONLY | _NOATIME)
    except PermissionError:  # O_NOATIME needs us to own the file
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return None
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        chunks = [os.read(fd, info.st_size + 1)]
        while chunks[-1]:
            chunks.append(os.read(fd, 1 << 20))
        stored = parse_entry(b"".join(chunks), key)
        if stored is not None:
            try:  # access time drives LRU eviction, as DiskStore.read keeps it
                os.utime(fd, ns=(time.time_ns(), info.st_mtime_ns))
            except OSError:
                pass
        return stored
    except OSError:
        return None
    finally:
        os.close(fd)


def parse_entry(raw: bytes, key: str) -> StoredResponse | None:
    """``Entry.from_bytes`` checks (format, key, body length and CID, field types), or None.

    Like core, only the header before ``"data":`` is parsed; a verbatim JSON
    body is sliced off the end.  Format 1 files are left to core, which reads them.
    """
    try:
        split = raw.find(ENTRY_DATA_MARKER)
        if split < 0:
            return None
        record = json_loads(raw[:split] + b"}")
        if not isinstance(record, dict):
            return None
        if record.get("format") != ENTRY_FORMAT or record.get("key") != key:
            return None
        value_start = split + len(ENTRY_DATA_MARKER)
        if "body" in record:
            if raw[value_start:] != b"null}":
                return None
            body = str(record["body"]).encode("utf-8")
        elif "body_b64" in record:
            if raw[value_start:] != b"null}":
                return None
            import base64

            body = base64.b64decode(record["body_b64"], validate=True)
        else:
            if raw[-1:] != b"}":
                return None
            body = raw[value_start:-1]
        length = record["body_length"]
        if type(length) is not int or length != len(body):
            return None
        if cid_for_bytes(body) != record["body_cid"]:
            return None
        stored = StoredResponse(
            status=int(record["status"]),
            reason=_text(record.get("reason", "")),
            http_version=_text(record.get("http_version", "HTTP/1.1")),
            headers=[(str(k), str(v)) for k, v in record["headers"]],
            body=body,
            stored_at=float(record["stored_at"]),
            ttl=float(record["ttl"]),
        )
        for field in ("scope", "method", "url"):
            _text(record[field])
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return None
    if stored.stored_at != stored.stored_at or stored.ttl != stored.ttl or stored.ttl < 0:
        return None
    return stored


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def count_hit(directory: str) -> None:
    """``Stats(directory).add(hits=1)``: same lock, same file, same in-place padded write."""
    import fcntl

    try:
        lock = os.open(os.path.join(directory, STATS_LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return  # statistics must never break a request
    try:
        fcntl.flock(lock, fcntl.LOCK_EX)
        fd = os.open(os.path.join(directory, STATS_FILE), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            old = b""
            while chunk := os.pread(fd, 65536, len(old)):
                old += chunk
            counters = dict.fromkeys(STATS_COUNTERS, 0)
            try:
                stored = json_loads(old)
            except ValueError:
                stored = None
            if isinstance(stored, dict):
                for name, value in stored.items():
                    if isinstance(value, int) and not isinstance(value, bool):
                        counters[name] = value
            counters["hits"] = counters.get("hits", 0) + 1
            # json.dumps(counters): default separators, ASCII only; spaces pad over a
            # longer old text (JSON ignores them), so one pwrite replaces it in place.
            text = ", ".join(f"{encode_basestring_ascii(k)}: {v!r}" for k, v in counters.items())
            data = ("{" + text + "}").encode("ascii")
            data += b" " * (len(old) - len(data))
            os.pwrite(fd, data, 0)
        finally:
            os.close(fd)
    except OSError:
        pass
    finally:
        os.close(lock)
