"""``ghcache api``'s command line read the way gh's (cobra and pflag) reads it.

click parses the flags; this module covers where pflag differs before the
parse (``--paginate=false``) and words click's parse errors as gh words them,
so a script that matches on gh's message or exit status sees the same.
"""

from __future__ import annotations

from collections.abc import Iterable

import click

from ghcache.cli.errors import ApiUsageError, one_line

# strconv.ParseBool, which pflag uses for `--flag=VALUE` on a boolean flag
_GO_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_GO_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def go_quote(text: str) -> str:
    """Go's ``%q`` for the plain text of a flag value (quotes and backslashes escaped)."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def read_bool_values(args: list[str], command: click.Command) -> list[str]:
    """``args`` with each ``--flag=VALUE`` of a boolean flag as click can read it: the bare
    flag for a true value, nothing for a false one; any other value is gh's usage error."""
    takes_value: set[str] = set()
    booleans: dict[str, str] = {}  # --long -> how pflag names the flag: "-i, --include"
    for param in command.params:
        if isinstance(param, click.Option):
            names = [*param.opts, *param.secondary_opts]
            if not param.is_flag:
                takes_value.update(names)
                continue
            shorts = [name for name in names if not name.startswith("--")]
            for name in names:
                booleans[name] = ", ".join([*shorts[:1], name]) if shorts else name
    for name in command.get_help_option_names(click.Context(command)):
        booleans[name] = "-h, --help"
    read: list[str] = []
    rest = iter(args)
    for arg in rest:
        if arg == "--":
            read.append(arg)
            read.extend(rest)
            break
        name, equals, value = arg.partition("=")
        if arg.startswith("--") and equals and name in booleans:
            if value in _GO_TRUE:
                read.append(name)
            elif value not in _GO_FALSE:
                raise ApiUsageError(
                    f"invalid argument {go_quote(value)} for {go_quote(booleans[name])} flag: "
                    f"strconv.ParseBool: parsing {go_quote(value)}: invalid syntax"
                )
            continue
        read.append(arg)
        if _value_follows(arg, takes_value):
            value_of_flag = next(rest, None)
            if value_of_flag is not None:
                read.append(value_of_flag)
    return read


def _value_follows(arg: str, takes_value: set[str]) -> bool:
    """Whether the next argument is this one's value (``-X GET``, ``--jq .``, ``-iX GET``)."""
    if arg.startswith("--"):
        return "=" not in arg and arg in takes_value
    if not arg.startswith("-") or arg == "-":
        return False
    for position, char in enumerate(arg[1:], start=1):
        if "-" + char in takes_value:
            return position == len(arg) - 1  # its value is the rest of this argument, if any
    return False


def gh_usage_message(exc: click.UsageError, args: Iterable[str]) -> str:
    """pflag's text for click's parse error ``exc``, else click's own, on one line."""
    if isinstance(exc, click.NoSuchOption):
        return _unknown_flag(exc.option_name, args)
    if isinstance(exc, click.BadOptionUsage) and "requires" in exc.message:
        name = exc.option_name
        if name.startswith("--"):
            return f"flag needs an argument: {name}"
        return f"flag needs an argument: {name[1:]!r} in {_cluster_of(name[1:], args)}"
    return one_line(exc.format_message())


def _unknown_flag(name: str, args: Iterable[str]) -> str:
    if name.startswith("--"):
        return f"unknown flag: {name}"
    return f"unknown shorthand flag: {name[1:]!r} in {_cluster_of(name[1:], args)}"


def _cluster_of(char: str, args: Iterable[str]) -> str:
    """The short flags left to read when pflag met ``char`` (``-iz`` has ``-z`` left)."""
    for arg in args:
        if arg == "--":
            break
        if arg.startswith("-") and not arg.startswith("--") and char in arg[1:]:
            return "-" + arg[arg.index(char, 1) :]
    return "-" + char
