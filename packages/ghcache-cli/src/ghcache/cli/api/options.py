"""What ``ghcache api`` was asked: its options, checked the way gh checks them,
the request headers and the ``--input`` body."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import IO

from ghcache.cli.errors import ApiFailure, ApiUsageError
from ghcache.cli.gh.durations import DurationError, parse_duration
from ghcache.cli.gh.endpoints import BadEndpoint, check_endpoint
from ghcache.cli.gh.output import TOKEN_CHARS, go_json_string
from ghcache.core.kernel.hosts import is_printable_ascii, shown


@dataclass
class ApiOptions:
    """The ``ghcache api`` command line, a field per flag (``method_passed``: -X was given)."""

    endpoint: str
    method: str = "GET"
    method_passed: bool = False
    typed_fields: list[str] = field(default_factory=list)
    raw_fields: list[str] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    previews: list[str] = field(default_factory=list)
    include: bool = False
    paginate: bool = False
    slurp: bool = False
    input_file: str | None = None
    silent: bool = False
    jq: str | None = None
    template: str | None = None
    cache: str | None = None
    hostname: str | None = None
    verbose: bool = False
    ttl: str | None = None
    refresh: bool = False
    no_cache: bool = False
    offline: bool = False


def validate(opts: ApiOptions) -> float | None:
    """Check flag combinations the way gh does; returns the TTL in seconds (or None)."""
    if opts.hostname is not None:
        host = opts.hostname.strip()
        if not is_printable_ascii(host) or any(char in host for char in "/: ") or host[:1] in "-":
            raise ApiUsageError(f"error parsing `--hostname`: invalid hostname {shown(host)}")
    try:
        check_endpoint(opts.endpoint, opts.hostname)
    except BadEndpoint as exc:
        raise ApiUsageError(str(exc)) from None
    if not opts.method or any(char not in TOKEN_CHARS for char in opts.method):
        raise ApiUsageError(f"invalid method {go_json_string(opts.method)}")
    if "://" in opts.endpoint:
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(opts.endpoint)
            parts.port  # noqa: B018 - raises ValueError for a bad port
        except ValueError as exc:
            raise ApiUsageError(f"invalid API endpoint {opts.endpoint!r}: {exc}") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ApiUsageError(f"invalid API endpoint {opts.endpoint!r}: not an http(s) URL")
    if opts.paginate and opts.method.upper() != "GET" and opts.endpoint != "graphql":
        raise ApiUsageError("the `--paginate` option is not supported for non-GET requests")
    if opts.paginate and opts.input_file is not None:
        raise ApiUsageError("the `--paginate` option is not supported with `--input`")
    if sum((opts.silent, bool(opts.jq), bool(opts.template))) > 1:
        raise ApiUsageError("only one of `--template`, `--jq`, or `--silent` may be used")
    if opts.slurp and not opts.paginate:
        raise ApiUsageError("`--paginate` required when passing `--slurp`")
    if opts.slurp and (opts.jq or opts.template):
        raise ApiUsageError("the `--slurp` option is not supported with `--jq` or `--template`")
    if sum((opts.refresh, opts.no_cache, opts.offline)) > 1:
        raise ApiUsageError("only one of `--refresh`, `--no-cache`, or `--offline` may be used")
    if opts.cache is not None and opts.ttl is not None:
        raise ApiUsageError("only one of `--cache` or `--ttl` may be used")
    if opts.no_cache and (opts.cache is not None or opts.ttl is not None):
        raise ApiUsageError("`--no-cache` cannot be combined with `--cache` or `--ttl`")
    ttl: float | None = None
    if opts.cache is not None:
        try:
            seconds = parse_duration(opts.cache)
        except DurationError as exc:
            raise ApiUsageError(
                f'invalid argument "{opts.cache}" for "--cache" flag: {exc}'
            ) from None
        # gh treats a zero or negative --cache as "not given".
        ttl = seconds if seconds > 0 else None
    if opts.ttl is not None:
        text = opts.ttl.strip()
        if not (text.isascii() and text.isdigit()):
            raise ApiUsageError(
                f'invalid argument "{opts.ttl}" for "--ttl" flag: expected whole seconds (0 or more)'
            )
        ttl = float(int(text))
    return ttl


def parse_headers(raw: list[str], previews: list[str]) -> list[tuple[str, str]]:
    headers: list[tuple[str, str]] = []
    for item in raw:
        name, colon, value = item.partition(":")
        if not colon:
            raise ApiUsageError(f"header {go_json_string(item)} requires a value separated by ':'")
        value = value.strip()
        if not name or any(char not in TOKEN_CHARS for char in name):
            raise ApiUsageError(f"invalid header field name {go_json_string(name)}")
        if any(char in value for char in "\r\n\x00"):
            raise ApiUsageError(f"invalid header field value for {go_json_string(name)}")
        if not value.isascii():
            # Deliberate difference: gh sends UTF-8 bytes; the HTTP layer here sends ASCII only.
            raise ApiUsageError(f"header {go_json_string(name)}: only ASCII values can be sent")
        headers.append((name, value))
    names = [name.strip() for preview in previews for name in preview.split(",") if name.strip()]
    if names:
        accept = [f"application/vnd.github.{names[0]}-preview+json"]
        accept += [f"application/vnd.github.{name}-preview" for name in names[1:]]
        headers.append(("Accept", ", ".join(accept)))
    return headers


def read_input(name: str, stdin: IO[bytes]) -> bytes:
    if name == "-":
        return stdin.read()
    try:
        with open(name, "rb") as handle:
            return handle.read()
    except IsADirectoryError:
        raise ApiFailure(f"read {name}: is a directory", bare=True) from None
    except OSError as exc:
        raise ApiFailure(
            f"open {name}: {(exc.strerror or 'cannot read').lower()}", bare=True
        ) from None
