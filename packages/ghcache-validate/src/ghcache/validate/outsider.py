"""An outsider asking a team peer for an entry over libp2p, with the wrong secret.

Daemons of different teams never exchange gossip (their topics differ), so a
wrong secret is only ever *seen* when an outsider speaks the fetch protocol
to a team member directly.  This does exactly that, with ghcache-p2p's own
host and codec, and reports whether anything came back.  Imports libp2p and
trio: only ``verify --local`` and tests use it.
"""

from __future__ import annotations

import secrets
from typing import Any


def fetch_with_secret(peer_address: str, key: str, secret: str, timeout: float = 10.0) -> bool:
    """Ask the peer at ``peer_address`` (…/p2p/<id>) for ``key``; True if it sent an entry."""
    import trio

    return bool(trio.run(_fetch, peer_address, key, secret, timeout))


async def _fetch(peer_address: str, key: str, secret: str, timeout: float) -> bool:
    import trio
    from libp2p.crypto.ed25519 import create_new_key_pair
    from libp2p.peer.id import ID
    from libp2p.peer.peerinfo import PeerInfo
    from multiaddr import Multiaddr

    from ghcache.crypto import Keyring
    from ghcache.p2p import codec
    from ghcache.p2p.node import build_host, listen_multiaddr, read_frame
    from ghcache.p2p.peers import split_p2p_addr

    keyring = Keyring.from_env({"CACHE_SHARED_SECRET": secret})
    assert keyring is not None
    addr, peer_id = split_p2p_addr(peer_address)
    listen = listen_multiaddr("127.0.0.1", 0)
    host = build_host(
        create_new_key_pair(secrets.token_bytes(32)), enable_mdns=False, listen=listen
    )
    got_entry = False
    with trio.fail_after(timeout):
        async with host.run([listen]):
            peer = ID.from_base58(peer_id)
            await host.connect(PeerInfo(peer, [Multiaddr(addr)]))
            stream: Any = await host.new_stream(peer, [codec.FETCH_PROTOCOL])  # type: ignore[list-item]
            await stream.write(codec.frame(codec.encode_fetch_request(keyring, key)))
            try:
                payload = await read_frame(stream, limit=64 * 1024 * 1024)
                got_entry = codec.decode_fetch_response(payload) is not None
            except Exception:  # reset by the peer: refused, nothing sent
                got_entry = False
            finally:
                try:
                    await stream.close()
                except Exception:
                    pass
    return got_entry
