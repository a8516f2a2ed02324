"""Shared fixtures for the ghcache CLI tests: real cache directories, real
processes (the installed console scripts) and, where a server is needed, the
simulated GitHub from ghcache-fakehub."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from ghcache.core.entry import Entry
from ghcache.core.hosts import resolve_host
from ghcache.core.request import ApiRequest
from ghcache.core.scope import build_request, identity_fingerprint
from ghcache.core.store import DiskStore
from ghcache.fakehub import FakeHub

BIN = Path(sys.executable).parent
# Variables of the developer's shell that would change what ghcache does.
LEAKY_ENV = (
    "GH_HOST",
    "GH_TOKEN",
    "GITHUB_TOKEN",
    "GH_ENTERPRISE_TOKEN",
    "GITHUB_ENTERPRISE_TOKEN",
    "GH_REPO",
    "GITHUB_API_URL",
    "GITHUB_GRAPHQL_URL",
    "GH_FORCE_TTY",
    "CLICOLOR_FORCE",
    "NO_COLOR",
    "GHCACHE_NO_FASTPATH",
    "GHCACHE_DEBUG",
    "GH_PAGER",
    "PAGER",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "http_proxy",
    "https_proxy",
)


def console_script(name: str) -> str:
    """The installed console script beside this Python (editable or wheel install)."""
    path = BIN / name
    found = str(path) if path.exists() else shutil.which(name)
    if found is None:
        pytest.fail(f"console script {name!r} is not installed beside {sys.executable}")
    return found


def clean_env(cache_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in LEAKY_ENV and not k.startswith("CACHE_")}
    env["CACHE_DIR"] = str(cache_dir)
    env["CACHE_ENABLE_P2P"] = "false"
    env["GH_CONFIG_DIR"] = str(cache_dir.parent / "gh-config")
    env.update(extra)
    return env


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "cache"


@pytest.fixture
def env(cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A clean environment pointing at ``cache_dir``, also applied to this process."""
    values = clean_env(cache_dir, GITHUB_API_URL="http://127.0.0.1:9/")
    for name in list(os.environ):
        if name not in values:
            monkeypatch.delenv(name, raising=False)
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    return values


def run_cli(
    args: list[str],
    env: Mapping[str, str],
    *,
    script: str = "ghcache",
    stdin: bytes | None = None,
    timeout: float = 60,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [console_script(script), *args],
        env=dict(env),
        input=stdin,
        cwd=cwd,
        capture_output=True,
        timeout=timeout,
        check=False,
    )


def store_response(
    cache_dir: Path,
    endpoint: str,
    body: bytes,
    *,
    env: Mapping[str, str],
    status: int = 200,
    reason: str = "OK",
    headers: list[tuple[str, str]] | None = None,
    accept: str | None = None,
    api_version: str | None = None,
    token: str | None = None,
    age: float = 0.0,
    ttl: float = 300.0,
) -> Entry:
    """Write the entry core would store for ``GET endpoint`` (keyed exactly as the client keys it)."""
    host = resolve_host(None, env)
    url = host.rest_url + endpoint.lstrip("/")
    sent = [("Accept", accept)] if accept else []
    if api_version:
        sent.append(("X-GitHub-Api-Version", api_version))
    request = build_request(ApiRequest.for_url("GET", url, host, sent), host, token=token)
    assert request is not None
    stored_at = time.time() - age
    entry = Entry(
        key=request.key,
        scope=request.scope,
        method="GET",
        url=url,
        stored_at=stored_at,
        ttl=ttl,
        status=status,
        headers=headers
        if headers is not None
        else [("Content-Type", "application/json; charset=utf-8"), ("ETag", '"abc"')],
        body=body,
        reason=reason,
        # fetched by this identity: served to it (and only to it, in the default mode)
        access={identity_fingerprint(token): stored_at},
    )
    DiskStore(cache_dir).write(entry)
    return entry


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    with FakeHub() as server:
        yield server


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """Where the CLI runs: outside any git checkout, so placeholders cannot use git remotes."""
    path = tmp_path / "work"
    path.mkdir()
    return path


@pytest.fixture
def cli(workdir: Path) -> Any:
    """``cli(args, env, script=..., stdin=..., cwd=...)`` runs the installed console script."""

    def run(args: list[str], env: Mapping[str, str], **kwargs: Any) -> Any:
        kwargs.setdefault("cwd", workdir)
        return run_cli(args, env, **kwargs)

    return run


@pytest.fixture
def store() -> Any:
    """``store(cache_dir, endpoint, body, env=..., ...)`` writes an entry as core would."""
    return store_response


@pytest.fixture
def script() -> Any:
    """``script(name)``: the path of an installed console script."""
    return console_script


def run_traced(
    args: list[str], env: Mapping[str, str], script: str, cwd: Path | None = None
) -> tuple[subprocess.CompletedProcess[bytes], set[str]]:
    """Run a console script under ``python -X importtime``: (result, imported module names).

    The import lines are taken out of the result's stderr.
    """
    done = subprocess.run(
        [sys.executable, "-X", "importtime", script, *args],
        env=dict(env),
        cwd=cwd,
        capture_output=True,
        timeout=60,
        check=False,
    )
    modules = set()
    other = []
    for line in done.stderr.decode("utf-8", "replace").splitlines(keepends=True):
        if line.startswith("import time:"):
            name = line.rsplit("|", 1)[-1].strip()
            if name != "imported package":
                modules.add(name)
        else:
            other.append(line)
    done.stderr = "".join(other).encode()
    return done, modules


@pytest.fixture
def traced(env: dict[str, str], workdir: Path) -> Any:
    """``traced(args, extra_env, name="ghcache")`` -> (result, imported modules)."""

    def run(args: list[str], extra: dict[str, str] | None = None, name: str = "ghcache") -> Any:
        return run_traced(args, {**env, **(extra or {})}, console_script(name), workdir)

    return run


@pytest.fixture
def git_checkout(workdir: Path) -> Path:
    """``workdir`` as a git checkout whose origin is github.com/octo/hello (no network used)."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    for args in (["init", "-q"], ["remote", "add", "origin", "https://github.com/octo/hello.git"]):
        subprocess.run(["git", *args], cwd=workdir, check=True, capture_output=True)
    return workdir
