"""``ghcache api ENDPOINT``: a drop-in for ``gh api`` that answers from the cache.

Arguments, request building and output follow gh 2.23 (the installed
reference), so a script can swap ``gh api`` for ``ghcache api`` and get the
same bytes and exit codes.  ghcache adds ``--ttl``, ``--refresh``,
``--no-cache`` and ``--offline``, and newer gh's ``--slurp``.

Exit codes: 0 success, 1 an API error (the body is printed, then the message
on stderr, like gh) or a failure to reach GitHub, 2 a usage error (one line).
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any, NoReturn, cast

import click

from ghcache.cli import output
from ghcache.cli.durations import DurationError, parse_duration
from ghcache.cli.fields import (
    FieldError,
    FieldValueError,
    add_query,
    go_json,
    graphql_payload,
    parse_fields,
)
from ghcache.cli.paginate import add_per_page, find_end_cursor, find_next_page, slurp
from ghcache.cli.placeholders import PlaceholderError, Resolver

PROG = output.PROG
HELP = """Make an authenticated GitHub API request, answered from the cache when possible.

A drop-in for `gh api` (same flags, output and exit codes). ENDPOINT is a
path of the REST API (placeholders {owner}, {repo} and {branch} are filled
from GH_REPO or the git remote), "graphql", or a full URL.

GET/HEAD requests and GraphQL queries are cached; other requests pass through
and drop the cached answers for the same resource.  --cache DURATION (gh's
flag) and --ttl SECONDS set how long an answer counts as fresh.
"""


class ApiUsageError(click.UsageError):
    """A one-line usage error, exit 2."""

    def show(self, file: Any = None) -> None:
        click.echo(output.error_line(self.format_message()).rstrip("\n"), err=True)


class ApiFailure(click.ClickException):
    """A failure, exit 1: ``ghcache: MESSAGE`` for ghcache's own failures (API unreachable,
    offline miss, settings); ``bare`` ones print the message alone, as gh does for the
    same failures (jq/template errors, unreadable files, placeholders)."""

    exit_code = 1

    def __init__(self, message: str, *, bare: bool = False) -> None:
        super().__init__(message)
        self.bare = bare

    def show(self, file: Any = None) -> None:
        message = self.format_message()
        click.echo(message if self.bare else output.error_line(message).rstrip("\n"), err=True)


class ApiCommand(click.Command):
    """Turns click's own parse errors (unknown flag, missing value) into one line."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            if isinstance(exc, ApiUsageError):
                raise
            raise ApiUsageError(_one_line(exc.format_message()), ctx) from None


def _one_line(text: str) -> str:
    return " ".join(text.split())


@dataclass
class ApiOptions:
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


_TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)


def validate(opts: ApiOptions) -> float | None:
    """Check flag combinations the way gh does; returns the TTL in seconds (or None)."""
    if opts.hostname is not None:
        host = opts.hostname.strip()
        if not host or any(char in host for char in "/: \t") or host.startswith("-"):
            raise ApiUsageError(
                f"error parsing `--hostname`: invalid hostname {output.go_json_string(host)}"
            )
    if not opts.method or any(char not in _TOKEN_CHARS for char in opts.method):
        raise ApiUsageError(f"invalid method {output.go_json_string(opts.method)}")
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
            raise ApiUsageError(
                f"header {output.go_json_string(item)} requires a value separated by ':'"
            )
        value = value.strip()
        if not name or any(char not in _TOKEN_CHARS for char in name):
            raise ApiUsageError(f"invalid header field name {output.go_json_string(name)}")
        if any(char in value for char in "\r\n\x00"):
            raise ApiUsageError(f"invalid header field value for {output.go_json_string(name)}")
        if not value.isascii():
            # Deliberate difference: gh sends UTF-8 bytes; the HTTP layer here sends ASCII only.
            raise ApiUsageError(
                f"header {output.go_json_string(name)}: only ASCII values can be sent"
            )
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


class FullWriter:
    """A binary stream whose ``write`` writes everything or raises.

    A big write to a pipe whose reader has gone can return a short count instead of
    raising; looping turns that into the BrokenPipeError it is (gh: exit by SIGPIPE).
    """

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream

    def write(self, data: bytes) -> int:
        view = memoryview(data)
        while view:
            written = self.stream.write(view)
            if not written:  # a stream that takes nothing will never take the rest
                raise BrokenPipeError(errno.EPIPE, "output closed")
            view = view[written:]
        return len(data)

    def flush(self) -> None:
        self.stream.flush()


