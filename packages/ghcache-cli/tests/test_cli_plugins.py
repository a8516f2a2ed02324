"""Commands from plugins appear under ``ghcache`` through the pluggy hook
``register_commands(cli)``, which ghcache-cli adds to core's plugin manager: a
plugin found by real entry-point discovery (a dist-info directory on the path
of a real process), one registered on the plugin manager in this process, and a
broken one that must not take the built-in commands down with it.  Plugins'
settings appear in ``ghcache config`` through ``config_rows(env)``."""

from __future__ import annotations

import json
import os
import textwrap
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from ghcache.cli import hookspecs as cli_hookspecs
from ghcache.cli.main import cli as ghcache_cli
from ghcache.cli.plugins import cli_plugin_manager
from ghcache.core.hookspecs import hookimpl
from ghcache.core.plugins import pm

PLUGIN_SOURCE = '''
import click
from ghcache.core.hookspecs import hookimpl


@hookimpl
def register_commands(cli):
    @cli.command()
    @click.argument("name")
    def hello(name):
        """Say hello (from a test plugin)."""
        click.echo(f"hello {name} from a plugin")
'''


def install_plugin(site: Path, dist: str, module: str, source: str) -> None:
    """A minimal installed distribution: a module plus a dist-info with an entry point."""
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[ghcache]\n{dist} = {module}\n")


def with_path(env: dict[str, str], site: Path) -> dict[str, str]:
    extra = env.get("PYTHONPATH")
    return {**env, "PYTHONPATH": str(site) + (os.pathsep + extra if extra else "")}


def test_entry_point_plugin_adds_a_command(cli: Any, env: dict[str, str], tmp_path: Path) -> None:
    site = tmp_path / "site"
    install_plugin(site, "ghcache_hello", "ghcache_hello_plugin", PLUGIN_SOURCE)
    plugin_env = with_path(env, site)
    done = cli(["hello", "world"], plugin_env)
    assert done.returncode == 0, done.stderr
    assert done.stdout == b"hello world from a plugin\n"
    listing = cli(["--help"], plugin_env).stdout.decode()
    assert "hello" in listing and "Say hello (from a test plugin)." in listing
    assert "stats" in listing
    # The built-ins still work beside the plugin, and without it the command is unknown.
    assert cli(["stats", "--json"], plugin_env).returncode == 0
    assert cli(["hello", "world"], env).returncode == 1


def test_broken_plugin_leaves_builtins_working(
    cli: Any, env: dict[str, str], tmp_path: Path
) -> None:
    site = tmp_path / "site"
    install_plugin(site, "ghcache_broken", "ghcache_broken_plugin", "raise ImportError('boom')\n")
    broken_env = with_path(env, site)
    done = cli(["stats", "--json"], broken_env)
    assert done.returncode == 0
    listing = cli(["--help"], broken_env)
    assert listing.returncode == 0
    assert b"Traceback" not in listing.stderr
    assert b"stats" in listing.stdout
    unknown = cli(["nope"], broken_env)
    assert unknown.returncode == 1
    assert (
        b"ghcache: plugin 'ghcache_broken' (ghcache_broken_plugin) not loaded: ImportError: boom"
        in unknown.stderr
    )


class GreetPlugin:
    @hookimpl
    def register_commands(self, cli: click.Group) -> None:
        @cli.command("greet")
        def greet() -> None:
            """Greet (registered on the plugin manager)."""
            click.echo("greetings")


@pytest.fixture
def greet_plugin() -> Iterator[GreetPlugin]:
    plugin = GreetPlugin()
    cli_plugin_manager().register(plugin, name="test-greet")
    try:
        yield plugin
    finally:
        pm.unregister(plugin)
        ghcache_cli.commands.pop("greet", None)


def test_plugin_registered_on_the_manager(env: dict[str, str], greet_plugin: GreetPlugin) -> None:
    result = CliRunner().invoke(ghcache_cli, ["greet"])
    assert result.exit_code == 0, result.output
    assert result.output == "greetings\n"
    listing = CliRunner().invoke(ghcache_cli, ["--help"]).output
    assert "greet" in listing


