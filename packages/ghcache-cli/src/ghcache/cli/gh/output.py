"""Writing API responses exactly as gh 2.23 writes them.

Standard library only and cheap to import (not even ``json`` or ``re``): the CLI's fast path
(:mod:`ghcache.cli.fastpath`) prints cache hits with these functions before
click or httpx load, and the ``api`` command prints every other answer with
the same functions, so a hit and a miss print the same bytes.

What gh does, and so what this does:

* body: the bytes as received; on a colour terminal a JSON body is
  re-indented and coloured (gh's ``jsoncolor``); a 204 prints nothing;
* ``--include``: ``PROTO STATUS\\n``, then the headers with Go's canonical
  names, sorted, repeated ones joined with ", ", each ending ``\\r\\n``, then
  ``\\r\\n``;
* errors: the body goes to stdout, then ``ghcache: MESSAGE`` on stderr, where
  the message comes from the JSON error body (:mod:`ghcache.cli.gh.error_messages`).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs import time on the hit path; annotations are strings
    from collections.abc import Iterable, Mapping
    from typing import IO, Any, Protocol

    class ResponseLike(Protocol):
        status: int
        reason: str
        http_version: str
        headers: list[tuple[str, str]]
        body: bytes


COLOR_DELIM = "1;38"
COLOR_KEY = "1;34"
COLOR_NULL = "36"
COLOR_STRING = "32"
COLOR_BOOL = "33"
HEADER_COLOR = "\x1b[1;34m"
RESET = "\x1b[m"
INDENT = "  "

TOKEN_CHARS = frozenset(
    "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
)

# Go's encoding/json string escaping (Go 1.19, as in Debian's gh 2.23).
_GO_ESCAPES: dict[int, str] = {code: f"\\u{code:04x}" for code in range(0x20)}
_GO_ESCAPES.update(
    {
        ord("\n"): "\\n",
        ord("\r"): "\\r",
        ord("\t"): "\\t",
        ord('"'): '\\"',
        ord("\\"): "\\\\",
        0x2028: "\\u2028",
        0x2029: "\\u2029",
    }
)
_GO_HTML_ESCAPES = dict(_GO_ESCAPES)
_GO_HTML_ESCAPES.update({ord("<"): "\\u003c", ord(">"): "\\u003e", ord("&"): "\\u0026"})


# --------------------------------------------------------------------------- terminal


def color_enabled(env: Mapping[str, str], stdout_is_tty: bool) -> bool:
    """gh's rule (go-gh ``term.FromEnv``): GH_FORCE_TTY, CLICOLOR_FORCE, NO_COLOR, CLICOLOR=0."""
    disabled = bool(env.get("NO_COLOR")) or env.get("CLICOLOR") == "0"
    if env.get("GH_FORCE_TTY"):
        return not disabled
    forced = env.get("CLICOLOR_FORCE", "") not in ("", "0")
    return forced or (not disabled and stdout_is_tty)


def is_terminal(env: Mapping[str, str], stream: Any) -> bool:
    """Whether gh would treat ``stream`` as a terminal (GH_FORCE_TTY says yes)."""
    if env.get("GH_FORCE_TTY"):
        return True
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