@dataclass
class Printer:
    """Everything that decides how one page is printed, shared across pages."""

    opts: ApiOptions
    out: IO[bytes]
    err: IO[str]
    color: bool
    hostname: str
    jq: Any = None
    template: Any = None
    slurped: list[bytes] = field(default_factory=list)

    def page(self, resp: Any, *, graphql: bool) -> tuple[str, str | None]:
        """Print one response; returns (GraphQL end cursor or "", error message or None)."""
        opts = self.opts
        if opts.include:
            self.out.write(output.format_include(resp, color=self.color))
        if resp.status == 204:
            return "", None
        is_json = output.is_json(resp.headers)
        # What gh reads: JSON bodies with control-character escapes defused.
        body: bytes = output.sanitize_json_controls(resp.body) if is_json else resp.body
        problem: str | None = None
        if is_json and (graphql or resp.status >= 400):
            problem = output.message_from_body(body, resp.status) or None
        if opts.silent:
            pass
        elif self.jq is not None and problem is None:
            self._filtered(lambda: self.jq.run(body, self.out))
        elif self.template is not None and problem is None:
            self._filtered(lambda: self.template.execute(body, self.out))
        elif opts.slurp and problem is None and resp.status <= 299:
            self.slurped.append(body)
        else:
            output.write_body(
                resp.body, resp.headers, self.out, is_tty=self.color, status=resp.status
            )
        if problem is None and resp.status > 299:
            problem = f"HTTP {resp.status}"
        if problem is not None:
            return "", problem
        cursor = ""
        if is_json and resp.status == 200 and opts.paginate and graphql:
            cursor = find_end_cursor(body)
        return cursor, None

    def _filtered(self, run: Any) -> None:
        from ghcache.cli.jqfilter import JqError
        from ghcache.cli.template import TemplateError

        try:
            run()
        except (JqError, TemplateError) as exc:
            self.out.flush()
            raise ApiFailure(str(exc), bare=True) from None

    def finish(self) -> None:
        if self.template is not None:
            self._filtered(lambda: self.template.flush(self.out))
        if self.opts.slurp:
            merged = slurp(self.slurped)
            if self.color:
                painted = output.colorize_json(merged)
                merged = painted if painted is not None else merged
            self.out.write(merged)

    def fail(self, message: str, status: int, headers: list[tuple[str, str]]) -> NoReturn:
        self.out.flush()
        self.err.write(output.error_line(message))
        hint = output.scopes_suggestion(status, headers, self.hostname)
        if hint:
            self.err.write(output.error_line(hint))
        self.err.flush()
        raise SystemExit(1)


def build_printer(opts: ApiOptions, env: Mapping[str, str], hostname: str) -> Printer:
    stdout = sys.stdout.buffer
    stderr = sys.stderr
    color = output.color_enabled(env, output.is_terminal(env, stdout))
    printer = Printer(opts, cast(IO[bytes], FullWriter(stdout)), stderr, color, hostname)
    if opts.jq:
        from ghcache.cli.jqfilter import JqError, JqFilter

        try:
            printer.jq = JqFilter(opts.jq)
        except JqError as exc:
            raise ApiUsageError(f"invalid --jq program: {exc}") from None
    if opts.template:
        from ghcache.cli.template import Template, TemplateError

        try:
            printer.template = Template(
                opts.template, color=color, width=_terminal_width(env, stdout)
            )
        except TemplateError as exc:
            raise ApiUsageError(str(exc)) from None
    return printer


def start_pager(printer: Printer, env: Mapping[str, str]) -> Any:
    """Page the output like gh does on a terminal; None when there is no pager to run."""
    if not output.wants_pager(env, output.is_terminal(env, sys.stdout)):
        return None
    command = output.pager_command(env)
    import shlex
    import subprocess

    pager_env = dict(env)
    pager_env.setdefault("LESS", "FRX")
    pager_env.setdefault("LV", "-c")
    try:
        process = subprocess.Popen(shlex.split(command), stdin=subprocess.PIPE, env=pager_env)
    except FileNotFoundError:
        name = shlex.split(command)[0]
        printer.err.write(
            f'failed to start pager: exec: "{name}": executable file not found in $PATH\n'
        )
        return None
    except (OSError, ValueError) as exc:
        printer.err.write(f"failed to start pager: {exc}\n")
        return None
    assert process.stdin is not None
    printer.out = cast(IO[bytes], FullWriter(process.stdin))
    return process