def test_builtin_commands_come_through_the_hook(env: dict[str, str]) -> None:
    from ghcache.cli import default_plugin

    ghcache_cli.list_commands(click.Context(ghcache_cli))  # registers the default plugin
    assert pm.get_plugin(default_plugin.PLUGIN_NAME) is default_plugin
    probe = click.Group("probe")
    pm.hook.register_commands(cli=probe)
    assert {"cache", "config", "stats", "warm"} <= set(probe.commands)


def test_plugin_module_is_found_by_this_interpreter(tmp_path: Path) -> None:
    # Guards the two tests above: a dist-info on sys.path is what entry-point discovery reads.
    from importlib.metadata import distributions

    site = tmp_path / "site"
    install_plugin(site, "ghcache_probe", "ghcache_probe_plugin", PLUGIN_SOURCE)
    names = {d.metadata["Name"] for d in distributions(path=[str(site)])}
    assert "ghcache_probe" in names


class FailingPlugin:
    @hookimpl
    def register_commands(self, cli: click.Group) -> None:
        @cli.command("kaput")
        @click.option("--config-error", is_flag=True)
        def kaput(config_error: bool) -> None:
            if config_error:
                from ghcache.core.config import ConfigError

                raise ConfigError("CACHE_MAX_STALE must be a whole number, got 'x'")
            raise RuntimeError("something\nbroke")


@pytest.fixture
def failing_plugin() -> Iterator[FailingPlugin]:
    plugin = FailingPlugin()
    cli_plugin_manager().register(plugin, name="test-failing")
    try:
        yield plugin
    finally:
        pm.unregister(plugin)
        ghcache_cli.commands.pop("kaput", None)


def test_a_failing_command_is_one_line(
    env: dict[str, str], failing_plugin: FailingPlugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = CliRunner().invoke(ghcache_cli, ["kaput"])
    assert result.exit_code == 1
    assert result.stderr == "ghcache: internal error: RuntimeError: something broke\n"
    known = CliRunner().invoke(ghcache_cli, ["kaput", "--config-error"])
    assert known.exit_code == 1
    assert known.stderr == "ghcache: CACHE_MAX_STALE must be a whole number, got 'x'\n"
    monkeypatch.setenv("GHCACHE_DEBUG", "1")
    debug = CliRunner().invoke(ghcache_cli, ["kaput"])
    assert isinstance(debug.exception, RuntimeError)  # the traceback, for whoever asked


def test_the_cli_adds_its_hookspecs_once() -> None:
    assert cli_plugin_manager() is pm
    assert cli_plugin_manager() is pm  # a second call adds nothing (and does not raise)
    for name in ("register_commands", "config_rows"):
        caller = getattr(pm.hook, name)
        assert caller.has_spec() and caller.spec.namespace is cli_hookspecs


class KnobPlugin:
    @hookimpl
    def config_rows(self, env: Mapping[str, str]) -> list[tuple[str, str, str]]:
        knob = env.get("CACHE_TEST_KNOB")
        return [("CACHE_TEST_KNOB", knob or "off", "env" if knob else "default")]


@pytest.fixture
def knob_plugin() -> Iterator[KnobPlugin]:
    plugin = KnobPlugin()
    cli_plugin_manager().register(plugin, name="test-knob")
    try:
        yield plugin
    finally:
        pm.unregister(plugin)


def test_config_shows_plugin_rows_after_core_rows(
    env: dict[str, str], knob_plugin: KnobPlugin, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CACHE_TEST_KNOB", "loud")
    text = CliRunner().invoke(ghcache_cli, ["config"])
    assert text.exit_code == 0, text.output
    names = [line.split()[0] for line in text.stdout.splitlines()]
    assert names.index("CACHE_DIR") < names.index("CACHE_NEGATIVE_TTL")
    assert names.index("CACHE_NEGATIVE_TTL") < names.index("CACHE_TEST_KNOB") < names.index("host")
    knob = text.stdout.splitlines()[names.index("CACHE_TEST_KNOB")]
    assert knob.split() == ["CACHE_TEST_KNOB", "loud", "(env)"]
    report = json.loads(CliRunner().invoke(ghcache_cli, ["config", "--json"]).stdout)
    assert report["settings"]["CACHE_TEST_KNOB"] == {"value": "loud", "source": "env"}
