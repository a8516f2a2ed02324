"""What gh refuses in an endpoint before it builds a URL of it."""

from __future__ import annotations

import os

from ghcache.core.kernel.hosts import api_urls, shown
from ghcache.core.kernel.settings import ConfigError


class BadEndpoint(ValueError):
    """An endpoint no URL can be built from; the message is gh's, on one line."""


def check_endpoint(endpoint: str, hostname: str | None = None) -> None:
    """gh refuses control characters in the URL it builds; an endpoint that is not
    UTF-8 (a lone surrogate here, as Python decodes argv) has no URL at all."""
    if endpoint.isprintable():
        return
    if any(0xDC80 <= ord(char) <= 0xDCFF for char in endpoint):
        raise BadEndpoint(f"invalid API endpoint {shown(endpoint)}: not valid UTF-8")
    url = endpoint
    if "://" not in endpoint:
        try:
            url = api_urls(hostname, os.environ)[1] + endpoint.lstrip("/")
        except ConfigError:
            pass  # the endpoint is the first thing wrong to report
    raise BadEndpoint(f"parse {shown(url)}: net/url: invalid control character in URL")
