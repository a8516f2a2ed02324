"""Serve a plain ``ghcache api ENDPOINT`` cache hit before click or httpx load.

A whole-process cache hit must cost well under ``gh api --cache``'s time, so
this module keeps only what is the CLI's own (reading the arguments, printing
the answer) and takes every rule from ``ghcache.core.kernel``, which imports
only C built-ins: the settings check, the host and token, the identity, the key,
the entry file and its checks, the serving rule and the hit counter are core's
own functions, not copies.

The contract is conservative: :func:`serve_hit` answers only when it is sure
the click ``api`` command would print the same bytes from a stored entry that
the caller may see with no request; in every other case it returns None and
touches nothing, and ``entry.main`` hands the arguments to click.  A wrong guess
can only cost speed, never a different answer.
"""

from __future__ import annotations

import os
import sys
import time

from ghcache.core.kernel import counters, entries, hosts, identity, keys, serving, settings

# ``typing`` costs ~10 ms to import here; annotations are strings, so only the
# type checker needs these names.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import IO

NO_FASTPATH_ENV = "GHCACHE_NO_FASTPATH"
# gh prints for a terminal (colour, pretty JSON) when these say so even on a pipe.
STYLE_ENV = ("GH_FORCE_TTY", "CLICOLOR_FORCE")

_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_NAME_CHARS = _ALNUM + "._-"  # repository owners and names, preview names
# Endpoint characters whose URL form and key form are plainly the same.
_SAFE_ENDPOINT_CHARS = _ALNUM + "._~/%:@!$&'()*+,;=?-"
_WORD_CHARS = _ALNUM + "_"
_MAX_DURATION = (2**63 - 1) // 10**9  # Go durations are int64 nanoseconds
_PLACEHOLDER_WORDS = ("owner", "repo", "branch")
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
            from ghcache.cli.gh import output  # the api command's own rules

            if output.wants_pager(env, stdout_is_tty):
                return None  # gh pages a terminal's output: the api command runs the pager
            color = output.color_enabled(env, stdout_is_tty or output.is_terminal(env, stdout))
        except Exception:
            return None
    count_hit(settings.cache_dir(env))
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


def lookup(request: FastRequest, env: Mapping[str, str], now: float) -> entries.EntryFields | None:
    """The stored 2xx entry that answers ``request`` for this caller with no request
    (``kernel.serving``), or None (then the click path runs)."""
    try:
        values, _ = settings.read_settings(env)
    except settings.ConfigError:
        return None  # the click path says which variable is wrong
    endpoint = request.endpoint
    if endpoint == "graphql" or endpoint.startswith(("http://", "https://")):
        return None
    filled = fill_placeholders(endpoint, env)
    if filled is None or not filled or filled.strip(_SAFE_ENDPOINT_CHARS):
        return None
    host, base, _ = hosts.api_urls(request.hostname, env)
    if "?" in base or "#" in base:
        return None
    path, question, query_text = filled.partition("?")
    if keys.normalize_path(path) != path.lstrip("/"):
        return None  # dot segments: the click path resolves them
    path = path.lstrip("/")
    token, _ = hosts.token_from_env(host, env)
    if token is None and hosts.gh_may_have_token(env):
        return None  # the client would ask `gh auth token`: too slow for here
    who = identity.identity_fingerprint(token)
    scope = (
        identity.IDENTITY_PREFIX + who if identity.is_identity_path(path) else identity.SHARED_SCOPE
    )
    query = sorted(keys.parse_query(query_text)) if question else []
    canonical = keys.canonical_bytes(
        keys.normalize_base(base),
        "GET",
        path,
        query,
        (request.accept or "").strip(),
        (request.api_version or "").strip(),
        "",
        scope,
    )
    key = keys.cid_for_bytes(canonical)
    try:
        stored = entries.read_entry_file(str(values["CACHE_DIR"]), key, touch=True)
    except entries.CorruptEntry:
        return None  # the click path drops and counts it
    if stored is None or not 200 <= stored.status < 300:
        return None
    if not serving.serves_fresh(stored, who, str(values["CACHE_SHARING"]), now, request.ttl):
        return None
    return stored


def write_response(
    stored: entries.EntryFields, request: FastRequest, out: IO[bytes], *, color: bool = False
) -> None:
    """Print the hit as ``ghcache.cli.gh.output.write_cached`` does (the api command's printer).

    Uncoloured, without ``--include`` and with no ``\\u00XX`` escape for gh's
    control-character sanitizer to rewrite, that is the body as stored
    (nothing for a 204), so the common case skips importing ``output`` (which
    loads json and re, ~9 ms); ``tests/test_fastpath_output.py`` holds this
    equal to ``write_cached``.
    """
    if request.include or color or b"\\u00" in stored.body:
        from ghcache.cli.gh import output

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


def count_hit(directory: str) -> None:
    """Count the hit as core's ``Stats.add(hits=1)`` does (the same function)."""
    try:
        counters.update_counters(directory, {"hits": 1})
    except OSError:
        pass  # statistics must never break a request
