"""The fast path prints a hit exactly as ``ghcache.cli.gh.output.write_cached``
(whose pieces the ``api`` command prints with), colour on or off."""

from __future__ import annotations

import io
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ghcache.cli import fastargs, fastpath
from ghcache.cli.gh import output
from ghcache.core.kernel import entries, keys

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
    record = {
        "key": "k",
        "scope": "shared",
        "method": "GET",
        "url": "u",
        "stored_at": 0.0,
        "ttl": 60.0,
        "status": status,
        "reason": reason,
        "http_version": "HTTP/2.0",
        "headers": HEADERS,
        "body_cid": keys.cid_for_bytes(body),
    }
    stored = entries.check_entry(record, body, check_length=False)
    request = fastargs.FastRequest()
    request.include, request.silent = include, silent
    mine, theirs = io.BytesIO(), io.BytesIO()
    fastpath.write_response(stored, request, mine, color=color)
    output.write_cached(theirs, stored, include=include, silent=silent, color=color)
    assert mine.getvalue() == theirs.getvalue()


@given(st.text(alphabet="abjnos/+;json x-", max_size=24))
def test_is_json_is_ghs_pattern(content_type: str) -> None:
    """``is_json`` (no ``re``, for the hit path) answers as gh's ``[/+]json(;|$)``."""
    import re

    expected = re.search(r"[/+]json(;|$)", content_type) is not None
    assert output.is_json([("Content-Type", content_type)]) is expected


@given(st.text(alphabet='<>;" relnxt,\t=a/', max_size=40))
def test_link_targets_are_ghs_pattern(value: str) -> None:
    """``link_targets`` (no ``re``, for a --paginate hit) finds what gh's pattern finds."""
    import re

    from ghcache.cli.gh.paginate import link_targets

    for text in (value, '<https://api.github.com/x?page=2>; rel="next", ' + value):
        assert link_targets(text) == re.findall(r'<([^>]+)>;\s*rel="([^"]+)"', text)


@given(st.text(alphabet="per_ag=&;1x+%5F", max_size=30))
def test_per_page_is_read_as_parse_qs_reads_it(query: str) -> None:
    """``sets_per_page`` (urllib-free for plain queries) agrees with ``parse_qs``."""
    from urllib.parse import parse_qs

    from ghcache.cli.gh.paginate import sets_per_page

    assert sets_per_page(query) == bool(parse_qs(query).get("per_page", [""])[0])
