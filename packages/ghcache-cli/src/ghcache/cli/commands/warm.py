"""``ghcache warm``: fetch endpoints into the cache ahead of the scripts that need them."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

import click

from ghcache.cli.commands import EndpointError, endpoint_url
from ghcache.core.kernel.hosts import shown

FETCHED = "fetched"
CACHED = "cached"
FAILED = "failed"


def printable(endpoint: str) -> str:
    """The endpoint as typed, or quoted and escaped when it would break the line."""
    return endpoint if endpoint.isprintable() else shown(endpoint)


def read_endpoints(handle: IO[bytes]) -> list[str]:
    """One endpoint a line; blank lines and ``#`` comments are skipped.  Bytes that are
    not UTF-8 stay in the line (as argv's do) so that the line is refused by name."""
    endpoints = []
    for line in handle:
        text = line.decode("utf-8", "surrogateescape").strip()
        if text and not text.startswith("#"):
            endpoints.append(text)
    return endpoints


def warm_one(
    client: Any, endpoint: str, *, ttl: float | None, refresh: bool, hostname: str | None = None
) -> tuple[str, str]:
    """(outcome, detail) for fetching one endpoint into the cache."""
    from ghcache.core.client import ApiError

    try:
        url = endpoint_url(endpoint, client.host, hostname=hostname)
        response = client.request("GET", url, ttl=ttl, refresh=refresh)
    except (ApiError, EndpointError) as exc:
        return FAILED, str(exc)
    if not 200 <= response.status < 300:
        return FAILED, f"HTTP {response.status} {response.reason}".rstrip()
    if response.source == "stale":
        return FAILED, str(response.notice or "only a stale answer was available")
    if response.notice:  # e.g. the cache directory could not be written
        return FAILED, str(response.notice)
    if response.source in ("cache", "peer"):
        return CACHED, str(response.source)
    return FETCHED, str(response.source)


@contextmanager
def progress_bar(total: int) -> Iterator[Any]:
    """A rich progress bar on stderr when it is a terminal; otherwise a no-op."""
    if not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as progress:
        progress.add_task("warming", total=total)
        yield progress


@click.command()
@click.argument("endpoints", nargs=-1, metavar="[ENDPOINT]...")
@click.option(
    "--file",
    "endpoint_file",
    type=click.File("rb"),
    help="Read endpoints from FILE, one a line ('-' for standard input).",
)
@click.option("--ttl", type=click.IntRange(min=0), help="Keep the answers for N seconds.")
@click.option("--refresh", is_flag=True, help="Fetch even what is already fresh in the cache.")
@click.option("--hostname", help="The GitHub host to ask.")
def warm(
    endpoints: tuple[str, ...],
    endpoint_file: IO[bytes] | None,
    ttl: int | None,
    refresh: bool,
    hostname: str | None,
) -> None:
    """Fetch ENDPOINTs (GET) into the cache; '-' reads them from standard input.

    Exits 1 if any endpoint could not be fetched.
    """
    wanted = [item for item in endpoints if item != "-"]
    if "-" in endpoints:
        wanted += read_endpoints(sys.stdin.buffer)
    if endpoint_file is not None:
        wanted += read_endpoints(endpoint_file)
    if not wanted:
        raise click.UsageError("give at least one ENDPOINT, or --file FILE ('-' for stdin)")

    from ghcache.core.client import CachingClient

    outcomes = {FETCHED: 0, CACHED: 0, FAILED: 0}
    with CachingClient.from_env(hostname=hostname) as client, progress_bar(len(wanted)) as bar:
        for endpoint in wanted:
            if bar is not None:
                bar.update(bar.task_ids[0], description=printable(endpoint))
            outcome, detail = warm_one(
                client, endpoint, ttl=ttl, refresh=refresh, hostname=hostname
            )
            outcomes[outcome] += 1
            if outcome == FAILED:
                message = f"ghcache: warm {printable(endpoint)}: {detail}"
                if bar is not None:
                    bar.console.print(message, markup=False, highlight=False)
                else:
                    click.echo(message, err=True)
            if bar is not None:
                bar.advance(bar.task_ids[0])
    click.echo(
        f"warmed {len(wanted)} endpoint(s): {outcomes[FETCHED]} fetched, "
        f"{outcomes[CACHED]} already cached, {outcomes[FAILED]} failed"
    )
    if outcomes[FAILED]:
        click.get_current_context().exit(1)
