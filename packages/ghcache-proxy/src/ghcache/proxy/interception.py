"""What the forward proxy needs to answer ``CONNECT`` to the API host from the cache: the
host it intercepts, the local CA (made on first use) and its bundle, and the internal
listener the decrypted streams go to.

The internal listener is a Unix socket in a private (0700) directory of its own, served
by the same uvicorn server as the reverse proxy's port: the application knows a request
came decrypted from the forward proxy by the listener it arrived on, so nothing a client
sends can claim that.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import ssl
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ghcache.core.hosts import ApiHost
from ghcache.proxy.ca import LocalCA
from ghcache.proxy.state import intercepted_host

INTERNAL_SOCKET = "forward.sock"


@dataclass
class Interception:
    hosts: frozenset[tuple[str, int]]
    ca: LocalCA | None
    bundle: Path | None
    listener: socket.socket
    socket_path: str

    @classmethod
    @contextlib.contextmanager
    def prepare(
        cls, cache_dir: Path, api: ApiHost, env: Mapping[str, str]
    ) -> Iterator[Interception]:
        host = intercepted_host(api.hostname)
        ca = bundle = None
        if host is not None:
            ca = LocalCA.load_or_create(cache_dir, (host[0],))
            bundle = ca.write_bundle(env)
        # A directory of its own: a Unix socket path is short (108 bytes), which a cache
        # directory deep in a home or a test's tmp may not be.
        private = tempfile.mkdtemp(prefix="ghcache-proxy-")
        path = os.path.join(private, INTERNAL_SOCKET)
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            listener.bind(path)
            os.chmod(path, 0o600)
            listener.listen(1024)
            yield cls(frozenset([host] if host else []), ca, bundle, listener, path)
        finally:
            listener.close()
            shutil.rmtree(private, ignore_errors=True)

    @property
    def internal(self) -> tuple[str, tuple[str, int]] | None:
        """What :class:`ghcache.proxy.app.ProxyApp` needs to recognise these requests."""
        for host in self.hosts:
            return self.socket_path, host
        return None

    def leaf_context(self, host: str) -> ssl.SSLContext:
        assert self.ca is not None  # only called for an intercepted host, which has a CA
        return self.ca.leaf_context(host)

    def state(self, forward_url: str) -> dict[str, Any]:
        """The forward proxy's lines of ``proxy.json``, for ``ghcache run`` and ``proxy env``."""
        return {
            "forward_url": forward_url,
            "intercepted": sorted(f"{host}:{port}" for host, port in self.hosts),
            "ca_cert": str(self.ca.cert_path) if self.ca else None,
            "ca_bundle": str(self.bundle) if self.bundle else None,
        }
