"""The IPFS check of ``ghcache-validate verify`` (conventions in :mod:`ghcache.validate.checks`)."""

from __future__ import annotations

import time
from typing import Any

from ghcache.validate.checks import Context, probe_entry
from ghcache.validate.report import CheckFailed, CheckSkipped

IPFS_TIMEOUT = 10.0


def check_ipfs(ctx: Context, details: dict[str, Any]) -> str:
    """The Kubo node this environment names answers, and a probe entry makes the whole trip:
    sealed block put and pinned, record filed, found, fetched, verified and opened; then
    released again."""
    from ghcache.crypto import Keyring
    from ghcache.ipfs.backend import IpfsBackend
    from ghcache.ipfs.kubo import Deadline, Kubo, KuboError
    from ghcache.ipfs.records import Unreadable, open_block, record_path
    from ghcache.ipfs.settings import IPFSSettings

    settings = ctx.require_settings()
    endpoint, why = IPFSSettings.from_settings(settings).endpoint()
    if endpoint is None:
        raise CheckSkipped(why)
    keyring = Keyring.from_env(ctx.env)
    if keyring is None:
        raise CheckSkipped("no CACHE_SHARED_SECRET, GH_TOKEN or GITHUB_TOKEN: IPFS is not used")
    details.update(endpoint=endpoint.url, source=endpoint.source)
    started = time.monotonic()
    deadline = Deadline(IPFS_TIMEOUT)
    with Kubo(endpoint.url) as kubo:
        backend = IpfsBackend(kubo, keyring, timeout=IPFS_TIMEOUT)
        probe = probe_entry()
        try:
            version = kubo.version(deadline)
            record = backend.put(probe, deadline)
            found = backend.record_for(probe.key, deadline)
            if found != record:
                raise CheckFailed("the probe's index record did not read back")
            opened = open_block(
                keyring, found, kubo.block_get(found.block, deadline), now=time.time()
            )
            if opened.body != probe.body:
                raise CheckFailed("the probe block opened into another entry")
            kubo.pin_rm(record.block, deadline)
            kubo.files_rm(record_path(keyring.current, probe.key), deadline)
        except (KuboError, Unreadable) as exc:
            raise CheckFailed(f"{endpoint.url}: {' '.join(str(exc).split())}") from None
    details.update(kubo_version=version, block=record.block)
    millis = round((time.monotonic() - started) * 1000)
    return f"Kubo {version} at {endpoint.url}: probe block put, found and opened ({millis} ms)"
