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
        """Fill ``{name}`` fields in both languages alike."""
        return Text(self.vi.format(**values), self.en.format(**values))
