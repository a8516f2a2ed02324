"""Running a parsed ``--template`` over each page's JSON, printing as Go does."""

from __future__ import annotations

from datetime import UTC, datetime

from ghcache.cli.gh.goprint import MISSING, go_sprint_value, go_type
from ghcache.cli.gh.gotext import FuncError
from ghcache.cli.gh.jqfilter import TOO_DEEP, JqError, decode_go_json
from ghcache.cli.gh.template.functions import Functions, truth
from ghcache.cli.gh.template.lex import TemplateError, line_of
from ghcache.cli.gh.template.parse import Arg, Command, Node, Pipe, parse_template

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs a --template hit milliseconds; annotations are strings
    from collections.abc import Callable
    from typing import IO, Any


class _Break(Exception):
    pass


class _Continue(Exception):
    pass


_NO_FINAL = object()


class Template:
    """A parsed ``--template``; ``execute`` once per page, ``flush`` at the end."""

    def __init__(
        self,
        text: str,
        *,
        color: bool = False,
        width: int = 80,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.text = text
        self.nodes = parse_template(text)
        # The text printed so far, shared with the functions: tablerender writes there.
        self._out: list[str] = []
        self.functions = Functions(
            color=color, width=width, now=now or (lambda: datetime.now(UTC)), printed=self._out
        )

    # -- entry points

    def render(self, data: Any) -> str:
        self._out.clear()
        variables: list[tuple[str, Any]] = [("$", data)]
        try:
            self._run(self.nodes, data, variables)
        except (_Break, _Continue):
            pass
        return "".join(self._out)

    def execute(self, body: bytes, out: IO[bytes]) -> None:
        try:
            data = decode_go_json(body)
        except JqError as exc:
            raise TemplateError(str(exc)) from None
        try:
            text = self.render(data)
        except RecursionError:
            raise TemplateError(TOO_DEEP) from None
        except TemplateError:
            out.write("".join(self._out).encode("utf-8"))
            raise
        out.write(text.encode("utf-8"))

    def flush(self, out: IO[bytes]) -> None:
        out.write(self.functions.table.render().encode("utf-8"))

    # -- tree walking

    def _fail(self, pos: int, context: str, message: str) -> TemplateError:
        line = line_of(self.text, pos)
        start = self.text.rfind("\n", 0, pos)
        column = pos if start < 0 else pos - start - 1
        return TemplateError(f'template: :{line}:{column}: executing "" at <{context}>: {message}')

    def _run(self, nodes: list[Node], dot: Any, variables: list[tuple[str, Any]]) -> None:
        for node in nodes:
            if node.kind == "text":
                self._out.append(node.text)
            elif node.kind == "action":
                assert node.pipe is not None
                value = self._pipe(node.pipe, dot, variables)
                if not node.pipe.decl:
                    # A null (or absent) value prints as Go's invalid reflect.Value does.
                    missing = value is None or value is MISSING
                    self._out.append("<no value>" if missing else go_sprint_value(value))
            elif node.kind in ("if", "with"):
                assert node.pipe is not None
                mark = len(variables)
                value = self._pipe(node.pipe, dot, variables)
                if truth(value):
                    self._run(node.body, value if node.kind == "with" else dot, variables)
                else:
                    self._run(node.orelse, dot, variables)
                del variables[mark:]
            elif node.kind == "range":
                self._range(node, dot, variables)
            elif node.kind == "break":
                raise _Break
            elif node.kind == "continue":
                raise _Continue

    def _range(self, node: Node, dot: Any, variables: list[tuple[str, Any]]) -> None:
        assert node.pipe is not None
        mark = len(variables)
        decl, node.pipe.decl = node.pipe.decl, []
        try:
            value = self._pipe(node.pipe, dot, variables)
        finally:
            node.pipe.decl = decl
        if isinstance(value, list):
            items: list[tuple[Any, Any]] = list(enumerate(value))
        elif isinstance(value, dict):
            items = [(key, value[key]) for key in sorted(value)]
        elif value is None or value is MISSING:
            items = []
        elif isinstance(value, int) and not isinstance(value, bool):
            items = [(i, i) for i in range(value)]
        else:
            raise self._fail(
                node.pos, "range", f"range can't iterate over {go_sprint_value(value)}"
            )
        if not items:
            self._run(node.orelse, dot, variables)
            return
        for key, item in items:
            del variables[mark:]
            if len(decl) == 1:
                variables.append((decl[0], item))
            elif len(decl) == 2:
                variables.append((decl[0], key))
                variables.append((decl[1], item))
            try:
                self._run(node.body, item, variables)
            except _Break:
                break
            except _Continue:
                continue
        del variables[mark:]

    def _pipe(self, pipe: Pipe, dot: Any, variables: list[tuple[str, Any]]) -> Any:
        value: Any = _NO_FINAL
        for command in pipe.commands:
            value = self._command(command, dot, variables, value)
        if pipe.decl:
            name = pipe.decl[-1]
            if pipe.assign:
                for index in range(len(variables) - 1, -1, -1):
                    if variables[index][0] == name:
                        variables[index] = (name, value)
                        break
                else:
                    raise self._fail(pipe.pos, name, f"undefined variable: {name}")
            else:
                variables.append((name, value))
        return value

    def _command(
        self, command: Command, dot: Any, variables: list[tuple[str, Any]], final: Any
    ) -> Any:
        first = command.args[0]
        if first.kind == "ident":
            args = [self._arg(arg, dot, variables) for arg in command.args[1:]]
            if final is not _NO_FINAL:
                args.append(final)
            try:
                result = self.functions.call(first.name, args)
            except FuncError as exc:
                raise self._fail(
                    first.pos, command.text, f"error calling {first.name}: {exc}"
                ) from None
            return self._chain(result, first.chain, first, command.text, dot)
        if len(command.args) > 1 or final is not _NO_FINAL:
            if first.kind == "nil":
                raise self._fail(first.pos, "nil", "nil is not a command")
            raise self._fail(
                first.pos, first.text, f"can't give argument to non-function {first.text}"
            )
        if first.kind == "nil":
            raise self._fail(first.pos, "nil", "nil is not a command")
        return self._arg(first, dot, variables)

    def _arg(self, arg: Arg, dot: Any, variables: list[tuple[str, Any]]) -> Any:
        if arg.kind == "lit":
            return arg.value
        if arg.kind == "nil":
            return None
        if arg.kind == "dot":
            return dot
        if arg.kind == "field":
            return self._chain(dot, arg.chain, arg, arg.text, dot)
        if arg.kind == "var":
            for name, value in reversed(variables):
                if name == arg.name:
                    return self._chain(value, arg.chain, arg, arg.text, dot)
            raise self._fail(arg.pos, arg.text, f"undefined variable: {arg.name}")
        if arg.kind == "pipe":
            assert arg.pipe is not None
            return self._chain(self._pipe(arg.pipe, dot, variables), arg.chain, arg, arg.text, dot)
        if arg.kind == "ident":
            try:
                return self.functions.call(arg.name, [])
            except FuncError as exc:
                raise self._fail(arg.pos, arg.text, f"error calling {arg.name}: {exc}") from None
        raise self._fail(arg.pos, arg.text, "unsupported operand")

    def _chain(self, value: Any, chain: list[str], arg: Arg, context: str, dot: Any) -> Any:
        for position, name in enumerate(chain):
            if isinstance(value, dict):
                value = value.get(name, MISSING)
            elif value is None or value is MISSING:
                raise self._fail(arg.pos, context, f"nil pointer evaluating interface {{}}.{name}")
            else:
                kind = go_type(value) if position == 0 and value is dot else "interface {}"
                raise self._fail(arg.pos, context, f"can't evaluate field {name} in type {kind}")
        return value

    # -- functions