def stop_pager(process: Any) -> None:
    try:
        process.stdin.close()
    except OSError:
        pass  # the reader quit early (q in less): nothing left to say
    process.wait()


def _terminal_width(env: Mapping[str, str], stream: Any) -> int:
    if not output.is_terminal(env, stream):
        return 80
    import shutil

    return shutil.get_terminal_size((80, 24)).columns


def run_api(opts: ApiOptions, env: Mapping[str, str] | None = None) -> None:
    """Do the request(s) and print like gh; raises click exceptions / SystemExit on failure."""
    env = os.environ if env is None else env
    ttl = validate(opts)
    headers = parse_headers(opts.headers, opts.previews)
    resolver = Resolver(env, hostname=opts.hostname)
    stdin = sys.stdin.buffer
    try:
        params = parse_fields(opts.raw_fields, opts.typed_fields, stdin=stdin, fill=resolver.fill)
    except FieldValueError as exc:
        raise ApiFailure(str(exc), bare=True) from None
    except FieldError as exc:
        raise ApiUsageError(str(exc)) from None

    graphql = opts.endpoint == "graphql"
    try:
        path = resolver.fill(opts.endpoint)
    except PlaceholderError as exc:
        raise ApiFailure(f"unable to expand placeholder in path: {exc}", bare=True) from None
    method = opts.method  # sent as typed, like gh; compared case-insensitively
    if not opts.method_passed and (params or opts.input_file is not None):
        method = "POST"
    if opts.paginate and not graphql:
        path = add_per_page(path, params)
    body: bytes | None = None
    if opts.input_file is not None:
        body = read_input(opts.input_file, stdin)
        path = add_query(path, params)
        params = {}

    printer = build_printer(opts, env, opts.hostname or "")
    client = open_client(opts.hostname, env)
    printer.hostname = client.host.hostname
    pager = None if opts.silent else start_pager(printer, env)
    try:
        _request_loop(client, printer, opts, method, path, params, body, headers, ttl, graphql)
    except BrokenPipeError:
        if pager is None:
            raise
    finally:
        client.close()
        if pager is not None:
            stop_pager(pager)


def open_client(hostname: str | None, env: Mapping[str, str]) -> Any:
    """The core caching client; configuration problems become one-line failures."""
    from ghcache.core.client import CachingClient
    from ghcache.core.config import ConfigError
    from ghcache.core.store import CacheDirError

    try:
        return CachingClient.from_env(hostname=hostname, env=env)
    except (ConfigError, CacheDirError) as exc:
        raise ApiFailure(_one_line(str(exc))) from None


def _request_url(client: Any, path: str, graphql: bool) -> str:
    if "://" in path:
        return path
    if graphql:
        return str(client.host.graphql_url)
    return str(client.host.rest_url) + path.removeprefix("/")


def _request_loop(
    client: Any,
    printer: Printer,
    opts: ApiOptions,
    method: str,
    path: str,
    params: dict[str, Any],
    body: bytes | None,
    headers: list[tuple[str, str]],
    ttl: float | None,
    graphql: bool,
) -> None:
    from ghcache.core.client import ApiError

    send_params = bool(params)
    seen: set[str] = set()
    while True:
        url = _request_url(client, path, graphql)
        payload = body
        if send_params:
            if method.upper() == "GET":
                url = add_query(url, params)
            else:
                payload = go_json(graphql_payload(params) if graphql else params)
        if opts.verbose:
            printer.err.write(f"* Request: {method} {url}\n")
        try:
            resp = client.request(
                method,
                url,
                headers=headers,
                body=payload,
                ttl=ttl,
                refresh=opts.refresh,
                no_cache=opts.no_cache,
                offline=opts.offline,
            )
        except ApiError as exc:
            printer.out.flush()
            raise ApiFailure(_one_line(str(exc))) from None
        if resp.notice:
            printer.out.flush()
            printer.err.write(resp.notice.rstrip("\n") + "\n")
            printer.err.flush()
        if opts.verbose:
            key = f", key {resp.key}" if resp.key else ""
            printer.err.write(
                f"* Response: {resp.http_version} {resp.status} from {resp.source}{key}\n"
            )
        cursor, problem = printer.page(resp, graphql=graphql)
        if problem is not None:
            printer.fail(problem, resp.status, resp.headers)
        if not opts.paginate:
            break
        if graphql:
            if not cursor:
                break
            step = "cursor " + cursor
            params["endCursor"] = cursor
            send_params = True
        else:
            next_url = find_next_page(resp.headers)
            if next_url is None:
                break
            step = next_url
            path = next_url
            send_params = False  # the next-page URL already carries the query
        # gh would loop for ever on a page that names itself as next (and with a cache
        # such a loop makes no requests at all); ghcache stops with an error instead.
        if step in seen:
            printer.finish()
            printer.fail(f"pagination does not advance: {step} repeats", resp.status, [])
        seen.add(step)
        if opts.include:
            printer.out.write(b"\n")
    printer.finish()
    printer.out.flush()


