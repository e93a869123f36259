"""The minutes over REST with join tokens: the clerk reads and writes the draft, a stale save
is a 409 with the newer text untouched, signing locks, and the parties read only the signed
minutes."""

from __future__ import annotations

import io
from typing import Any

import docx

from rooms import Actor
from rooms.ids import ParticipantId, SessionId
from tests.api.conftest import API, Api
from web.minutes_docx import minutes_docx

SYSTEM = Actor.system()


async def hearing_with_signers(api: Api, **case: Any) -> tuple[str, dict[str, Any]]:
    hearing = await api.schedule_hearing(**case)
    sid = hearing["id"]
    courtroom = hearing["points"][0]["id"]
    remote = await api.add_point(sid)
    added = {
        role: await api.add_participant(sid, point, role, name)
        for role, point, name in (
            ("presiding_judge", courtroom, "Nguyễn Văn Chủ"),
            ("clerk", courtroom, "Lê Thị Thư"),
            ("defendant", remote["id"], "Trần Văn Cáo"),
        )
    }
    ids = {role: ParticipantId(a["participant"]["id"]) for role, a in added.items()}
    session_id = SessionId(sid)
    for pid in ids.values():
        await api.service.execute(SYSTEM, session_id, "join", lambda s, p=pid: s.join(p))
    clerk, pj = Actor.participant(ids["clerk"]), Actor.participant(ids["presiding_judge"])
    defendant = ids["defendant"]
    await api.service.execute(
        SYSTEM,
        session_id,
        "session.verify_identity",
        lambda s: s.verify_identity(clerk, defendant),
        {"participant_id": defendant},  # as signalling audits the command
    )
    await api.service.execute(SYSTEM, session_id, "a", lambda s: s.admit(clerk, defendant))
    await api.service.execute(SYSTEM, session_id, "s", lambda s: s.start(pj))
    await api.service.execute(SYSTEM, session_id, "f", lambda s: s.give_floor(pj, defendant))
    tokens = {role: a["join_link"]["token"] for role, a in added.items()}
    return sid, {"tokens": tokens, "ids": ids}


