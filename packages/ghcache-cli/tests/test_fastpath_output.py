"""The fast path prints a hit exactly as ``ghcache.cli.output.write_cached``
(which the ``api`` command uses) prints it with colour off."""

from __future__ import annotations

import io
import itertools

import pytest

from ghcache.cli import fastpath, output

HEADERS = [
    ("content-type", "application/json; charset=utf-8"),
    ("ETag", 'W/"abc"'),
    ("x-github-request-id", "1:2"),
    ("Vary", "Accept"),
    ("Vary", "Authorization"),
]


@pytest.mark.parametrize(
    ("status", "reason", "body", "include", "silent"),
    [
        (status, reason, body, include, silent)
        for (status, reason), body, include, silent in itertools.product(
            [(200, "OK"), (201, "Created"), (204, "No Content"), (203, "")],
            [b'{"a": [1, 2]}', b"", "é\n".encode(), b"\xffraw"],
            [False, True],
            [False, True],
        )
    ],
)
def test_write_response_matches_output_write_cached(
    status: int, reason: str, body: bytes, include: bool, silent: bool
) -> None:
    stored = fastpath.StoredResponse(status, reason, "HTTP/2.0", HEADERS, body, 0.0, 60.0)
    request = fastpath.FastRequest()
    request.include, request.silent = include, silent
    mine, theirs = io.BytesIO(), io.BytesIO()
    fastpath.write_response(stored, request, mine)
    output.write_cached(theirs, stored, include=include, silent=silent, color=False)
    assert mine.getvalue() == theirs.getvalue()
