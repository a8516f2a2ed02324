"""Serve a ``ghcache api`` cache hit before click or httpx load.

A plain call, ``--include``, ``--silent``, ``--jq``, ``--template`` and REST
``--paginate`` (``--slurp``) are answered here when every page is a hit; the
filters and pages go through the api command's own printer and page loop
(:mod:`ghcache.cli.api.printer`, :mod:`ghcache.cli.api.pages`).

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

from ghcache.cli.fastargs import SAFE_ENDPOINT_CHARS, FastRequest, fill_placeholders, parse_api_args
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


class NotAHit(Exception):
    """A page the cache cannot answer without a request: the click path takes over."""


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
    color = False
    if stdout_is_tty or any(env.get(name) for name in STYLE_ENV):
        try:
            from ghcache.cli.gh import output  # the api command's own rules

            if output.wants_pager(env, stdout_is_tty):
                return None  # gh pages a terminal's output: the api command runs the pager
            color = output.color_enabled(env, stdout_is_tty or output.is_terminal(env, stdout))
        except Exception:
            return None
    stored: entries.EntryFields | None = None
    try:
        caller = Caller(request, env)  # once for every page: settings, host, token
        if request.is_plain:
            stored = lookup(request, caller, request.endpoint, env, time.time())
            if stored is None:
                return None
            printed, pages = b"", 1
        else:
            printed, pages = print_hit_pages(request, caller, env, stdout, color)
    except Exception:  # a bad setting, anything unexpected: the slow path gives the answer
        return None
    count_hit(caller.cache_dir, pages)
    try:
        if stored is not None:
            write_response(stored, request, stdout, color=color)
        else:
            stdout.write(printed)
            stdout.flush()
    except BrokenPipeError:  # the reader went away (``| head``): gh dies of SIGPIPE, 141
        silence_stdout()
        return 128 + 13
    except OSError as exc:  # e.g. a full disk behind a redirect: gh's wording, as the api command
        silence_stdout()
        sys.stderr.write(f"write /dev/stdout: {(exc.strerror or 'write error').lower()}\n")
        return 1
    return 0


def print_hit_pages(
    request: FastRequest, caller: Caller, env: Mapping[str, str], stdout: IO[bytes], color: bool
) -> tuple[bytes, int]:
    """(the output, pages read) of a ``--jq``/``--template``/``--paginate`` call whose every
    page is a hit, printed by the api command's own page loop and printer into memory
    (so that nothing is written unless all of it can be); NotAHit otherwise."""
    import io

    from ghcache.cli.api.pages import print_pages
    from ghcache.cli.api.printer import Printer, add_filters

    now = time.time()
    pages = 0

    def fetch(method: str, target: str, payload: bytes | None) -> entries.EntryFields:
        nonlocal pages
        if graphql_url is not None:
            found = lookup_graphql(request, caller, target, payload or b"", now)
            if found is None or method != "POST":
                raise NotAHit(target)
            pages += 1
            return found
        if payload is not None or method != "GET":
            raise NotAHit(target)
        if "://" in target:  # a Link page: a URL below the API's base, as the client keys it
            if not target.startswith(caller.rest_url):
                raise NotAHit(target)
            target = target[len(caller.rest_url) :]
        stored = lookup(request, caller, target, env, now)
        if stored is None:
            raise NotAHit(target)
        pages += 1
        return stored

    path = request.endpoint
    graphql_url: str | None = None
    params: dict[str, object] = {}
    method = "GET"
    if path == "graphql":
        from ghcache.cli.gh.fields import parse_fields

        graphql_url = caller.graphql_url
        # fastargs let through no value that reads a file or fills a placeholder
        params = parse_fields(request.raw_fields, request.typed_fields, stdin=None, fill=str)
        method = "POST"
    elif request.paginate:
        from ghcache.cli.gh.paginate import add_per_page

        path = add_per_page(path, {})
    buffer = io.BytesIO()
    printer = Printer(request, buffer, io.StringIO(), color, request.hostname or "")
    add_filters(printer, request.jq, request.template, env, stdout)
    try:
        print_pages(
            fetch,
            printer,
            method=method,
            path=path,
            params=params,
            body=None,
            graphql_url=graphql_url,
        )
    except SystemExit:  # a page the api command reports as a failure: let it
        raise NotAHit(path) from None
    return buffer.getvalue(), pages


class Caller:
    """Who asks and where: the settings, the API's URLs and the token's fingerprint."""

    __slots__ = ("base", "cache_dir", "graphql_url", "rest_url", "sharing", "who")

    def __init__(self, request: FastRequest, env: Mapping[str, str]) -> None:
        values, _ = settings.read_settings(env)  # ConfigError: the click path names it
        host, self.rest_url, self.graphql_url = hosts.api_urls(request.hostname, env)
        if "?" in self.rest_url or "#" in self.rest_url:
            raise NotAHit(self.rest_url)
        token, _ = hosts.token_from_env(host, env)
        if token is None and hosts.gh_may_have_token(env):
            raise NotAHit("token")  # the client would ask `gh auth token`: too slow for here
        self.who = identity.identity_fingerprint(token)
        self.cache_dir = str(values["CACHE_DIR"])
        self.sharing = str(values["CACHE_SHARING"])
        self.base = keys.normalize_base(self.rest_url)


def lookup(
    request: FastRequest, caller: Caller, endpoint: str, env: Mapping[str, str], now: float
) -> entries.EntryFields | None:
    """The stored 2xx entry that answers ``endpoint`` (with ``request``'s headers and TTL)
    for ``caller`` with no request (``kernel.serving``), or None (then the click path runs);
    ``env`` fills placeholders."""
    if endpoint == "graphql" or endpoint.startswith(("http://", "https://")):
        return None
    filled = fill_placeholders(endpoint, env)
    if filled is None or not filled or filled.strip(SAFE_ENDPOINT_CHARS):
        return None
    path, question, query_text = filled.partition("?")
    if keys.normalize_path(path) != path.lstrip("/"):
        return None  # dot segments: the click path resolves them
    path = path.lstrip("/")
    identity_scoped = identity.is_identity_path(path)
    query = sorted(keys.parse_query(query_text)) if question else []
    return stored_answer(caller, request, "GET", caller.base, path, query, "", identity_scoped, now)


def lookup_graphql(
    request: FastRequest, caller: Caller, url: str, payload: bytes, now: float
) -> entries.EntryFields | None:
    """As :func:`lookup`, for a GraphQL query POSTed to ``url`` with the JSON ``payload``."""
    from ghcache.core.kernel import graphql

    if url != caller.graphql_url:
        return None
    # Keyed below the REST base when it lies there, else beside it (``ApiRequest.for_url``).
    for base in (caller.rest_url, caller.graphql_url.rsplit("/", 1)[0] + "/"):
        if url.startswith(base):
            path = url[len(base) :]
            break
    else:
        return None
    text = payload.decode("utf-8", "surrogateescape")
    identity_scoped = graphql.needs_identity_scope(text, caller.sharing)
    if identity_scoped is None:
        return None  # a mutation (never cached) or unreadable: the click path sends it
    body = graphql.canonical_json_text(text)
    base = keys.normalize_base(base)
    return stored_answer(caller, request, "POST", base, path, [], body, identity_scoped, now)


def stored_answer(
    caller: Caller,
    request: FastRequest,
    method: str,
    base: str,
    path: str,
    query: list[tuple[str, str]],
    body: str,
    identity_scoped: bool,
    now: float,
) -> entries.EntryFields | None:
    """The entry keyed by these parts, if the serving rule lets this caller have it now."""
    scope = identity.IDENTITY_PREFIX + caller.who if identity_scoped else identity.SHARED_SCOPE
    canonical = keys.canonical_bytes(
        base,
        method,
        path,
        query,
        (request.accept or "").strip(),
        (request.api_version or "").strip(),
        body,
        scope,
    )
    key = keys.cid_for_bytes(canonical)
    try:
        stored = entries.read_entry_file(caller.cache_dir, key, touch=True)
    except entries.CorruptEntry:
        return None  # the click path drops and counts it
    if stored is None or not 200 <= stored.status < 300:
        return None
    if not serving.serves_fresh(stored, caller.who, caller.sharing, now, request.ttl):
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


def count_hit(directory: str, pages: int = 1) -> None:
    """Count the hits as core's ``Stats.add(hits=...)`` does (the same function)."""
    try:
        counters.update_counters(directory, {"hits": pages})
    except OSError:
        pass  # statistics must never break a request
