"""Who is asking: the client's own ``Authorization`` header, and one caching client per
identity, so that keys, scopes, sharing and rate-limit memory are those ``ghcache api``
uses for the same token.

The token lives in memory only, in the client that sends it upstream; entries, logs
and the status page know identities by core's one-way fingerprint.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

import httpx

from ghcache.core.client import CachingClient
from ghcache.core.config import Settings
from ghcache.core.hosts import ApiHost
from ghcache.core.kernel.hosts import is_printable_ascii
from ghcache.core.scope import identity_fingerprint
from ghcache.core.store import DiskStore
from ghcache.core.upstream import Upstream
from ghcache.proxy.responses import Refusal

# Clients kept for the identities seen most recently; an older one is made again when
# its identity comes back (it holds no state beyond its connection pool).
MAX_CLIENTS = 256


@dataclass(frozen=True)
class Identity:
    # What core keys an identity by: the token of "token X" / "Bearer X" (so the proxy and
    # `ghcache api` with GH_TOKEN=X are one identity), else the whole header (Basic).
    credential: str | None = field(repr=False)
    fingerprint: str

    @classmethod
    def from_header(cls, authorization: str | None) -> Identity:
        if authorization is None or not authorization.strip():
            return cls(None, identity_fingerprint(None))
        value = authorization.strip()
        if not is_printable_ascii(value):
            raise Refusal(400, "the Authorization header must be printable ASCII")
        scheme, _, rest = value.partition(" ")
        credential = rest.strip() if scheme.lower() in ("token", "bearer") else value
        credential = credential or value
        return cls(credential, identity_fingerprint(credential))


class ClientPool:
    """One :class:`CachingClient` per identity, sharing one store.

    Each has its own connection pool: httpx reads ``HTTPS_PROXY``/``NO_PROXY`` only for a
    client that builds its own transport, and the proxy's upstream honours them as gh does.

    Used from the event loop only; the clients themselves are used from worker threads
    (a CachingClient is safe there: the CLI's pages and the Python API do the same)."""

    def __init__(
        self, settings: Settings, api: ApiHost, transport: httpx.BaseTransport | None = None
    ) -> None:
        self.settings = settings
        self.api = api
        self.transport = transport  # None: httpx's own, honouring HTTPS_PROXY and NO_PROXY
        self.store = DiskStore(settings.cache_dir, max_bytes=settings.max_bytes)
        self._clients: OrderedDict[str | None, CachingClient] = OrderedDict()

    def client_for(self, identity: Identity) -> CachingClient:
        client = self._clients.get(identity.credential)
        if client is not None:
            self._clients.move_to_end(identity.credential)
            return client
        upstream = Upstream(
            identity.credential,
            timeout=self.settings.upstream_timeout,
            transport=self.transport,
        )
        client = CachingClient(
            self.settings, self.api, identity.credential, upstream=upstream, store=self.store
        )
        self._clients[identity.credential] = client
        if len(self._clients) > MAX_CLIENTS:
            # Not closed: a worker thread may be using it; its sockets go with it.
            self._clients.popitem(last=False)
        return client

    def __len__(self) -> int:
        return len(self._clients)

    def close(self) -> None:
        for client in self._clients.values():
            client.close()
        self._clients.clear()
