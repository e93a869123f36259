"""The minutes repository: the document as JSON under a version, its history appended."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from hearing_server.persistence import tables as t
from hearing_server.persistence.repositories import ConcurrentUpdate
from rooms.audit import AuditEntry, SealedEntry
from rooms.cases import CaseType, Instance
from rooms.minutes import (
    Amendment,
    AmendmentDecision,
    EntryKind,
    Header,
    Minutes,
    MinutesEntry,
    Section,
    Signature,
    SignerRole,
    Speaker,
)
from rooms.roles import Role
from rooms.text import Text


class MinutesRepository:
    def __init__(self, conn: AsyncConnection) -> None:
        self._conn = conn

    async def get(self, session_id: str, *, for_update: bool = False) -> Minutes | None:
        query = select(t.minutes).where(t.minutes.c.session_id == session_id)
        if for_update and self._conn.dialect.name == "postgresql":
            query = query.with_for_update()
        row = (await self._conn.execute(query)).first()
        if row is None:
            return None
        minutes = _minutes(session_id, json.loads(row.document))
        minutes.version = row.version
        return minutes

    async def save(self, minutes: Minutes, loaded_version: int | None, now: datetime) -> None:
        """Write over the version that was loaded, or raise ``ConcurrentUpdate``; then append
        the history links the change made."""
        if not minutes.pending:
            return
        document = json.dumps(_document(minutes), ensure_ascii=False)
        if loaded_version is None:
            await self._conn.execute(
                insert(t.minutes).values(
                    session_id=minutes.session_id,
                    version=minutes.version,
                    document=document,
                    updated_at=now,
                )
            )
        else:
            result = await self._conn.execute(
                update(t.minutes)
                .where(
                    t.minutes.c.session_id == minutes.session_id,
                    t.minutes.c.version == loaded_version,
                )
                .values(version=minutes.version, document=document, updated_at=now)
            )
            if result.rowcount != 1:
                raise ConcurrentUpdate(minutes.session_id)
        await self._conn.execute(
            insert(t.minutes_history),
            [
                {
                    "session_id": minutes.session_id,
                    "seq": link.seq,
                    "at": link.entry.at,
                    "actor": link.entry.actor,
                    "action": link.entry.action,
                    "detail": json.dumps(link.entry.detail, ensure_ascii=False),
                    "previous_hash": link.previous_hash,
                    "hash": link.hash,
                }
                for link in minutes.pending
            ],
        )
        minutes.pending.clear()

    async def history(self, session_id: str) -> list[SealedEntry]:
        rows = await self._conn.execute(
            select(t.minutes_history)
            .where(t.minutes_history.c.session_id == session_id)
            .order_by(t.minutes_history.c.seq)
        )
        return [
            SealedEntry(
                r.seq,
                AuditEntry(
                    at=r.at,
                    actor=r.actor,
                    action=r.action,
                    outcome="accepted",
                    session_id=session_id,
                    detail=json.loads(r.detail),
                ),
                r.previous_hash,
                r.hash,
            )
            for r in rows
        ]


def _speaker(s: Speaker | None) -> dict[str, str] | None:
    return None if s is None else {"id": s.participant_id, "name": s.name, "role": s.role.value}


def _signature(s: Signature) -> dict[str, str]:
    return {
        "role": s.role.value,
        "participant_id": s.participant_id,
        "name": s.name,
        "at": s.at.isoformat(),
        "document_hash": s.document_hash,
    }


def _document(m: Minutes) -> dict[str, Any]:
    h = m.header
    return {
        "header": {
            "court_name": h.court_name,
            "case_number": h.case_number,
            "case_title": h.case_title,
            "case_type": h.case_type.value,
            "instance": h.instance.value,
            "place": h.place,
            "scheduled_start": h.scheduled_start.isoformat(),
            "people": [list(p) for p in h.people],
        },
        "entries": [
            {
                "seq": e.seq,
                "at": e.at.isoformat(),
                "section": e.section.value,
                "kind": e.kind.value,
                "line": e.line.as_dict(),
                "speaker": _speaker(e.speaker),
                "body": e.body,
                "version": e.version,
            }
            for e in m.entries
        ],
        "current_section": m.current_section.value,
        "signatures": [_signature(s) for s in m.signatures.values()],
        "amendments": [
            {
                "seq": a.seq,
                "requested_by": _speaker(a.requested_by),
                "at": a.at.isoformat(),
                "text": a.text,
                "decision": a.decision.value,
                "reason": a.reason,
                "decided_at": None if a.decided_at is None else a.decided_at.isoformat(),
                "signatures": [_signature(s) for s in a.signatures],
            }
            for a in m.amendments
        ],
        "head_hash": m.head_hash,
        "history_length": m.history_length,
    }


def _read_speaker(d: dict[str, str]) -> Speaker:
    return Speaker(d["id"], d["name"], Role(d["role"]))


def _read_signature(d: dict[str, str]) -> Signature:
    return Signature(
        SignerRole(d["role"]),
        d["participant_id"],
        d["name"],
        datetime.fromisoformat(d["at"]),
        d["document_hash"],
    )


def _minutes(session_id: str, d: dict[str, Any]) -> Minutes:
    h = d["header"]
    header = Header(
        court_name=h["court_name"],
        case_number=h["case_number"],
        case_title=h["case_title"],
        case_type=CaseType(h["case_type"]),
        instance=Instance(h["instance"]),
        place=h["place"],
        scheduled_start=datetime.fromisoformat(h["scheduled_start"]),
        people=tuple((p[0], p[1], p[2]) for p in h["people"]),
    )
    signatures = [_read_signature(s) for s in d["signatures"]]
    return Minutes(
        session_id=session_id,
        header=header,
        entries=[
            MinutesEntry(
                seq=e["seq"],
                at=datetime.fromisoformat(e["at"]),
                section=Section(e["section"]),
                kind=EntryKind(e["kind"]),
                line=Text(e["line"]["vi"], e["line"]["en"]),
                speaker=None if e["speaker"] is None else _read_speaker(e["speaker"]),
                body=e["body"],
                version=e["version"],
            )
            for e in d["entries"]
        ],
        current_section=Section(d["current_section"]),
        signatures={s.role: s for s in signatures},
        amendments=[
            Amendment(
                seq=a["seq"],
                requested_by=_read_speaker(a["requested_by"]),
                at=datetime.fromisoformat(a["at"]),
                text=a["text"],
                decision=AmendmentDecision(a["decision"]),
                reason=a["reason"],
                decided_at=None
                if a["decided_at"] is None
                else datetime.fromisoformat(a["decided_at"]),
                signatures=tuple(_read_signature(s) for s in a["signatures"]),
            )
            for a in d["amendments"]
        ],
        head_hash=d["head_hash"],
        history_length=d["history_length"],
    )
