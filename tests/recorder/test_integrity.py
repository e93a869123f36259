"""Sealing and verifying a recording: every tampering is named, a pause is not one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from hearing_server.cli import main
from recorder.integrity import VerificationCache, seal_recording, verify_recording
from recorder.layout import RecordingPaths
from recorder.signing import CourtCertificate, ServerKey, verify_cms
from tests.recorder.recording_fixture import METADATA, make_recording


@pytest.fixture
def key(tmp_path: Path) -> ServerKey:
    return ServerKey.load_or_create(tmp_path / "data")


@pytest.fixture
def sealed(tmp_path: Path, key: ServerKey) -> RecordingPaths:
    paths = make_recording(tmp_path / "recordings")
    seal_recording(paths, key)
    return paths


def kinds(paths: RecordingPaths, key: ServerKey) -> list[tuple[str, str]]:
    return [(p.kind, p.file) for p in verify_recording(paths, key.public_key_pem).problems]


def test_a_sealed_recording_verifies_with_its_metadata_and_a_pause_as_a_gap(
    sealed: RecordingPaths, key: ServerKey
) -> None:
    result = verify_recording(sealed, key.public_key_pem)
    assert result.ok, result.problems
    assert result.checked_files == 5  # four segments and the journal
    manifest = json.loads(sealed.manifest.read_bytes())
    assert manifest["metadata"] == METADATA
    assert [p["role"] for p in manifest["participants"]] == ["presiding_judge", "defendant"]
    assert [(g["kind"], g["reason"]) for g in manifest["gaps"]] == [("paused", "judge")]
    assert all(abs(s["duration"] - 0.9) < 0.15 for s in manifest["segments"])


def test_a_flipped_byte_is_named(sealed: RecordingPaths, key: ServerKey) -> None:
    segment = sealed.track("p2-camera-1").segment(2, "webm")
    data = bytearray(segment.read_bytes())
    data[len(data) // 2] ^= 0x01
    segment.write_bytes(bytes(data))
    assert kinds(sealed, key) == [("changed", "tracks/p2-camera-1/00002.webm")]


def test_the_cache_keeps_a_verification_until_a_file_changes_even_with_its_old_mtime(
    sealed: RecordingPaths, key: ServerKey
) -> None:
    cache = VerificationCache()
    first = cache.verify(sealed, key.public_key_pem)
    assert first.ok
    assert cache.verify(sealed, key.public_key_pem) is first

    segment = sealed.track("p2-camera-1").segment(2, "webm")
    before = segment.stat()
    data = bytearray(segment.read_bytes())
    data[len(data) // 2] ^= 0x01
    segment.write_bytes(bytes(data))
    while segment.stat().st_ctime_ns == before.st_ctime_ns:  # a coarse clock tick: write again
        segment.write_bytes(bytes(data))
    os.utime(segment, ns=(before.st_atime_ns, before.st_mtime_ns))  # size and mtime as before
    again = cache.verify(sealed, key.public_key_pem)
    assert [(p.kind, p.file) for p in again.problems] == [
        ("changed", "tracks/p2-camera-1/00002.webm")
    ]


def test_a_deleted_segment_is_named(sealed: RecordingPaths, key: ServerKey) -> None:
    sealed.track("p1-camera-1").segment(1, "webm").unlink()
    assert kinds(sealed, key) == [("missing", "tracks/p1-camera-1/00001.webm")]


def test_two_swapped_segments_are_named_as_reordered(
    sealed: RecordingPaths, key: ServerKey
) -> None:
    track = sealed.track("p1-camera-1")
    first, second = track.segment(1, "webm"), track.segment(2, "webm")
    swap = first.with_suffix(".swap")
    first.rename(swap)
    second.rename(first)
    swap.rename(second)
    assert kinds(sealed, key) == [
        ("reordered", "tracks/p1-camera-1/00001.webm"),
        ("reordered", "tracks/p1-camera-1/00002.webm"),
    ]


def test_an_extra_segment_is_named(sealed: RecordingPaths, key: ServerKey) -> None:
    track = sealed.track("p1-camera-1")
    shutil.copy(track.segment(2, "webm"), track.segment(3, "webm"))
    assert kinds(sealed, key) == [("extra", "tracks/p1-camera-1/00003.webm")]


def test_an_edited_manifest_fails_its_signature_and_a_removed_entry_breaks_the_chain(
    sealed: RecordingPaths, key: ServerKey
) -> None:
    manifest = json.loads(sealed.manifest.read_bytes())
    del manifest["segments"][1]
    sealed.manifest.write_text(json.dumps(manifest))
    found = kinds(sealed, key)
    assert ("signature_invalid", "manifest.sig") in found
    assert ("chain_broken", "tracks/p1-camera-1/00002.webm") not in found
    assert found[1][0] == "chain_broken"
    assert ("extra", "tracks/p1-camera-1/00002.webm") in found


def test_another_servers_key_does_not_verify(sealed: RecordingPaths, tmp_path: Path) -> None:
    stranger = ServerKey.load_or_create(tmp_path / "elsewhere")
    result = verify_recording(sealed, stranger.public_key_pem)
    assert not result.ok
    assert [p.kind for p in result.problems] == ["signature_invalid"]


def test_the_key_is_kept_private_and_reused(tmp_path: Path, key: ServerKey) -> None:
    path = tmp_path / "data" / "recording_signing_key.pem"
    assert path.stat().st_mode & 0o777 == 0o600
    assert ServerKey.load_or_create(tmp_path / "data").fingerprint == key.fingerprint


def _court_pkcs12(tmp_path: Path) -> tuple[Path, Path]:
    """A court certificate issued by a test CA, as a PKCS#12 file, and the CA's PEM."""
    now = datetime(2030, 1, 1, tzinfo=UTC)

    def name(text: str) -> x509.Name:
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, text)])

    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(name("Test CA"))
        .issuer_name(name("Test CA"))
        .public_key(ca_key.public_key())
        .serial_number(1)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=36500))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    court_key = ec.generate_private_key(ec.SECP256R1())
    court = (
        x509.CertificateBuilder()
        .subject_name(name("TAND Quan 1"))
        .issuer_name(ca.subject)
        .public_key(court_key.public_key())
        .serial_number(2)
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=36500))
        .sign(ca_key, hashes.SHA256())
    )
    p12 = tmp_path / "court.p12"
    p12.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"court", court_key, court, [ca], serialization.BestAvailableEncryption(b"pw")
        )
    )
    ca_pem = tmp_path / "ca.pem"
    ca_pem.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    return p12, ca_pem


