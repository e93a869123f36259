"""Signatures over a recording's manifest: the server's Ed25519 key always, the court's own
certificate (chữ ký số from its certification authority) as a detached CMS signature when
one is configured.

The server key is made on first use beside the database and never leaves the data
directory; its public half is published by the API so anyone can check a manifest with
standard tools. A court's PKCS#12 file gives a CMS signature that ``openssl cms -verify``
checks against the court's CA.
"""

from __future__ import annotations

import base64
import hashlib
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from asn1crypto import cms as asn1_cms
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12
from cryptography.x509.oid import NameOID

__all__ = [
    "SERVER_CERTIFICATE_FILE",
    "SERVER_KEY_FILE",
    "CmsSignature",
    "CourtCertificate",
    "ServerKey",
    "server_certificate",
    "verify_cms",
    "verify_ed25519",
]

SERVER_KEY_FILE = "recording_signing_key.pem"
SERVER_CERTIFICATE_FILE = "recording_signing_cert.pem"
SERVER_CERTIFICATE_NAME = "Máy chủ phiên tòa trực tuyến (khóa của máy chủ)"


@dataclass(frozen=True, slots=True)
class ServerKey:
    """The server's own Ed25519 signing key."""

    private: Ed25519PrivateKey

    @classmethod
    def load_or_create(cls, data_dir: Path) -> ServerKey:
        path = data_dir / SERVER_KEY_FILE
        if path.exists():
            loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if not isinstance(loaded, Ed25519PrivateKey):
                raise ValueError(f"{path} does not hold an Ed25519 key")
            return cls(loaded)
        data_dir.mkdir(parents=True, exist_ok=True)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process made it first: use theirs
            return cls.load_or_create(data_dir)
        with os.fdopen(fd, "wb") as handle:
            handle.write(pem)
            handle.flush()
            os.fsync(handle.fileno())
        return cls(key)

    def sign(self, data: bytes) -> bytes:
        """The signature as written to ``manifest.sig``: base64 of the 64 raw bytes."""
        return base64.b64encode(self.private.sign(data)) + b"\n"

    @property
    def public_key_pem(self) -> str:
        return (
            self.private.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode("ascii")
        )

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the raw public key, to name which key signed."""
        raw = self.private.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )
        return hashlib.sha256(raw).hexdigest()


def server_certificate(key: ServerKey, data_dir: Path) -> x509.Certificate:
    """A self-signed certificate for the server's key, made once and kept beside it: PDF
    (PAdES) and CMS signatures name their signer by a certificate. One that no longer names
    the key (the key was replaced) is made again."""
    path = data_dir / SERVER_CERTIFICATE_FILE
    public = key.private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    if path.exists():
        certificate = x509.load_pem_x509_certificate(path.read_bytes())
        held = certificate.public_key()
        if isinstance(held, Ed25519PublicKey) and public == held.public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        ):
            return certificate
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, SERVER_CERTIFICATE_NAME),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, key.fingerprint[:32]),
        ]
    )
    now = datetime.now(UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(NO_EXPIRY)  # the key has no end of life either (RFC 5280 4.1.2.5)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key.private, None)
    )
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    try:
        if path.exists():  # one for a replaced key: this one takes its place
            os.replace(temporary, path)
        else:  # created once: a process that loses the race uses the winner's
            os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink(missing_ok=True)
    return x509.load_pem_x509_certificate(path.read_bytes())


NO_EXPIRY = datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def verify_ed25519(public_key_pem: str, data: bytes, signature: bytes) -> bool:
    """Whether ``signature`` (as in ``manifest.sig``) is the key's signature over ``data``."""
    key = serialization.load_pem_public_key(public_key_pem.encode("ascii"))
    if not isinstance(key, Ed25519PublicKey):
        return False
    try:
        key.verify(base64.b64decode(signature.strip(), validate=True), data)
    except (InvalidSignature, ValueError):
        return False
    return True


@dataclass(frozen=True, slots=True)
class CourtCertificate:
    """A court's certificate and key, from the PKCS#12 file its CA issued."""

    certificate: x509.Certificate
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

    @classmethod
    def from_pkcs12(cls, path: Path, password: str | None) -> CourtCertificate:
        key, certificate, _ = pkcs12.load_key_and_certificates(
            path.read_bytes(), None if password is None else password.encode("utf-8")
        )
        if certificate is None:
            raise ValueError(f"{path} holds no certificate")
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise ValueError(f"{path}: CMS signatures need an RSA or EC key")
        return cls(certificate, key)

    def sign_detached(self, data: bytes) -> bytes:
        """A detached CMS (PKCS#7) signature in DER: ``manifest.p7s``."""
        return (
            pkcs7.PKCS7SignatureBuilder()
            .set_data(data)
            .add_signer(self.certificate, self.key, hashes.SHA256())
            .sign(
                serialization.Encoding.DER,
                [pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.Binary],
            )
        )


@dataclass(frozen=True, slots=True)
class CmsSignature:
    valid: bool
    signer: str
    "The signing certificate's subject, as RFC 4514 text ('' when unreadable)."
    problem: str = ""


def verify_cms(der: bytes, data: bytes) -> CmsSignature:
    """Check a detached CMS signature over ``data``: the message digest matches and the
    signer's certificate's key signed the signed attributes. Whether that certificate is
    the court's, issued by a CA the reader trusts, is for ``openssl cms -verify -CAfile``."""
    try:
        content = asn1_cms.ContentInfo.load(der)
        signed = content["content"]
        signer_info = signed["signer_infos"][0]
        certificate = _signer_certificate(signed, signer_info)
    except (ValueError, KeyError, IndexError, TypeError) as exc:
        return CmsSignature(False, "", f"not a CMS signature: {exc}")
    subject = certificate.subject.rfc4514_string()
    if signer_info["digest_algorithm"]["algorithm"].native != "sha256":
        return CmsSignature(False, subject, "digest is not SHA-256")
    attributes = signer_info["signed_attrs"]
    digests = [a["values"][0].native for a in attributes if a["type"].native == "message_digest"]
    if digests != [hashlib.sha256(data).digest()]:
        return CmsSignature(False, subject, "the signed digest does not match the manifest")
    signed_bytes = b"\x31" + attributes.dump()[1:]  # the attributes are signed as a SET
    signature = signer_info["signature"].native
    public_key = certificate.public_key()
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, signed_bytes, padding.PKCS1v15(), hashes.SHA256())
        elif isinstance(public_key, ec.EllipticCurvePublicKey):
            public_key.verify(signature, signed_bytes, ec.ECDSA(hashes.SHA256()))
        else:
            return CmsSignature(False, subject, "unsupported key type")
    except InvalidSignature:
        return CmsSignature(False, subject, "the signature does not verify")
    return CmsSignature(True, subject)


def _signer_certificate(
    signed: asn1_cms.SignedData, signer_info: asn1_cms.SignerInfo
) -> x509.Certificate:
    serial = signer_info["sid"].chosen["serial_number"].native
    for choice in signed["certificates"]:
        certificate = x509.load_der_x509_certificate(choice.chosen.dump())
        if certificate.serial_number == serial:
            return certificate
    raise ValueError("the signer's certificate is not in the signature")
