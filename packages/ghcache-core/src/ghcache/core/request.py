"""One API request, built once by the caller and carried unchanged through core.

As httpx carries one ``Request`` down its layers: the CLI builds an
:class:`ApiRequest` from the API's base URL and the endpoint (or from a full
URL, e.g. a ``Link`` page), and the client keys, scopes and sends that same
object, with no joining and re-splitting of URLs on the way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

from ghcache.core.hosts import ApiHost
from ghcache.core.kernel.keys import normalize_path, parse_query


@dataclass(frozen=True)
class ApiRequest:
    method: str
    base: str  # the API's base URL ("https://api.github.com/"), or the origin of a foreign URL
    path: str  # below ``base``, dot segments resolved, no leading slash
    query: str = ""  # the query string as given, without "?"
    headers: tuple[tuple[str, str], ...] = field(default=())
    body: bytes | None = None

    def __post_init__(self) -> None:
        # What is keyed, scoped and sent is the path a server resolves (``./user`` is ``user``).
        object.__setattr__(self, "path", normalize_path(self.path))
        object.__setattr__(self, "headers", tuple(self.headers))

    @classmethod
    def for_url(
        cls,
        method: str,
        url: str,
        host: ApiHost,
        headers: tuple[tuple[str, str], ...] | list[tuple[str, str]] = (),
        body: bytes | None = None,
    ) -> ApiRequest:
        """A request for a full URL: below the host's REST or GraphQL base when it is one."""
        parts = urlsplit(url)
        full_path = "/" + normalize_path(parts.path)
        origin = f"{parts.scheme}://{parts.netloc}"
        for base in (host.rest_url, host.graphql_url.rsplit("/", 1)[0] + "/"):
            base_parts = urlsplit(base)
            if f"{base_parts.scheme}://{base_parts.netloc}".lower() == origin.lower() and (
                full_path.startswith(base_parts.path)
            ):
                path = full_path[len(base_parts.path) :]
                return cls(method, base, path, parts.query, tuple(headers), body)
        return cls(method, origin + "/", full_path, parts.query, tuple(headers), body)

    @property
    def url(self) -> str:
        return self.base + self.path + ("?" + self.query if self.query else "")

    def query_pairs(self) -> list[tuple[str, str]]:
        return parse_query(self.query)
