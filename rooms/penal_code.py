"""The Penal Code's chapters of crimes (Bộ luật Hình sự 2015, Part Two): a clerk picks the
charges' chapters by numeral and name, as the code and the refusals write them."""

from __future__ import annotations

from rooms.text import Text

CRIME_CHAPTERS: dict[int, Text] = {
    13: Text("Các tội xâm phạm an ninh quốc gia", "Crimes against national security"),
    14: Text(
        "Các tội xâm phạm tính mạng, sức khỏe, nhân phẩm, danh dự của con người",
        "Crimes against life, health, dignity and honour",
    ),
    15: Text(
        "Các tội xâm phạm quyền tự do của con người, quyền tự do, dân chủ của công dân",
        "Crimes against personal freedom and citizens' democratic freedoms",
    ),
    16: Text("Các tội xâm phạm sở hữu", "Crimes against property"),
    17: Text("Các tội xâm phạm chế độ hôn nhân và gia đình", "Crimes against marriage and family"),
    18: Text("Các tội phạm xâm phạm trật tự quản lý kinh tế", "Crimes against economic management"),
    19: Text("Các tội phạm về môi trường", "Environmental crimes"),
    20: Text("Các tội phạm về ma túy", "Drug crimes"),
    21: Text(
        "Các tội xâm phạm an toàn công cộng, trật tự công cộng",
        "Crimes against public safety and public order",
    ),
    22: Text(
        "Các tội xâm phạm trật tự quản lý hành chính",
        "Crimes against administrative management",
    ),
    23: Text("Các tội phạm về chức vụ", "Crimes of office"),
    24: Text("Các tội xâm phạm hoạt động tư pháp", "Crimes against judicial activities"),
    25: Text(
        "Các tội xâm phạm nghĩa vụ, trách nhiệm của quân nhân và trách nhiệm của người phối "
        "thuộc với quân đội trong chiến đấu, phục vụ chiến đấu",
        "Crimes against the duties of service members and of those serving with the army in combat",
    ),
    26: Text(
        "Các tội phá hoại hòa bình, chống loài người và tội phạm chiến tranh",
        "Crimes against peace and humanity, and war crimes",
    ),
}
"""Chapters XIII–XXVI: the chapters before them (the general part) define no crimes."""


def roman(number: int) -> str:
    """A chapter's numeral, as the code writes it: 16 → ``XVI``."""
    numerals = [(10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")]
    out = ""
    for value, numeral in numerals:
        while number >= value:
            out += numeral
            number -= value
    return out


def chapter_title(number: int) -> Text:
    """``Chương XVI — Các tội xâm phạm sở hữu``; a chapter without crimes by its numeral."""
    name = CRIME_CHAPTERS.get(number)
    numeral = roman(number)
    if name is None:
        return Text(f"Chương {numeral}", f"Chapter {numeral}")
    return Text(f"Chương {numeral} — {name.vi}", f"Chapter {numeral} — {name.en}")
