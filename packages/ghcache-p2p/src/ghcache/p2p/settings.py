"""ghcache-p2p's settings, read from the environment core's settings came from.

Standard library only: the plugin parses these on the CLI's miss path (once
per process, see ``ghcache.p2p.plugin``).  The variables that core documented
first (CACHE_ENABLE_P2P ... CACHE_METRICS_PORT) keep core's reading: a variable
that is set but empty is its value (an empty CACHE_ENABLE_P2P is false); for
the p2p limits, empty means the default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ghcache.core.config import ConfigError, Settings, rows_as_given
from ghcache.core.kernel.settings import parse_bool, parse_int

MIB = 1024 * 1024
DEFAULTS: dict[str, str] = {
    "CACHE_ENABLE_P2P": "true",
    "CACHE_LISTEN_PORT": "9100",
    "CACHE_LISTEN_ADDR": "0.0.0.0",
    "CACHE_BOOTSTRAP_PEERS": "",
    "CACHE_ENABLE_MDNS": "false",
    "CACHE_PEER_TIMEOUT_MS": "300",
    "CACHE_METRICS_PORT": "",
    "CACHE_MAX_ANNOUNCE_BYTES": str(1 * MIB),
    "CACHE_MAX_ENTRY_BYTES": str(16 * MIB),
    "CACHE_INLINE_ENTRY_BYTES": str(64 * 1024),
    "CACHE_PEER_RATE": "100",
    "CACHE_CLOCK_SKEW": "60",
}


@dataclass(frozen=True)
class P2PSettings:
    core: Settings
    enable_p2p: bool  # false: the plugin never contacts the daemon
    listen_port: int
    listen_addr: str
    bootstrap_peers: tuple[str, ...]  # multiaddrs ending in /p2p/<peer id>
    enable_mdns: bool
    peer_timeout: float  # seconds a CLI miss waits for peers
    metrics_port: int | None  # None: no Prometheus exporter
    max_announce_bytes: int  # one gossip message, after sealing
    max_entry_bytes: int  # one entry (serialized), fetched or inline
    inline_entry_bytes: int  # sealed entries up to this size travel inside announcements
    peer_rate: float  # messages/requests per second allowed from one peer (burst: 2x)
    clock_skew: float  # seconds an entry may be stamped in the future
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> P2PSettings:
        return cls.from_settings(Settings.from_env(os.environ if env is None else env))

    @classmethod
    def from_settings(cls, settings: Settings) -> P2PSettings:
        """The p2p settings from the environment ``settings`` were read from."""
        env = settings.env
        sources: dict[str, str] = {}

        def raw(name: str) -> str:
            if name in env:
                sources[name] = "env"
                return env[name].strip()
            sources[name] = "default"
            return DEFAULTS[name]

        def limit(name: str, minimum: int = 0) -> int:
            given = env.get(name, "").strip()
            sources[name] = "env" if given else "default"
            return parse_int(name, given or DEFAULTS[name], minimum=minimum)

        metrics = raw("CACHE_METRICS_PORT")
        p2p = cls(
            core=settings,
            enable_p2p=parse_bool("CACHE_ENABLE_P2P", raw("CACHE_ENABLE_P2P")),
            listen_port=parse_int("CACHE_LISTEN_PORT", raw("CACHE_LISTEN_PORT"), maximum=65535),
            listen_addr=raw("CACHE_LISTEN_ADDR") or "0.0.0.0",
            bootstrap_peers=tuple(
                p.strip() for p in raw("CACHE_BOOTSTRAP_PEERS").split(",") if p.strip()
            ),
            enable_mdns=parse_bool("CACHE_ENABLE_MDNS", raw("CACHE_ENABLE_MDNS")),
            peer_timeout=parse_int("CACHE_PEER_TIMEOUT_MS", raw("CACHE_PEER_TIMEOUT_MS")) / 1000,
            metrics_port=(
                parse_int("CACHE_METRICS_PORT", metrics, maximum=65535) if metrics else None
            ),
            max_announce_bytes=limit("CACHE_MAX_ANNOUNCE_BYTES", 4096),
            max_entry_bytes=limit("CACHE_MAX_ENTRY_BYTES", 1024),
            inline_entry_bytes=limit("CACHE_INLINE_ENTRY_BYTES"),
            peer_rate=float(limit("CACHE_PEER_RATE", 1)),
            clock_skew=float(limit("CACHE_CLOCK_SKEW")),
            sources=sources,
        )
        if p2p.inline_entry_bytes > p2p.max_announce_bytes // 2:
            raise ConfigError(
                "CACHE_INLINE_ENTRY_BYTES must be at most half of CACHE_MAX_ANNOUNCE_BYTES"
            )
        return p2p

    def shown_values(self) -> dict[str, str]:
        """Each variable's effective value, as ``ghcache config`` shows values."""
        return {
            "CACHE_ENABLE_P2P": _show_bool(self.enable_p2p),
            "CACHE_LISTEN_PORT": str(self.listen_port),
            "CACHE_LISTEN_ADDR": self.listen_addr,
            "CACHE_BOOTSTRAP_PEERS": ",".join(self.bootstrap_peers) or "(none)",
            "CACHE_ENABLE_MDNS": _show_bool(self.enable_mdns),
            "CACHE_PEER_TIMEOUT_MS": str(round(self.peer_timeout * 1000)),
            "CACHE_METRICS_PORT": "(off)" if self.metrics_port is None else str(self.metrics_port),
            "CACHE_MAX_ANNOUNCE_BYTES": str(self.max_announce_bytes),
            "CACHE_MAX_ENTRY_BYTES": str(self.max_entry_bytes),
            "CACHE_INLINE_ENTRY_BYTES": str(self.inline_entry_bytes),
            "CACHE_PEER_RATE": str(round(self.peer_rate)),
            "CACHE_CLOCK_SKEW": str(round(self.clock_skew)),
        }


