"""ghcache-ipfs's settings and which Kubo RPC endpoint they name.

Standard library only: the plugin reads these on the CLI's miss path.  The Kubo
RPC API is an admin API (it can read and change the node's whole config), so an
address is used only when it is loopback or was named explicitly in
``CACHE_IPFS_API``: Kubo's own ``api`` file naming another address is refused.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from ghcache.core.config import ConfigError, Settings, rows_as_given
from ghcache.core.kernel.settings import parse_bool, parse_int

DEFAULTS: dict[str, str] = {
    "CACHE_ENABLE_IPFS": "true",
    "CACHE_IPFS_API": "",
    # A lookup is two small loopback calls (~5 ms with Kubo); this bounds a node that
    # hangs, as CACHE_PEER_TIMEOUT_MS bounds peers.
    "CACHE_IPFS_TIMEOUT_MS": "500",
}


@dataclass(frozen=True)
class Endpoint:
    """A Kubo RPC base URL (``http://host:port``) and where it came from."""

    url: str
    source: str  # "CACHE_IPFS_API" or the path of Kubo's api file
    explicit: bool  # named by the user: a failure is worth one line on stderr


@dataclass(frozen=True)
class IPFSSettings:
    core: Settings
    enable_ipfs: bool
    api: str  # CACHE_IPFS_API as given ("" when unset)
    ipfs_path: Path  # $IPFS_PATH, else ~/.ipfs: Kubo writes its RPC address to <it>/api
    timeout: float  # seconds one lookup or store may take in all
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> IPFSSettings:
        return cls.from_settings(Settings.from_env(os.environ if env is None else env))

    @classmethod
    def from_settings(cls, settings: Settings) -> IPFSSettings:
        env = settings.env
        sources = {name: "env" if env.get(name, "").strip() else "default" for name in DEFAULTS}

        def raw(name: str) -> str:
            return env.get(name, "").strip() or DEFAULTS[name]

        home = env.get("HOME") or os.path.expanduser("~")
        ipfs_path = env.get("IPFS_PATH", "").strip() or os.path.join(home, ".ipfs")
        api = raw("CACHE_IPFS_API")
        if api:
            endpoint_url(api)  # raises ConfigError naming the variable
        return cls(
            core=settings,
            enable_ipfs=parse_bool("CACHE_ENABLE_IPFS", raw("CACHE_ENABLE_IPFS")),
            api=api,
            ipfs_path=Path(ipfs_path),
            timeout=parse_int("CACHE_IPFS_TIMEOUT_MS", raw("CACHE_IPFS_TIMEOUT_MS"), minimum=1)
            / 1000,
            sources=sources,
        )

    def endpoint(self) -> tuple[Endpoint | None, str]:
        """The endpoint to use, or None and why there is none (one line)."""
        if not self.enable_ipfs:
            return None, "CACHE_ENABLE_IPFS is false"
        if self.api:
            return Endpoint(endpoint_url(self.api), "CACHE_IPFS_API", explicit=True), ""
        api_file = self.ipfs_path / "api"
        try:
            text = api_file.read_text(encoding="utf-8", errors="replace").strip()
        except OSError:
            return None, f"no CACHE_IPFS_API and no Kubo api file at {api_file}"
        try:
            url = endpoint_url(text, name=str(api_file))
        except ConfigError as exc:
            return None, str(exc)
        host = urlsplit(url).hostname or ""
        if not is_loopback(host):
            return None, (
                f"{api_file} names {host}, not a loopback address: the Kubo RPC is an admin "
                "API, set CACHE_IPFS_API to use it"
            )
        return Endpoint(url, str(api_file), explicit=False), ""

    def shown_values(self) -> dict[str, str]:
        endpoint, why = self.endpoint()
        return {
            "CACHE_ENABLE_IPFS": "true" if self.enable_ipfs else "false",
            "CACHE_IPFS_API": endpoint.url if endpoint else f"(none: {why})",
            "CACHE_IPFS_TIMEOUT_MS": str(round(self.timeout * 1000)),
        }


def endpoint_url(text: str, *, name: str = "CACHE_IPFS_API") -> str:
    """``http://host:port`` for a Kubo RPC address given as a multiaddr
    (``/ip4/127.0.0.1/tcp/5001``, ``/ip6/::1/tcp/5001``, ``/dns/host/tcp/5001``, with an
    optional ``/http`` or ``/https``) or a URL (``http://127.0.0.1:5001``)."""
    text = text.strip()
    if text.startswith(("http://", "https://")):
        url = urlsplit(text)
        try:
            url_port = url.port
        except ValueError:
            url_port = None
        if not url.hostname or url_port is None or url.path not in ("", "/"):
            raise ConfigError(f"{name}: {text!r} is not http://HOST:PORT")
        return f"{url.scheme}://{url.netloc}"
    parts = text.split("/")
    if len(parts) < 5 or parts[0] != "" or parts[3] != "tcp":
        raise ConfigError(
            f"{name}: {text!r} is neither a /ip4|ip6|dns/HOST/tcp/PORT multiaddr nor a URL"
        )
    proto, host, port = parts[1], parts[2], parts[4]
    scheme = "https" if parts[5:] == ["https"] or parts[5:] == ["tls", "http"] else "http"
    if parts[5:] not in ([], ["http"], ["https"], ["tls", "http"]):
        raise ConfigError(f"{name}: {text!r}: only /http or /https may follow the port")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(f"{name}: {text!r} has no valid TCP port")
    if proto == "ip4" or proto == "ip6":
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            raise ConfigError(f"{name}: {text!r}: {host!r} is not an IP address") from None
        if address.is_unspecified:  # Kubo listening on every interface: loopback reaches it
            address = ipaddress.ip_address("127.0.0.1" if proto == "ip4" else "::1")
        if address.version != (4 if proto == "ip4" else 6):
            raise ConfigError(f"{name}: {text!r}: {host!r} is not an {proto} address")
        host = f"[{address}]" if address.version == 6 else str(address)
    elif proto not in ("dns", "dns4", "dns6") or not host:
        raise ConfigError(f"{name}: {text!r}: use /ip4, /ip6 or /dns")
    return f"{scheme}://{host}:{port}"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def config_rows(env: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """``(variable, effective value, source)`` for ``ghcache config``; what was given when invalid."""
    try:
        settings = IPFSSettings.from_env(env)
    except ConfigError:
        return rows_as_given(env, DEFAULTS)
    shown = settings.shown_values()
    return [(name, shown[name], settings.sources[name]) for name in DEFAULTS]


def config_problem(env: Mapping[str, str]) -> str | None:
    try:
        IPFSSettings.from_env(env)
    except ConfigError as exc:
        return str(exc)
    return None
