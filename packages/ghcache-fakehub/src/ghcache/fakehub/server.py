"""FakeHub: a hub's state served from a thread, its addresses, and the environment that
points the real `gh` at it.

The HTTP side lives in handler (plumbing), accounting (GitHub's behaviour around the routes),
response_headers and http_parsing; their names are re-exported here because tests and benches
import them from this module.
"""

from __future__ import annotations

import threading
from types import TracebackType

from ghcache.fakehub import control
from ghcache.fakehub.accounting import SERVER_ERRORS, Dropped
from ghcache.fakehub.handler import MAX_BODY, FakeHubServer, Handler
from ghcache.fakehub.http_parsing import (
    LOOPBACK_HOSTS,
    Target,
    compact,
    http_date,
    media_param,
    parse_target,
    parse_token,
    resource_for,
)
from ghcache.fakehub.response_headers import (
    EXPOSED,
    Outgoing,
    etag_matches,
    make_etag,
    not_modified_since,
)
from ghcache.fakehub.state import HubState

__all__ = [
    "EXPOSED",
    "LOOPBACK_HOSTS",
    "MAX_BODY",
    "SERVER_ERRORS",
    "Dropped",
    "FakeHub",
    "FakeHubServer",
    "Handler",
    "Outgoing",
    "Target",
    "compact",
    "etag_matches",
    "http_date",
    "make_etag",
    "media_param",
    "not_modified_since",
    "parse_target",
    "parse_token",
    "resource_for",
]


class FakeHub(HubState):
    """A simulated GitHub API on 127.0.0.1 (port 0 = a free port), served from a thread.

    with FakeHub() as hub:
        httpx.get(hub.url + "user", headers={"Authorization": "token ghp_alice"})
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        super().__init__()
        self._address = (host, port)
        self._server: FakeHubServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------
    def bind(self) -> FakeHubServer:
        """Create the listening socket (without serving yet)."""
        if self._server is None:
            self._server = FakeHubServer(self._address, self)
        return self._server

    def start(self) -> FakeHub:
        server = self.bind()
        if self._thread is None:
            self._thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"fakehub-{self.port}",
                daemon=True,
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            if self._thread is not None:
                self._server.shutdown()
                self._thread.join(timeout=5)
            self._server.server_close()
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------
    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeHub is not started")
        return int(self._server.server_address[1])

    @property
    def host(self) -> str:
        return self._address[0]

    @property
    def url(self) -> str:
        """REST base, e.g. "http://127.0.0.1:PORT/"."""
        return f"http://{self.host}:{self.port}/"

    @property
    def graphql_url(self) -> str:
        return self.url + "graphql"

    @property
    def proxy_url(self) -> str:
        """Value for HTTP_PROXY to reach the hub as "api.github.localhost" (gh's GH_HOST form)."""
        return f"http://{self.host}:{self.port}"

    def gh_env(self, config_dir: str, token: str = "ghp_alice") -> dict[str, str]:
        """Environment variables that make the real `gh` talk to this hub through the proxy
        form. Merge into a copy of os.environ (keep PATH/HOME)."""
        return {
            "GH_HOST": "github.localhost",
            "HTTP_PROXY": self.proxy_url,
            "http_proxy": self.proxy_url,
            "NO_PROXY": "",
            "no_proxy": "",
            "GH_TOKEN": token,
            "GH_CONFIG_DIR": config_dir,
            "GH_PROMPT_DISABLED": "1",
            "GH_NO_UPDATE_NOTIFIER": "1",
            "NO_COLOR": "1",
            "GH_PAGER": "",
            "PAGER": "",
        }

    @staticmethod
    def start_subprocess(port: int = 0, *, timeout: float = 15.0) -> control.FakeHubProcess:
        """Run a hub in its own process (python -m ghcache.fakehub)."""
        return control.FakeHubProcess.start(port=port, timeout=timeout)
