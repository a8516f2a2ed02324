"""The checks of ``ghcache-validate verify`` on this machine's real installation
(those that ask the daemon are in :mod:`ghcache.validate.daemon_checks`).

Each check takes the environment (so tests can hand in their own) and a dict
for details, returns a one-line reason when it passes, and raises
:class:`~ghcache.validate.report.CheckFailed` / ``CheckSkipped`` otherwise.
Secrets and tokens are only ever named by the variable they came from.
"""

from __future__ import annotations

import importlib
import os
import secrets
import stat
import time
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from ghcache.validate.report import CheckFailed, CheckSkipped

# (import name, distribution) the installation needs; libp2p and trio only for the daemon.
DEPENDENCIES = (
    ("ghcache.core", "ghcache-core"),
    ("ghcache.crypto", "ghcache-crypto"),
    ("ghcache.p2p", "ghcache-p2p"),
    ("ghcache.ipfs", "ghcache-ipfs"),
    ("ghcache.cli", "ghcache-cli"),
    ("httpx", "httpx"),
    ("click", "click"),
    ("pluggy", "pluggy"),
    ("cryptography", "cryptography"),
    ("rich", "rich"),
    ("trio", "trio"),
    ("libp2p", "libp2p"),
    ("multiaddr", "multiaddr"),
)
# Files in the cache dir that hold nothing private (the daemon's process id).
UPSTREAM_TIMEOUT = 5.0
PROBE_URL = "https://ghcache.invalid/validate-probe"


@dataclass
class Context:
    """What the checks share: the environment and what earlier checks found."""

    env: Mapping[str, str]
    settings: Any = None  # ghcache.core.config.Settings once the configuration check passed
    daemon_status: dict[str, Any] | None = None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Context:
        return cls(env=dict(os.environ if env is None else env))

    def require_settings(self) -> Any:
        if self.settings is None:
            raise CheckSkipped("configuration is invalid (see the configuration check)")
        return self.settings


