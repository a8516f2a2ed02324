"""Building the libp2p host and gossipsub router the way ghcache needs them.

Imports libp2p at module level: only the daemon process (and tests) import this.
"""

from __future__ import annotations

import contextlib
import weakref
from collections.abc import Callable
from typing import Any

import libp2p.pubsub.pubsub as pubsub_module
import trio
from libp2p import new_host
from libp2p.abc import IHost, INetStream
from libp2p.crypto.x25519 import create_new_key_pair as create_x25519_key_pair
from libp2p.custom_types import TProtocol
from libp2p.network.config import ConnectionConfig
from libp2p.pubsub.gossipsub import PROTOCOL_ID, PROTOCOL_ID_V11, PROTOCOL_ID_V12, GossipSub
from libp2p.pubsub.pubsub import Pubsub
from libp2p.pubsub.rpc_queue import RpcQueue
from libp2p.security.noise.transport import PROTOCOL_ID as NOISE_PROTOCOL_ID
from libp2p.security.noise.transport import Transport as NoiseTransport
from libp2p.stream_muxer.yamux.yamux import PROTOCOL_ID as YAMUX_PROTOCOL_ID
from libp2p.stream_muxer.yamux.yamux import Yamux
from multiaddr import Multiaddr

from ghcache.p2p.codec import FRAME_PREFIX, frame_size

DIAL_TIMEOUT = 5.0
# py-libp2p drops silently when these fill (defaults 32): a burst of stored
# entries must not lose announcements, so give them room.
SUBSCRIPTION_QUEUE = 4096
OUTBOUND_QUEUE = 1024


class FrameTooLarge(ValueError):
    def __init__(self, size: int) -> None:
        super().__init__(f"frame of {size} bytes")
        self.size = size


def listen_multiaddr(address: str, port: int) -> Multiaddr:
    family = "ip6" if ":" in address else "ip4"
    return Multiaddr(f"/{family}/{address}/tcp/{port}")


def advertised_addrs(addrs: list[Multiaddr]) -> list[Multiaddr]:
    """``addrs`` with a 0.0.0.0 listen address replaced by this machine's IPv4 addresses."""
    advertised: list[Multiaddr] = []
    for addr in addrs:
        text = str(addr)
        if text.startswith("/ip4/0.0.0.0/"):
            rest = text[len("/ip4/0.0.0.0") :]
            advertised.extend(Multiaddr(f"/ip4/{ip}{rest}") for ip in local_ipv4_addrs())
        else:
            advertised.append(addr)
    return advertised


def local_ipv4_addrs() -> list[str]:
    """The IPv4 address of every interface that has one (Linux ioctl), loopback included."""
    import fcntl
    import socket
    import struct

    found: list[str] = []
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        for _, name in socket.if_nameindex():
            try:
                request = struct.pack("256s", name.encode()[:15])
                answer = fcntl.ioctl(probe.fileno(), 0x8915, request)  # SIOCGIFADDR
            except OSError:
                continue  # down or no IPv4 address
            address = socket.inet_ntoa(answer[20:24])
            if address not in found:
                found.append(address)
    return found or ["127.0.0.1"]


def build_host(
    key_pair: Any,
    *,
    enable_mdns: bool,
    listen: Multiaddr,
    on_stream_error: Callable[[str, BaseException], None] | None = None,
) -> IHost:
    """A TCP host that speaks Noise only (no plaintext, secio or TLS) and yamux."""
    noise = NoiseTransport(key_pair, noise_privkey=create_x25519_key_pair().private_key)
    host = new_host(
        key_pair=key_pair,
        sec_opt={NOISE_PROTOCOL_ID: noise},
        muxer_opt={TProtocol(YAMUX_PROTOCOL_ID): Yamux},
        # One connection per peer also skips the 250 ms happy-eyeballs wait on dial.
        connection_config=ConnectionConfig(max_connections_per_peer=1, dial_timeout=DIAL_TIMEOUT),
        enable_mDNS=enable_mdns,
        listen_addrs=[listen],
        # Listening on 0.0.0.0 must not advertise 0.0.0.0 (peers would remember,
        # exchange and redial an address that means "yourself" on their side).
        addrs_factory=advertised_addrs,
    )
    # libp2p's auto-connector dials every address in the peerstore (up to 200 at a
    # time, mDNS strangers included); the daemon dials its own peers with backoff.
    auto_connector = getattr(host.get_network(), "auto_connector", None)
    if auto_connector is not None:
        setattr(auto_connector, "maybe_connect", _no_auto_dial)  # noqa: B010
    guard_stream_handlers(host, on_stream_error)
    return host


