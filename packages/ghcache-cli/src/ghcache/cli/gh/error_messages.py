"""What gh says about a failed response: the message of a JSON error body
(``message``/``errors``, gh's ``parseErrorResponse``) and the hint for a token
that lacks an OAuth scope.  The ``api`` command prints these after the body."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from ghcache.cli.gh.output import header_value, is_json


def server_error(
    status: int, headers: Iterable[tuple[str, str]], body: bytes, *, graphql: bool
) -> str | None:
    """gh's error message for a response, or None when it is a success.

    JSON bodies of errors (and of every GraphQL answer) are searched for
    ``message`` and ``errors``, like gh's ``parseErrorResponse``; other
    failures read "HTTP 404".
    """
    headers = list(headers)
    message = ""
    if is_json(headers) and (graphql or status >= 400):
        message = message_from_body(body, status)
    if not message and status > 299:
        message = f"HTTP {status}"
    return message or None


def _field(obj: Any, name: str) -> Any:
    # Go's json.Unmarshal matches struct fields case-insensitively.
    if not isinstance(obj, dict):
        return None
    if name in obj:
        return obj[name]
    for key, value in obj.items():
        if key.lower() == name.lower():
            return value
    return None


def message_from_body(body: bytes, status: int) -> str:
    """gh's ``parseErrorResponse``: the message of a JSON error body, or ""."""
    try:
        parsed = json.loads(body.decode("utf-8", errors="replace"))
    except (ValueError, RecursionError):
        return ""
    message = _field(parsed, "message")
    message = message if isinstance(message, str) else ""
    errors = _field(parsed, "errors")
    if isinstance(errors, str) and errors:
        return f"{errors} ({message})" if message else errors
    if message:
        return f"{message} (HTTP {status})"
    if not isinstance(errors, list):
        return ""
    texts: list[str] = []
    for item in errors:
        if isinstance(item, dict):
            text = _field(item, "message")
            texts.append(text if isinstance(text, str) else "")
        elif isinstance(item, str):
            texts.append(item)
    return "\n".join(texts)


def scopes_suggestion(status: int, headers: Iterable[tuple[str, str]], hostname: str) -> str | None:
    """gh's hint when a 4xx names an OAuth scope the token lacks."""
    if status < 400 or status > 499 or status == 422:
        return None
    headers = list(headers)
    has = header_value(headers, "x-oauth-scopes")
    if not has:
        return None
    got: set[str] = set()
    for scope in has.split(","):
        scope = scope.strip()
        got.add(scope)
        if scope.startswith("admin:"):
            got.add("read:" + scope[6:])
            got.add("write:" + scope[6:])
        elif scope.startswith("write:"):
            got.add("read:" + scope[6:])
    for scope in header_value(headers, "x-accepted-oauth-scopes").split(","):
        scope = scope.strip()
        if not scope or scope in got:
            continue
        return (
            f'This API operation needs the "{scope}" scope. To request it, run:  '
            f"gh auth refresh -h {hostname} -s {scope}"
        )
    return None
