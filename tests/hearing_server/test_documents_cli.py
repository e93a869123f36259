"""``hearing-server minutes verify``, ``export`` and ``export verify`` on this server's files:
the exit status says whether the file is what was signed; the court's own certificate
(PKCS#12) signs instead of the server's key when it is configured."""

from __future__ import annotations

import asyncio
import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from hearing_server.app import build_service
from hearing_server.bus import LocalEventBus
from hearing_server.cli import main
from hearing_server.document_signing import DocumentSigner, trusted_certificates, verify_pdf
from hearing_server.persistence.database import Database
from hearing_server.services import utc_now
from hearing_server.settings import load_settings
from recorder.signing import SERVER_CERTIFICATE_FILE, ServerKey, server_certificate
from rooms.cases import Case, CaseType, Instance
from rooms.participants import Actor
from rooms.roles import Role
from tests.recorder.recording_fixture import make_recording

CLI = Actor(id="cli", is_system=True)


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("HEARING_DATABASE_URL", "HEARING_REDIS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HEARING_CONFIG", str(tmp_path / "none.toml"))
    monkeypatch.setenv("HEARING_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HEARING_RECORDINGS_DIR", str(tmp_path / "recordings"))
    monkeypatch.setenv("HEARING_EXPORT_RECORDING_MAX_MB", "0")
    monkeypatch.setenv("HEARING_PUBLIC_BASE_URL", "https://toa.example.vn")
    return tmp_path


def _signed_hearing() -> str:
    """A hearing on this server's SQLite database whose minutes the panel signed."""

    async def run() -> str:
        settings = load_settings()
        database = Database(settings.effective_database_url, settings.jurisdiction())
        try:
            await database.upgrade()
            service = build_service(settings, database, LocalEventBus(), utc_now)
            court = await service.ensure_court(
                settings.court.code, settings.court.name, settings.court.time_zone
            )
            case = Case(court.id, "45/2026/HS-ST", CaseType.CRIMINAL, Instance.FIRST_INSTANCE)
            start = datetime(2026, 11, 23, 7, tzinfo=UTC)
            session = await service.schedule_hearing(CLI, case, start, start + timedelta(hours=2))
            point = session.central_point.id
            for name, role in (
                ("Nguyễn Văn Chủ", Role.PRESIDING_JUDGE),
                ("Lê Thị Thư", Role.CLERK),
            ):
                person, _ = await service.add_participant(CLI, session.id, name, role, point)
                now = service.clock()
                await service.change_minutes(
                    person,
                    session.id,
                    "minutes.sign",
                    lambda m, p=person, r=role, at=now: m.sign(r, p, at),
                    {},
                )
            return session.id
        finally:
            await database.dispose()

    return asyncio.run(run())


