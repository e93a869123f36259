"""Languages of the pages: Vietnamese by default, English on request.

Message ids are English; Vietnamese comes from gettext catalogues under ``web/locale/vi``.
Each page area keeps its own catalogue (``common.po``, ``staff.po``, ``hearing.po`` ...) so
they can be extracted and translated apart; a language's catalogues are merged when loaded.
Strings in templates use ``_()``/``{% trans %}``; strings in the browser scripts use
``t("...")`` and reach the browser through :func:`script_messages`.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Final
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from rooms import dates
from rooms.penal_code import chapter_title
from rooms.text import Text

LOCALES: Final = ("vi", "en")
DEFAULT_LOCALE: Final = "vi"
LANGUAGE_NAMES: Final = {"vi": "Tiếng Việt", "en": "English"}
LANGUAGE_COOKIE: Final = "lang"
"""Remembers a visitor's choice of language for a year."""
LOCALE_DIR = Path(__file__).parent / "locale"
SCRIPT_SUFFIX = ".js"


@dataclass(frozen=True, slots=True)
class Language:
    """One language's messages: for templates (``translations``) and scripts (``script``)."""

    code: str
    translations: NullTranslations
    script: Mapping[str, str]


def area_catalogues(locale: str) -> dict[str, Catalog]:
    """A language's catalogue of each page area, by area name."""
    folder = LOCALE_DIR / locale / "LC_MESSAGES"
    areas: dict[str, Catalog] = {}
    for path in sorted(folder.glob("*.po")) if folder.is_dir() else []:
        with path.open("rb") as handle:
            areas[path.stem] = read_po(handle, locale=locale)
    return areas


def _read_catalogue(locale: str) -> Catalog:
    """All of a language's areas in one catalogue. A string shared by two areas should read
    the same in both (a test checks); if not, the ``common`` area's reading is kept, and a
    translation anywhere wins over a string still untranslated elsewhere."""
    merged = Catalog(locale=locale)
    areas = area_catalogues(locale)
    ordered = sorted(areas, key=lambda name: (name != "common", name))
    for name in ordered:
        for message in areas[name]:
            if not message.id:
                continue
            kept = merged.get(message.id)
            if kept is None or (not kept.string and message.string):
                merged[message.id] = message
    return merged


@cache
def language(code: str) -> Language:
    """The loaded messages of a language (cached: catalogues are read once per process)."""
    if code not in LOCALES:
        raise ValueError(f"unsupported language {code!r}")
    catalogue = _read_catalogue(code)
    # Fuzzy entries are guesses awaiting review; showing them would mislead, as gettext does.
    for message in catalogue:
        if message.fuzzy and message.id:
            message.string = ""
    buffer = io.BytesIO()
    write_mo(buffer, catalogue)
    buffer.seek(0)
    translations: NullTranslations = Translations(buffer) if len(catalogue) else NullTranslations()
    # A string a script uses may be kept from another area's catalogue (where a template
    # uses it): which strings scripts need is asked of every area, not of the kept entry.
    used_by_scripts = {
        str(message.id)
        for area in area_catalogues(code).values()
        for message in area
        if any(str(location).endswith(SCRIPT_SUFFIX) for location, _line in message.locations)
    }
    script = {
        str(message.id): str(message.string)
        for message in catalogue
        if isinstance(message.id, str)
        and message.string
        and not message.fuzzy
        and message.id in used_by_scripts
    }
    return Language(code, translations, script)


def script_messages(code: str) -> Mapping[str, str]:
    """Translations the browser scripts need, id → text (empty for English)."""
    return language(code).script


def locale_of(request: web.Request) -> str:
    """``?lang=`` first, then the remembered choice, then the browser's preference
    (``Accept-Language``), then Vietnamese."""
    asked = request.query.get("lang", "")
    if asked in LOCALES:
        return asked
    remembered = request.cookies.get(LANGUAGE_COOKIE, "")
    if remembered in LOCALES:
        return remembered
    return preferred_locale(request.headers.get("Accept-Language", ""))


def preferred_locale(header: str) -> str:
    """The supported language a browser ranks highest in its ``Accept-Language`` header
    (``en-GB,en;q=0.8,vi;q=0.5`` → ``en``); Vietnamese when it names none we speak."""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(header.split(",")):
        tag, _, parameters = item.strip().partition(";")
        quality = 1.0
        for parameter in parameters.split(";"):
            name, _, value = parameter.strip().partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LOCALES and quality > 0:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else DEFAULT_LOCALE


def remember_locale(request: web.Request, response: web.StreamResponse) -> None:
    """Keep a language chosen with ``?lang=`` for the visitor's next pages."""
    asked = request.query.get("lang", "")
    if asked in LOCALES and request.cookies.get(LANGUAGE_COOKIE) != asked:
        response.set_cookie(
            LANGUAGE_COOKIE,
            asked,
            max_age=365 * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=request.secure,
        )


def make_environment(code: str, templates: Path) -> jinja2.Environment:
    """A template environment speaking one language, with date filters in that language.

    Date filters take the court's time zone: ``{{ when|datetime(court_zone) }}``; every
    date and time is written one way (:mod:`rooms.dates`).
    """
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(templates),
        autoescape=jinja2.select_autoescape(["html"]),
        enable_async=True,
        extensions=["jinja2.ext.i18n"],
    )
    environment.install_gettext_translations(language(code).translations, newstyle=True)  # type: ignore[attr-defined]

    def pick(text: Text) -> str:
        return text.vi if code == "vi" else text.en

    def as_datetime(value: datetime, time_zone: str | ZoneInfo) -> str:
        return pick(dates.moment(value, time_zone))

    def as_date(value: datetime, time_zone: str | ZoneInfo) -> str:
        return pick(dates.day(value, time_zone))

    def as_span(value: datetime, end: datetime | None, time_zone: str | ZoneInfo) -> str:
        return pick(dates.span(value, end, time_zone))

    def as_zone(time_zone: str | ZoneInfo) -> str:
        return pick(dates.zone_name(time_zone))

    environment.filters["datetime"] = as_datetime
    environment.filters["date"] = as_date
    environment.filters["time"] = dates.clock
    environment.filters["timespan"] = as_span
    environment.filters["zone_name"] = as_zone
    environment.filters["penal_chapter"] = lambda number: pick(chapter_title(number))
    environment.globals["lang"] = code
    environment.globals["languages"] = LANGUAGE_NAMES
    return environment
