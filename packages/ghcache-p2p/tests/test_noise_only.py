"""The daemon speaks Noise only: dialers offering plaintext or secio are refused."""

from __future__ import annotations

from typing import Any

import pytest
import trio
from libp2p import new_host
from libp2p.crypto.ed25519 import create_new_key_pair
from libp2p.custom_types import TProtocol
from libp2p.network.config import ConnectionConfig
from libp2p.peer.peerinfo import info_from_p2p_addr
from libp2p.security.insecure.transport import PLAINTEXT_PROTOCOL_ID, InsecureTransport
from libp2p.security.secio import transport as secio
from multiaddr import Multiaddr
from p2p_helpers import Daemon, Network

from ghcache.p2p.node import build_host

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def daemon(network: Network) -> Daemon:
    return network.start("noise")


def dial(daemon: Daemon, host: Any) -> str:
    """ "connected" or the name of the error the dial ended with."""
    listen = Multiaddr("/ip4/127.0.0.1/tcp/0")

    async def main() -> str:
        async with host.run([listen]):
            try:
                with trio.fail_after(10):
                    await host.connect(info_from_p2p_addr(Multiaddr(daemon.addr)))
            except Exception as exc:
                return type(exc).__name__
            return "connected" if host.get_connected_peers() else "not connected"

    return trio.run(main)


def host_with(security: dict[TProtocol, Any], key_pair: Any) -> Any:
    return new_host(
        key_pair=key_pair,
        sec_opt=security,
        connection_config=ConnectionConfig(max_connections_per_peer=1, dial_timeout=5.0),
    )


def test_a_noise_dialer_connects(daemon: Daemon) -> None:
    host = build_host(
        create_new_key_pair(), enable_mdns=False, listen=Multiaddr("/ip4/127.0.0.1/tcp/0")
    )
    assert dial(daemon, host) == "connected"


def test_a_plaintext_only_dialer_is_refused(daemon: Daemon) -> None:
    key_pair = create_new_key_pair()
    host = host_with({TProtocol(PLAINTEXT_PROTOCOL_ID): InsecureTransport(key_pair)}, key_pair)
    assert dial(daemon, host) != "connected"
    assert host.get_id().to_base58() not in {p["peer_id"] for p in daemon.status()["peers"]}


def test_a_secio_only_dialer_is_refused(daemon: Daemon) -> None:
    key_pair = create_new_key_pair()
    host = host_with({TProtocol(secio.ID): secio.Transport(key_pair)}, key_pair)
    assert dial(daemon, host) != "connected"
    assert host.get_id().to_base58() not in {p["peer_id"] for p in daemon.status()["peers"]}