def test_export_writes_a_bundle_that_verifies_and_a_changed_one_fails(
    server: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sid = _signed_hearing()
    recording = make_recording(server / "recordings", session_id=sid, stopped=True)
    assert main(["recordings", "seal", recording.recording_id]) == 0
    recording.composed_video.parent.mkdir(parents=True, exist_ok=True)
    recording.composed_video.write_bytes(b"\x00" * 2048)  # over the 0 MB limit: linked
    out = server / "ho-so.zip"
    assert main(["export", sid, "--output", str(out)]) == 0
    assert "SHA-256" in capsys.readouterr().out
    assert main(["export", sid, "--output", str(out)]) == 2  # never written over
    capsys.readouterr()

    assert main(["export", "verify", str(out), "--json"]) == 0
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["ok"] and verdict["checked_files"] >= 6
    with zipfile.ZipFile(out) as bundle:
        index = json.loads(bundle.read("index.json"))
        names = set(bundle.namelist())
    assert f"recordings/{recording.recording_id}/manifest.json" in names
    [link] = index["links"]
    assert link["url"] == f"https://toa.example.vn/staff/recordings/{recording.recording_id}"
    assert link["size"] == 2048 and len(link["sha256"]) == 64

    changed = server / "changed.zip"
    with zipfile.ZipFile(out) as old, zipfile.ZipFile(changed, "w") as new:
        for item in old.infolist():
            data = old.read(item)
            if item.filename.endswith("manifest.json"):
                data += b" "
            new.writestr(item, data)
    assert main(["export", "verify", str(changed)]) == 1
    assert "manifest.json: its SHA-256 does not match the index" in capsys.readouterr().err


def test_export_of_unknown_or_unsigned_hearings_is_refused(
    server: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _signed_hearing()
    assert main(["export", "no-such-hearing", "--output", str(server / "x.zip")]) == 1
    assert not (server / "x.zip").exists()
    assert main(["export", "verify"]) == 2
    assert main(["export", "verify", str(server / "missing.zip")]) == 1
    assert "not a ZIP file" in capsys.readouterr().err


def test_minutes_verify_says_who_signed_and_fails_after_one_byte(
    server: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    sid = _signed_hearing()
    out = server / "ho-so.zip"
    assert main(["export", sid, "--output", str(out)]) == 0
    with zipfile.ZipFile(out) as bundle:
        pdf = bundle.read("minutes/bien-ban-45-2026-HS-ST.pdf")
    path = server / "bien-ban.pdf"
    path.write_bytes(pdf)
    capsys.readouterr()
    assert main(["minutes", "verify", str(path)]) == 0
    printed = capsys.readouterr().out
    assert "Máy chủ phiên tòa trực tuyến" in printed
    assert "unchanged since signing: yes" in printed and "signed at: 20" in printed

    changed = bytearray(pdf)
    changed[pdf.index(b"stream") + 40] ^= 0x01
    path.write_bytes(bytes(changed))
    assert main(["minutes", "verify", str(path), "--json"]) == 1
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["ok"] is False and verdict["unchanged"] is False

    # Far from the server, a PDF checks against the certificate a reader was given.
    path.write_bytes(pdf)
    other = server / "other.pem"
    key = ServerKey.load_or_create(server / "elsewhere")
    other.write_bytes(
        server_certificate(key, server / "elsewhere").public_bytes(serialization.Encoding.PEM)
    )
    assert main(["minutes", "verify", str(path), "--trust", str(other)]) == 1
    assert "not one this server trusts" in capsys.readouterr().err
    mine = server / "data" / SERVER_CERTIFICATE_FILE
    assert main(["minutes", "verify", str(path), "--trust", str(mine)]) == 0


def test_the_server_certificate_is_made_once_and_follows_its_key(tmp_path: Path) -> None:
    key = ServerKey.load_or_create(tmp_path)
    first = server_certificate(key, tmp_path)
    assert server_certificate(key, tmp_path) == first
    (tmp_path / "recording_signing_key.pem").unlink()
    replaced = ServerKey.load_or_create(tmp_path)
    second = server_certificate(replaced, tmp_path)
    assert second != first
    assert second.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    ) == replaced.private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )


def _court_p12(path: Path) -> x509.Certificate:
    """A court certificate from a test CA, valid far around any date a test runs on."""
    since, until = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)

    def name(text: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("CA thử nghiệm"))
        .issuer_name(name("CA thử nghiệm"))
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(since)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    court_key = ec.generate_private_key(ec.SECP256R1())
    court = (
        x509.CertificateBuilder()
        .subject_name(name("Tòa án nhân dân Quận 1"))
        .issuer_name(ca.subject)
        .public_key(court_key.public_key())
        .serial_number(2)
        .not_valid_before(since)
        .not_valid_after(until)
        .add_extension(  # what a CA puts on a certificate for signing documents
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
        .sign(ca_key, hashes.SHA256())
    )
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"court", court_key, court, [ca], serialization.BestAvailableEncryption(b"pw")
        )
    )
    return ca


def test_a_configured_court_certificate_signs_the_pdf(
    server: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ca = _court_p12(server / "court.p12")
    monkeypatch.setenv("HEARING_RECORDING_COURT_PKCS12", str(server / "court.p12"))
    monkeypatch.setenv("HEARING_RECORDING_COURT_PKCS12_PASSWORD", "pw")
    settings = load_settings()
    signer = DocumentSigner.of(settings)
    assert signer.is_court and "Quận 1" in signer.subject
    sid = _signed_hearing()
    out = server / "ho-so.zip"
    assert main(["export", sid, "--output", str(out)]) == 0
    assert main(["export", "verify", str(out)]) == 0
    assert "Tòa án nhân dân Quận 1" in capsys.readouterr().out
    with zipfile.ZipFile(out) as bundle:
        pdf = bundle.read("minutes/bien-ban-45-2026-HS-ST.pdf")
        index = json.loads(bundle.read("index.json"))
    assert index["signer"]["court_certificate"] is True
    # The court's CA is enough to trust it, as a reader of the case file would.
    verdict = asyncio.run(verify_pdf(pdf, [ca]))
    assert verdict.ok and "Quận 1" in verdict.signer
    assert asyncio.run(verify_pdf(pdf, trusted_certificates(settings))).ok
