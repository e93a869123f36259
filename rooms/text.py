"""Bilingual text: every message a person may read exists in Vietnamese and English."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Text:
    vi: str
    """Vietnamese, the default language of the product."""
    en: str

    def as_dict(self) -> dict[str, str]:
        return {"vi": self.vi, "en": self.en}

    def format(self, **values: object) -> Text:
        """Fill ``{name}`` fields in both languages alike; a value that is itself a ``Text``
        fills each language with its own words."""
        vi = {k: v.vi if isinstance(v, Text) else v for k, v in values.items()}
        en = {k: v.en if isinstance(v, Text) else v for k, v in values.items()}
        return Text(self.vi.format(**vi), self.en.format(**en))
