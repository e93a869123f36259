"""The minutes' official layout as plain blocks, in order: the letterhead (the court and the
national motto), the title, the opening, the people, the form's sections with their entries,
the amendments, the signatures and the document's hash.

The DOCX and the PDF both draw these blocks, so the two say the same thing in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar
from zoneinfo import ZoneInfo

from rooms.minutes import SECTION_HEADINGS, Minutes

__all__ = [
    "MOTTO",
    "Block",
    "Bullet",
    "Heading",
    "Letterhead",
    "Paragraph",
    "Run",
    "Signatures",
    "Title",
    "minutes_blocks",
]

MOTTO = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII")
DECISIONS = {"accepted": "chấp nhận", "refused": "không chấp nhận", "pending": "chờ"}
SIGNERS = (("clerk", "THƯ KÝ PHIÊN TÒA"), ("presiding_judge", "THẨM PHÁN - CHỦ TỌA PHIÊN TÒA"))
"""Left to right, as the form places them."""


@dataclass(frozen=True, slots=True)
class Run:
    text: str
    bold: bool = False
    italic: bool = False


@dataclass(frozen=True, slots=True)
class Letterhead:
    """Two columns, each line centred: the court on the left, the motto on the right."""

    kind: ClassVar[str] = "letterhead"
    left: tuple[Run, ...]
    right: tuple[Run, ...]


@dataclass(frozen=True, slots=True)
class Title:
    """A centred line."""

    kind: ClassVar[str] = "title"
    text: str
    bold: bool = False


@dataclass(frozen=True, slots=True)
class Paragraph:
    kind: ClassVar[str] = "paragraph"
    runs: tuple[Run, ...]


@dataclass(frozen=True, slots=True)
class Bullet:
    kind: ClassVar[str] = "bullet"
    text: str


@dataclass(frozen=True, slots=True)
class Heading:
    kind: ClassVar[str] = "heading"
    text: str


@dataclass(frozen=True, slots=True)
class Signatures:
    """One column per signer: the heading, then the name and when they signed."""

    kind: ClassVar[str] = "signatures"
    columns: tuple[tuple[str, tuple[str, ...]], ...]


Block = Letterhead | Title | Paragraph | Bullet | Heading | Signatures


def minutes_blocks(minutes: Minutes, time_zone: str) -> list[Block]:
    """Times are printed in the court's own time zone, as the form writes them."""
    zone = ZoneInfo(time_zone)
    header = minutes.header
    blocks: list[Block] = [
        Letterhead(
            (Run(header.court_name.upper(), bold=True), Run(f"Số: {header.case_number}")),
            (Run(MOTTO[0], bold=True), Run(MOTTO[1], bold=True)),
        ),
        Title("BIÊN BẢN PHIÊN TÒA", bold=True),
        Title(f"Xét xử {header.case_label}"),
        Paragraph((Run(f"Mẫu số {header.form.value}"),)),
    ]
    start = header.scheduled_start.astimezone(zone)
    about = f" ({header.case_title})." if header.case_title else "."
    blocks.append(
        Paragraph(
            (
                Run(
                    f"Vào hồi {start:%H} giờ {start:%M} phút, ngày {start:%d} tháng {start:%m} "
                    f"năm {start:%Y}, tại {header.place}, {header.court_name} mở phiên tòa trực "
                    f"tuyến xét xử vụ án số {header.case_number}{about}"
                ),
            )
        )
    )
    if header.people:
        blocks.append(Paragraph((Run("Thành phần tham gia phiên tòa:"),)))
        blocks += [
            Bullet(f"{role}: {name} (điểm cầu {point})") for role, name, point in header.people
        ]

    for number, (section, heading) in zip(
        ROMAN, SECTION_HEADINGS[header.form].items(), strict=False
    ):
        blocks.append(Heading(f"{number}. {heading}"))
        for entry in (e for e in minutes.entries if e.section is section):
            runs = [
                Run(f"[{entry.at.astimezone(zone):%H:%M:%S}] ", italic=True),
                Run(entry.line.vi),
            ]
            if entry.body:
                runs.append(Run(f" {entry.body}"))
            blocks.append(Paragraph(tuple(runs)))

    if minutes.amendments:
        blocks.append(Heading("Sửa đổi, bổ sung biên bản"))
        for a in minutes.amendments:
            line = f"{a.seq}. {a.requested_by.label.vi} yêu cầu: {a.text} — {DECISIONS[a.decision]}"
            blocks.append(Paragraph((Run(line + (f"; lý do: {a.reason}" if a.reason else "")),)))

    columns = []
    for role, label in SIGNERS:
        signed = next((s for s in minutes.signatures.values() if s.role.value == role), None)
        lines = (
            (signed.name, f"Đã ký {signed.at.astimezone(zone):%H:%M ngày %d/%m/%Y}")
            if signed
            else ("(chưa ký)",)
        )
        columns.append((label, lines))
    blocks.append(Signatures(tuple(columns)))
    blocks.append(Paragraph((Run(f"Mã băm văn bản (SHA-256): {minutes.document_hash()}"),)))
    return blocks
