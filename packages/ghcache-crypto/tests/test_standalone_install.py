"""ghcache-crypto installs and works in a fresh venv that has no other ghcache package."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ghcache.crypto import derive_key

PACKAGE_DIR = Path(__file__).resolve().parents[1]

CHECK = r"""
import importlib.metadata, importlib.util, json
import ghcache.crypto as crypto
key = crypto.derive_key("standalone-install-secret")
envelope = key.seal(b"payload", associated=b"ad")
print(json.dumps({
    "file": crypto.__file__,
    "opened": key.open(envelope, associated=b"ad").decode(),
    "key_id": key.key_id,
    "network_id": key.network_id,
    "core": importlib.util.find_spec("ghcache.core") is not None,
    "dists": sorted(d.metadata["Name"].lower() for d in importlib.metadata.distributions()),
}))
"""


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_installs_and_imports_alone_in_a_fresh_venv(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    # A plain venv: no --system-site-packages, so the editable ghcache installs are invisible.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    # The outer pip installs into the new venv (a regular, non-editable install from the source
    # directory; cryptography comes from the configured package index).
    install = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "--python",
            str(python),
            "install",
            "--quiet",
            str(PACKAGE_DIR),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=110,
    )
    assert install.returncode == 0, install.stderr[-2000:]
    run = subprocess.run(
        [str(python), "-I", "-c", CHECK],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        check=True,
        timeout=60,
    )
    report = json.loads(run.stdout)
    assert Path(report["file"]).is_relative_to(venv)
    assert report["opened"] == "payload"
    assert report["core"] is False
    ghcache_dists = [name for name in report["dists"] if name.startswith("ghcache")]
    assert ghcache_dists == ["ghcache-crypto"]
    assert "cryptography" in report["dists"]
    # Same secret, same key: the installed copy speaks the same format as this one.
    here = derive_key("standalone-install-secret")
    assert (report["key_id"], report["network_id"]) == (here.key_id, here.network_id)
