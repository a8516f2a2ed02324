"""Sessions for the ghcache monorepo: tests, lint, typecheck, bench, demo, build.

``nox -s tests`` runs each package's tests in a venv of its own that holds only that package,
what it declares (its dependencies and its ``test`` extra) and nothing else, so a test that
leans on a package it did not declare fails here. One package: ``nox -s "tests(crypto)"``.
"""

from __future__ import annotations

import glob
import os
import re
import shutil
import sys
import tomllib
from pathlib import Path

import nox

nox.options.sessions = ["lint", "typecheck", "tests"]
nox.options.reuse_existing_virtualenvs = True

ROOT = Path(__file__).parent
# Install order follows the dependency arrows: fakehub, core and crypto first.
PACKAGES = [
    "ghcache-fakehub",
    "ghcache-core",
    "ghcache-crypto",
    "ghcache-p2p",
    "ghcache-ipfs",
    "ghcache-cli",
    "ghcache-proxy",
    "ghcache-validate",
]
BENCH_DEPS = ["requests-cache>=1.2", "diskcache>=5.6"]
# Debian packages the tests use: gh is the reference client (cli's tests, and fakehub's proxy
# test); curl is a client of ghcache-proxy's.
SYSTEM_PACKAGES = {"gh": "gh", "curl": "curl"}
NEEDS_SYSTEM_PACKAGES = {"ghcache-cli", "ghcache-fakehub", "ghcache-proxy"}
# Suites of independent processes that run on every core (pytest-xdist is in their test extra);
# the p2p suite is not among them: some of its tests measure timing under a known load.
PARALLEL_TESTS = {"ghcache-cli"}
REQUIREMENT = re.compile(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?")
# One venv with the packages' build backend, shared by the sessions (see local_wheels).
BUILD_TOOLS = ROOT / ".nox" / "_build-tools"


def local_wheels(session: nox.Session, names: list[str]) -> dict[str, str]:
    """Wheels of these packages built from the checkout, by name.

    pip would build each package in an isolated environment of its own (about 6 s a package,
    most of a session's install time); one venv holding the build backend takes about 1 s."""
    python = BUILD_TOOLS / "bin" / "python"
    if not python.exists():
        session.run(sys.executable, "-m", "virtualenv", "--quiet", str(BUILD_TOOLS), external=True)
    pip = [str(python), "-m", "pip"]
    session.run(*pip, "install", "--quiet", "hatchling>=1.18", external=True)
    # Not under session.create_tmp(): that sets TMPDIR for the tests, and the daemons' socket
    # paths below it must stay short.
    wheelhouse = Path(session.virtualenv.location) / "ghcache-wheels"
    shutil.rmtree(wheelhouse, ignore_errors=True)
    session.run(
        *pip,
        "wheel",
        "--quiet",
        "--no-deps",
        "--no-build-isolation",
        "--wheel-dir",
        str(wheelhouse),
        *[f"./packages/{name}" for name in names],
        external=True,
    )
    return {name: str(next(wheelhouse.glob(name.replace("-", "_") + "-*.whl"))) for name in names}


def install_local(
    session: nox.Session, names: list[str], *others: str, extras: dict[str, str] | None = None
) -> None:
    """Install these packages of the checkout (with ``extras``, e.g. {"ghcache-core": "test"})
    and their dependencies, plus ``others``."""
    wheels = local_wheels(session, names)
    extras = extras or {}
    session.install(
        *[
            f"{wheel}[{extras[name]}]" if name in extras else wheel
            for name, wheel in wheels.items()
        ],
        *others,
    )
    # A reused venv may hold the same version built from older source.
    session.install("--quiet", "--force-reinstall", "--no-deps", *wheels.values())


def install_packages(session: nox.Session, *extra: str) -> None:
    install_local(session, PACKAGES, *extra)


def local_closure(name: str, extras: tuple[str, ...] = ()) -> list[str]:
    """``name`` and every package of this repository it needs, with ``extras``, transitively.

    They are not on PyPI, so pip must be given their directories (in PACKAGES order)."""
    needed: set[str] = set()
    todo = [(name, extras)]
    while todo:
        package, wanted = todo.pop()
        project = tomllib.loads((ROOT / "packages" / package / "pyproject.toml").read_text())
        project = project["project"]
        requirements = list(project.get("dependencies", []))
        for extra in wanted:
            requirements += project.get("optional-dependencies", {})[extra]
        needed.add(package)
        for requirement in requirements:
            match = REQUIREMENT.match(requirement)
            assert match, requirement
            dist = match.group(1).lower().replace("_", "-")
            if dist in PACKAGES and dist not in needed:
                sub_extras = tuple(
                    e.strip() for e in (match.group(2) or "").split(",") if e.strip()
                )
                todo.append((dist, sub_extras))
    return [package for package in PACKAGES if package in needed]


def ensure_system_packages(session: nox.Session, packages: dict[str, str] | None = None) -> None:
    wanted = SYSTEM_PACKAGES if packages is None else packages
    missing = [pkg for binary, pkg in wanted.items() if shutil.which(binary) is None]
    if not missing:
        return
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        session.warn(f"cannot install {missing}: tests that need them will be skipped")
        return
    session.run("apt-get", "update", "-qq", external=True)
    session.run("apt-get", "install", "-y", "-qq", *missing, external=True)


@nox.session
@nox.parametrize("package", PACKAGES, ids=[name.removeprefix("ghcache-") for name in PACKAGES])
def tests(session: nox.Session, package: str) -> None:
    """One package's tests, in a venv holding only it, its dependencies and its `test` extra."""
    if package in NEEDS_SYSTEM_PACKAGES:
        ensure_system_packages(session)
    install_local(session, local_closure(package, ("test",)), extras={package: "test"})
    # From the package's directory: its own pyproject's pytest options, nothing of the root's.
    session.chdir(ROOT / "packages" / package)
    parallel = ["-n", "auto"] if package in PARALLEL_TESTS and not session.posargs else []
    session.run("pytest", *parallel, *session.posargs, "tests")


@nox.session
def lint(session: nox.Session) -> None:
    session.install(
        "ruff>=0.17,<0.18",  # formatting changes between minor versions
        # 2.0 to 2.17 checked with the contracts in pyproject.toml (read from there, layers
        # with independent siblings "a | b", an external package as a forbidden module).
        "import-linter>=2.0",
    )
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")
    # import-linter reads the packages' source where Python finds them; their own
    # dependencies are never imported, so the packages go in without them.
    session.install("--no-deps", *local_wheels(session, PACKAGES).values())
    session.run("lint-imports")


@nox.session
def typecheck(session: nox.Session) -> None:
    session.install("mypy>=2.4,<3")
    install_packages(session)  # mypy reads src/ only: the tests' dependencies are not needed
    session.run(
        "mypy",
        *[f"packages/{name}/src" for name in PACKAGES],
    )


@nox.session
def bench(session: nox.Session) -> None:
    """Run the benchmarks in bench/ (figures and ratios against named baselines)."""
    # nginx with proxy_cache is bench_proxy's baseline; the bench starts it on loopback itself.
    ensure_system_packages(session, {**SYSTEM_PACKAGES, "nginx": "nginx-light"})
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
    """Build sdists and wheels of every package into dist/, with a wheelhouse of their
    dependencies, then prove a fresh venv installs ghcache-cli[p2p], ghcache-proxy and
    ghcache-validate from dist/ alone (``pip install --no-index --find-links dist``)."""
    # Without build isolation (the backend is installed here): about 1 s a package, not 12.
    session.install("build>=1.0", "hatchling>=1.18")
    dist = ROOT / "dist"
    shutil.rmtree(dist, ignore_errors=True)
    for name in PACKAGES:
        session.run(
            "python", "-m", "build", "--no-isolation", "--outdir", str(dist), f"packages/{name}"
        )
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
        "ghcache-proxy",
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
        "ghcache-proxy",
        "ghcache-validate",
        external=True,
    )
    session.run(str(fresh / "bin" / "ghcache"), "--version", external=True)
    # The proxy's plugin adds its commands to the CLI it was installed beside.
    session.run(str(fresh / "bin" / "ghcache"), "proxy", "--help", external=True, silent=True)
    session.run(str(fresh / "bin" / "ghcache-validate"), "--help", external=True, silent=True)
    # verify --local's simulated GitHub comes from the ghcache-fakehub wheel.
    session.run(
        str(fresh / "bin" / "python"), "-c", "import ghcache.fakehub", external=True, silent=True
    )
