"""The minutes as a DOCX in the official layout (the blocks of ``web.minutes_layout``)."""

from __future__ import annotations

import io

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.text.paragraph import Paragraph as DocxParagraph

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

__all__ = ["minutes_docx"]


def minutes_docx(minutes: Minutes, time_zone: str) -> bytes:
    doc = Document()
    for block in minutes_blocks(minutes, time_zone):
        match block:
            case Letterhead(left, right):
                table = doc.add_table(rows=1, cols=2)
                for cell, runs in zip(table.rows[0].cells, (left, right), strict=True):
                    for index, run in enumerate(runs):
                        paragraph = cell.paragraphs[0] if index == 0 else cell.add_paragraph()
                        _add(paragraph, run)
                        paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
            case Title(text, bold):
                title = doc.add_paragraph()
                title.alignment = WD_ALIGN_PARAGRAPH.CENTER
                title.add_run(text).bold = bold
            case Paragraph(runs):
                paragraph = doc.add_paragraph()
                for run in runs:
                    _add(paragraph, run)
            case Bullet(text):
                doc.add_paragraph(text, style="List Bullet")
            case Heading(text):
                doc.add_heading(text, level=2)
            case Signatures(columns):
                table = doc.add_table(rows=2, cols=len(columns))
                for column, (label, lines) in enumerate(columns):
                    table.cell(0, column).paragraphs[0].add_run(label).bold = True
                    table.cell(1, column).text = "\n".join(lines)
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def _add(paragraph: DocxParagraph, run: Run) -> None:
    added = paragraph.add_run(run.text)
    added.bold = run.bold or None
    added.italic = run.italic or None
