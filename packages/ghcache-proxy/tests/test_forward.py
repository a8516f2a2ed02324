"""The forward proxy: the real gh (2.23) for github.com through ``ghcache run``, the local
CA's constraints as a verifier sees them, and CONNECT tunnels to other hosts.

gh for github.com speaks HTTPS to api.github.com; through ``ghcache run`` it CONNECTs to
the forward proxy, which answers as api.github.com with a certificate of its local CA.
The proxy's own requests for the API host go to the simulated GitHub on loopback
(``CACHE_PROXY_TEST_UPSTREAM``, tests only), in absolute form, so the hub answers as
api.github.com would; nothing reaches the real one, and CACHE_PROXY_TUNNEL lets the
proxy tunnel to 127.0.0.1 only."""

from __future__ import annotations

import datetime
import http.client
import ipaddress
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from ghcache.fakehub import FakeHub

if TYPE_CHECKING:
    from proxyhelpers import ProxyProcess

helpers = sys.modules["ghcache_proxy_helpers"]  # loaded by conftest.py
API = "api.github.com"
pytestmark = pytest.mark.slow
needs_gh = pytest.mark.skipif(shutil.which("gh") is None, reason="gh is not installed")


@pytest.fixture(scope="module")
def proxy(hub: FakeHub, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ProxyProcess]:
    running = helpers.ProxyProcess.start(
        tmp_path_factory.mktemp("forward") / "cache",
        hub,
        GITHUB_API_URL="",  # github.com, as gh sees it
        CACHE_PROXY_TEST_UPSTREAM=hub.url,
        CACHE_PROXY_TUNNEL="127.0.0.1",
    )
    yield running
    assert running.stop() == 0, running.log()
    assert "Traceback" not in running.log(), running.log()


@pytest.fixture(scope="module")
def state(proxy: ProxyProcess) -> dict[str, Any]:
    shown: dict[str, Any] = json.loads((proxy.cache_dir / "proxy.json").read_text())
    return shown


def gh_env(proxy: ProxyProcess, config_dir: Path) -> dict[str, str]:
    """gh for github.com (no GH_HOST), with the proxy's cache directory for `ghcache run`."""
    return {
        **proxy.env,
        "GH_TOKEN": "ghp_alice",
        "GH_CONFIG_DIR": str(config_dir),
        "GH_PROMPT_DISABLED": "1",
        "GH_NO_UPDATE_NOTIFIER": "1",
        "NO_COLOR": "1",
        "GH_PAGER": "",
        "PAGER": "",
    }