def pager_command(env: Mapping[str, str]) -> str:
    """gh's pager: GH_PAGER, else ``pager:`` in gh's config.yml, else PAGER ("" for none)."""
    if "GH_PAGER" in env:
        return env["GH_PAGER"].strip()
    import os

    config_dir = env.get("GH_CONFIG_DIR") or os.path.join(
        env.get("XDG_CONFIG_HOME") or os.path.expanduser("~/.config"), "gh"
    )
    try:
        with open(os.path.join(config_dir, "config.yml"), encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("pager:"):
                    value = line.split(":", 1)[1].strip().strip("'\"")
                    if value:
                        return value
    except OSError:
        pass
    return env.get("PAGER", "").strip()


def wants_pager(env: Mapping[str, str], stdout_is_tty: bool) -> bool:
    """Whether gh would page the output: a terminal (or GH_FORCE_TTY) and a pager other than cat."""
    if not (stdout_is_tty or env.get("GH_FORCE_TTY")):
        return False
    return pager_command(env) not in ("", "cat")


# --------------------------------------------------------------------------- headers


def canonical_header_key(name: str) -> str:
    """Go's ``textproto.CanonicalMIMEHeaderKey``: "x-github-request-id" -> "X-Github-Request-Id"."""
    if not name or any(char not in TOKEN_CHARS for char in name):
        return name  # Go leaves keys with invalid characters alone
    out = []
    upper = True
    for char in name:
        out.append(char.upper() if upper else char.lower())
        upper = char == "-"
    return "".join(out)


def header_value(headers: Iterable[tuple[str, str]], name: str) -> str:
    """The first value of header ``name`` (case-insensitive), or ""."""
    wanted = name.lower()
    for key, value in headers:
        if key.lower() == wanted:
            return value
    return ""


def status_text(status: int, reason: str) -> str:
    """Go's ``resp.Status``: "200 OK" (the reason as sent, else the standard one)."""
    if not reason:
        from http import HTTPStatus

        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            return f"{status} status code {status}"
    return f"{status} {reason}"


def format_include(resp: ResponseLike, *, color: bool = False) -> bytes:
    """gh's ``--include`` block: status line, sorted canonical headers, blank line."""
    grouped: dict[str, list[str]] = {}
    for name, value in resp.headers:
        grouped.setdefault(canonical_header_key(name), []).append(value)
    grouped.pop("Status", None)
    start, end = (HEADER_COLOR, RESET) if color else ("", "")
    lines = [f"{resp.http_version} {status_text(resp.status, resp.reason)}\n"]
    # Go sorts names by bytes; Python's code-point order is the same for UTF-8.
    for name in sorted(grouped):
        lines.append(f"{start}{name}{end}: {', '.join(grouped[name])}\r\n")
    lines.append("\r\n")
    return "".join(lines).encode("utf-8", errors="surrogateescape")


# --------------------------------------------------------------------------- bodies

# gh 2.23 rewrites JSON escapes of control characters in every JSON response
# (api/sanitize_ascii.go) so a terminal never receives them: C0 as caret
# notation, C1 as an escaped octal.
_CONTROL_ESCAPES: dict[bytes, bytes] = {
    b"\\u00%02x" % code: (b"^" + bytes([code + 64])).replace(b"\\", b"\\\\") for code in range(0x20)
}
_CONTROL_ESCAPES.update({b"\\u00%02x" % code: b"\\\\%o" % code for code in range(0x80, 0xA0)})


def is_json(headers: Iterable[tuple[str, str]]) -> bool:
    """gh's test ``[/+]json(;|$)`` on the Content-Type, without ``re`` (a hit's import)."""
    value = header_value(headers, "content-type")
    for marker in ("/json", "+json"):
        start = value.find(marker)
        while start >= 0:
            end = start + len(marker)
            if end == len(value) or value[end] == ";":
                return True
            start = value.find(marker, start + 1)
    return False


def sanitize_json_controls(body: bytes) -> bytes:
    """gh's sanitizer: ``\\u001b`` -> ``^[``, ``\\u009b`` -> ``\\\\233`` in a JSON body.

    The scan mirrors gh's reader exactly, quirks included: a backslash run of
    odd length before an escape gets one more backslash, and the last six
    bytes are never examined.
    """
    if b"\\u00" not in body:
        return body
    out = bytearray()
    limit = len(body) - 6
    index = 0
    add_escape = False
    while True:
        slash = body.find(b"\\", index, max(limit, 0))
        if slash < 0:
            out += body[index:]
            return bytes(out)
        if slash > index:
            out += body[index:slash]
            add_escape = False
        if body.startswith(b"\\u00", slash):
            window = body[slash : slash + 6]
            replacement = _CONTROL_ESCAPES.get(window.lower(), window)
            if add_escape:
                replacement = b"\\" + replacement
                add_escape = False
            out += replacement
            index = slash + 6
            continue
        add_escape = not add_escape
        out += b"\\"
        index = slash + 1


def go_json_string(text: str, *, escape_html: bool = False) -> str:
    """A JSON string literal as Go's encoder writes it."""
    table = _GO_HTML_ESCAPES if escape_html else _GO_ESCAPES
    return '"' + text.translate(table) + '"'


class _Number(str):
    """A JSON number kept as its source text (gh decodes with ``UseNumber``)."""


def _parse_ordered(text: str) -> Any:
    import json  # colour output only: a plain or --include hit need not load it

    return json.loads(
        text,
        object_pairs_hook=_Pairs,
        parse_int=_Number,
        parse_float=_Number,
        parse_constant=_reject_constant,
    )


class _Pairs(list):  # type: ignore[type-arg,unused-ignore]
    """An object's members in source order, duplicates kept."""


def _reject_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON constant {name}")


def colorize_json(body: bytes, indent: str = INDENT) -> bytes | None:
    """gh's ``jsoncolor.Write``: indented, coloured JSON; None if ``body`` is not JSON."""
    try:
        value = _parse_ordered(body.decode("utf-8", errors="replace"))
        out: list[str] = []
        _emit_colored(value, 0, indent, out)
    except (ValueError, RecursionError):  # not JSON, or nested too deep to walk here
        return None
    out.append("\n")
    return "".join(out).encode("utf-8")


def _paint(color: str, text: str) -> str:
    return f"\x1b[{color}m{text}\x1b[m"


def _emit_colored(value: Any, depth: int, indent: str, out: list[str]) -> None:
    if isinstance(value, _Pairs | list):
        is_object = isinstance(value, _Pairs)
        out.append(_paint(COLOR_DELIM, "{" if is_object else "["))
        if value:
            out.append("\n" + indent * (depth + 1))
        last = len(value) - 1
        for position, item in enumerate(value):
            if is_object:
                key, item = item
                out.append(_paint(COLOR_KEY, go_json_string(key)))
                out.append(_paint(COLOR_DELIM, ":") + " ")
            _emit_colored(item, depth + 1, indent, out)
            if position < last:
                out.append(_paint(COLOR_DELIM, ",") + "\n" + indent * (depth + 1))
            else:
                out.append("\n" + indent * depth)
        out.append(_paint(COLOR_DELIM, "}" if is_object else "]"))
    elif isinstance(value, _Number):
        out.append(str(value))
    elif isinstance(value, str):
        out.append(_paint(COLOR_STRING, go_json_string(value)))
    elif value is None:
        out.append(_paint(COLOR_NULL, "null"))
    elif isinstance(value, bool):
        out.append(_paint(COLOR_BOOL, "true" if value else "false"))


def render_body(
    body: bytes, headers: Iterable[tuple[str, str]], *, color: bool, status: int = 200
) -> bytes:
    """What gh prints for a response body (no filter): raw, or (sanitized) JSON, maybe coloured."""
    if status == 204:
        return b""
    if not is_json(headers):
        return body
    body = sanitize_json_controls(body)
    if color:
        painted = colorize_json(body)
        if painted is not None:
            return painted
    return body


def write_body(
    response_body: bytes,
    headers: Iterable[tuple[str, str]],
    stdout: IO[bytes],
    *,
    is_tty: bool,
    status: int = 200,
) -> None:
    """Write a response body as gh does; ``is_tty`` means "colour is on" (see ``color_enabled``)."""
    data = render_body(response_body, headers, color=is_tty, status=status)
    if data:
        stdout.write(data)


def write_cached(
    out: IO[bytes],
    stored: ResponseLike,
    *,
    include: bool = False,
    silent: bool = False,
    color: bool = False,
) -> None:
    """Print a stored 2xx response exactly as ``ghcache api`` (and gh) would.

    With ``include`` the status line and headers come first, even when
    ``silent`` (gh discards only the body with ``--silent``).
    """
    if include:
        out.write(format_include(stored, color=color))
    if not silent:
        write_body(stored.body, stored.headers, out, is_tty=color, status=stored.status)
    out.flush()
