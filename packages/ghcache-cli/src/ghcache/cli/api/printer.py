"""How ``ghcache api`` prints: each page as gh prints it (body, ``--include``,
``--jq``, ``--template``, ``--slurp``), failures on stderr, and gh's pager.

The fast path prints cache hits with this same :class:`Printer`, so importing
this module loads neither click nor ``typing``/``dataclasses`` (each costs a
hit milliseconds); what only failures or the pager need loads when they happen.
"""

from __future__ import annotations

import errno
import sys

from ghcache.cli.gh import output

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import IO, Any, NoReturn, Protocol

    from ghcache.cli.api.options import ApiOptions

    class PrintOptions(Protocol):
        """What the printer reads of the command line (``ApiOptions`` has it all)."""

        include: bool
        silent: bool
        slurp: bool
        paginate: bool


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


class Printer:
    """Everything that decides how one page is printed, shared across pages."""

    def __init__(
        self, opts: PrintOptions, out: IO[bytes], err: IO[str], color: bool, hostname: str
    ) -> None:
        self.opts = opts
        self.out = out
        self.err = err
        self.color = color
        self.hostname = hostname
        self.jq: Any = None
        self.template: Any = None
        self.slurped: list[bytes] = []

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
            from ghcache.cli.gh.error_messages import message_from_body

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
            from ghcache.cli.gh.paginate import find_end_cursor

            cursor = find_end_cursor(body)
        return cursor, None

    def _filtered(self, run: Callable[[], object]) -> None:
        # Only the filter in use is loaded (the template engine costs a --jq hit ~10 ms);
        # both raise ValueError subclasses whose text is gh's message.
        failure = self._filter_error()
        try:
            run()
        except failure as exc:
            from ghcache.cli.errors import ApiFailure

            self.out.flush()
            raise ApiFailure(str(exc), bare=True) from None

    def _filter_error(self) -> type[Exception]:
        if self.jq is not None:
            from ghcache.cli.gh.jqfilter import JqError

            return JqError
        from ghcache.cli.gh.template import TemplateError

        return TemplateError

    def finish(self) -> None:
        if self.template is not None:
            self._filtered(lambda: self.template.flush(self.out))
        if self.opts.slurp:
            from ghcache.cli.gh.paginate import slurp

            merged = slurp(self.slurped)
            if self.color:
                painted = output.colorize_json(merged)
                merged = painted if painted is not None else merged
            self.out.write(merged)

    def fail(self, message: str, status: int, headers: list[tuple[str, str]]) -> NoReturn:
        from ghcache.cli.errors import error_line
        from ghcache.cli.gh.error_messages import scopes_suggestion

        self.out.flush()
        self.err.write(error_line(message))
        hint = scopes_suggestion(status, headers, self.hostname)
        if hint:
            self.err.write(error_line(hint))
        self.err.flush()
        raise SystemExit(1)


def build_printer(opts: ApiOptions, env: Mapping[str, str], hostname: str) -> Printer:
    from ghcache.cli.errors import ApiUsageError

    stdout = sys.stdout.buffer
    color = output.color_enabled(env, output.is_terminal(env, stdout))
    printer = Printer(opts, FullWriter(stdout), sys.stderr, color, hostname)  # type: ignore[arg-type]
    try:
        add_filters(printer, opts.jq, opts.template, env, stdout)
    except ValueError as exc:  # JqError, TemplateError: gh's message
        raise ApiUsageError(str(exc)) from None
    return printer


def add_filters(
    printer: Printer, jq: str | None, template: str | None, env: Mapping[str, str], stdout: Any
) -> None:
    """Compile ``--jq`` / ``--template`` onto ``printer``; JqError or TemplateError if the
    program is invalid."""
    if jq:
        from ghcache.cli.gh.jqfilter import JqError, JqFilter

        try:
            printer.jq = JqFilter(jq)
        except JqError as exc:
            raise JqError(f"invalid --jq program: {exc}") from None
    if template:
        from ghcache.cli.gh.template import Template

        width = _terminal_width(env, stdout)
        printer.template = Template(template, color=printer.color, width=width)


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
    printer.out = FullWriter(process.stdin)  # type: ignore[assignment]
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
