"""The command line of a ``ghcache api`` call the fast path may answer, read with the
standard library alone (the click command reads every other one).

:func:`parse_api_args` accepts only flags whose meaning it is sure of and returns
None for anything else, so a call it cannot read is left to click, never misread.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_NAME_CHARS = _ALNUM + "._-"  # repository owners and names, preview names
# Endpoint characters whose URL form and key form are plainly the same.
SAFE_ENDPOINT_CHARS = _ALNUM + "._~/%:@!$&'()*+,;=?-"
_WORD_CHARS = _ALNUM + "_"
_MAX_DURATION = (2**63 - 1) // 10**9  # Go durations are int64 nanoseconds
_PLACEHOLDER_WORDS = ("owner", "repo", "branch")
_KEYED_HEADERS = ("accept", "x-github-api-version")
# Flags that take a value (the next argument, or after "=" for long ones).
_VALUE_FLAGS = (
    "-f",
    "--raw-field",
    "-F",
    "--field",
    "-q",
    "--jq",
    "-t",
    "--template",
    "-X",
    "--method",
    "-H",
    "--header",
    "-p",
    "--preview",
    "--cache",
    "--ttl",
    "--hostname",
)


class FastRequest:
    """A parsed ``api`` call the fast path can answer (plain class: no dataclasses import).

    It is also the printer's options (``include``, ``silent``, ``paginate``, ``slurp``)."""

    __slots__ = (
        "accept",
        "api_version",
        "endpoint",
        "hostname",
        "include",
        "jq",
        "paginate",
        "raw_fields",
        "silent",
        "slurp",
        "template",
        "ttl",
        "typed_fields",
    )

    def __init__(self) -> None:
        self.endpoint = ""
        self.hostname: str | None = None
        self.accept: str | None = None
        self.api_version: str | None = None
        self.ttl: float | None = None
        self.include = False
        self.silent = False
        self.paginate = False
        self.slurp = False
        self.jq: str | None = None
        self.template: str | None = None
        self.raw_fields: list[str] = []  # -f, for a GraphQL query
        self.typed_fields: list[str] = []  # -F, for a GraphQL query

    @property
    def is_plain(self) -> bool:
        """One REST page printed as stored: no filter, no pages to follow."""
        return not (self.paginate or self.jq or self.template or self.endpoint == "graphql")


def parse_api_args(args: list[str]) -> FastRequest | None:
    """``api ENDPOINT`` with only the supported flags, else None.

    Supported: ``-X/--method GET``, ``-H/--header`` (Accept and X-GitHub-Api-Version only),
    ``-p/--preview``, ``--cache DURATION`` (whole h/m/s only), ``--ttl N``,
    ``--hostname H``, ``-i/--include``, ``--silent``, ``--offline``.
    """
    if len(args) < 2 or args[0] != "api":
        return None
    request = FastRequest()
    headers: list[tuple[str, str]] = []
    previews: list[str] = []
    endpoint: str | None = None
    seen: set[str] = set()
    rest = args[1:]
    i = 0
    while i < len(rest):
        arg = rest[i]
        i += 1
        if not arg.startswith("-") or arg == "-":
            if endpoint is not None:
                return None
            endpoint = arg
            continue
        if arg in ("-i", "--include"):
            request.include = True
            continue
        if arg == "--silent":
            request.silent = True
            continue
        if arg in ("--paginate", "--slurp"):
            setattr(request, arg[2:], True)
            continue
        if arg == "--offline":
            continue  # a fresh hit is answered the same offline or not
        name, eq, value = arg.partition("=")
        if not eq:
            if name not in _VALUE_FLAGS:
                return None
            if i >= len(rest):
                return None
            value = rest[i]
            i += 1
        elif not name.startswith("--"):
            return None  # "-H=..." means something else to click
        if name in ("-q", "--jq", "-t", "--template"):
            if request.jq is not None or request.template is not None or not value:
                return None  # two filters, or an empty one: the api command's call
            if name in ("-q", "--jq"):
                request.jq = value
            else:
                request.template = value
            continue
        if name in ("-f", "--raw-field", "-F", "--field"):
            typed = name in ("-F", "--field")
            given = value.partition("=")[2]
            if typed and (given.startswith("@") or "{" in given or ":" in given):
                return None  # a file or stdin to read, a placeholder to fill: the api command
            (request.typed_fields if typed else request.raw_fields).append(value)
            continue
        if value.startswith("-"):
            return None
        if name in ("-H", "--header"):
            header_name, colon, header_value = value.partition(":")
            if not colon:
                return None
            if header_name != header_name.strip():
                return None  # whether "Accept :" names Accept is the slow path's call
            headers.append((header_name, header_value.strip()))
        elif name in ("-X", "--method"):
            if value.upper() != "GET":
                return None  # only a plain GET can be a cache hit here
        elif name in ("-p", "--preview"):
            for preview in value.split(","):
                if not is_plain_name(preview):
                    return None
                previews.append(preview)
        elif name in ("--cache", "--ttl", "--hostname"):
            if name in seen or (name != "--hostname" and {"--cache", "--ttl"} & seen):
                return None
            seen.add(name)
            if name == "--hostname":
                if not is_plain_hostname(value):
                    return None
                request.hostname = value
            else:
                ttl = parse_duration(value) if name == "--cache" else parse_seconds(value)
                if ttl is None:
                    return None
                # gh takes a zero --cache as not given (the stored TTL decides); --ttl 0 is 0.
                request.ttl = None if name == "--cache" and ttl == 0 else ttl
        else:
            return None
    if endpoint is None:
        return None
    if bool(request.raw_fields or request.typed_fields) != (endpoint == "graphql"):
        return None  # fields make a REST call a POST; a GraphQL call needs its query
    filtered = request.jq is not None or request.template is not None
    if (request.silent and filtered) or (request.slurp and (filtered or not request.paginate)):
        return None  # usage errors: the api command words them
    request.endpoint = endpoint
    if previews:
        headers.append(("Accept", preview_accept(previews)))
    for header_name, header_value in headers:
        lowered = header_name.lower()
        if lowered not in _KEYED_HEADERS or not header_value:
            return None  # other headers change what is sent: the slow path decides
        if lowered == "accept":
            if request.accept is not None:
                return None
            request.accept = header_value
        else:
            if request.api_version is not None:
                return None
            request.api_version = header_value
    return request