def check_dependencies(ctx: Context, details: dict[str, Any]) -> str:
    missing = []
    for module, dist in DEPENDENCIES:
        try:
            importlib.import_module(module)
        except Exception as exc:  # ImportError, or a broken module raising anything
            missing.append(f"{module} ({type(exc).__name__})")
            continue
        try:
            details[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            details[dist] = "unknown"
    if missing:
        raise CheckFailed("cannot import " + ", ".join(missing))
    return f"{len(DEPENDENCIES)} packages importable (ghcache-core {details['ghcache-core']})"


def check_configuration(ctx: Context, details: dict[str, Any]) -> str:
    from ghcache.core.config import ConfigError, Settings

    try:
        ctx.settings = Settings.from_env(ctx.env)
    except ConfigError as exc:
        raise CheckFailed(str(exc)) from None
    from_env = sorted(name for name, source in ctx.settings.sources.items() if source == "env")
    details["from_env"] = from_env
    details["cache_dir"] = str(ctx.settings.cache_dir)
    # ghcache-p2p's own rule (the daemon refuses to start on what it finds), not a copy.
    from ghcache.p2p.settings import config_problem

    problem = config_problem(ctx.env)
    if problem is not None:
        raise CheckFailed(problem)
    return f"valid; {len(from_env)} variable(s) set: {', '.join(from_env) or 'none'}"


def check_cache_dir(ctx: Context, details: dict[str, Any]) -> str:
    from ghcache.core.store import CacheDirError, ensure_cache_dir

    directory = Path(ctx.require_settings().cache_dir)
    details["cache_dir"] = str(directory)
    created = not directory.exists()
    try:
        ensure_cache_dir(directory)  # what every ghcache call does first
    except CacheDirError as exc:
        raise CheckFailed(str(exc)) from None
    if not directory.is_dir():
        raise CheckFailed(f"{directory} is not a directory")
    probe = directory / f".ghcache-validate-{os.getpid()}-{secrets.token_hex(4)}.tmp"
    try:
        fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.write(fd, b"probe")
        os.close(fd)
        probe.unlink()
    except OSError as exc:
        raise CheckFailed(f"cannot write to {directory}: {exc.strerror}") from None
    mode = stat.S_IMODE(directory.stat().st_mode)
    if mode & 0o077:
        raise CheckFailed(f"{directory} has mode {mode:04o}; other users can read it (want 0700)")
    loose = [p for p in directory.iterdir() if p.is_file() and p.stat().st_mode & 0o077]
    if loose:
        first = loose[0]
        raise CheckFailed(
            f"{len(loose)} file(s) readable by others, e.g. {first.name} "
            f"({stat.S_IMODE(first.stat().st_mode):04o}, want 0600)"
        )
    return f"{directory} {'created, ' if created else ''}writable, mode 0700, files 0600"


def check_credentials(ctx: Context, details: dict[str, Any]) -> str:
    from ghcache.core.hosts import resolve_host, resolve_token
    from ghcache.crypto import secret_from_env

    host = resolve_host(None, ctx.env)
    _, token_source = resolve_token(host, ctx.env)
    found = secret_from_env(ctx.env)
    secret_source = found[1] if found is not None else None
    details.update(token_source=token_source, secret_source=secret_source, host=host.hostname)
    if token_source is None and secret_source is None:
        raise CheckFailed(
            "no GitHub token (GH_TOKEN, GITHUB_TOKEN, gh auth login) and no CACHE_SHARED_SECRET"
        )
    token_part = f"GitHub token from {token_source}" if token_source else "no GitHub token"
    if secret_source is None:
        return f"{token_part}; no sharing secret (peers cannot read entries)"
    secret_part = f"sharing secret from {secret_source}"
    if secret_source != "CACHE_SHARED_SECRET":
        secret_part += " (set CACHE_SHARED_SECRET so machines with different tokens can share)"
    return f"{token_part}; {secret_part}"


def check_crypto(ctx: Context, details: dict[str, Any]) -> str:
    from ghcache.crypto import Keyring, OpenError

    keyring = Keyring.from_env(ctx.env)
    if keyring is None:
        raise CheckSkipped("no CACHE_SHARED_SECRET, GH_TOKEN or GITHUB_TOKEN to derive a key from")
    plaintext = secrets.token_bytes(256)
    associated = b"ghcache-validate/" + secrets.token_bytes(8)
    envelope = keyring.seal(plaintext, associated=associated)
    if plaintext in envelope:
        raise CheckFailed("the sealed envelope contains the plaintext")
    if keyring.open(envelope, associated=associated) != plaintext:
        raise CheckFailed("opening a sealed envelope gave different bytes")
    tampered = bytearray(envelope)
    tampered[-5] ^= 0x01
    attempts = (
        (bytes(tampered), associated, "a tampered envelope"),
        (envelope, b"another cache key", "an envelope moved to another cache key"),
    )
    for bad, bound_to, what in attempts:
        try:
            keyring.open(bad, associated=bound_to)
        except OpenError:
            continue
        raise CheckFailed(f"{what} was accepted")
    details.update(key_id=keyring.key_id, network_id=keyring.network_id)
    return (
        f"seal/open round trip with the key from {keyring.secret_source} "
        f"(network {keyring.network_id}); tampering detected"
    )


def probe_entry(ttl: float = 60.0, stored_at: float | None = None) -> Any:
    """A shared entry under a random key that no real request can have."""
    from ghcache.core.cid import cid_for_bytes
    from ghcache.core.entry import Entry

    nonce = secrets.token_hex(16)
    return Entry(
        key=cid_for_bytes(f"ghcache-validate probe {nonce}".encode()),
        scope="shared",
        method="GET",
        url=f"{PROBE_URL}/{nonce}",
        stored_at=time.time() if stored_at is None else stored_at,
        ttl=ttl,
        status=200,
        headers=[("Content-Type", "application/json; charset=utf-8"), ("ETag", f'"{nonce}"')],
        body=b'{"probe": "%s"}' % nonce.encode(),
    )


PROBE_IDENTITY = "ghcache-validate-probe"


def check_disk(ctx: Context, details: dict[str, Any]) -> str:
    from ghcache.core.policy import Action, Options, before_request
    from ghcache.core.store import CacheDirError, DiskStore

    settings = ctx.require_settings()
    store = DiskStore(settings.cache_dir, max_bytes=settings.max_bytes)
    now = time.time()
    entry = probe_entry(ttl=60, stored_at=now - 120)  # expired a minute ago
    try:
        store.write(entry)
    except CacheDirError as exc:
        raise CheckFailed(str(exc)) from None
    try:
        back = store.read(entry.key)
        if back is None or back.body != entry.body or back.body_cid != entry.body_cid:
            raise CheckFailed("an entry written to the store did not read back the same")
        mode = stat.S_IMODE(store.path_for(entry.key).stat().st_mode)
        if mode != 0o600:
            raise CheckFailed(f"entries are written with mode {mode:04o} (want 0600)")
        options = Options(max_stale=settings.max_stale)
        mine = {"identity": PROBE_IDENTITY, "sharing": settings.sharing}
        back = back.replace(access={PROBE_IDENTITY: back.stored_at})
        revalidate = before_request(back, now, options, None, **mine)
        if revalidate.action is not Action.REVALIDATE:
            raise CheckFailed(f"an expired entry with an ETag led to {revalidate.action.value!r}")
        if settings.sharing != "team":
            theirs = before_request(back.replace(access={}), now, options, now + 60, **mine)
            if theirs.action is not Action.FAIL:
                raise CheckFailed(
                    f"another identity's entry while rate limited led to {theirs.action.value!r}"
                )
        limited = before_request(back, now, options, now + 60, **mine)
        if settings.max_stale >= 60 and limited.action is not Action.SERVE_STALE:
            raise CheckFailed(
                f"while rate limited an expired entry led to {limited.action.value!r}"
            )
    finally:
        store.delete(entry.key)
    if store.read(entry.key) is not None:
        raise CheckFailed("a deleted entry is still readable")
    details["sharing"] = settings.sharing
    return (
        "put/get/delete round trip; expired entry revalidates, served stale when rate limited; "
        f"sharing mode {settings.sharing}"
    )


def check_upstream(ctx: Context, details: dict[str, Any]) -> str:
    import httpx

    from ghcache.core.hosts import resolve_host, resolve_token
    from ghcache.core.ratelimit import parse_rate_limit

    host = resolve_host(None, ctx.env)
    token, source = resolve_token(host, ctx.env)
    if token is None:
        raise CheckSkipped("no GitHub token, not asking the API")
    url = host.rest_url + "rate_limit"
    try:
        response = httpx.get(
            url,
            headers={
                "Authorization": f"token {token}",
                "Accept": "application/vnd.github+json",
                "User-Agent": "ghcache-validate",
            },
            timeout=UPSTREAM_TIMEOUT,
        )
    except httpx.HTTPError as exc:
        raise CheckSkipped(f"cannot reach {host.rest_url} ({type(exc).__name__})") from None
    if response.status_code == 401:
        raise CheckFailed(f"{host.rest_url} rejects the token from {source} (401 Bad credentials)")
    if response.status_code != 200:
        raise CheckFailed(f"GET {url} answered HTTP {response.status_code}")
    info = parse_rate_limit(list(response.headers.multi_items()))
    details.update(limit=info.limit, remaining=info.remaining, reset=info.reset)
    reset = time.strftime("%H:%M:%S", time.localtime(info.reset)) if info.reset else "?"
    if info.remaining == 0:
        raise CheckFailed(f"rate limit exhausted ({info.limit}/hour) until {reset}")
    return f"{host.rest_url} reachable; {info.remaining}/{info.limit} requests left, reset {reset}"
