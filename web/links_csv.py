"""A session's join links as a CSV file, for a clerk who sends them by SMS or mail merge.

UTF-8 with a byte order mark: without it Excel reads the file in the machine's legacy code
page and Vietnamese names come out garbled. The columns are named in the reader's language.
"""

from __future__ import annotations

import csv
import io

from hearing_server.services import PersonLink
from rooms import dates
from rooms.roles import ROLE_LABELS
from rooms.session import CourtSession
from rooms.short_codes import grouped
from rooms.text import Text

__all__ = ["CSV_MEDIA_TYPE", "csv_filename", "links_csv"]

CSV_MEDIA_TYPE = "text/csv"
BOM = "\ufeff"

COLUMNS = (
    Text("Họ và tên", "Name"),
    Text("Vai trò", "Role"),
    Text("Điểm cầu", "Connection point"),
    Text("Đường dẫn rút gọn", "Short link"),
    Text("Mã tham gia", "Join code"),
    Text("Đường dẫn đầy đủ", "Full link"),
    Text("Hiệu lực đến", "Valid until"),
)
NO_LINK = Text("(chưa có đường dẫn còn hiệu lực)", "(no valid link)")


def _pick(text: Text, lang: str) -> str:
    return text.en if lang == "en" else text.vi


def links_csv(session: CourtSession, people: list[PersonLink], lang: str, time_zone: str) -> bytes:
    """One row per person, in the order they were added; a person without a valid link
    keeps their row, so the clerk sees who still needs one."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_pick(c, lang) for c in COLUMNS])
    for person in people:
        who = person.participant
        point = session.points[who.point_id].name if who.point_id in session.points else ""
        facts = [who.name, _pick(ROLE_LABELS[who.role], lang), point]
        link = person.link
        if link is None:
            writer.writerow([*facts, _pick(NO_LINK, lang), "", "", ""])
            continue
        until = _pick(dates.moment(link.invitation.expires_at, time_zone), lang)
        writer.writerow(
            [*facts, link.short_url, grouped(link.invitation.short_code), link.url, until]
        )
    return (BOM + out.getvalue()).encode("utf-8")


def csv_filename(session: CourtSession) -> str:
    """``duong-dan-88-2026-HS-ST.csv``: ASCII only, so every browser keeps the name."""
    name = session.case.number if session.case is not None else session.id
    safe = "".join(c if c.isascii() and c.isalnum() else "-" for c in name)
    return f"duong-dan-{safe}.csv"