def guard_stream_handlers(
    host: IHost, on_error: Callable[[str, BaseException], None] | None = None
) -> None:
    """Contain errors of every incoming stream's handler to that stream.

    In py-libp2p 0.8 an exception in a protocol handler escapes into the swarm
    and stops the whole host: one peer sending a garbage gossipsub frame
    (protobuf DecodeError) was enough to bring a daemon down.
    """
    network = host.get_network()
    handler = network.common_stream_handler  # type: ignore[attr-defined]

    async def guarded(stream: INetStream) -> None:
        try:
            await handler(stream)
        except Exception as exc:  # includes ExceptionGroup; trio.Cancelled is not an Exception
            peer = str(getattr(stream.muxed_conn, "peer_id", "?"))
            if on_error is not None:
                on_error(peer, exc)
            with contextlib.suppress(Exception):
                await stream.reset()

    network.common_stream_handler = guarded  # type: ignore[attr-defined]


async def _no_auto_dial() -> None:
    return None


def build_pubsub(host: IHost, *, max_message_bytes: int) -> tuple[Pubsub, GossipSub]:
    """Gossipsub tuned for bursts of our own announcements.

    Spam protection is off (it rate-limits even our own publishes to 10/s and
    drops the rest); the daemon rate-limits each peer itself and counts it.
    """
    _serialize_pubsub_writes()
    pubsub_module.SUBSCRIPTION_CHANNEL_SIZE = SUBSCRIPTION_QUEUE

    class RoomyRpcQueue(RpcQueue):
        def __init__(self, max_size: int = OUTBOUND_QUEUE, max_message_size: int = 0) -> None:
            super().__init__(max_size, max_message_size or max_message_bytes)

    pubsub_module.RpcQueue = RoomyRpcQueue  # type: ignore[misc]
    gossipsub = GossipSub(
        protocols=[PROTOCOL_ID_V12, PROTOCOL_ID_V11, PROTOCOL_ID],
        degree=6,
        degree_low=4,
        degree_high=12,
        heartbeat_interval=1,
        spam_protection_enabled=False,
    )
    pubsub = Pubsub(host, gossipsub, max_inbound_rpc_size=max_message_bytes)
    return pubsub, gossipsub


def _serialize_pubsub_writes() -> None:
    """One writer at a time per gossipsub stream.

    py-libp2p's yamux releases its write lock between frames (whenever the send
    window is short), and pubsub writes to a peer's stream from more than one
    task (its queue sender, the flush of pending messages, the replay to new
    peers): under load two RPCs interleave and the receiver gets garbage.
    """
    if getattr(Pubsub.write_msg, "ghcache_serialized", False):
        return
    original = Pubsub.write_msg
    locks: weakref.WeakKeyDictionary[Any, trio.Lock] = weakref.WeakKeyDictionary()

    async def write_msg(self: Pubsub, stream: INetStream, rpc_msg: Any) -> bool:
        lock = locks.get(stream)
        if lock is None:
            lock = locks[stream] = trio.Lock()
        async with lock:
            return await original(self, stream, rpc_msg)

    write_msg.ghcache_serialized = True  # type: ignore[attr-defined]
    Pubsub.write_msg = write_msg  # type: ignore[method-assign]


async def read_exactly(stream: INetStream, size: int) -> bytes:
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        chunk = await stream.read(remaining)
        if not chunk:
            raise EOFError("stream ended early")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


async def read_frame(stream: INetStream, *, limit: int) -> bytes:
    """One length-prefixed frame; larger than ``limit`` raises before reading it."""
    size = frame_size(await read_exactly(stream, FRAME_PREFIX))
    if size > limit:
        raise FrameTooLarge(size)
    return await read_exactly(stream, size)
