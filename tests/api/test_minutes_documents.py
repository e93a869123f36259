"""The signed minutes as files, through the server: the PDF signed (PAdES) and checked with
pyHanko's validator, one byte changed fails; the case-file bundle's hashes and signature
verify and a changed bundle does not; refusals (unsigned minutes, the wrong role, another
court) are answered and audited; an ended hearing's join link shows the signed minutes read
only, except to those the domain's rule keeps out."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from pathlib import Path
from typing import Any

import docx
from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives import serialization
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import async_validate_pdf_signature
from pyhanko_certvalidator import ValidationContext
from pypdf import PdfReader

from hearing_server.case_file import verify_bundle
from hearing_server.document_signing import trusted_certificates, verify_pdf
from rooms import Actor
from rooms.ids import SessionId
from tests.api.conftest import API, CLERK_PASSWORD, Api, login_token
from tests.api.test_minutes import hearing_with_signers
from web.keys import MINUTES_DOCUMENTS, SETTINGS

SYSTEM = Actor.system()


async def signed_hearing(api: Api, close: bool = True) -> tuple[str, dict[str, Any]]:
    """A hearing whose clerk wrote a speaking turn, signed by both, then closed."""
    sid, people = await hearing_with_signers(api)
    tokens = people["tokens"]
    url = f"{API}/sessions/{sid}/minutes"
    seq = (await api.get(url, token=tokens["clerk"])).body["entries"][-1]["seq"]
    body = {"body": "Tôi xin khai nhận toàn bộ hành vi", "based_on": 1}
    assert (
        await api.request("PUT", f"{url}/entries/{seq}", body, token=tokens["clerk"])
    ).status == 200
    if close:
        judge = Actor.participant(people["ids"]["presiding_judge"])
        await api.service.execute(SYSTEM, SessionId(sid), "c", lambda s: s.close(judge))
    for role in ("clerk", "presiding_judge"):
        assert (await api.post(f"{url}/signatures", token=tokens[role])).status == 200
    return sid, people


async def download(api: Api, path: str, token: str | None = None) -> tuple[int, bytes, str]:
    headers = {"Authorization": f"Bearer {token or api.token}"}
    async with api.client.get(path, headers=headers) as response:
        return response.status, await response.read(), response.headers.get("Content-Type", "")


async def test_the_signed_pdf_verifies_with_pyhankos_validator_and_fails_once_changed(
    api: Api,
) -> None:
    sid, people = await signed_hearing(api)
    status, pdf, kind = await download(api, f"{API}/sessions/{sid}/documents/minutes.pdf")
    assert status == 200 and kind == "application/pdf"
    settings = api.client.server.app[SETTINGS]

    reader = PdfFileReader(io.BytesIO(pdf))
    [embedded] = reader.embedded_signatures
    roots = [
        asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))
        for c in trusted_certificates(settings)
    ]
    status_ = await async_validate_pdf_signature(embedded, ValidationContext(trust_roots=roots))
    assert status_.intact and status_.valid and status_.trusted
    assert "Máy chủ phiên tòa" in status_.signing_cert.subject.human_friendly
    assert embedded.sig_object["/SubFilter"] == "/ETSI.CAdES.detached"  # PAdES

    # The text is in the file (with its Vietnamese letters) in the DOCX's order.
    text = " ".join(" ".join(page.extract_text().split()) for page in _pages(pdf))
    for line in ("BIÊN BẢN PHIÊN TÒA", "Tôi xin khai nhận toàn bộ hành vi", "Lê Thị Thư"):
        assert line in text, line
    minutes = await api.service.minutes(SessionId(sid))
    docx_text = "\n".join(
        p.text for p in docx.Document(io.BytesIO(await _docx(api, sid))).paragraphs
    )
    lines = [" ".join(e.line.vi.split()) for e in minutes.entries]
    assert [text.index(x) for x in lines] == sorted(text.index(x) for x in lines)
    assert [docx_text.index(x) for x in lines] == sorted(docx_text.index(x) for x in lines)

    verdict = await verify_pdf(pdf, trusted_certificates(settings))
    assert verdict.ok and verdict.unchanged and verdict.signed_at is not None
    changed = bytearray(pdf)
    at = pdf.index(b"stream") + 40  # inside the first page's content
    changed[at] ^= 0x01
    broken = await verify_pdf(bytes(changed), trusted_certificates(settings))
    assert not broken.ok and not broken.intact

    # The same version is handed out as the same file; each hand-out is audited with its hash.
    _, again, _ = await download(api, f"{API}/sessions/{sid}/documents/minutes.pdf")
    assert again == pdf
    produced = [e for e in await api.audit(session_id=sid) if e["action"] == "minutes.pdf"]
    assert [e["detail"]["produced"] for e in produced] == [True, False]
    assert {e["detail"]["sha256"] for e in produced} == {hashlib.sha256(pdf).hexdigest()}
    assert people  # the signers took part


def _pages(pdf: bytes) -> list[Any]:
    return list(PdfReader(io.BytesIO(pdf)).pages)


async def _docx(api: Api, sid: str) -> bytes:
    session = await api.service.session(SYSTEM, SessionId(sid))
    return (await api.client.server.app[MINUTES_DOCUMENTS].docx(session, "Asia/Ho_Chi_Minh")).data


async def test_unsigned_minutes_have_no_pdf_and_no_bundle(api: Api) -> None:
    sid, _people = await hearing_with_signers(api)
    reply = await api.get(f"{API}/sessions/{sid}/documents/minutes.pdf")
    reply.error(409, "invalid_state", "minutes.not_signed")
    reply = await api.get(f"{API}/sessions/{sid}/documents/case-file.zip")
    reply.error(409, "invalid_state", "minutes.not_signed")
    refused = [e for e in await api.audit(session_id=sid) if e["outcome"] == "refused"]
    assert [(e["action"], e["rule"]) for e in refused] == [
        ("minutes.pdf", "minutes.not_signed"),
        ("case_file.export", "minutes.not_signed"),
    ]


async def test_a_participant_reads_the_pdf_only_once_signed(api: Api) -> None:
    sid, people = await hearing_with_signers(api)
    url = f"{API}/sessions/{sid}/minutes/pdf"
    assert (await api.get(url, token=people["tokens"]["defendant"])).status == 403
    await signed_hearing_signatures(api, sid, people)
    status, pdf, _ = await download(api, url, people["tokens"]["defendant"])
    assert status == 200 and pdf.startswith(b"%PDF")
    settings = api.client.server.app[SETTINGS]
    assert (await verify_pdf(pdf, trusted_certificates(settings))).ok


async def signed_hearing_signatures(api: Api, sid: str, people: dict[str, Any]) -> None:
    for role in ("clerk", "presiding_judge"):
        reply = await api.post(
            f"{API}/sessions/{sid}/minutes/signatures", token=people["tokens"][role]
        )
        assert reply.status == 200, reply.body


async def test_the_bundle_verifies_and_a_changed_one_does_not(api: Api, tmp_path: Path) -> None:
    sid, people = await signed_hearing(api)
    await api.create_user("thuky", "clerk", CLERK_PASSWORD)
    clerk = api.as_token(await login_token(api.client, "thuky", CLERK_PASSWORD))
    status, data, kind = await download(clerk, f"{API}/sessions/{sid}/documents/case-file.zip")
    assert status == 200 and kind == "application/zip"
    bundle = tmp_path / "ho-so.zip"
    bundle.write_bytes(data)
    settings = api.client.server.app[SETTINGS]
    trusted = trusted_certificates(settings)

    verdict = await verify_bundle(bundle, trusted)
    assert verdict.ok, verdict.problems
    with zipfile.ZipFile(bundle) as z:
        index = json.loads(z.read("index.json"))
        participants = json.loads(z.read("participants.json"))
        audit = [json.loads(line) for line in z.read("audit.jsonl").splitlines()]
    kinds = {f["kind"] for f in index["files"]}
    assert {"minutes_pdf", "minutes_docx", "participants", "audit_extract"} <= kinds
    assert verdict.checked_files == len(index["files"])
    assert index["case"]["number"] == "123/2026/HS-ST"
    defendant = next(p for p in participants if p["role"] == "defendant")
    assert defendant["identity_verified"] is True and defendant["point"]
    [check] = defendant["identity_checks"]
    assert check["by"] == "system" and isinstance(check["audit_seq"], int)
    assert {e["action"] for e in audit} >= {"minutes.sign", "minutes.edit"}
    assert all(e["hash"] and e["previous_hash"] for e in audit)
    assert people

    exported = [e for e in await api.audit(session_id=sid) if e["action"] == "case_file.export"]
    assert exported[-1]["detail"]["sha256"] == hashlib.sha256(data).hexdigest()
    assert exported[-1]["actor"].startswith("staff:")

    # One file changed inside: its hash no longer matches.
    changed = tmp_path / "changed.zip"
    _rewrite(bundle, changed, "participants.json", b"[]\n")
    problems = (await verify_bundle(changed, trusted)).problems
    assert problems == ["participants.json: its SHA-256 does not match the index"]
    # The index changed to match: its signature no longer verifies.
    with zipfile.ZipFile(bundle) as z:
        forged = json.loads(z.read("index.json"))
    forged["case"]["number"] = "999/2026/HS-ST"
    _rewrite(bundle, changed, "index.json", json.dumps(forged).encode())
    problems = (await verify_bundle(changed, trusted)).problems
    assert problems and problems[0].startswith("index signature:")
    # A file slipped in that the index does not list.
    _rewrite(bundle, changed, "extra.txt", b"x")
    assert (await verify_bundle(changed, trusted)).problems == [
        "extra.txt: in the bundle but not in the index"
    ]


def _rewrite(source: Path, target: Path, name: str, data: bytes) -> None:
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for item in old.infolist():
            if item.filename != name:
                new.writestr(item, old.read(item))
        new.writestr(name, data)


async def test_export_is_refused_to_it_staff_and_audited(api: Api) -> None:
    sid, _people = await signed_hearing(api)
    await api.create_user("kythuat", "it_staff", CLERK_PASSWORD)
    it = api.as_token(await login_token(api.client, "kythuat", CLERK_PASSWORD))
    reply = await it.get(f"{API}/sessions/{sid}/documents/case-file.zip")
    reply.error(403, "forbidden")
    refused = [
        e
        for e in await api.audit(session_id=sid)
        if e["action"] == "case_file.export" and e["outcome"] == "refused"
    ]
    assert len(refused) == 1


async def test_another_courts_staff_get_neither_pdf_nor_bundle(api: Api) -> None:
    sid, _people = await signed_hearing(api)
    hue = await api.post(f"{API}/courts", {"code": "TAND-HUE", "name": "TAND thành phố Huế"})
    assert hue.status == 201, hue.body
    body = {"username": "thuky_hue", "role": "clerk", "password": CLERK_PASSWORD}
    assert (await api.post(f"{API}/users", {**body, "court_id": hue.body["id"]})).status == 201
    other = api.as_token(await login_token(api.client, "thuky_hue", CLERK_PASSWORD))
    for path in ("documents/minutes.pdf", "documents/case-file.zip"):
        assert (await other.get(f"{API}/sessions/{sid}/{path}")).status == 403


async def test_an_ended_hearings_link_shows_the_signed_minutes_read_only(api: Api) -> None:
    sid, people = await signed_hearing(api)
    token = people["tokens"]["defendant"]
    async with api.client.get(f"/join/{token}") as page:
        html = await page.text()
        assert page.status == 200
    assert "Tôi xin khai nhận toàn bộ hành vi" in html and "BIÊN BẢN PHIÊN TÒA" in html
    assert "<textarea" not in html and f"/join/{token}/minutes.pdf" in html
    async with api.client.get(f"/join/{token}/minutes.pdf") as response:
        assert response.status == 200 and (await response.read()).startswith(b"%PDF")
    reads = [e for e in await api.audit(session_id=sid) if e["action"] == "minutes.read"]
    assert reads and reads[0]["actor"] == people["ids"]["defendant"]


async def test_an_ended_hearing_without_signed_minutes_stays_gone(api: Api) -> None:
    sid, people = await hearing_with_signers(api)
    judge = Actor.participant(people["ids"]["presiding_judge"])
    await api.service.execute(SYSTEM, SessionId(sid), "c", lambda s: s.close(judge))
    async with api.client.get(f"/join/{people['tokens']['defendant']}") as page:
        assert page.status == 410
    async with api.client.get(f"/join/{people['tokens']['defendant']}/minutes.pdf") as pdf:
        assert pdf.status == 403


async def test_a_closed_hearings_minutes_are_not_shown_to_the_parties(api: Api) -> None:
    sid, people = await hearing_with_signers(api, closed_hearing=True)
    tokens = people["tokens"]
    judge = Actor.participant(people["ids"]["presiding_judge"])
    await api.service.execute(SYSTEM, SessionId(sid), "c", lambda s: s.close(judge))
    await signed_hearing_signatures(api, sid, {"tokens": tokens})
    async with api.client.get(f"/join/{tokens['defendant']}") as page:
        assert page.status == 410
    async with api.client.get(f"/join/{tokens['defendant']}/minutes.pdf") as pdf:
        assert pdf.status == 403
    async with api.client.get(f"/join/{tokens['clerk']}") as page:
        assert page.status == 200 and "BIÊN BẢN PHIÊN TÒA" in await page.text()


async def test_a_missing_font_is_named_and_nothing_is_kept(api: Api, tmp_path: Path) -> None:
    sid, _people = await signed_hearing(api)
    settings = api.client.server.app[SETTINGS]
    documents = api.client.server.app[MINUTES_DOCUMENTS]
    documents.settings = settings.model_copy(update={"document_font_dir": tmp_path / "none"})
    reply = await api.get(f"{API}/sessions/{sid}/documents/minutes.pdf")
    assert reply.error(503, "server.font_missing")["message"]["vi"].startswith("Máy chủ")
    assert not (settings.data_dir / "minutes" / sid).exists() or not any(
        (settings.data_dir / "minutes" / sid).iterdir()
    )


async def test_an_amendment_makes_a_new_signed_pdf_and_the_old_one_still_verifies(
    api: Api,
) -> None:
    sid, people = await signed_hearing(api)
    tokens = people["tokens"]
    url = f"{API}/sessions/{sid}/documents/minutes.pdf"
    _, before, _ = await download(api, url)
    asked = await api.post(
        f"{API}/sessions/{sid}/minutes/amendments",
        {"text": "Bổ sung: bị cáo xin giảm nhẹ hình phạt"},
        token=tokens["defendant"],
    )
    assert asked.status == 201, asked.body
    _, after, _ = await download(api, url)
    assert after != before
    text = " ".join(" ".join(page.extract_text().split()) for page in _pages(after))
    assert "Bổ sung: bị cáo xin giảm nhẹ hình phạt" in text
    trusted = trusted_certificates(api.client.server.app[SETTINGS])
    assert (await verify_pdf(before, trusted)).ok and (await verify_pdf(after, trusted)).ok
    hashes = [
        e["detail"]["sha256"]
        for e in await api.audit(session_id=sid)
        if e["action"] == "minutes.pdf"
    ]
    assert hashes == [hashlib.sha256(before).hexdigest(), hashlib.sha256(after).hexdigest()]