def run(args: list[str], env: dict[str, str]) -> bytes:
    done = subprocess.run(args, env=env, capture_output=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout


def outcomes(proxy: ProxyProcess) -> dict[str, int]:
    with httpx.Client(trust_env=False) as client:
        answer = client.get(proxy.url + "_ghcache/status", headers={"Host": "127.0.0.1"})
    counts: dict[str, int] = answer.json()["outcomes"]
    return counts


def hub_answer_as_api_host(hub: FakeHub, path: str) -> bytes:
    """The hub's body for ``https://api.github.com/PATH``: what gh prints without the proxy."""
    conn = http.client.HTTPConnection("127.0.0.1", hub.port, timeout=30)
    try:
        conn.request("GET", f"https://{API}/{path}", headers={"Authorization": "token ghp_alice"})
        answer = conn.getresponse()
        assert answer.status == 200
        return answer.read()
    finally:
        conn.close()


@pytest.mark.needs_gh
@needs_gh
def test_gh_api_through_ghcache_run(proxy: ProxyProcess, hub: FakeHub, tmp_path: Path) -> None:
    env = gh_env(proxy, tmp_path / "gh-config")
    args = [helpers.console_script("ghcache"), "run", "--", "gh", "api", "repos/octo/hello"]
    expected = hub_answer_as_api_host(hub, "repos/octo/hello")
    # gh pointed straight at the hub can only reach it as github.localhost (plain HTTP):
    # the same bytes, but naming that host where the hub names github.com's.
    base = {k: v for k, v in os.environ.items() if k not in helpers.LEAKY_ENV}
    direct = run(["gh", "api", "repos/octo/hello"], {**base, **hub.gh_env(str(tmp_path / "d"))})
    for local, real in [
        (b"http://api.github.localhost/", f"https://{API}/".encode()),
        (b"http://github.localhost/", b"https://github.com/"),
        (b"github.localhost", b"github.com"),  # git_url, ssh_url
    ]:
        direct = direct.replace(local, real)
    assert direct == expected
    first = run(args, env)
    requests, hits = hub.upstream_count(), outcomes(proxy).get("hit", 0)
    second = run(args, env)
    assert first == expected and second == expected
    assert hub.upstream_count() == requests  # the second run: from the cache
    assert outcomes(proxy)["hit"] == hits + 1
    assert f"CONNECT {API}:443 intercepted" in proxy.log()


@pytest.mark.needs_gh
@needs_gh
@pytest.mark.parametrize(
    "args",
    [
        ["repo", "view", "octo/hello"],
        ["api", "graphql", "-f", "query=query { viewer { login } }"],
    ],
    ids=["repo-view", "graphql"],
)
def test_gh_commands_through_ghcache_run(
    args: list[str], proxy: ProxyProcess, hub: FakeHub, tmp_path: Path
) -> None:
    """Outputs that name no host: byte-identical to gh straight against the hub."""
    base = {k: v for k, v in os.environ.items() if k not in helpers.LEAKY_ENV}
    direct = run(["gh", *args], {**base, **hub.gh_env(str(tmp_path / "direct"))})
    env = gh_env(proxy, tmp_path / "gh-config")
    command = [helpers.console_script("ghcache"), "run", "--", "gh", *args]
    first = run(command, env)
    requests = hub.upstream_count()
    second = run(command, env)
    assert first == direct and second == direct
    assert hub.upstream_count() == requests


def test_the_local_ca(state: dict[str, Any], proxy: ProxyProcess) -> None:
    ca_path, bundle_path = Path(state["ca_cert"]), Path(state["ca_bundle"])
    assert ca_path.parent == proxy.cache_dir / "proxy-ca"
    assert state["intercepted"] == [f"{API}:443"]
    cert = x509.load_pem_x509_certificate(ca_path.read_bytes())
    basic = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert basic.critical and basic.value.ca and basic.value.path_length == 0
    names = cert.extensions.get_extension_for_class(x509.NameConstraints)
    assert names.critical
    assert names.value.permitted_subtrees == [x509.DNSName(API)]
    excluded = {name.value for name in names.value.excluded_subtrees or []}
    assert excluded == {ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0")}
    assert (ca_path.parent / "ca-key.pem").stat().st_mode & 0o777 == 0o600
    assert ca_path.parent.stat().st_mode & 0o777 == 0o700
    bundle = bundle_path.read_bytes()
    assert bundle.endswith(ca_path.read_bytes())
    assert len(bundle) > len(ca_path.read_bytes()) + 1000  # the system's CAs come first


def issue(ca: Path, san: x509.GeneralName) -> tuple[bytes, bytes]:
    """A leaf signed with the CA's own key: what anyone holding ca-key.pem could make."""
    loaded = serialization.load_pem_private_key((ca / "ca-key.pem").read_bytes(), None)
    assert isinstance(loaded, ec.EllipticCurvePrivateKey)
    ca_cert = x509.load_pem_x509_certificate((ca / "ca.pem").read_bytes())
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "leaf")]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([san]), critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .sign(loaded, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


def handshake(bundle: Path, chain: Path, server_name: str) -> None:
    """A TLS handshake in memory: a client trusting ``bundle`` (Python's ssl, OpenSSL's
    verifier, as curl and git use it) against a server presenting ``chain``."""
    client = ssl.create_default_context(cafile=str(bundle))
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(str(chain))
    c_in, c_out, s_in, s_out = (ssl.MemoryBIO() for _ in range(4))
    c = client.wrap_bio(c_in, c_out, server_hostname=server_name)
    s = server.wrap_bio(s_in, s_out, server_side=True)
    for _ in range(10):
        done = 0
        for side in (c, s):
            try:
                side.do_handshake()
                done += 1
            except ssl.SSLWantReadError:
                pass
        s_in.write(c_out.read())
        c_in.write(s_out.read())
        if done == 2:
            return
    raise AssertionError("the handshake did not finish")


def test_the_ca_vouches_for_the_api_host_only(state: dict[str, Any], tmp_path: Path) -> None:
    ca, bundle = Path(state["ca_cert"]).parent, Path(state["ca_bundle"])
    for name, san in [
        (API, x509.DNSName(API)),
        ("example.com", x509.DNSName("example.com")),
        ("github.com", x509.DNSName("github.com")),
        ("1.2.3.4", x509.IPAddress(ipaddress.ip_address("1.2.3.4"))),
    ]:
        chain = tmp_path / f"{name}.pem"
        chain.write_bytes(b"".join(issue(ca, san)))
        if name == API:
            handshake(bundle, chain, name)  # the control: the CA and bundle do work
            continue
        with pytest.raises(ssl.SSLCertVerificationError, match="subtree violation"):
            handshake(bundle, chain, name)
        if shutil.which("openssl"):
            verified = subprocess.run(
                ["openssl", "verify", "-CAfile", str(ca / "ca.pem"), str(chain)],
                capture_output=True,
                check=False,
            )
            assert verified.returncode != 0
            assert b"subtree violation" in verified.stdout + verified.stderr


class Echo:
    """A TCP echo server on 127.0.0.1, a thread per connection."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)


def connect(forward_url: str, target: str) -> tuple[bytes, socket.socket]:
    """A CONNECT request as any client sends it; the proxy's answer head and the socket."""
    host, port = forward_url.removeprefix("http://").rsplit(":", 1)
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        if not chunk:
            break
        head += chunk
    return head, sock


def test_connect_to_another_host_is_a_byte_pipe(state: dict[str, Any]) -> None:
    echo = Echo()
    head, sock = connect(state["forward_url"], f"127.0.0.1:{echo.port}")
    with sock:
        assert head.startswith(b"HTTP/1.1 200 "), head
        payload = bytes(range(256)) * 1024  # every byte value, 256 KiB
        sender = threading.Thread(target=sock.sendall, args=(payload,))
        sender.start()
        back = b""
        while len(back) < len(payload):
            chunk = sock.recv(65536)
            assert chunk, "the tunnel closed early"
            back += chunk
        sender.join()
        assert back == payload
    echo.sock.close()


def test_what_the_forward_proxy_refuses(state: dict[str, Any]) -> None:
    refused, sock = connect(state["forward_url"], "localhost:9")  # not in CACHE_PROXY_TUNNEL
    sock.close()
    assert refused.startswith(b"HTTP/1.1 403 ")
    bad, sock = connect(state["forward_url"], "no-port-here")
    sock.close()
    assert bad.startswith(b"HTTP/1.1 400 ")
    with httpx.Client(trust_env=False) as client:
        origin_form = client.get(state["forward_url"] + "/repos/octo/hello")
    assert origin_form.status_code == 400
    assert "CONNECT or absolute-form" in origin_form.json()["message"]


def test_absolute_form_requests_still_work(state: dict[str, Any]) -> None:
    """What HTTP_PROXY clients (gh for github.localhost) send, on the forward port too."""
    with httpx.Client(proxy=state["forward_url"], trust_env=False) as client:
        answer = client.get("http://api.github.localhost/repos/octo/hello", headers=helpers.ALICE)
    assert answer.status_code == 200 and answer.headers["x-ghcache"] in ("miss", "hit")
    assert answer.json()["url"] == "http://api.github.localhost/repos/octo/hello"


def test_proxy_env_for_eval(proxy: ProxyProcess, state: dict[str, Any]) -> None:
    script = 'eval "$("$0" proxy env)" && printf "%s %s" "$HTTPS_PROXY" "$SSL_CERT_FILE"'
    shown = run(["sh", "-c", script, helpers.console_script("ghcache")], proxy.env)
    assert shown.decode() == f"{state['forward_url']} {state['ca_bundle']}"