def bootstrap_peer_problem(text: str) -> str | None:
    """Why the daemon could not dial ``text`` as a bootstrap peer, or None when it can.

    The one rule for CACHE_BOOTSTRAP_PEERS: the daemon refuses to start on it, and
    ``ghcache config`` and ``ghcache-validate verify`` name the entry it refuses.
    """
    # Not at module level: the CLI imports this module on its miss path, which never
    # needs to parse a multiaddr.
    from multiaddr import Multiaddr

    try:
        addr = Multiaddr(text)
    except Exception as exc:  # multiaddr raises several types, all with a usable message
        return " ".join(str(getattr(exc, "message", None) or exc).split())
    head, marker, peer_id = text.rpartition("/p2p/")
    if not marker:
        return "it does not end in /p2p/<peer id>"
    if not head:
        return "it has no address before /p2p/<peer id>"
    if "/" in peer_id:
        return f"/p2p/{peer_id.partition('/')[0]} is not its last part"
    # The daemon reads the id as base58 (12D3KooW..., Qm...); multiaddr also takes
    # other CIDs, which name no peer.
    if addr.get_peer_id() != peer_id:
        return f"{peer_id} is not a base58 peer id (12D3KooW... or Qm...)"
    if "tcp" not in (protocol.name for protocol in addr.protocols()):
        return "it has no /tcp/<port> part (the daemon speaks TCP only)"
    return None


def check_bootstrap_peers(peers: Sequence[str]) -> None:
    """Raise ConfigError naming the first entry of CACHE_BOOTSTRAP_PEERS that cannot be dialled."""
    for number, text in enumerate(peers, start=1):
        problem = bootstrap_peer_problem(text)
        if problem is not None:
            raise ConfigError(
                f"CACHE_BOOTSTRAP_PEERS: entry {number} {text!r} is not a valid multiaddr "
                f"with a peer id: {problem}"
            )


def config_problem(env: Mapping[str, str]) -> str | None:
    """What is wrong with the p2p variables of ``env`` (one line), or None."""
    try:
        check_bootstrap_peers(P2PSettings.from_env(env).bootstrap_peers)
    except ConfigError as exc:
        return str(exc)
    return None


def config_rows(env: Mapping[str, str]) -> list[tuple[str, str, str]]:
    """``(variable, effective value, "env" or "default")`` for every p2p variable.

    With an invalid value anywhere the rows show what was given: ``ghcache
    config`` is where people look to find the bad one.
    """
    try:
        settings = P2PSettings.from_env(env)
    except ConfigError:
        return rows_as_given(env, DEFAULTS)
    shown = settings.shown_values()
    return [(name, shown[name], settings.sources[name]) for name in DEFAULTS]


def _show_bool(value: bool) -> str:
    return "true" if value else "false"
