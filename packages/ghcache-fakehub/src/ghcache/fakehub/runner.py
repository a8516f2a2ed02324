"""Running a hub in the foreground: `python -m ghcache.fakehub --port N`."""

from __future__ import annotations

import argparse
import ipaddress
import signal
import sys
from collections.abc import Sequence
from types import FrameType

from ghcache.fakehub.server import FakeHub


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def serve_forever(
    host: str = "127.0.0.1", port: int = 0, tokens: Sequence[tuple[str, str, int]] = ()
) -> None:
    """Serve until SIGINT/SIGTERM; the first stdout line is the bound port (for scripts)."""
    hub = FakeHub(host, port)
    for token, login, limit in tokens:
        hub.add_token(token, login=login, limit=limit)
    server = hub.bind()
    print(hub.port, flush=True)
    print(f"fakehub: serving {hub.url} (GraphQL {hub.graphql_url})", file=sys.stderr, flush=True)

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever(poll_interval=0.1)
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def _token_spec(text: str) -> tuple[str, str, int]:
    token, sep, rest = text.partition("=")
    login, _, limit = rest.partition(":")
    if not sep or not token or not login:
        raise argparse.ArgumentTypeError(f"expected TOKEN=LOGIN[:LIMIT], got {text!r}")
    try:
        return token, login, int(limit) if limit else 5000
    except ValueError:
        raise argparse.ArgumentTypeError(f"limit must be an integer in {text!r}") from None


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="fakehub",
        description="Simulated GitHub API (REST + GraphQL) for tests and the offline demo. "
        "Default tokens: ghp_alice (alice), ghp_bob (bob).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="loopback address to bind")
    parser.add_argument("--port", type=int, default=0, help="port (0 = a free one; printed)")
    parser.add_argument(
        "--token",
        action="append",
        type=_token_spec,
        default=[],
        metavar="TOKEN=LOGIN[:LIMIT]",
        help="add a token (repeatable)",
    )
    args = parser.parse_args(argv)
    if not _loopback(args.host):
        print(f"fakehub: refusing to bind non-loopback address {args.host}", file=sys.stderr)
        return 2
    if not 0 <= args.port <= 65535:
        print(f"fakehub: invalid port {args.port}", file=sys.stderr)
        return 2
    try:
        serve_forever(args.host, args.port, args.token)
    except OSError as exc:
        print(f"fakehub: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return 1
    return 0
