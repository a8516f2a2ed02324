"""``ghcache api ENDPOINT``: a drop-in for ``gh api`` that answers from the cache.

Arguments, request building and output follow gh 2.23 (the installed
reference), so a script can swap ``gh api`` for ``ghcache api`` and get the
same bytes and exit codes.  ghcache adds ``--ttl``, ``--refresh``,
``--no-cache`` and ``--offline``, and newer gh's ``--slurp``.

Exit codes, as gh's: 0 success; 1 an API error (the body is printed, then the
message on stderr), a failure to reach GitHub, or a usage error (one line, in
gh's words after the ``ghcache:`` prefix).
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import click

if TYPE_CHECKING:  # httpx and core load only when a request is made
    from collections.abc import Callable

    from ghcache.core.answers import ApiResponse
    from ghcache.core.client import CachingClient
    from ghcache.core.request import ApiRequest

from ghcache.cli.api.options import ApiOptions, parse_headers, read_input, validate
from ghcache.cli.api.pages import print_pages
from ghcache.cli.api.printer import Printer, build_printer, start_pager, stop_pager
from ghcache.cli.api.usage import gh_usage_message, read_bool_values
from ghcache.cli.errors import ApiFailure, ApiUsageError, one_line
from ghcache.cli.gh.fields import FieldError, FieldValueError, add_query, parse_fields
from ghcache.cli.gh.paginate import add_per_page
from ghcache.cli.gh.placeholders import PlaceholderError, Resolver

HELP = """Make an authenticated GitHub API request, answered from the cache when possible.

A drop-in for `gh api` (same flags, output and exit codes). ENDPOINT is a
path of the REST API (placeholders {owner}, {repo} and {branch} are filled
from GH_REPO or the git remote), "graphql", or a full URL.

GET/HEAD requests and GraphQL queries are cached; other requests pass through
and drop the cached answers for the same resource.  --cache DURATION (gh's
flag) and --ttl SECONDS set how long an answer counts as fresh.
"""


class ApiCommand(click.Command):
    """Reads flags as gh does and says click's parse errors in gh's words, on one line."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, read_bool_values(args, self))
        except click.UsageError as exc:
            if isinstance(exc, ApiUsageError):
                raise
            raise ApiUsageError(gh_usage_message(exc, args), ctx) from None


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
    fetch = client_fetch(client, printer, opts, headers, ttl)
    graphql_url = str(client.host.graphql_url) if graphql else None
    try:
        print_pages(
            fetch,
            printer,
            method=method,
            path=path,
            params=params,
            body=body,
            graphql_url=graphql_url,
        )
    except BrokenPipeError:
        if pager is None:
            raise
    finally:
        client.close()
        if pager is not None:
            stop_pager(pager)


def open_client(hostname: str | None, env: Mapping[str, str]) -> CachingClient:
    """The core caching client; configuration problems become one-line failures."""
    from ghcache.core.client import CachingClient
    from ghcache.core.config import ConfigError
    from ghcache.core.store import CacheDirError

    try:
        return CachingClient.from_env(hostname=hostname, env=env)
    except (ConfigError, CacheDirError) as exc:
        raise ApiFailure(one_line(str(exc))) from None


def client_fetch(
    client: CachingClient,
    printer: Printer,
    opts: ApiOptions,
    headers: list[tuple[str, str]],
    ttl: float | None,
) -> Callable[[str, str, bytes | None], ApiResponse]:
    """The page loop's ``fetch``: one call through the caching client (``--verbose`` says
    what was asked and where the answer came from)."""
    from ghcache.core.client import ApiError

    def fetch(method: str, target: str, payload: bytes | None) -> ApiResponse:
        request = _request_for(client, method, target, headers, payload)
        if opts.verbose:
            printer.err.write(f"* Request: {method} {request.url}\n")
        try:
            resp = client.send(
                request,
                ttl=ttl,
                refresh=opts.refresh,
                no_cache=opts.no_cache,
                offline=opts.offline,
            )
        except ApiError as exc:
            printer.out.flush()
            raise ApiFailure(one_line(str(exc))) from None
        if opts.verbose:
            key = f", key {resp.key}" if resp.key else ""
            printer.err.write(
                f"* Response: {resp.http_version} {resp.status} from {resp.source}{key}\n"
            )
        return resp

    return fetch


def _request_for(
    client: CachingClient,
    method: str,
    target: str,
    headers: list[tuple[str, str]],
    body: bytes | None,
) -> ApiRequest:
    """The one request object core keys, scopes and sends: the endpoint below the API's
    base URL, or a full URL (an endpoint given as one, a ``Link`` page)."""
    from ghcache.core.request import ApiRequest

    if "://" in target:
        return ApiRequest.for_url(method, target, client.host, tuple(headers), body)
    path, _, query = target.partition("?")
    return ApiRequest(method, str(client.host.rest_url), path, query, tuple(headers), body)


@click.command(
    "api",
    cls=ApiCommand,
    help=HELP,
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
)
@click.argument("endpoint", nargs=-1)  # counted below, in gh's words
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
def api_command(ctx: click.Context, endpoint: tuple[str, ...], **kwargs: Any) -> None:
    if len(endpoint) != 1:
        raise ApiUsageError(f"accepts 1 arg(s), received {len(endpoint)}")
    source = ctx.get_parameter_source("method")
    values: dict[str, Any] = {
        name: list(value) if isinstance(value, tuple) else value for name, value in kwargs.items()
    }
    values["endpoint"] = endpoint[0]
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
