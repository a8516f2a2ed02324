"""The page loop of ``ghcache api``: send a request, print the answer, follow the pages.

The loop does not know where answers come from: the ``api`` command passes the
caching client, the fast path passes a cache lookup that gives up on the first
page it cannot answer.  So a hit and a miss follow pages (``Link`` for REST,
``endCursor`` for GraphQL), stop on a repeated page and print through the same
:class:`~ghcache.cli.api.printer.Printer` with the same code.

Standard library only at import time (the fast path imports it).
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any

    from ghcache.cli.api.printer import Printer

    # (method, target: a path below the API base with its query, or a full URL, body)
    Fetch = Callable[[str, str, "bytes | None"], Any]


def print_pages(
    fetch: Fetch,
    printer: Printer,
    *,
    method: str,
    path: str,
    params: dict[str, Any],
    body: bytes | None,
    graphql_url: str | None,
) -> None:
    """Fetch and print every page asked for (one without ``--paginate``); a failure
    prints gh's message and raises ``SystemExit(1)``; ``graphql_url`` is set for
    GraphQL calls."""
    opts = printer.opts
    graphql = graphql_url is not None
    send_params = bool(params)
    seen: set[str] = set()
    while True:
        target = graphql_url if graphql_url is not None else path
        payload = body
        if send_params:
            from ghcache.cli.gh.fields import add_query, go_json, graphql_payload

            if method.upper() == "GET":
                target = add_query(target, params)
            else:
                payload = go_json(graphql_payload(params) if graphql else params)
        resp = fetch(method, target, payload)
        notice = getattr(resp, "notice", None)
        if notice:
            from ghcache.cli.errors import error_line

            printer.out.flush()
            printer.err.write(error_line(str(notice)))
            printer.err.flush()
        cursor, problem = printer.page(resp, graphql=graphql)
        if problem is not None:
            printer.fail(problem, resp.status, resp.headers)
        if not opts.paginate:
            break
        if graphql:
            if not cursor:
                break
            step = "cursor " + cursor
            params["endCursor"] = cursor
            send_params = True
        else:
            from ghcache.cli.gh.paginate import find_next_page

            next_url = find_next_page(resp.headers)
            if next_url is None:
                break
            step = next_url
            path = next_url
            send_params = False  # the next-page URL already carries the query
        # gh would loop for ever on a page that names itself as next (and with a cache
        # such a loop makes no requests at all); ghcache stops with an error instead.
        if step in seen:
            printer.finish()
            printer.fail(f"pagination does not advance: {step} repeats", resp.status, [])
        seen.add(step)
        if opts.include:
            printer.out.write(b"\n")
    printer.finish()
    printer.out.flush()
