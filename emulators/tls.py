"""Throwaway TLS material: a self-signed CA and a leaf certificate for 127.0.0.1/localhost.

``TlsBundle.create(dir)`` writes ``ca.pem`` (trust this), ``cert.pem`` + ``key.pem`` (the
server's chain/key) and returns server/client ``ssl.SSLContext`` factories.
"""
from __future__ import annotations

import datetime as dt
import ipaddress
import os
import ssl
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(subject: str, issuer: str, public_key) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.timezone.utc)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(_name(issuer))
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=30))
    )


def _make_ca(key: ec.EllipticCurvePrivateKey) -> x509.Certificate:
    builder = _builder("Fixline Emulator Test CA", "Fixline Emulator Test CA", key.public_key())
    builder = builder.add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
    builder = builder.add_extension(
        x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True)
    builder = builder.add_extension(
        x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    return builder.sign(key, hashes.SHA256())


def _make_leaf(key, ca_key, ca_cert: x509.Certificate, hosts: list[str]) -> x509.Certificate:
    sans: list[x509.GeneralName] = []
    for host in hosts:
        try:
            sans.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            sans.append(x509.DNSName(host))
    builder = _builder(hosts[0], "Fixline Emulator Test CA", key.public_key())
    builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    builder = builder.add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
    builder = builder.add_extension(
        x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    builder = builder.add_extension(
        x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
    return builder.sign(ca_key, hashes.SHA256())


def _pem_key(key) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())


@dataclass(frozen=True)
class TlsBundle:
    ca_file: str
    cert_file: str
    key_file: str

    @classmethod
    def create(cls, directory: str, hosts: tuple[str, ...] = ("127.0.0.1", "localhost")) -> "TlsBundle":
        os.makedirs(directory, exist_ok=True)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_cert = _make_ca(ca_key)
        leaf_key = ec.generate_private_key(ec.SECP256R1())
        leaf = _make_leaf(leaf_key, ca_key, ca_cert, list(hosts))
        bundle = cls(os.path.join(directory, "ca.pem"), os.path.join(directory, "cert.pem"),
                     os.path.join(directory, "key.pem"))
        ca_pem = ca_cert.public_bytes(serialization.Encoding.PEM)
        with open(bundle.ca_file, "wb") as f:
            f.write(ca_pem)
        with open(bundle.cert_file, "wb") as f:
            f.write(leaf.public_bytes(serialization.Encoding.PEM) + ca_pem)
        with open(bundle.key_file, "wb") as f:
            f.write(_pem_key(leaf_key))
        return bundle

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert_file, self.key_file)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """An SSLContext that trusts (only) this bundle's CA."""
        return ssl.create_default_context(cafile=self.ca_file)
