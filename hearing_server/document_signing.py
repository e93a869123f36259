"""Who signs the court's documents (the minutes' PDF, a case-file bundle's index) and how a
signature is checked.

One place decides the signer: the court's own certificate when one is configured (the same
PKCS#12 file and password the recordings' manifests use), otherwise the server's Ed25519 key
with the self-signed certificate kept beside it. PDFs get a PAdES signature and other files
a detached CMS signature, both made and checked with pyHanko.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from asn1crypto import cms as asn1_cms
from asn1crypto import keys as asn1_keys
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.validation import async_validate_detached_cms, async_validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.settings import KeyUsageConstraints
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

from hearing_server.settings import Settings
from recorder.signing import SERVER_KEY_FILE, CourtCertificate, ServerKey, server_certificate

__all__ = [
    "DocumentSigner",
    "PdfVerdict",
    "SignatureVerdict",
    "court_certificate",
    "load_certificates",
    "trusted_certificates",
    "verify_detached",
    "verify_pdf",
]

SIGNATURE_FIELD = "ChuKyBienBan"


def court_certificate(settings: Settings) -> CourtCertificate | None:
    """The court's certificate from the settings, or None when none is configured."""
    if settings.recording_court_pkcs12 is None:
        return None
    password = settings.recording_court_pkcs12_password
    return CourtCertificate.from_pkcs12(
        settings.recording_court_pkcs12,
        None if password is None else password.get_secret_value(),
    )


def trusted_certificates(settings: Settings) -> list[x509.Certificate]:
    """The certificates this server signs with: what a check on this server trusts. A check
    makes no key: a server that never signed trusts only the court's certificate."""
    trusted = []
    if (settings.data_dir / SERVER_KEY_FILE).exists():
        key = ServerKey.load_or_create(settings.data_dir)
        trusted.append(server_certificate(key, settings.data_dir))
    court = court_certificate(settings)
    if court is not None:
        trusted.insert(0, court.certificate)
    return trusted


