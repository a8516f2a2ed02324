"""Plugins are found through the ``ghcache`` entry-point group of installed distributions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pluggy

from ghcache.core import hookspecs, plugins

PLUGIN_MODULE = """
from ghcache.core.hookspecs import hookimpl

CALLS = []


@hookimpl
def entry_stored(entry, settings):
    CALLS.append(("entry_stored", entry))


@hookimpl
def lookup_entry(key, settings, newer_than):
    CALLS.append(("lookup_entry", key))
    return None
"""

PROBE = """
import json
from ghcache.core import plugins

from ghcache.core.config import Settings

for installed in ("p2p", "ipfs"):  # installed plugins would be told about a fake entry too
    plugins.pm.set_blocked(installed)
pm = plugins.load_plugins()
assert plugins.load_plugins() is pm  # loaded once per process
settings = Settings.from_env({"CACHE_DIR": "/nowhere", "CACHE_ENABLE_P2P": "false"})
pm.hook.entry_stored(entry="an-entry", settings=settings)
answer = pm.hook.lookup_entry(key="bafkreiabc", settings=settings, newer_than=0.0)
import myplugin
print(json.dumps({
    "names": sorted(name for name, _ in pm.list_name_plugin()),
    "calls": [call[0] for call in myplugin.CALLS],
    "answer": answer,
}))
"""


def make_distribution(site: Path, group: str = "ghcache") -> None:
    """A real installed distribution on disk: a module plus its dist-info."""
    (site / "myplugin.py").write_text(textwrap.dedent(PLUGIN_MODULE))
    info = site / "myplugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: myplugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{group}]\nmyplugin = myplugin\n")
    (info / "RECORD").write_text("")


def run_probe(site: Path) -> dict[str, object]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=120
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_entry_point_plugin_is_discovered_and_called(tmp_path: Path) -> None:
    make_distribution(tmp_path)
    result = run_probe(tmp_path)
    assert "myplugin" in result["names"]  # type: ignore[operator]
    assert result["calls"] == ["entry_stored", "lookup_entry"]
    assert result["answer"] is None


def test_plugin_in_another_group_is_not_loaded(tmp_path: Path) -> None:
    make_distribution(tmp_path, group="not-ghcache")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])}
    code = (
        "import sys, json; from ghcache.core import plugins; pm = plugins.load_plugins(); "
        "print(json.dumps(['myplugin' in sys.modules, "
        "sorted(n for n, _ in pm.list_name_plugin())]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True
    )
    imported, names = json.loads(done.stdout)
    assert not imported
    assert "myplugin" not in names


def test_fresh_manager_set_up_like_plugins_py(tmp_path: Path) -> None:
    # The same discovery in this process, on a manager of its own.
    make_distribution(tmp_path)
    sys.path.insert(0, str(tmp_path))
    try:
        pm = pluggy.PluginManager("ghcache")
        pm.add_hookspecs(hookspecs)
        assert pm.load_setuptools_entrypoints(plugins.ENTRY_POINT_GROUP, name="myplugin") == 1
        pm.hook.entry_stored(entry="an-entry", settings=None)
        module = sys.modules["myplugin"]
        assert module.CALLS == [("entry_stored", "an-entry")]
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("myplugin", None)


def test_hookspecs_are_the_documented_ones() -> None:
    pm = pluggy.PluginManager("ghcache")
    pm.add_hookspecs(hookspecs)
    assert {"lookup_entry", "entry_stored"} <= set(vars(pm.hook))
    assert "register_commands" not in vars(pm.hook)  # the CLI adds its own hookspecs
    assert pm.hook.lookup_entry.spec is not None
    assert pm.hook.lookup_entry.spec.opts["firstresult"] is True
