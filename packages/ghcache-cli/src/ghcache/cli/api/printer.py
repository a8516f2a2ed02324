"""How ``ghcache api`` prints: each page as gh prints it (body, ``--include``,
``--jq``, ``--template``, ``--slurp``), failures on stderr, and gh's pager."""

from __future__ import annotations

import errno
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import IO, Any, NoReturn, cast

from ghcache.cli.api.options import ApiOptions
from ghcache.cli.errors import ApiFailure, ApiUsageError, error_line
from ghcache.cli.gh import output
from ghcache.cli.gh.error_messages import message_from_body, scopes_suggestion
from ghcache.cli.gh.paginate import find_end_cursor, slurp


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
            problem = message_from_body(body, resp.status) or None
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
        from ghcache.cli.gh.jqfilter import JqError
        from ghcache.cli.gh.template import TemplateError

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
        self.err.write(error_line(message))
        hint = scopes_suggestion(status, headers, self.hostname)
        if hint:
            self.err.write(error_line(hint))
        self.err.flush()
        raise SystemExit(1)


def build_printer(opts: ApiOptions, env: Mapping[str, str], hostname: str) -> Printer:
    stdout = sys.stdout.buffer
    stderr = sys.stderr
    color = output.color_enabled(env, output.is_terminal(env, stdout))
    printer = Printer(opts, cast(IO[bytes], FullWriter(stdout)), stderr, color, hostname)
    if opts.jq:
        from ghcache.cli.gh.jqfilter import JqError, JqFilter

        try:
            printer.jq = JqFilter(opts.jq)
        except JqError as exc:
            raise ApiUsageError(f"invalid --jq program: {exc}") from None
    if opts.template:
        from ghcache.cli.gh.template import Template, TemplateError

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
