"""Sessions for the ghcache monorepo: tests, lint, typecheck, bench, demo, build."""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

ROOT = Path(__file__).parent
# Install order follows the dependency arrows: core and crypto first.
PACKAGES = ["ghcache-core", "ghcache-crypto", "ghcache-p2p", "ghcache-cli", "ghcache-validate"]
TEST_DEPS = [
    "pytest>=8",
    "pytest-timeout>=2.2",
    "hypothesis>=6.100",
    "PyGithub>=2.1",
]
BENCH_DEPS = ["requests-cache>=1.2", "diskcache>=5.6"]
# Debian packages the tests use: gh is the reference client, libgmp-dev lets
# fastecdsa (a libp2p dependency) build when no wheel fits.
SYSTEM_PACKAGES = {"gh": "gh"}


def install_packages(session: nox.Session, *extra: str) -> None:
    session.install(*[f"./packages/{name}" for name in PACKAGES], *extra)


def ensure_system_packages(session: nox.Session) -> None:
    missing = [pkg for binary, pkg in SYSTEM_PACKAGES.items() if shutil.which(binary) is None]
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        session.warn(f"cannot install {missing}: tests that need them will be skipped")
        return
    session.run("apt-get", "update", "-qq", external=True)
    session.run("apt-get", "install", "-y", "-qq", *missing, external=True)


@nox.session
def tests(session: nox.Session) -> None:
    """Install the five packages from the checkout and run every package's tests."""
    ensure_system_packages(session)
    install_packages(session, *TEST_DEPS)
    test_dirs = sorted(glob.glob("packages/*/tests"))
    session.run("pytest", *session.posargs, *test_dirs)


@nox.session
def lint(session: nox.Session) -> None:
    session.install("ruff>=0.17,<0.18")  # formatting changes between minor versions
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session
def typecheck(session: nox.Session) -> None:
    session.install("mypy>=2.4,<3")
    install_packages(session, *TEST_DEPS)
    session.run(
        "mypy",
        *[f"packages/{name}/src" for name in PACKAGES],
    )


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmarks in bench/ (figures and ratios against named baselines)."""
    ensure_system_packages(session)
    install_packages(session, *BENCH_DEPS)
    scripts = session.posargs or sorted(glob.glob("bench/bench_*.py"))
    for script in scripts:
        session.run("python", script)


@nox.session
def demo(session: nox.Session) -> None:
    """The embedded default: a local end-to-end demonstration, no token or network needed."""
    install_packages(session)
    session.run("ghcache-validate", "verify", "--local", *session.posargs)


@nox.session
def build(session: nox.Session) -> None:
    """Build sdists and wheels of all five packages into dist/, with a wheelhouse of their
    dependencies, then prove a fresh venv installs ghcache-cli[p2p] and ghcache-validate
    from dist/ alone (``pip install --no-index --find-links dist``)."""
    session.install("build>=1.0")
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    for name in PACKAGES:
        session.run("python", "-m", "build", "--outdir", str(dist), f"packages/{name}")
    session.run(
        "python",
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--wheel-dir",
        str(dist),
        "--find-links",
        str(dist),
        "ghcache-cli[p2p]",
        "ghcache-validate",
    )
    fresh = Path(session.create_tmp()) / "fresh-venv"
    shutil.rmtree(fresh, ignore_errors=True)
    session.run("python", "-m", "venv", str(fresh))
    session.run(
        str(fresh / "bin" / "pip"),
        "install",
        "--quiet",
        "--no-index",
        "--find-links",
        str(dist),
        "ghcache-cli[p2p]",
        "ghcache-validate",
        external=True,
    )
    session.run(str(fresh / "bin" / "ghcache"), "--version", external=True)
    session.run(str(fresh / "bin" / "ghcache-validate"), "--help", external=True, silent=True)
