"""Seal a recording (manifest + signatures) and check it later, saying exactly what differs.

Sealing writes ``manifest.json`` from what is on disk, then ``manifest.sig`` (the server's
Ed25519 key) and, when the court has its own certificate, ``manifest.p7s``. Verifying reads
the manifest as it is on disk, checks both signatures over its bytes, checks the chain of
segment entries inside it, and compares every listed file with the file on disk: a file can
be changed, missing, extra, or in another file's place (reordered).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from recorder.layout import RecordingPaths
from recorder.manifest import (
    CHAIN_START,
    build_manifest,
    chain_hash,
    file_facts,
    write_atomically,
    write_manifest,
)
from recorder.signing import CourtCertificate, ServerKey, verify_cms, verify_ed25519

__all__ = ["Problem", "Verification", "VerificationCache", "seal_recording", "verify_recording"]

ProblemKind = Literal[
    "changed",
    "missing",
    "extra",
    "reordered",
    "chain_broken",
    "manifest_missing",
    "manifest_unreadable",
    "signature_missing",
    "signature_invalid",
    "cms_invalid",
]


@dataclass(frozen=True, slots=True)
class Problem:
    kind: ProblemKind
    file: str
    "Relative to the recording's directory."
    detail: str = ""

    def __str__(self) -> str:
        return f"{self.kind}: {self.file}" + (f" ({self.detail})" if self.detail else "")


@dataclass(slots=True)
class Verification:
    recording: Path
    problems: list[Problem] = field(default_factory=list)
    checked_files: int = 0
    signed_by_server: bool = False
    signed_by_court: str | None = None
    "The court certificate's subject when a valid CMS signature is there."

    @property
    def ok(self) -> bool:
        return not self.problems and self.signed_by_server

    def as_dict(self) -> dict[str, Any]:
        return {
            "recording": str(self.recording),
            "ok": self.ok,
            "checked_files": self.checked_files,
            "signed_by_server": self.signed_by_server,
            "signed_by_court": self.signed_by_court,
            "problems": [
                {"kind": p.kind, "file": p.file, "detail": p.detail} for p in self.problems
            ],
        }


def seal_recording(
    paths: RecordingPaths, key: ServerKey, court: CourtCertificate | None = None
) -> dict[str, Any]:
    """Write the manifest and its signatures for what is on disk now; returns the manifest."""
    manifest = build_manifest(paths)
    manifest["signing_key"] = key.fingerprint
    data = write_manifest(paths, manifest)
    write_atomically(paths.manifest_signature, key.sign(data))
    if court is not None:
        write_atomically(paths.manifest_cms, court.sign_detached(data))
    elif paths.manifest_cms.exists():
        paths.manifest_cms.unlink()  # an older court signature no longer covers these bytes
    return manifest


def verify_recording(paths: RecordingPaths, public_key_pem: str) -> Verification:
    result = Verification(paths.root)
    try:
        data = paths.manifest.read_bytes()
    except FileNotFoundError:
        result.problems.append(Problem("manifest_missing", paths.manifest.name))
        return result
    _check_signatures(paths, data, public_key_pem, result)
    try:
        manifest = json.loads(data)
        segments: list[dict[str, Any]] = list(manifest["segments"])
        others: list[dict[str, Any]] = [*manifest.get("composed", [])]
        if manifest.get("journal"):
            others.append(manifest["journal"])
    except (ValueError, KeyError, TypeError) as exc:
        result.problems.append(Problem("manifest_unreadable", paths.manifest.name, str(exc)))
        return result
    _check_chain(segments, manifest.get("chain_head"), result)
    _check_segments(paths, segments, result)
    for listed in others:
        _check_file(paths, listed, result)
    return result


def _check_signatures(
    paths: RecordingPaths, data: bytes, public_key_pem: str, result: Verification
) -> None:
    try:
        signature = paths.manifest_signature.read_bytes()
    except FileNotFoundError:
        result.problems.append(Problem("signature_missing", paths.manifest_signature.name))
    else:
        result.signed_by_server = verify_ed25519(public_key_pem, data, signature)
        if not result.signed_by_server:
            result.problems.append(
                Problem(
                    "signature_invalid",
                    paths.manifest_signature.name,
                    "the manifest is not what the server signed",
                )
            )
    if paths.manifest_cms.exists():
        cms = verify_cms(paths.manifest_cms.read_bytes(), data)
        if cms.valid:
            result.signed_by_court = cms.signer
        else:
            result.problems.append(Problem("cms_invalid", paths.manifest_cms.name, cms.problem))


def _check_chain(segments: list[dict[str, Any]], head: object, result: Verification) -> None:
    """The manifest's own entries, linked as they were sealed (a signature check already
    covers them; this names the entry where an unsigned edit would show)."""
    previous = CHAIN_START
    for entry in segments:
        if entry.get("previous") != previous or entry.get("chain") != chain_hash(entry):
            result.problems.append(
                Problem("chain_broken", str(entry.get("file")), "entry does not link")
            )
            return
        previous = str(entry["chain"])
    if head is not None and head != previous:
        result.problems.append(Problem("chain_broken", "manifest.json", "chain head differs"))


def _check_segments(
    paths: RecordingPaths, segments: list[dict[str, Any]], result: Verification
) -> None:
    listed = {str(entry["file"]): entry for entry in segments}
    by_hash = {str(entry["sha256"]): str(entry["file"]) for entry in segments}
    on_disk = {
        p.relative_to(paths.root).as_posix(): p
        for track in paths.tracks()
        for p in track.closed_segments()
    }
    for name, entry in listed.items():
        path = on_disk.get(name)
        if path is None:
            result.problems.append(Problem("missing", name))
            continue
        result.checked_files += 1
        facts = file_facts(path, media=False)
        if facts.sha256 == entry["sha256"]:
            continue
        elsewhere = by_hash.get(facts.sha256)
        if elsewhere is not None:
            result.problems.append(Problem("reordered", name, f"holds what {elsewhere} held"))
        else:
            result.problems.append(Problem("changed", name, _size_note(entry, facts.size)))
    for name in sorted(set(on_disk) - set(listed)):
        result.problems.append(Problem("extra", name, "not in the manifest"))


def _check_file(paths: RecordingPaths, entry: dict[str, Any], result: Verification) -> None:
    name = str(entry["file"])
    path = paths.root / name
    if not path.is_file():
        result.problems.append(Problem("missing", name))
        return
    result.checked_files += 1
    facts = file_facts(path, media=False)
    if facts.sha256 != entry["sha256"]:
        result.problems.append(Problem("changed", name, _size_note(entry, facts.size)))


def _size_note(entry: dict[str, Any], size: int) -> str:
    listed = entry.get("size")
    if listed == size:
        return "same size, different content"
    return f"{listed} bytes sealed, {size} bytes now"


Fingerprint = tuple[tuple[str, int, int, int], ...]


def _fingerprint(paths: RecordingPaths) -> Fingerprint:
    """Every file under the recording with its size, modification and change times: the
    change time (ctime) cannot be set back by a user, so any write shows here."""
    facts = []
    for path in sorted(paths.root.rglob("*")):
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        if path.is_file():
            facts.append(
                (
                    str(path.relative_to(paths.root)),
                    stat.st_size,
                    stat.st_mtime_ns,
                    stat.st_ctime_ns,
                )
            )
    return tuple(facts)


class VerificationCache:
    """Verifications kept while no file of the recording changes: a staff page or the API
    looking at a recording of hours must not hash every segment again on each view."""

    def __init__(self, capacity: int = 128) -> None:
        self._capacity = capacity
        self._lock = threading.Lock()
        self._entries: OrderedDict[tuple[Path, str], tuple[Fingerprint, Verification]] = (
            OrderedDict()
        )

    def verify(self, paths: RecordingPaths, public_key_pem: str) -> Verification:
        """The verification of the recording as it is now (runs in a worker thread)."""
        key = (paths.root, public_key_pem)
        before = _fingerprint(paths)
        with self._lock:
            kept = self._entries.get(key)
            if kept is not None and kept[0] == before:
                self._entries.move_to_end(key)
                return kept[1]
        result = verify_recording(paths, public_key_pem)
        if _fingerprint(paths) == before:  # nothing changed while it was being hashed
            with self._lock:
                self._entries[key] = (before, result)
                self._entries.move_to_end(key)
                while len(self._entries) > self._capacity:
                    self._entries.popitem(last=False)
        return result
