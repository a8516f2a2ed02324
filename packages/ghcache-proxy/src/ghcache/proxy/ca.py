"""The forward proxy's local certificate authority.

A client that cannot change its base URL (gh for github.com) reaches the API host by
``CONNECT`` through ``HTTPS_PROXY``; to answer it from the cache the proxy must speak TLS
as that host, with a certificate the client trusts.  The CA made here is trusted only by
the commands ``ghcache run`` starts (their ``SSL_CERT_FILE`` is the system bundle plus
it), and its X.509 name constraints let it vouch for the API host names alone: a stolen
key cannot make a certificate any verifier accepts for another name or an IP address.

Files, in ``$CACHE_DIR/proxy-ca/`` (0700): ``ca-key.pem`` (0600), ``ca.pem``, ``bundle.pem``.
Deleting the directory removes the CA; nothing is installed system-wide.
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import os
import ssl
import tempfile
from collections.abc import Mapping
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_DIR = "proxy-ca"
KEY_NAME = "ca-key.pem"
CERT_NAME = "ca.pem"
BUNDLE_NAME = "bundle.pem"

CA_LIFETIME = datetime.timedelta(days=3650)
# Remade this long before it ends, so a running command never sees it expire.
CA_RENEW_BEFORE = datetime.timedelta(days=30)
# Leaves live in memory only, for one proxy process; a week covers any sane uptime
# and they are remade when the week is nearly out.
LEAF_LIFETIME = datetime.timedelta(days=7)
LEAF_RENEW_BEFORE = datetime.timedelta(days=1)
# Clocks of containers and VMs drift; a certificate valid from "now" can look future-dated.
BACKDATE = datetime.timedelta(hours=1)
# Excluded for every address: a DNS-only constraint leaves IP addresses unconstrained
# (RFC 5280 4.2.1.10), and a certificate for 1.2.3.4 would otherwise verify.
_ALL_ADDRESSES = (ipaddress.ip_network("0.0.0.0/0"), ipaddress.ip_network("::/0"))


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def permitted_names(cert: x509.Certificate) -> tuple[str, ...] | None:
    """The DNS names a CA certificate may vouch for, or None without name constraints."""
    try:
        constraints = cert.extensions.get_extension_for_class(x509.NameConstraints).value
    except x509.ExtensionNotFound:
        return None
    return tuple(
        sorted(
            name.value
            for name in constraints.permitted_subtrees or ()
            if isinstance(name, x509.DNSName)
        )
    )


class LocalCA:
    def __init__(self, directory: Path, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate):
        self.directory = directory
        self._key = key
        self.cert = cert
        self._leaves: dict[str, tuple[ssl.SSLContext, datetime.datetime]] = {}

    @property
    def cert_path(self) -> Path:
        return self.directory / CERT_NAME

    @property
    def key_path(self) -> Path:
        return self.directory / KEY_NAME

    @property
    def bundle_path(self) -> Path:
        return self.directory / BUNDLE_NAME

    @classmethod
    def load_or_create(cls, cache_dir: Path, names: tuple[str, ...]) -> LocalCA:
        """The CA of ``cache_dir``, made anew when missing, unreadable, near its end, or
        constrained to other names than ``names`` (GH_HOST changed)."""
        directory = cache_dir / CA_DIR
        directory.mkdir(mode=0o700, exist_ok=True)
        os.chmod(directory, 0o700)
        wanted = tuple(sorted(names))
        with contextlib.suppress(OSError, ValueError, TypeError):
            key = serialization.load_pem_private_key(
                (directory / KEY_NAME).read_bytes(), password=None
            )
            cert = x509.load_pem_x509_certificate((directory / CERT_NAME).read_bytes())
            if (
                isinstance(key, ec.EllipticCurvePrivateKey)
                and cert.public_key() == key.public_key()
                and permitted_names(cert) == wanted
                and cert.not_valid_after_utc - CA_RENEW_BEFORE > _now()
            ):
                return cls(directory, key, cert)
        return cls._create(directory, wanted)

    @classmethod
    def _create(cls, directory: Path, names: tuple[str, ...]) -> LocalCA:
        key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "ghcache"),
                x509.NameAttribute(
                    NameOID.COMMON_NAME, f"ghcache local CA for {', '.join(names)}"[:64]
                ),
            ]
        )
        now = _now()
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(now + CA_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=False,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.NameConstraints(
                    permitted_subtrees=[x509.DNSName(n) for n in names],
                    excluded_subtrees=[x509.IPAddress(net) for net in _ALL_ADDRESSES],
                ),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        _write(directory / KEY_NAME, key_pem, 0o600)
        _write(directory / CERT_NAME, cert.public_bytes(serialization.Encoding.PEM), 0o644)
        return cls(directory, key, cert)

    def write_bundle(self, env: Mapping[str, str]) -> Path:
        """``bundle.pem``: the system's CA bundle, then this CA (rewritten at every start, so
        that it follows the system's updates)."""
        system = system_bundle(env, exclude=self.bundle_path)
        text = system.read_bytes() if system is not None else b""
        if text and not text.endswith(b"\n"):
            text += b"\n"
        pem = self.cert.public_bytes(serialization.Encoding.PEM)
        _write(self.bundle_path, text + pem, 0o644)
        return self.bundle_path

    def leaf_context(self, host: str) -> ssl.SSLContext:
        """A server-side TLS context presenting a certificate for ``host``, made once per
        host and process (and again when it nears its end)."""
        cached = self._leaves.get(host)
        if cached is not None and cached[1] - LEAF_RENEW_BEFORE > _now():
            return cached[0]
        context, expires = self._make_leaf(host)
        self._leaves[host] = (context, expires)
        return context

    def issue(self, host: str) -> tuple[bytes, bytes, datetime.datetime]:
        """(certificate PEM, key PEM, end of validity) for ``host``, signed by this CA."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = _now()
        expires = now + LEAF_LIFETIME
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host[:64])]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - BACKDATE)
            .not_valid_after(expires)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self._key.public_key()), False
            )
            .sign(self._key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return cert.public_bytes(serialization.Encoding.PEM), key_pem, expires

    def _make_leaf(self, host: str) -> tuple[ssl.SSLContext, datetime.datetime]:
        cert_pem, key_pem, expires = self.issue(host)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = ssl.TLSVersion.TLSv1_2
        # The intercepted stream is handed to an HTTP/1.1 server; h2 is never offered.
        context.set_alpn_protocols(["http/1.1"])
        # ssl loads a chain from a file only: one that lives for this call, 0600 in the
        # CA's own 0700 directory, so the leaf's key is never readable by anyone else.
        fd, name = tempfile.mkstemp(prefix=".leaf-", suffix=".pem", dir=self.directory)
        try:
            with os.fdopen(fd, "wb") as handle:
                handle.write(cert_pem + key_pem)
            context.load_cert_chain(name)
        finally:
            os.unlink(name)
        return context, expires


def system_bundle(env: Mapping[str, str], exclude: Path | None = None) -> Path | None:
    """The CA bundle clients would use without us: ``SSL_CERT_FILE`` when set (and not our
    own bundle), else OpenSSL's default file, else certifi's."""
    candidates = [env.get("SSL_CERT_FILE", "").strip()]
    paths = ssl.get_default_verify_paths()
    candidates += [paths.cafile or "", paths.openssl_cafile or ""]
    with contextlib.suppress(ImportError):
        import certifi  # httpx's dependency: present wherever the proxy runs

        candidates.append(certifi.where())
    for candidate in candidates:
        if not candidate:
            continue
        path = Path(candidate)
        if exclude is not None and exclude.exists() and path.exists() and path.samefile(exclude):
            continue  # our own bundle, from a shell where `ghcache proxy env` was evaluated
        if path.is_file():
            return path
    return None


def _write(path: Path, data: bytes, mode: int) -> None:
    """Atomically, created with ``mode`` (never briefly wider)."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