@click.command(
    "api",
    cls=ApiCommand,
    help=HELP,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.argument("endpoint")
@click.option(
    "-X", "--method", default="GET", show_default=True, help="The HTTP method for the request."
)
@click.option(
    "-F",
    "--field",
    "typed_fields",
    multiple=True,
    metavar="KEY=VALUE",
    help="Add a typed parameter (true/false/null/integers, @file, placeholders).",
)
@click.option(
    "-f",
    "--raw-field",
    "raw_fields",
    multiple=True,
    metavar="KEY=VALUE",
    help="Add a string parameter.",
)
@click.option(
    "-H",
    "--header",
    "headers",
    multiple=True,
    metavar="KEY:VALUE",
    help="Add a HTTP request header.",
)
@click.option(
    "-p",
    "--preview",
    "previews",
    multiple=True,
    metavar="NAMES",
    help='GitHub API preview names to request (without the "-preview" suffix).',
)
@click.option(
    "-i",
    "--include",
    is_flag=True,
    help="Include HTTP response status line and headers in the output.",
)
@click.option(
    "--paginate", is_flag=True, help="Make additional HTTP requests to fetch all pages of results."
)
@click.option("--slurp", is_flag=True, help="With --paginate, print all pages as one JSON array.")
@click.option(
    "--input",
    "input_file",
    metavar="FILE",
    help='The file to use as body for the HTTP request ("-" for standard input).',
)
@click.option("--silent", is_flag=True, help="Do not print the response body.")
@click.option(
    "-q",
    "--jq",
    "jq",
    metavar="EXPR",
    help="Query to select values from the response using jq syntax.",
)
@click.option(
    "-t", "--template", metavar="TEMPLATE", help="Format JSON output using a Go template."
)
@click.option(
    "--cache",
    metavar="DURATION",
    help='Treat cached answers as fresh for this long, e.g. "3600s", "60m", "1h".',
)
@click.option(
    "--hostname", metavar="HOST", help='The GitHub hostname for the request (default "github.com").'
)
@click.option(
    "--verbose", is_flag=True, help="Describe the request and where the answer came from on stderr."
)
@click.option("--ttl", metavar="SECONDS", help="Like --cache, in whole seconds.")
@click.option(
    "--refresh",
    is_flag=True,
    help="Ask GitHub even if the cached answer is fresh; store the new one.",
)
@click.option("--no-cache", "no_cache", is_flag=True, help="Do not read or write the cache.")
@click.option("--offline", is_flag=True, help="Answer only from the cache; fail on a miss.")
@click.pass_context
def api_command(ctx: click.Context, **kwargs: Any) -> None:
    source = ctx.get_parameter_source("method")
    values: dict[str, Any] = {
        name: list(value) if isinstance(value, tuple) else value for name, value in kwargs.items()
    }
    opts = ApiOptions(**values)
    opts.method_passed = source is not None and source.name != "DEFAULT"
    try:
        run_api(opts)
    except BrokenPipeError:
        # The reader went away (``| head``): gh dies of SIGPIPE, which shells report as 141.
        _silence_stdout()
        ctx.exit(128 + 13)
    except OSError as exc:
        if exc.errno not in _OUTPUT_ERRNOS:
            raise
        # stdout cannot take the output (full disk, closed descriptor): gh's wording.
        _silence_stdout()
        raise ApiFailure(
            f"write /dev/stdout: {(exc.strerror or 'write error').lower()}", bare=True
        ) from None
    except SystemExit as done:
        ctx.exit(done.code if isinstance(done.code, int) else 1)


_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EIO, errno.EBADF, errno.EFBIG, errno.EDQUOT}


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


api = api_command
