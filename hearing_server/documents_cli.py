"""``hearing-server minutes verify FILE`` and ``hearing-server export …``: check a signed
minutes PDF, write a hearing's case-file bundle and check one.

A check trusts the certificates this server signs with (the court's and the server's own);
far from the server, ``--trust CERT.pem`` names the certificates to trust instead.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from cryptography import x509

from hearing_server.case_file import CaseFileExport, ExportedBundle, verify_bundle
from hearing_server.document_signing import load_certificates, trusted_certificates, verify_pdf
from hearing_server.minutes_documents import MinutesDocuments
from hearing_server.recordings import DownloadLinks, RecordingCatalog
from hearing_server.services import HearingService
from hearing_server.settings import Settings
from rooms.ids import SessionId
from rooms.participants import Actor
from web.minutes_pdf import MissingFont

__all__ = ["add_document_commands"]

CLI_ACTOR = Actor(id="cli", name="command line", is_system=True)

VALIDATOR_LOGGERS = ("pyhanko", "pyhanko_certvalidator")

WithService = Callable[[Settings, Callable[[HearingService], Awaitable[Any]]], Any]


def add_document_commands(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], with_service: WithService
) -> None:
    minutes = sub.add_parser("minutes", help="hearing minutes").add_subparsers(
        required=True, metavar="ACTION"
    )
    verify = minutes.add_parser(
        "verify", help="check a signed minutes PDF: who signed, when, whether it is unchanged"
    )
    verify.add_argument("file", type=Path, help="the PDF")
    _trust_and_json(verify)
    verify.set_defaults(func=_verify_minutes)

    export = sub.add_parser(
        "export",
        help="write a hearing's case-file bundle (ZIP); 'export verify FILE' checks one",
        description="hearing-server export HEARING_ID [--output FILE] | export verify FILE",
    )
    export.add_argument("target", nargs="+", metavar="HEARING_ID | verify FILE")
    export.add_argument("--output", "-o", type=Path, help="where to write the ZIP")
    _trust_and_json(export)
    export.set_defaults(func=_export, with_service=with_service)


def _trust_and_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--trust", type=Path, help="certificates to trust (PEM), instead of this server's"
    )
    parser.add_argument("--json", action="store_true", help="print the result as JSON")


def _trusted(settings: Settings, args: argparse.Namespace) -> list[x509.Certificate]:
    # The validator logs every refusal with its traceback; the verdict printed says it.
    for name in VALIDATOR_LOGGERS:
        logging.getLogger(name).setLevel(logging.CRITICAL)
    return load_certificates(args.trust) if args.trust else trusted_certificates(settings)


def _verify_minutes(settings: Settings, args: argparse.Namespace) -> int:
    try:
        data = args.file.read_bytes()
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    verdict = asyncio.run(verify_pdf(data, _trusted(settings, args)))
    signed_at = verdict.signed_at.isoformat() if verdict.signed_at else None
    if args.json:
        result = {
            "ok": verdict.ok,
            "signer": verdict.signer,
            "signed_at": signed_at,
            "intact": verdict.intact,
            "unchanged": verdict.unchanged,
            "trusted": verdict.trusted,
            "problem": verdict.problem,
        }
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        print(f"signed by: {verdict.signer or '-'}")
        print(f"signed at: {signed_at or '-'}")
        print(f"unchanged since signing: {'yes' if verdict.unchanged else 'NO'}")
        print(f"signer trusted: {'yes' if verdict.trusted else 'NO'}")
        if verdict.ok:
            print(f"{args.file}: the signature verifies")
        else:
            print(f"{args.file} does NOT verify: {verdict.problem}", file=sys.stderr)
    return 0 if verdict.ok else 1


def _export(settings: Settings, args: argparse.Namespace) -> int:
    if args.target[0] == "verify":
        if len(args.target) != 2:
            print("usage: hearing-server export verify FILE", file=sys.stderr)
            return 2
        return _verify_export(settings, args, Path(args.target[1]))
    if len(args.target) != 1:
        print("usage: hearing-server export HEARING_ID [--output FILE]", file=sys.stderr)
        return 2
    session_id = SessionId(args.target[0])
    output: Path = args.output or Path(f"ho-so-{session_id}.zip")
    if output.exists():
        print(f"error: {output} exists; name another with --output", file=sys.stderr)
        return 2

    async def export(service: HearingService) -> ExportedBundle:
        documents = MinutesDocuments(service, settings)
        catalog = RecordingCatalog(
            service, settings.effective_recordings_dir, DownloadLinks(settings.signing_key())
        )
        await catalog.reconcile()  # recordings the server has not registered since they ended
        try:
            return await CaseFileExport(service, settings, documents, catalog).export(
                CLI_ACTOR, session_id, output
            )
        except BaseException:
            await asyncio.to_thread(output.unlink, missing_ok=True)
            raise

    try:
        bundle: ExportedBundle = args.with_service(settings, export)
    except MissingFont as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {bundle.path} ({bundle.size} bytes, SHA-256 {bundle.sha256})")
    return 0


def _verify_export(settings: Settings, args: argparse.Namespace, path: Path) -> int:
    verdict = asyncio.run(verify_bundle(path, _trusted(settings, args)))
    if args.json:
        print(json.dumps(verdict.as_dict(), ensure_ascii=False, indent=2))
    elif verdict.ok:
        print(
            f"{path}: index signed by {verdict.signer}; {verdict.checked_files} files match "
            f"their SHA-256; minutes PDF signed by {verdict.minutes_signer}"
        )
    else:
        print(f"{path} does NOT verify: {len(verdict.problems)} problem(s)", file=sys.stderr)
        for problem in verdict.problems:
            print(f"  {problem}", file=sys.stderr)
    return 0 if verdict.ok else 1
