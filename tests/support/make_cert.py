#!/usr/bin/env python3
"""Make a throwaway CA and a server certificate for aie's TLS tests.

    make_cert.py DIR

writes into DIR (created if missing):
  ca.pem      the CA certificate: the tests trust this as a root
  server.pem  the server certificate, issued by that CA, valid for the
              names "localhost" and the IP 127.0.0.1 (subjectAltName)
  server.key  the server's private key (PKCS#8 PEM, unencrypted)

Keys are ECDSA P-256 and the extensions follow what strict verifiers such as
rustls/webpki require (CA basicConstraints + keyCertSign, leaf serverAuth EKU,
SKI/AKI).  The CA key is never written: nothing else can be signed with it.
Each run makes a new CA; certificates are valid from one hour ago for 30 days.
"""

import datetime
import ipaddress
import os
import sys

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def name(common_name):
    return x509.Name([
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "aie tests"),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def write(path, data, mode=0o644):
    """Write atomically (temp file + rename) with the given permissions."""
    tmp = f"{path}.{os.getpid()}.tmp"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def main(argv):
    if len(argv) != 1 or argv[0].startswith("-"):
        sys.stderr.write("usage: make_cert.py DIR\n")
        return 2
    out = argv[0]
    os.makedirs(out, exist_ok=True)

    now = datetime.datetime.now(datetime.timezone.utc)
    not_before = now - datetime.timedelta(hours=1)
    not_after = now + datetime.timedelta(days=30)

    # --- the CA ---------------------------------------------------------------
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = name("aie test CA")
    ca_ski = x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key())
    ca_cert = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=True, crl_sign=True,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(ca_ski, critical=False)
        .sign(ca_key, hashes.SHA256())
    )

    # --- the server certificate -----------------------------------------------
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(name("localhost"))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(
            x509.SubjectAlternativeName([
                x509.DNSName("localhost"),
                x509.IPAddress(ipaddress.IPv4Address("127.0.0.1")),
            ]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True, content_commitment=False,
                key_encipherment=False, data_encipherment=False,
                key_agreement=False, key_cert_sign=False, crl_sign=False,
                encipher_only=False, decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ca_ski),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )

    pem = serialization.Encoding.PEM
    write(os.path.join(out, "ca.pem"), ca_cert.public_bytes(pem))
    write(os.path.join(out, "server.pem"), cert.public_bytes(pem))
    write(
        os.path.join(out, "server.key"),
        key.private_bytes(
            pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ),
        mode=0o600,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
