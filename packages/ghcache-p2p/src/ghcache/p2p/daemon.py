"""The ghcache p2p daemon: one libp2p node per machine sharing shared-scope entries.

Its lifetime is :meth:`Daemon.run`: host, gossipsub and the control socket
live inside one ``async with`` block and every background task belongs to one
nursery.  Run it in the foreground with ``python -m ghcache.p2p.daemon`` (or
``ghcache daemon run``).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import trio
from libp2p.abc import IHost, INetStream
from libp2p.custom_types import TProtocol
from libp2p.peer.id import ID
from libp2p.pubsub.gossipsub import GossipSub
from libp2p.pubsub.pubsub import Pubsub
from libp2p.tools.anyio_service import background_trio_service
from multiaddr import Multiaddr

from ghcache.core.config import ConfigError
from ghcache.core.entry import Entry
from ghcache.core.store import CacheDirError, DiskStore, ensure_cache_dir
from ghcache.crypto import Keyring, OpenError, envelope_timestamp
from ghcache.p2p import codec
from ghcache.p2p.accept import Refused, check_envelope_time, is_duplicate, verify_entry
from ghcache.p2p.client import DaemonClient, DaemonError, DaemonUnavailable
from ghcache.p2p.counters import P2PCounters
from ghcache.p2p.discovery import Discovery
from ghcache.p2p.identity import load_key_pair
from ghcache.p2p.ipc import (
    LOCK_NAME,
    PEERS_NAME,
    PREFIX_SIZE,
    STATS_NAME,
    FrameError,
    decode_payload,
    encode_message,
    frame_length,
    pid_path,
    socket_path,
)
from ghcache.p2p.metrics import start_metrics_server
from ghcache.p2p.node import (
    FrameTooLarge,
    build_host,
    build_pubsub,
    listen_multiaddr,
    read_frame,
)
from ghcache.p2p.peers import PeerBook, split_p2p_addr
from ghcache.p2p.ratelimit import PeerRateLimiter
from ghcache.p2p.settings import P2PSettings

log = logging.getLogger("ghcache.p2p")

FETCH_PROTOCOL = TProtocol(codec.FETCH_PROTOCOL)
MAX_PENDING_FETCHES = 2000
ANNOUNCE_QUEUE = 100_000
MAX_BATCH_ITEMS = 500
BATCH_LINGER = 0.002  # wait this long for more entries before publishing a batch
PUBLISH_INTERVAL = 0.02  # at most 50 gossip messages/s: py-libp2p sustains ~200
ENVELOPE_SLACK = 4096
FETCH_CONCURRENCY = 8
FETCH_TIMEOUT = 5.0
MAX_LOOKUP_TIMEOUT = 10.0
REMEMBER_EVERY = 1.0


class Daemon:
    def __init__(self, settings: P2PSettings, keyring: Keyring) -> None:
        self.settings = settings
        self.keyring = keyring
        self.cache_dir = settings.core.cache_dir
        self.store = DiskStore(self.cache_dir, max_bytes=settings.core.max_bytes)
        self.topic = codec.topic_for(keyring.network_id)
        # During a secret rotation, peers still on a previous secret publish on its
        # topic: listen there too (the keyring opens their envelopes), publish on ours.
        getter = getattr(keyring, "network_ids", None)
        network_ids = tuple(getter) if getter else (keyring.network_id,)
        self.topics = [codec.topic_for(n) for n in network_ids]
        self.counters = P2PCounters.load(self.cache_dir / STATS_NAME)
        burst = settings.peer_rate * 2
        self.gossip_limiter = PeerRateLimiter(settings.peer_rate, burst)
        self.fetch_limiter = PeerRateLimiter(settings.peer_rate, burst)
        self.discovery = Discovery(
            keyring=keyring,
            book=PeerBook.load(self.cache_dir / PEERS_NAME),
            limiter=self.fetch_limiter,
            refuse=self._refuse,
        )
        self.started_at = time.time()
        self._announce_send, self._announce_receive = trio.open_memory_channel[codec.Announcement](
            ANNOUNCE_QUEUE
        )
        self._fetch_slots = trio.Semaphore(FETCH_CONCURRENCY)
        # Frames on fetch streams: an entry plus its envelope.
        self._max_fetch_frame = settings.max_entry_bytes + 64 * 1024
        self.host: IHost
        self.pubsub: Pubsub
        self.gossipsub: GossipSub
        self.nursery: trio.Nursery
        self.peer_id = ""
        self._pending_fetches = 0
        self.failure: str | None = None  # why run() gave up, for the exit message
        self.metrics_port: int | None = None

    # -- lifetime ---------------------------------------------------------------

    async def run(self, *, on_ready: Callable[[], None] | None = None) -> None:
        for text in self.settings.core.bootstrap_peers:
            addr, peer_id = split_p2p_addr(text)
            self.discovery.add_target(peer_id, [addr], "bootstrap")
        book = self.discovery.book
        for peer_id in book.peers:
            self.discovery.add_target(peer_id, book.addrs(peer_id), "remembered")
        core = self.settings.core
        listen = listen_multiaddr(core.listen_addr, core.listen_port)
        self.host = build_host(
            load_key_pair(self.cache_dir),
            enable_mdns=core.enable_mdns,
            listen=listen,
            on_stream_error=self._stream_failed,
        )
        self.peer_id = self.host.get_id().to_base58()
        self.discovery.attach(self.host, self._topic_peers)
        max_message = max(2 * self.settings.max_announce_bytes, 4 * 1024 * 1024)
        self.pubsub, self.gossipsub = build_pubsub(self.host, max_message_bytes=max_message)
        try:
            await self._serve(listen, on_ready)
        finally:
            self.counters.save()
            self.discovery.book.save()

    async def _serve(self, listen: Multiaddr, on_ready: Callable[[], None] | None) -> None:
        if self.settings.core.enable_mdns:
            self.discovery.watch_mdns()  # before the host starts announcing and listening
        async with (
            self.host.run([listen]),
            background_trio_service(self.pubsub),
            background_trio_service(self.gossipsub),
        ):
            if not self.host.get_addrs():  # libp2p logs a failed listen and carries on
                self.failure = f"cannot listen on {listen} (address in use or not local?)"
                return
            await self.pubsub.wait_until_ready()
            subscriptions = [(t, await self.pubsub.subscribe(t)) for t in self.topics]
            self.host.set_stream_handler(FETCH_PROTOCOL, self._serve_fetch)
            async with trio.open_nursery() as nursery:
                self.nursery = nursery
                listener = await self._open_control_socket()
                for topic, subscription in subscriptions:
                    nursery.start_soon(self._read_gossip, topic, subscription)
                nursery.start_soon(self._announcer)
                self.discovery.nursery = nursery
                nursery.start_soon(self.discovery.dial_loop)
                nursery.start_soon(self._housekeeping)
                await nursery.start(trio.serve_listeners, self._serve_control, [listener])
                log.info("peer id %s listening on %s", self.peer_id, self._addrs())
                if self.settings.core.metrics_port is not None:
                    self.metrics_port = start_metrics_server(
                        self.settings.core.metrics_port, self.counters.snapshot, self._peer_counts
                    )
                if on_ready is not None:
                    on_ready()

    def _peer_counts(self) -> tuple[int, int]:
        return len(self.host.get_connected_peers()), len(self._topic_peers())

    def _addrs(self) -> list[str]:
        return [str(addr) for addr in self.host.get_addrs()]

    # -- control socket (the local CLI) --------------------------------------------

    async def _open_control_socket(self) -> trio.SocketListener:
        path = socket_path(self.cache_dir)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        sock = trio.socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        previous = os.umask(0o177)  # the socket file is created 0600
        try:
            await sock.bind(str(path))
        finally:
            os.umask(previous)
        sock.listen(4096)  # bursts of fire-and-forget announcements from the CLI
        return trio.SocketListener(sock)

    async def _serve_control(self, stream: trio.SocketStream) -> None:
        async with stream:
            buffer = bytearray()
            while True:
                try:
                    prefix = await _receive_exactly(stream, buffer, PREFIX_SIZE)
                    if prefix is None:
                        return
                    payload = await _receive_exactly(stream, buffer, frame_length(prefix))
                    if payload is None:
                        return
                    header, body = decode_payload(payload)
                except (FrameError, trio.BrokenResourceError, trio.ClosedResourceError):
                    return
                try:
                    answer, data = await self._dispatch(header, body)
                except Exception as exc:  # one bad request must not take the daemon down
                    log.exception("control request %r failed", header.get("op"))
                    answer, data = {"ok": False, "error": f"{type(exc).__name__}: {exc}"}, b""
                try:
                    await stream.send_all(encode_message(answer, data))
                except (trio.BrokenResourceError, trio.ClosedResourceError):
                    return

    async def _dispatch(self, header: dict[str, Any], body: bytes) -> tuple[dict[str, Any], bytes]:
        op = header.get("op")
        if op == "status":
            return self.status(), b""
        if op == "lookup":
            key = header.get("key")
            timeout_ms = header.get("timeout_ms", 300)
            if not isinstance(key, str) or not isinstance(timeout_ms, int):
                return {"ok": False, "error": "lookup needs key and timeout_ms"}, b""
            entry = await self.lookup(key, min(MAX_LOOKUP_TIMEOUT, max(0, timeout_ms) / 1000))
            if entry is None:
                return {"ok": True, "found": False}, b""
            return {"ok": True, "found": True}, entry.to_bytes()
        if op == "announce":
            key = header.get("key")
            if not isinstance(key, str):
                return {"ok": False, "error": "announce needs key"}, b""
            reason = self.announce(key)
            return {"ok": True, "queued": reason is None, "reason": reason}, b""
        return {"ok": False, "error": f"unknown op {op!r}"}, b""

    def status(self) -> dict[str, Any]:
        connected = self.host.get_connected_peers()
        topic_peers = sorted(self._topic_peers())
        return {
            "ok": True,
            "pid": os.getpid(),
            "peer_id": self.peer_id,
            "addrs": self._addrs(),
            "network_id": self.keyring.network_id,
            "topic": self.topic,
            "topics": self.topics,
            "started_at": self.started_at,
            "peers": [
                {
                    "peer_id": peer.to_base58(),
                    "addrs": self.discovery.peer_addrs(peer),
                    "topic": peer.to_base58() in topic_peers,
                }
                for peer in connected
            ],
            "topic_peers": topic_peers,
            "metrics_port": self.metrics_port,
            **self.counters.snapshot(),
        }

    # -- lookups (local miss on this machine) ------------------------------------

    async def lookup(self, key: str, timeout: float) -> Entry | None:
        self.counters.add("lookups")
        entry = self.store.read(key)
        if entry is not None and entry.is_shared and entry.is_fresh(time.time()):
            self.counters.add("lookup_local_hits")  # e.g. pushed since the CLI looked
            return entry
        # Missing or expired here: only a fresher copy from a peer helps the CLI.
        peers = [p for p in self.host.get_connected_peers() if p.to_base58() in self._topic_peers()]
        entry = await self._fetch_first(peers, key, timeout, want_fresh=True)
        if entry is not None:
            self.counters.add("lookup_peer_hits")
        return entry

    def _topic_peers(self) -> set[str]:
        return {str(p) for t in self.topics for p in self.pubsub.peer_topics.get(t, set())}

    async def _fetch_first(
        self, peers: list[ID], key: str, timeout: float, *, want_fresh: bool = False
    ) -> Entry | None:
        """Ask ``peers`` in parallel; the first valid entry wins and the rest are cancelled."""
        found: list[Entry] = []

        async def ask(peer: ID, cancel: trio.CancelScope) -> None:
            entry = await self._fetch_from(peer, key, want_fresh=want_fresh)
            if entry is not None and not found:
                found.append(entry)
                cancel.cancel()

        with trio.move_on_after(timeout):
            async with trio.open_nursery() as nursery:
                for peer in peers:
                    nursery.start_soon(ask, peer, nursery.cancel_scope)
        return found[0] if found else None

    async def _fetch_from(self, peer: ID, key: str, *, want_fresh: bool = False) -> Entry | None:
        """The peer's verified entry for ``key`` (stored when newer than ours), or None.

        An answer older than what we hold is ignored, not refused: we asked, and
        the peer merely has an older copy.  ``want_fresh`` also ignores expired ones.
        """
        self.counters.add("fetches_made")
        try:
            stream = await self.host.new_stream(peer, [FETCH_PROTOCOL])
            try:
                await stream.write(codec.frame(codec.encode_fetch_request(self.keyring, key)))
                payload = await read_frame(stream, limit=self._max_fetch_frame)
            finally:
                with contextlib.suppress(Exception):
                    await stream.close()
            answer = codec.decode_fetch_response(payload)
            if answer is None:
                return None
            cid, sealed = answer
            entry = self._open_and_verify(sealed, key=key, cid=cid)
            held = self.store.read(key)
            if held is not None and entry.stored_at < held.stored_at:
                return None
            if held is None or entry.stored_at > held.stored_at:
                self._store(entry)
            if want_fresh and not entry.is_fresh(time.time()):
                return None
            self.counters.add("fetch_hits")
            return entry
        except Refused as refused:
            self._refuse(refused, peer)
        except FrameTooLarge as exc:
            self._refuse(Refused("oversize", str(exc)), peer)
        except codec.MalformedMessage as exc:
            self._refuse(Refused("malformed", str(exc)), peer)
        except trio.Cancelled:
            raise
        except Exception as exc:  # the peer vanished, reset the stream, or is not ghcache
            log.debug("fetch %s from %s failed: %r", key, peer, exc)
        return None

    def _open_and_verify(self, sealed: bytes, *, key: str, cid: str) -> Entry:
        try:
            raw = codec.open_entry(self.keyring, sealed, key=key, cid=cid)
            sealed_at = envelope_timestamp(sealed)
        except (OpenError, ValueError):
            raise Refused("bad_envelope") from None
        now = time.time()
        check_envelope_time(sealed_at, now=now, clock_skew=self.settings.clock_skew)
        return verify_entry(
            raw,
            key=key,
            cid=cid,
            now=now,
            clock_skew=self.settings.clock_skew,
            max_entry_bytes=self.settings.max_entry_bytes,
        )

    def _store(self, entry: Entry) -> None:
        try:
            self.store.write(entry)
        except CacheDirError as exc:
            log.warning("%s", exc)
            return
        self.counters.add("entries_accepted")

    def _stream_failed(self, peer: str, exc: BaseException) -> None:
        # A handler (ours or libp2p's, e.g. gossipsub parsing a garbage frame) failed:
        # only that stream is dropped.
        self._refuse(Refused("malformed", f"stream handler failed: {exc!r}"[:200]), peer)

    def _refuse(self, refused: Refused, peer: ID | str) -> None:
        self.counters.refuse(refused.reason)
        log.info("refused from %s: %s", peer, refused)

    # -- serving fetches ------------------------------------------------------------

    async def _serve_fetch(self, stream: INetStream) -> None:
        peer = stream.muxed_conn.peer_id
        try:
            if not self.fetch_limiter.allow(str(peer)):
                raise Refused("rate_limited")
            with trio.fail_after(FETCH_TIMEOUT):
                payload = await read_frame(stream, limit=4096)
                try:
                    key = codec.decode_fetch_request(self.keyring, payload)
                    sealed_at = envelope_timestamp(payload)
                except (OpenError, ValueError):
                    raise Refused("bad_envelope") from None
                check_envelope_time(sealed_at, now=time.time(), clock_skew=self.settings.clock_skew)
                entry = self.store.read(key)
                if entry is None or not entry.is_shared:
                    reply = codec.NOT_FOUND
                    self.counters.add("fetches_not_found")
                else:
                    raw = entry.to_bytes()
                    sealed = codec.seal_entry(self.keyring, raw, key=key, cid=entry.body_cid)
                    reply = codec.encode_fetch_found(entry.body_cid, sealed)
                    self.counters.add("fetches_served")
                await stream.write(codec.frame(reply))
                await stream.close()
                return
        except Refused as refused:
            self._refuse(refused, peer)
        except FrameTooLarge as exc:
            self._refuse(Refused("oversize", str(exc)), peer)
        except codec.MalformedMessage as exc:
            self._refuse(Refused("malformed", str(exc)), peer)
        except Exception as exc:
            log.debug("serving fetch to %s failed: %r", peer, exc)
        with contextlib.suppress(Exception):
            await stream.reset()

    # -- announcements ----------------------------------------------------------------

    def announce(self, key: str) -> str | None:
        """Queue the stored entry ``key`` for publishing; the reason it was not, or None."""
        entry = self.store.read(key)
        if entry is None:
            return "missing"
        if not entry.is_shared:
            return "not_shared"  # identity-scoped entries never leave the machine
        raw = entry.to_bytes()
        if len(raw) > self.settings.max_entry_bytes:
            return "too_large"
        sealed = b""
        if len(raw) + ENVELOPE_SLACK <= self.settings.inline_entry_bytes:
            sealed = codec.seal_entry(self.keyring, raw, key=key, cid=entry.body_cid)
        item = codec.Announcement(
            key=key,
            cid=entry.body_cid,
            stored_at=entry.stored_at,
            ttl=entry.ttl,
            size=len(raw),
            sealed_entry=sealed,
        )
        try:
            self._announce_send.send_nowait(item)
        except trio.WouldBlock:
            self.counters.add("announce_dropped")
            return "queue_full"
        return None

    async def _announcer(self) -> None:
        """Publish queued announcements in batches, paced below what gossipsub sustains."""
        budget = self.settings.max_announce_bytes - ENVELOPE_SLACK
        carried: codec.Announcement | None = None
        while True:
            first = carried or await self._announce_receive.receive()
            carried = None
            batch, size = [first], first.encoded_size()
            await trio.sleep(BATCH_LINGER)
            while len(batch) < MAX_BATCH_ITEMS:
                try:
                    item = self._announce_receive.receive_nowait()
                except trio.WouldBlock:
                    break
                if size + item.encoded_size() > budget:
                    carried = item
                    break
                batch.append(item)
                size += item.encoded_size()
            await self.pubsub.publish(
                self.topic, codec.encode_batch(self.keyring, self.topic, batch)
            )
            self.counters.add("announcements_sent", len(batch))
            self.counters.add("announce_messages_sent")
            await trio.sleep(PUBLISH_INTERVAL)

    async def _read_gossip(self, topic: str, subscription: Any) -> None:
        me = self.host.get_id()
        while True:
            message = await subscription.get()
            origin = ID(message.from_id)
            if origin == me:
                continue
            self.counters.add("announce_messages_received")
            try:
                items = self._open_announcement(origin, topic, bytes(message.data))
            except Refused as refused:
                self._refuse(refused, origin)
                continue
            self.counters.add("announcements_received", len(items))
            for item in items:
                try:
                    self._take_announced(origin, item)
                except Refused as refused:
                    self._refuse(refused, origin)

    def _open_announcement(self, origin: ID, topic: str, data: bytes) -> list[codec.Announcement]:
        if len(data) > self.settings.max_announce_bytes:
            raise Refused("oversize", f"announcement of {len(data)} bytes")
        if not self.gossip_limiter.allow(str(origin)):
            raise Refused("rate_limited")
        try:
            plain = codec.open_batch(self.keyring, topic, data)
            sealed_at = envelope_timestamp(data)
        except (OpenError, ValueError):
            raise Refused("bad_envelope") from None
        check_envelope_time(sealed_at, now=time.time(), clock_skew=self.settings.clock_skew)
        try:
            return codec.decode_items(plain)
        except codec.MalformedMessage as exc:
            raise Refused("malformed", str(exc)) from None

    def _take_announced(self, origin: ID, item: codec.Announcement) -> None:
        now = time.time()
        if item.stored_at > now + self.settings.clock_skew:
            raise Refused("future", "announced entry stored in the future")
        if item.size > self.settings.max_entry_bytes:
            raise Refused("oversize", f"announced entry of {item.size} bytes")
        if is_duplicate(item.stored_at, item.cid, self.store.read(item.key)):
            self.counters.add("duplicates")
            return
        if not item.sealed_entry:
            if self._pending_fetches >= MAX_PENDING_FETCHES:
                raise Refused("rate_limited", "too many announced entries waiting to be fetched")
            self._pending_fetches += 1
            self.nursery.start_soon(self._fetch_announced, origin, item)
            return
        entry = self._open_and_verify(item.sealed_entry, key=item.key, cid=item.cid)
        if entry.stored_at != item.stored_at:
            raise Refused("malformed", "announcement does not describe its entry")
        self._store(entry)

    async def _fetch_announced(self, origin: ID, item: codec.Announcement) -> None:
        try:
            async with self._fetch_slots:
                connected = self.host.get_connected_peers()
                peers = [origin] if origin in connected else connected
                await self._fetch_first(peers, item.key, FETCH_TIMEOUT)
        finally:
            self._pending_fetches -= 1

    async def _housekeeping(self) -> None:
        last_remember = 0.0
        while True:
            await trio.sleep(1.0)
            if self.counters.dirty:
                self.counters.save()
            if trio.current_time() - last_remember >= REMEMBER_EVERY:
                last_remember = trio.current_time()
                self.discovery.remember_peers()
            self.discovery.start_exchanges()


async def _receive_exactly(stream: trio.SocketStream, buffer: bytearray, size: int) -> bytes | None:
    while len(buffer) < size:
        chunk = await stream.receive_some(max(65536, size - len(buffer)))
        if not chunk:
            return None
        buffer += chunk
    data = bytes(buffer[:size])
    del buffer[:size]
    return data


async def _run_until_signal(run: Callable[[], Awaitable[None]]) -> None:
    async with trio.open_nursery() as nursery:

        async def main() -> None:
            await run()
            nursery.cancel_scope.cancel()

        nursery.start_soon(main)
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for signum in signals:
                log.info("stopping on signal %d", signum)
                nursery.cancel_scope.cancel()
                return


def configure_logging() -> None:
    level = os.environ.get("CACHE_LOG_LEVEL", "INFO").upper()
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    log.setLevel(getattr(logging, level, logging.INFO))
    # libp2p is chatty at WARNING about peers that go away: not our operator's concern.
    logging.getLogger("libp2p").setLevel(logging.ERROR)


def main(argv: list[str] | None = None) -> int:
    """Run the daemon in the foreground until SIGTERM/SIGINT; returns the exit status."""
    configure_logging()
    try:
        settings = P2PSettings.from_env()
    except ConfigError as exc:
        print(f"ghcache daemon: {exc}", file=sys.stderr)
        return 2
    try:
        for text in settings.core.bootstrap_peers:
            split_p2p_addr(text)
            Multiaddr(text)
    except Exception as exc:
        print(f"ghcache daemon: CACHE_BOOTSTRAP_PEERS: {exc}", file=sys.stderr)
        return 2
    keyring = Keyring.from_env()
    if keyring is None:
        print(
            "ghcache daemon: no shared secret: set CACHE_SHARED_SECRET (or GH_TOKEN/GITHUB_TOKEN)",
            file=sys.stderr,
        )
        return 2
    cache_dir = settings.core.cache_dir
    try:
        ensure_cache_dir(cache_dir)
    except CacheDirError as exc:
        print(f"ghcache daemon: {exc}", file=sys.stderr)
        return 1
    if len(str(socket_path(cache_dir))) > 100:
        print(
            f"ghcache daemon: cache directory path too long for a socket: {cache_dir}",
            file=sys.stderr,
        )
        return 1
    # One daemon per cache directory: the lock is held for the process's life.
    lock_fd = os.open(cache_dir / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(lock_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        try:
            pid = DaemonClient(cache_dir, timeout=1.0).status().get("pid")
        except (DaemonUnavailable, DaemonError):
            pid = "starting"
        print(f"ghcache daemon: already running (pid {pid})", file=sys.stderr)
        return 1
    pid_file = pid_path(cache_dir)

    def ready() -> None:
        fd = os.open(pid_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(f"{os.getpid()}\n")

    daemon = Daemon(settings, keyring)
    try:
        trio.run(_run_until_signal, lambda: daemon.run(on_ready=ready))
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"ghcache daemon: {exc}", file=sys.stderr)
        return 1
    finally:
        _remove_own_files(cache_dir)
    if daemon.failure:
        print(f"ghcache daemon: {daemon.failure}", file=sys.stderr)
        return 1
    return 0


def _remove_own_files(cache_dir: Path) -> None:
    pid_file = pid_path(cache_dir)
    with contextlib.suppress(OSError, ValueError):
        if int(pid_file.read_text().strip()) == os.getpid():
            pid_file.unlink()
            socket_path(cache_dir).unlink()


if __name__ == "__main__":
    sys.exit(main())
