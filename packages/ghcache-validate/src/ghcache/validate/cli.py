"""``ghcache-validate`` (verify, monitor, fakehub) and the ``verify_p2p_cache`` /
``monitor_p2p_cache`` console scripts."""

from __future__ import annotations

import json
import signal
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import FrameType
from typing import Any

import click

from ghcache.validate import __version__
from ghcache.validate.report import (
    CheckResult,
    Report,
    github_annotations,
    plain_line,
    rich_table,
    summary_line,
)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="ghcache-validate")
def main_group() -> None:
    """Verify and monitor a ghcache installation; run a simulated GitHub API."""


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Let SIGTERM unwind like Ctrl-C, so the cleanup in ``finally`` blocks runs."""

    def interrupt(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _progress_printer(fancy: bool) -> Any:
    if fancy:
        from rich.console import Console

        console = Console(stderr=True)
        marks = {"pass": "[green]✓[/]", "fail": "[red]✗[/]", "skip": "[yellow]-[/]"}

        def show(result: CheckResult) -> None:
            console.print(f"  {marks[result.status]} {result.name}", highlight=False)

        return show

    def plain(result: CheckResult) -> None:
        print(plain_line(result), flush=True)

    return plain


@main_group.command("verify")
@click.option(
    "--local",
    is_flag=True,
    help="Prove the whole path on 127.0.0.1: simulated GitHub, "
    "three daemons, real `ghcache api` calls. Needs no token or network.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (for scripts).")
@click.option(
    "--github-annotations",
    is_flag=True,
    help="Also print ::error:: lines for failed checks (GitHub Actions).",
)
@click.option(
    "--workdir",
    type=click.Path(path_type=Path),
    default=None,
    help="With --local: create the temporary network below this directory.",
)
@click.option("--keep", is_flag=True, help="With --local: keep the directory (daemon logs).")
def verify(
    local: bool, as_json: bool, github_annotations: bool, workdir: Path | None, keep: bool
) -> None:
    """Check this installation (or, with --local, a throwaway team) and report pass/fail/skip.

    Exits 0 only when no check failed.
    """
    fancy = not as_json and not github_annotations and sys.stdout.isatty()
    on_result = None if as_json else _progress_printer(fancy)
    try:
        with sigterm_as_interrupt():
            if local:
                from ghcache.validate.local import run_local

                report = run_local(workdir=workdir, keep=keep, on_result=on_result)
            else:
                from ghcache.validate.verify import run_installed

                report = run_installed(on_result=on_result)
    except KeyboardInterrupt:
        click.echo("ghcache-validate: interrupted; all started processes were stopped", err=True)
        sys.exit(130)
    show_report(report, as_json=as_json, annotations=github_annotations, fancy=fancy)
    sys.exit(0 if report.ok else 1)


def show_report(report: Report, *, as_json: bool, annotations: bool, fancy: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=2, sort_keys=True))
    elif fancy:
        from rich.console import Console

        console = Console()
        console.print(rich_table(report))
        style = "bold green" if report.ok else "bold red"
        console.print(f"[{style}]{summary_line(report)}[/]", highlight=False)
    else:
        click.echo(summary_line(report))
    if annotations:
        for line in github_annotations(report):
            click.echo(line)
    kept = [r.details["kept"] for r in report.results if "kept" in r.details]
    if kept and not as_json:
        click.echo(f"kept: {kept[0]}", err=True)


@main_group.command("monitor")
@click.option(
    "--interval",
    type=click.FloatRange(min=0.2),
    default=2.0,
    show_default=True,
    help="Seconds between refreshes.",
)
@click.option("--once", is_flag=True, help="Print one snapshot and exit.")
@click.option("--json", "as_json", is_flag=True, help="Print snapshots as JSON (one per line).")
def monitor(interval: float, once: bool, as_json: bool) -> None:
    """A live dashboard of the cache: hit rate, upstream savings, rate limit, peers, refusals."""
    from ghcache.core.config import ConfigError
    from ghcache.validate.monitor import run_monitor

    try:
        run_monitor(interval=interval, once=once, as_json=as_json)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    except KeyboardInterrupt:
        pass


@main_group.command(
    "fakehub",
    context_settings={"ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
)
@click.argument("args", nargs=-1, type=click.UNPROCESSED)
def fakehub(args: tuple[str, ...]) -> None:
    """Run the simulated GitHub API in the foreground (--port N; --help for more)."""
    from ghcache.fakehub import main as fakehub_main

    sys.exit(fakehub_main(list(args)))


def _run(args: Sequence[str] | None, prog_name: str) -> int:
    try:
        main_group.main(args=args, prog_name=prog_name, standalone_mode=True)
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``ghcache-validate``."""
    return _run(argv, "ghcache-validate")


def verify_main(argv: Sequence[str] | None = None) -> int:
    """``verify_p2p_cache [OPTIONS]`` = ``ghcache-validate verify [OPTIONS]``."""
    args = sys.argv[1:] if argv is None else list(argv)
    return _run(["verify", *args], "verify_p2p_cache")


def monitor_main(argv: Sequence[str] | None = None) -> int:
    """``monitor_p2p_cache [OPTIONS]`` = ``ghcache-validate monitor [OPTIONS]``."""
    args = sys.argv[1:] if argv is None else list(argv)
    return _run(["monitor", *args], "monitor_p2p_cache")


if __name__ == "__main__":
    sys.exit(main())