def preview_accept(names: list[str]) -> str:
    """gh's Accept header for ``-p`` previews."""
    first = f"application/vnd.github.{names[0]}-preview+json"
    return ", ".join([first, *(f"application/vnd.github.{name}-preview" for name in names[1:])])


def is_plain_hostname(text: str) -> bool:
    """A bare host name such as "github.localhost" (URLs, paths, spaces: the slow path)."""
    return bool(text) and not text.strip(_NAME_CHARS + ":")


def is_plain_name(text: str) -> bool:
    return bool(text) and not text.strip(_NAME_CHARS)


def parse_duration(text: str) -> float | None:
    """Seconds for a gh ``--cache`` duration in whole h/m/s units ("1h", "90s", "1h30m").

    Other forms gh accepts ("1.5h", "500ms") are left to the slow path.
    """
    total = 0
    rest = text
    for unit, seconds in (("h", 3600), ("m", 60), ("s", 1)):
        number, found, after = rest.partition(unit)
        if not found:
            continue
        if not (number.isascii() and number.isdigit()):
            return None
        total += int(number) * seconds
        rest = after
    if rest or not text or total > _MAX_DURATION:
        return None
    return float(total)


def parse_seconds(text: str) -> float | None:
    if not (text.isascii() and text.isdigit()):
        return None
    return float(int(text))


def fill_placeholders(endpoint: str, env: Mapping[str, str]) -> str | None:
    """``{owner}``/``{repo}`` (and ``:owner``/``:repo``) from a plain ``GH_REPO=OWNER/REPO``.

    gh's pattern is ``(:(owner|repo|branch)\\b|\\{[a-z]+\\})``.  None when
    filling needs git (no GH_REPO, ``{branch}``), for any other ``{name}``, or
    when a word boundary is in doubt.
    """
    if "{" not in endpoint and ":" not in endpoint:
        return endpoint
    parts = env.get("GH_REPO", "").split("/")
    repo_ok = len(parts) == 2 and all(is_plain_name(part) for part in parts)
    values = {"owner": parts[0], "repo": parts[-1]} if repo_ok else {}
    out: list[str] = []
    i = 0
    while i < len(endpoint):
        char = endpoint[i]
        if char == "{":
            close = endpoint.find("}", i + 1)
            name = endpoint[i + 1 : close] if close > i else ""
            if name and name.isascii() and name.isalpha() and name.islower():
                if name not in values:
                    return None
                out.append(values[name])
                i = close + 1
                continue
        elif char == ":":
            word = next((w for w in _PLACEHOLDER_WORDS if endpoint.startswith(w, i + 1)), None)
            if word is not None:
                after = endpoint[i + 1 + len(word) : i + 2 + len(word)]
                if not after.isascii():
                    return None  # \\b with a non-ASCII neighbour: let the slow path judge
                if not after or after not in _WORD_CHARS:
                    if word not in values:
                        return None
                    out.append(values[word])
                    i += 1 + len(word)
                    continue
        out.append(char)
        i += 1
    return "".join(out)
