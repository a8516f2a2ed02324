"""fakehub: a simulated GitHub API (REST + GraphQL) on 127.0.0.1 for ghcache's tests and demo.

    from ghcache.fakehub import FakeHub
    with FakeHub() as hub:
        hub.url          # "http://127.0.0.1:PORT/"; GraphQL at hub.url + "graphql"

Standard library only, so it starts fast and adds no dependency.
"""

from ghcache.fakehub.control import ControlClient, FakeHubProcess
from ghcache.fakehub.data import DEFAULT_TOKENS, SEED_REPOS
from ghcache.fakehub.runner import main, serve_forever
from ghcache.fakehub.server import FakeHub
from ghcache.fakehub.state import RequestRecord

__all__ = [
    "DEFAULT_TOKENS",
    "SEED_REPOS",
    "ControlClient",
    "FakeHub",
    "FakeHubProcess",
    "RequestRecord",
    "main",
    "serve_forever",
]
