"""The minutes as a DOCX in the official layout: the national motto, the court, the title,
the form's sections with their entries, and the signatures block."""

from __future__ import annotations

import io
from zoneinfo import ZoneInfo

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH

from rooms.minutes import SECTION_HEADINGS, Minutes

MOTTO = ("CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", "Độc lập - Tự do - Hạnh phúc")
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII")


def minutes_docx(minutes: Minutes, time_zone: str) -> bytes:
    """Times are printed in the court's own time zone, as the form writes them."""
    zone = ZoneInfo(time_zone)
    header = minutes.header
    doc = Document()
    table = doc.add_table(rows=1, cols=2)
    left, right = table.rows[0].cells
    left.paragraphs[0].add_run(header.court_name.upper()).bold = True
    left.add_paragraph(f"Số: {header.case_number}")
    right.paragraphs[0].add_run(MOTTO[0]).bold = True
    right.add_paragraph().add_run(MOTTO[1]).bold = True
    for cell in (left, right):
        for paragraph in cell.paragraphs:
            paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER

    title = doc.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title.add_run("BIÊN BẢN PHIÊN TÒA").bold = True
    subtitle = doc.add_paragraph(f"Xét xử {header.case_label}")
    subtitle.alignment = WD_ALIGN_PARAGRAPH.CENTER
    doc.add_paragraph(f"Mẫu số {header.form.value}")
    start = header.scheduled_start.astimezone(zone)
    about = f" ({header.case_title})." if header.case_title else "."
    doc.add_paragraph(
        f"Vào hồi {start:%H} giờ {start:%M} phút, ngày {start:%d} tháng {start:%m} năm "
        f"{start:%Y}, tại {header.place}, {header.court_name} mở phiên tòa trực tuyến xét xử "
        f"vụ án số {header.case_number}{about}"
    )
    if header.people:
        doc.add_paragraph("Thành phần tham gia phiên tòa:")
        for role, name, point in header.people:
            doc.add_paragraph(f"{role}: {name} (điểm cầu {point})", style="List Bullet")

    for number, (section, heading) in zip(
        ROMAN, SECTION_HEADINGS[header.form].items(), strict=False
    ):
        entries = [e for e in minutes.entries if e.section is section]
        doc.add_heading(f"{number}. {heading}", level=2)
        for entry in entries:
            paragraph = doc.add_paragraph()
            paragraph.add_run(f"[{entry.at.astimezone(zone):%H:%M:%S}] ").italic = True
            paragraph.add_run(entry.line.vi)
            if entry.body:
                paragraph.add_run(f" {entry.body}")

    if minutes.amendments:
        doc.add_heading("Sửa đổi, bổ sung biên bản", level=2)
        for a in minutes.amendments:
            decision = {"accepted": "chấp nhận", "refused": "không chấp nhận", "pending": "chờ"}
            line = f"{a.seq}. {a.requested_by.label.vi} yêu cầu: {a.text} — {decision[a.decision]}"
            doc.add_paragraph(line + (f"; lý do: {a.reason}" if a.reason else ""))

    signatures = doc.add_table(rows=2, cols=2)
    for column, (role, label) in enumerate(
        (("clerk", "THƯ KÝ PHIÊN TÒA"), ("presiding_judge", "THẨM PHÁN - CHỦ TỌA PHIÊN TÒA"))
    ):
        signatures.cell(0, column).paragraphs[0].add_run(label).bold = True
        signed = next((s for s in minutes.signatures.values() if s.role.value == role), None)
        signatures.cell(1, column).text = (
            f"{signed.name}\nĐã ký {signed.at.astimezone(zone):%H:%M ngày %d/%m/%Y}"
            if signed
            else "(chưa ký)"
        )
    doc.add_paragraph(f"Mã băm văn bản (SHA-256): {minutes.document_hash()}")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