@dataclass(frozen=True, slots=True)
class DocumentSigner:
    """A certificate and its key, ready to sign PDFs and detached data."""

    certificate: x509.Certificate
    signer: signers.SimpleSigner
    is_court: bool

    @classmethod
    def of(cls, settings: Settings) -> DocumentSigner:
        """The court's certificate when configured, else the server's key."""
        court = court_certificate(settings)
        if court is not None:
            key_der = court.key.private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            return cls(court.certificate, _simple_signer(court.certificate, key_der), True)
        key = ServerKey.load_or_create(settings.data_dir)
        certificate = server_certificate(key, settings.data_dir)
        key_der = key.private.private_bytes(
            serialization.Encoding.DER,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return cls(certificate, _simple_signer(certificate, key_der), False)

    @property
    def subject(self) -> str:
        return self.certificate.subject.rfc4514_string()

    @property
    def certificate_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    async def sign_pdf(self, pdf: bytes, reason: str, location: str) -> bytes:
        """A PAdES signature covering the whole file as it is now."""
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
        meta = signers.PdfSignatureMetadata(
            field_name=SIGNATURE_FIELD,
            subfilter=fields.SigSeedSubFilter.PADES,
            reason=reason,
            location=location,
        )
        out = await signers.async_sign_pdf(writer, meta, signer=self.signer)
        signed: bytes = out.getvalue()
        return signed

    async def sign_detached(self, data: bytes) -> bytes:
        """A detached CMS signature (DER) over ``data``."""
        content = await self.signer.async_sign_general_data(data, _digest_for(self.certificate))
        der: bytes = content.dump()
        return der


def _simple_signer(certificate: x509.Certificate, key_der: bytes) -> signers.SimpleSigner:
    cert = asn1_x509.Certificate.load(certificate.public_bytes(serialization.Encoding.DER))
    return signers.SimpleSigner(
        signing_cert=cert,
        signing_key=asn1_keys.PrivateKeyInfo.load(key_der),
        cert_registry=SimpleCertificateStore(),  # type: ignore[no-untyped-call]
    )


def _digest_for(certificate: x509.Certificate) -> str:
    """Ed25519 signs with SHA-512 in CMS (RFC 8419); the court's RSA/EC keys with SHA-256."""
    return "sha512" if isinstance(certificate.public_key(), Ed25519PublicKey) else "sha256"


@dataclass(frozen=True, slots=True)
class SignatureVerdict:
    """What a check of one signature found."""

    intact: bool
    "The signed bytes hash to what was signed and the signature verifies."
    trusted: bool
    "The signing certificate is one of the trusted certificates (or chains to one)."
    signer: str
    signed_at: datetime | None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return self.intact and self.trusted and not self.problem


@dataclass(frozen=True, slots=True)
class PdfVerdict(SignatureVerdict):
    unchanged: bool = False
    "Nothing was added to the file after the signature."

    @property
    def ok(self) -> bool:
        return self.intact and self.trusted and self.unchanged and not self.problem


SIGNING_KEY_USAGE = KeyUsageConstraints(
    key_usage={"digital_signature", "non_repudiation"}, match_all_key_usages=False
)
"""A court's certificate from its CA carries one or both; a certificate with neither (an
encryption-only one) never signs the court's documents."""


def _context(trusted: list[x509.Certificate]) -> ValidationContext:
    roots = [
        asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in trusted
    ]
    return ValidationContext(trust_roots=roots, allow_fetching=False)


async def verify_pdf(pdf: bytes, trusted: list[x509.Certificate]) -> PdfVerdict:
    """The file's one signature: intact, by a trusted certificate, covering the whole file."""
    try:
        reader = PdfFileReader(io.BytesIO(pdf))
        embedded = reader.embedded_signatures
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        return PdfVerdict(False, False, "", None, f"not a readable PDF: {exc}")
    if len(embedded) != 1:
        return PdfVerdict(False, False, "", None, f"{len(embedded)} signatures, expected one")
    try:
        status = await async_validate_pdf_signature(
            embedded[0], _context(trusted), key_usage_settings=SIGNING_KEY_USAGE
        )
    except (SignatureValidationError, PdfError, ValueError, KeyError, TypeError) as exc:
        return PdfVerdict(False, False, "", None, f"the signature cannot be checked: {exc}")
    signer = status.signing_cert.subject.human_friendly if status.signing_cert else ""
    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    problem = ""
    if not status.intact:
        problem = "the document was changed after it was signed"
    elif not status.valid:
        problem = "the signature does not verify"
    elif not whole:
        problem = "something was added to the file after the signature"
    elif not status.trusted:
        problem = _untrusted(status)
    return PdfVerdict(
        status.intact and status.valid,
        bool(status.trusted),
        signer,
        status.signer_reported_dt,
        problem,
        unchanged=status.intact and whole,
    )


async def verify_detached(
    data: bytes, signature: bytes, trusted: list[x509.Certificate]
) -> SignatureVerdict:
    """A detached CMS signature over ``data``, by a trusted certificate."""
    try:
        content = asn1_cms.ContentInfo.load(signature)
        signed_data = content["content"]
        status = await async_validate_detached_cms(
            data, signed_data, _context(trusted), key_usage_settings=SIGNING_KEY_USAGE
        )
    except (SignatureValidationError, ValueError, KeyError, TypeError) as exc:
        return SignatureVerdict(False, False, "", None, f"not a readable signature: {exc}")
    signer = status.signing_cert.subject.human_friendly if status.signing_cert else ""
    problem = ""
    if not (status.intact and status.valid):
        problem = "the signed data was changed or the signature does not verify"
    elif not status.trusted:
        problem = _untrusted(status)
    return SignatureVerdict(
        status.intact and status.valid,
        bool(status.trusted),
        signer,
        status.signer_reported_dt,
        problem,
    )


def _untrusted(status: Any) -> str:
    indication = getattr(status, "trust_problem_indic", None)
    detail = f" ({indication.name.lower()})" if indication is not None else ""
    return f"the signing certificate is not one this server trusts{detail}"


def load_certificates(path: Path) -> list[x509.Certificate]:
    """Certificates (PEM) a reader trusts, for a check far from the server."""
    return x509.load_pem_x509_certificates(path.read_bytes())
