"""QR codes of join links, drawn on the server as inline SVG: the printout needs no script,
no image request and no third-party service that would learn the link."""

from __future__ import annotations

import io

import segno
from markupsafe import Markup

__all__ = ["qr_svg"]


def qr_svg(text: str, title: str) -> Markup:
    """An ``<svg>`` element of ``text`` that scales to its box (no fixed size); error
    correction level M survives a crease or a smudge on paper. ``title`` is what a screen
    reader says."""
    code = segno.make(text, error="m", micro=False)
    out = io.BytesIO()
    code.save(
        out,
        kind="svg",
        xmldecl=False,
        svgns=True,
        omitsize=True,
        border=4,
        svgclass="qr",
        lineclass=None,
        title=title,
    )
    return Markup(out.getvalue().decode("utf-8"))
