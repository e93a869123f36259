"""The minutes as a PDF in the official layout (the blocks of ``web.minutes_layout``), with
a TrueType font that has the Vietnamese letters embedded, so it reads the same everywhere.

The font is DejaVu Serif from the machine (Debian's ``fonts-dejavu-core``, which
``scripts/ensure-fonts`` installs); the PDF is unsigned here, ``DocumentSigner`` signs it.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fpdf import FPDF
from fpdf.enums import Align, XPos, YPos

from rooms.minutes import Minutes
from web.minutes_layout import (
    Bullet,
    Heading,
    Letterhead,
    Paragraph,
    Run,
    Signatures,
    Title,
    minutes_blocks,
)

__all__ = ["FONT_FILES", "MissingFont", "minutes_pdf"]

FONT_FAMILY = "DejaVuSerif"
FONT_FILES = {"": "DejaVuSerif.ttf", "B": "DejaVuSerif-Bold.ttf"}
"""The styles the layout needs; both are in Debian's ``fonts-dejavu-core``."""
ITALIC_FILE = "DejaVuSerif-Italic.ttf"
"""Used when present (``fonts-dejavu-extra``); the timestamps are upright without it."""

SIZE = 12
LINE = 6.5


class MissingFont(RuntimeError):
    """The font the PDF embeds is not installed: say which and how to get it."""


class _MinutesPdf(FPDF):
    """Every page numbered "Trang x/y" with the case number, as a bound court file needs."""

    case_number = ""

    def footer(self) -> None:
        self.set_y(-14)
        self.set_font(FONT_FAMILY, "", SIZE - 3)
        text = f"Biên bản phiên tòa số {self.case_number} - Trang {self.page_no()}/{{nb}}"
        self.cell(0, 5, text, align=Align.C)


def minutes_pdf(minutes: Minutes, time_zone: str, font_dir: Path, created: datetime) -> bytes:
    """``created`` is the document's creation date, from the server's clock."""
    pdf = _MinutesPdf(format="A4")
    pdf.case_number = minutes.header.case_number
    pdf.set_margins(25, 20, 20)  # the left margin a bound court file needs
    pdf.set_auto_page_break(True, margin=20)
    pdf.set_creation_date(created)
    header = minutes.header
    pdf.set_title(f"Biên bản phiên tòa - {header.case_number}")
    pdf.set_author(header.court_name)
    pdf.set_lang("vi")
    italic = _add_fonts(pdf, font_dir)
    pdf.add_page()
    pdf.set_font(FONT_FAMILY, size=SIZE)
    for block in minutes_blocks(minutes, time_zone):
        match block:
            case Letterhead(left, right):
                _letterhead(pdf, left, right)
            case Title(text, bold):
                pdf.set_font(FONT_FAMILY, "B" if bold else "", SIZE + (2 if bold else 0))
                pdf.multi_cell(0, LINE + 1, text, align=Align.C, new_x=XPos.LMARGIN)
                pdf.set_font(FONT_FAMILY, "", SIZE)
            case Paragraph(runs):
                pdf.ln(1)
                for run in runs:
                    style = ("B" if run.bold else "") + ("I" if run.italic and italic else "")
                    pdf.set_font(FONT_FAMILY, style, SIZE)
                    pdf.write(LINE, run.text)
                pdf.set_font(FONT_FAMILY, "", SIZE)
                pdf.ln(LINE)
            case Bullet(text):
                pdf.set_x(pdf.l_margin + 5)
                pdf.multi_cell(0, LINE, f"- {text}", new_x=XPos.LMARGIN)
            case Heading(text):
                pdf.ln(3)
                pdf.set_font(FONT_FAMILY, "B", SIZE)
                pdf.multi_cell(0, LINE, text, new_x=XPos.LMARGIN)
                pdf.set_font(FONT_FAMILY, "", SIZE)
            case Signatures(columns):
                _signatures(pdf, columns)
    return bytes(pdf.output())


def _add_fonts(pdf: FPDF, font_dir: Path) -> bool:
    """Registers the fonts; whether an italic one was found."""
    for style, name in FONT_FILES.items():
        path = font_dir / name
        if not path.is_file():
            raise MissingFont(
                f"{path} is missing: the minutes' PDF embeds DejaVu Serif. Install Debian's "
                "fonts-dejavu-core (scripts/ensure-fonts) or set document_font_dir."
            )
        pdf.add_font(FONT_FAMILY, style, path)
    italic = font_dir / ITALIC_FILE
    if italic.is_file():
        pdf.add_font(FONT_FAMILY, "I", italic)
        return True
    return False


def _letterhead(pdf: FPDF, left: tuple[Run, ...], right: tuple[Run, ...]) -> None:
    """The motto's column is the wider, so its first line stays on one line as the form
    prints it."""
    full = pdf.w - pdf.l_margin - pdf.r_margin
    columns = ((pdf.l_margin, full * 0.4, left), (pdf.l_margin + full * 0.4, full * 0.6, right))
    top = pdf.get_y()
    bottom = top
    for x, width, runs in columns:
        pdf.set_xy(x, top)
        for run in runs:
            pdf.set_font(FONT_FAMILY, "B" if run.bold else "", SIZE - 1)
            pdf.set_x(x)
            pdf.multi_cell(width, LINE, run.text, align=Align.C, new_x=XPos.LEFT, new_y=YPos.NEXT)
        bottom = max(bottom, pdf.get_y())
    pdf.set_xy(pdf.l_margin, bottom + 4)
    pdf.set_font(FONT_FAMILY, "", SIZE)


def _signatures(pdf: FPDF, columns: tuple[tuple[str, tuple[str, ...]], ...]) -> None:
    pdf.ln(8)
    width = (pdf.w - pdf.l_margin - pdf.r_margin) / len(columns)
    if pdf.get_y() > pdf.h - 60:  # the block is never split from its headings
        pdf.add_page()
    top = pdf.get_y()
    bottom = top
    for index, (label, lines) in enumerate(columns):
        x = pdf.l_margin + index * width
        pdf.set_xy(x, top)
        pdf.set_font(FONT_FAMILY, "B", SIZE - 1)
        pdf.multi_cell(width, LINE, label, align=Align.C, new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.set_font(FONT_FAMILY, "", SIZE)
        pdf.ln(2)
        for line in lines:
            pdf.set_x(x)
            pdf.multi_cell(width, LINE, line, align=Align.C, new_x=XPos.LEFT, new_y=YPos.NEXT)
        bottom = max(bottom, pdf.get_y())
    pdf.set_xy(pdf.l_margin, bottom + 6)