async def test_draft_edit_conflict_sign_and_read(api: Api) -> None:
    sid, people = await hearing_with_signers(api)
    tokens = people["tokens"]
    url = f"{API}/sessions/{sid}/minutes"
    draft = await api.get(url, token=tokens["clerk"])
    assert draft.status == 200, draft.body
    assert draft.body["form"] == "22-HS"
    floor = draft.body["entries"][-1]
    assert floor["kind"] == "floor" and floor["line"]["vi"] == "Bị cáo Trần Văn Cáo được phát biểu."
    assert (await api.get(url, token=tokens["defendant"])).error(403, "forbidden")

    entry = f"{url}/entries/{floor['seq']}"
    saved = await api.request(
        "PUT", entry, {"body": "Tôi xin khai", "based_on": 1}, token=tokens["clerk"]
    )
    assert saved.status == 200, saved.body
    stale = await api.request(
        "PUT", entry, {"body": "khác", "based_on": 1}, token=tokens["presiding_judge"]
    )
    stale.error(409, "conflict", "minutes.stale_edit")
    inserted = await api.post(
        f"{url}/entries",
        {
            "kind": "question",
            "speaker_id": people["ids"]["presiding_judge"],
            "body": "Bị cáo có ý kiến gì?",
        },
        token=tokens["clerk"],
    )
    assert inserted.status == 201, inserted.body
    last = inserted.body["entries"][-1]
    assert last["section"] == draft.body["current_section"]
    # The clerk moves on to the questioning: what is inserted next goes under it.
    moved = await api.request(
        "PUT", f"{url}/section", {"section": "questioning"}, token=tokens["clerk"]
    )
    assert moved.status == 200 and moved.body["current_section"] == "questioning", moved.body
    (await api.request("PUT", f"{url}/section", {"section": "x"}, token=tokens["clerk"])).error(
        422, "invalid_input"
    )
    (
        await api.request(
            "PUT", f"{url}/section", {"section": "opening"}, token=tokens["defendant"]
        )
    ).error(403, "forbidden")
    answered = await api.post(
        f"{url}/entries",
        {"kind": "answer", "speaker_id": people["ids"]["defendant"]},
        token=tokens["clerk"],
    )
    assert answered.body["entries"][-1]["section"] == "questioning"
    assert last["line"]["vi"] == "Thẩm phán chủ tọa phiên tòa Nguyễn Văn Chủ hỏi:"
    assert (await api.post(f"{url}/signatures", token=tokens["defendant"])).status == 403
    for role in ("clerk", "presiding_judge"):
        signed = await api.post(f"{url}/signatures", token=tokens[role])
        assert signed.status == 200, signed.body
    assert signed.body["signed"] is True
    locked = await api.request("PUT", entry, {"body": "x", "based_on": 2}, token=tokens["clerk"])
    locked.error(409, "invalid_state", "minutes.signed")
    read = await api.get(url, token=tokens["defendant"])
    assert read.status == 200 and read.body["entries"][floor["seq"] - 1]["body"] == "Tôi xin khai"

    asked = await api.post(
        f"{url}/amendments", {"text": "Tôi khai là không biết"}, token=tokens["defendant"]
    )
    assert asked.status == 201, asked.body
    decision = f"{url}/amendments/1/decision"
    no_reason = await api.post(decision, {"accept": False}, token=tokens["presiding_judge"])
    no_reason.error(422, "invalid_input", "minutes.refusal_reason")
    assert (await api.post(decision, {"accept": True}, token=tokens["clerk"])).status == 403
    refused = {"accept": False, "reason": "Không đúng lời khai tại phiên tòa"}
    assert (await api.post(decision, refused, token=tokens["presiding_judge"])).status == 200
    for role in ("presiding_judge", "clerk"):
        reply = await api.post(f"{url}/amendments/1/signatures", token=tokens[role])
        assert reply.status == 200, reply.body
    amendment = reply.body["amendments"][0]
    assert amendment["decision"] == "refused" and amendment["signed_by"] == [
        "presiding_judge",
        "clerk",
    ]
    assert reply.body["document_hash"] == signed.body["document_hash"]


async def test_the_docx_reads_back_with_the_entries_and_signatures(api: Api) -> None:
    sid, people = await hearing_with_signers(api)
    tokens = people["tokens"]
    url = f"{API}/sessions/{sid}/minutes"
    seq = (await api.get(url, token=tokens["clerk"])).body["entries"][-1]["seq"]
    body = {"body": "Tôi xin khai", "based_on": 1}
    assert (
        await api.request("PUT", f"{url}/entries/{seq}", body, token=tokens["clerk"])
    ).status == 200
    for role in ("clerk", "presiding_judge"):
        assert (await api.post(f"{url}/signatures", token=tokens[role])).status == 200
    minutes = await api.service.minutes(SessionId(sid))
    read = docx.Document(io.BytesIO(minutes_docx(minutes, "Asia/Ho_Chi_Minh")))
    text = "\n".join(p.text for p in read.paragraphs)
    cells = "\n".join(c.text for t in read.tables for row in t.rows for c in row.cells)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in cells and "Độc lập - Tự do - Hạnh phúc" in cells
    assert "BIÊN BẢN PHIÊN TÒA" in text and "Mẫu số 22-HS" in text
    assert "III. Phần thủ tục bắt đầu phiên tòa" in text
    lines = [e.line.vi for e in minutes.entries]
    positions = [text.index(line) for line in lines]
    assert positions == sorted(positions)
    assert "Bị cáo Trần Văn Cáo được phát biểu. Tôi xin khai" in text
    assert "Lê Thị Thư" in cells and "Nguyễn Văn Chủ" in cells and "(chưa ký)" not in cells
    assert minutes.document_hash() in text
