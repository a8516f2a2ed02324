"""The proxy as this process: configuration checks, one proxy per cache directory, the
listening socket, the state file, and uvicorn serving :class:`ghcache.proxy.app.ProxyApp`
until SIGTERM/SIGINT.  ``ghcache proxy run`` and ``python -m ghcache.proxy run`` call
:func:`main`."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import logging
import os
import signal
import socket
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn

from ghcache.core.config import ConfigError, Settings
from ghcache.core.hosts import ApiHost, resolve_host
from ghcache.core.store import CacheDirError, ensure_cache_dir
from ghcache.proxy.app import MAX_HEADER_BYTES, ProxyApp
from ghcache.proxy.forward import ForwardProxy
from ghcache.proxy.interception import Interception
from ghcache.proxy.settings import TEST_UPSTREAM, ProxyConfigError, ProxySettings
from ghcache.proxy.state import LOCK_NAME, STATE_NAME, proxy_url
from ghcache.proxy.via import AsyncViaTransport, ViaTransport

log = logging.getLogger("ghcache.proxy")

GRACEFUL_SHUTDOWN = 5  # seconds open requests may take to finish after SIGTERM


@dataclass(frozen=True)
class Listeners:
    main: socket.socket  # the reverse proxy: CACHE_PROXY_ADDR:CACHE_PROXY_PORT
    forward: socket.socket  # the forward proxy: loopback:CACHE_PROXY_FORWARD_PORT


class StartupError(Exception):
    """Why the proxy cannot start, in one line; ``status`` is the exit status."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


def main() -> int:
    """Run the proxy in the foreground until SIGTERM/SIGINT; returns the exit status."""
    configure_logging()
    try:
        settings, proxy, api = read_configuration()
        cache_dir = prepare_cache_dir(settings.cache_dir)
        lock = hold_lock(cache_dir)
        listener = listen(proxy.addr, proxy.port)
        # Always on loopback, whatever CACHE_PROXY_ADDR says: it tunnels to any host.
        loopback = "::1" if ":" in proxy.addr else "127.0.0.1"
        forward = listen(loopback, proxy.forward_port)
    except StartupError as exc:
        print(f"ghcache proxy: {exc}", file=sys.stderr)
        return exc.status
    # uvicorn catches SIGTERM, shuts down, then raises it again for the handler it found:
    # by then the work is done, and this process should still tidy up and exit 0.
    signal.signal(signal.SIGTERM, lambda signum, frame: None)
    try:
        asyncio.run(serve(settings, proxy, api, Listeners(listener, forward), cache_dir))
    except KeyboardInterrupt:
        pass
    finally:
        with contextlib.suppress(OSError):
            (cache_dir / STATE_NAME).unlink()
        os.close(lock)
    return 0


def configure_logging() -> None:
    level = os.environ.get("CACHE_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    log.setLevel(getattr(logging, level, logging.INFO))


def read_configuration() -> tuple[Settings, ProxySettings, ApiHost]:
    try:
        settings = Settings.from_env()
        return settings, ProxySettings.from_env(settings.env), resolve_host(None, settings.env)
    except (ConfigError, ProxyConfigError) as exc:
        raise StartupError(str(exc), 2) from None


def prepare_cache_dir(directory: Path) -> Path:
    try:
        return ensure_cache_dir(directory)
    except CacheDirError as exc:
        raise StartupError(str(exc), 2) from None


def hold_lock(cache_dir: Path) -> int:
    """One proxy per cache directory: its pid and state files are per directory."""
    fd = os.open(cache_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise StartupError(f"a proxy already runs for {cache_dir}", 1) from None
    return fd


def listen(addr: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    # IPPROTO_TCP named: asyncio turns Nagle's algorithm off only on sockets that say
    # so, and with it on, a body written after its headers waits 40 ms for an ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((addr, port))
        sock.listen(1024)
    except OSError as exc:
        sock.close()
        raise StartupError(f"cannot listen on {addr}:{port}: {exc.strerror or exc}", 1) from None
    sock.set_inheritable(True)
    return sock


def write_state(cache_dir: Path, url: str, api: ApiHost, forward: dict[str, Any]) -> None:
    """``proxy.json``: where this proxy listens, for ``proxy status``/``stop``, ``ghcache run``
    and scripts."""
    state = {
        "pid": os.getpid(),
        "url": url,
        "upstream": api.rest_url,
        "started_at": time.time(),
        **forward,
    }
    tmp = cache_dir / f".{STATE_NAME}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(state, handle)
    os.replace(tmp, cache_dir / STATE_NAME)


async def serve(
    settings: Settings, proxy: ProxySettings, api: ApiHost, listeners: Listeners, cache_dir: Path
) -> None:
    timeout = httpx.Timeout(settings.upstream_timeout, connect=10.0)
    test_upstream = proxy.test_upstream
    if test_upstream is not None:
        log.warning("%s is set: the API host's requests go to %s:%d", TEST_UPSTREAM, *test_upstream)
    with contextlib.ExitStack() as stack:
        interception = stack.enter_context(Interception.prepare(cache_dir, api, settings.env))
        async with httpx.AsyncClient(
            timeout=timeout,
            trust_env=True,
            transport=AsyncViaTransport(test_upstream) if test_upstream else None,
        ) as http:
            app = ProxyApp(
                settings,
                api,
                http,
                loopback_only=proxy.is_loopback,
                internal=interception.internal,
                upstream=ViaTransport(test_upstream) if test_upstream else None,
            )
            forward = ForwardProxy(
                intercepted=interception.hosts,
                leaf_context=interception.leaf_context,
                internal_path=interception.socket_path,
                may_tunnel=proxy.may_tunnel,
            )
            config = uvicorn.Config(
                app,
                interface="asgi3",
                http="h11",  # the pure-Python parser: bounded header size, clear 400s
                lifespan="off",
                log_config=None,
                access_log=False,  # never a line per request at INFO (DEBUG has them)
                server_header=False,
                date_header=False,  # GitHub's Date is part of the answer
                proxy_headers=False,
                # h11 answers 400 to a request whose head grows past this before it ends.
                h11_max_incomplete_event_size=MAX_HEADER_BYTES,
                timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,
            )
            host, port = listeners.main.getsockname()[:2]
            url = proxy_url(host, port)
            forward_host, forward_port = listeners.forward.getsockname()[:2]
            forward_url = proxy_url(forward_host, forward_port).rstrip("/")
            front = await forward.serve(listeners.forward)
            write_state(cache_dir, url, api, interception.state(forward_url))
            print(
                f"ghcache proxy: listening on {url} (upstream {api.rest_url});"
                f" forward proxy on {forward_url}",
                file=sys.stderr,
            )
            sys.stderr.flush()
            try:
                await uvicorn.Server(config).serve(sockets=[listeners.main, interception.listener])
            finally:
                front.close()
                forward.close()
                app.close()