def test_a_court_certificate_adds_a_cms_signature_that_verifies(
    tmp_path: Path, key: ServerKey
) -> None:
    p12, ca_pem = _court_pkcs12(tmp_path)
    paths = make_recording(tmp_path / "recordings")
    seal_recording(paths, key, CourtCertificate.from_pkcs12(p12, "pw"))
    result = verify_recording(paths, key.public_key_pem)
    assert result.ok, result.problems
    assert result.signed_by_court == "CN=TAND Quan 1"
    data = bytearray(paths.manifest.read_bytes())
    data[10] ^= 0x01
    assert not verify_cms(paths.manifest_cms.read_bytes(), bytes(data)).valid
    openssl = shutil.which("openssl")
    if openssl is None:
        return
    # Standard tools agree: the way docs/recording.md tells a court to check it.
    checked = subprocess.run(
        [
            openssl,
            "cms",
            "-verify",
            "-binary",
            "-inform",
            "DER",
            "-in",
            str(paths.manifest_cms),
            "-content",
            str(paths.manifest),
            "-CAfile",
            str(ca_pem),
            "-purpose",
            "any",
            "-attime",
            "1893456000",
            "-out",
            "/dev/null",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stderr


def test_the_cli_verifies_and_catches_a_flipped_byte(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HEARING_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HEARING_RECORDINGS_DIR", str(tmp_path / "recordings"))
    paths = make_recording(tmp_path / "recordings")
    assert main(["recordings", "seal", "r-fixture"]) == 0
    assert main(["recordings", "verify", "r-fixture"]) == 0
    assert "intact" in capsys.readouterr().out
    segment = paths.track("p1-camera-1").segment(1, "webm")
    data = bytearray(segment.read_bytes())
    data[-5] ^= 0xFF
    segment.write_bytes(bytes(data))
    assert main(["recordings", "verify", str(paths.root), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["problems"] == [
        {
            "kind": "changed",
            "file": "tracks/p1-camera-1/00001.webm",
            "detail": "same size, different content",
        }
    ]
    assert main(["recordings", "list", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["case_number"] == METADATA["case_number"]
