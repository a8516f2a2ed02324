"""The fast path prints a hit exactly as ``ghcache.cli.gh.output.write_cached``
(whose pieces the ``api`` command prints with), colour on or off."""

from __future__ import annotations

import io
import itertools

import pytest

from ghcache.cli import fastpath
from ghcache.cli.gh import output

HEADERS = [
    ("content-type", "application/json; charset=utf-8"),
    ("ETag", 'W/"abc"'),
    ("x-github-request-id", "1:2"),
    ("Vary", "Accept"),
    ("Vary", "Authorization"),
]


@pytest.mark.parametrize(
    ("status", "reason", "body", "include", "silent", "color"),
    [
        (status, reason, body, include, silent, color)
        for (status, reason), body, include, silent, color in itertools.product(
            [(200, "OK"), (201, "Created"), (204, "No Content"), (203, "")],
            [
                b'{"a": [1, 2]}',
                b"",
                "é\n".encode(),
                b"\xffraw",
                b'{"t": "bell \\u0007 csi \\u009b esc \\u001B", "n": "\\\\u0000x"}',
            ],
            [False, True],
            [False, True],
            [False, True],
        )
    ],
)
def test_write_response_matches_output_write_cached(
    status: int, reason: str, body: bytes, include: bool, silent: bool, color: bool
) -> None:
    stored = fastpath.StoredResponse(status, reason, "HTTP/2.0", HEADERS, body, 0.0, 60.0)
    request = fastpath.FastRequest()
    request.include, request.silent = include, silent
    mine, theirs = io.BytesIO(), io.BytesIO()
    fastpath.write_response(stored, request, mine, color=color)
    output.write_cached(theirs, stored, include=include, silent=silent, color=color)
    assert mine.getvalue() == theirs.getvalue()
