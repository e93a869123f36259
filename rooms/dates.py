"""How the court writes a moment: one format for every page, message and printout.

Vietnamese: ``10:47, thứ Tư 02/12/2026`` (hour and minute, then the weekday and the day as
courts write it); English: ``10:47, Wednesday 2 December 2026``. Seconds are never shown: a
hearing is scheduled to the minute. Where the zone matters it is named ("giờ Việt Nam"),
never given as a database key like ``Asia/Ho_Chi_Minh``.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from rooms.text import Text

_WEEKDAYS_VI = ("thứ Hai", "thứ Ba", "thứ Tư", "thứ Năm", "thứ Sáu", "thứ Bảy", "Chủ nhật")
_WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS_EN = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
_ZONE_NAMES = {
    "Asia/Ho_Chi_Minh": Text("giờ Việt Nam", "Vietnam time"),
    "Asia/Saigon": Text("giờ Việt Nam", "Vietnam time"),
    "UTC": Text("giờ UTC", "UTC"),
}


def _local(when: datetime, zone: str | ZoneInfo) -> datetime:
    return when.astimezone(zone if isinstance(zone, ZoneInfo) else ZoneInfo(zone))


def clock(when: datetime, zone: str | ZoneInfo) -> str:
    """The time of day, ``10:47`` (the same in both languages)."""
    return f"{_local(when, zone):%H:%M}"


def day(when: datetime, zone: str | ZoneInfo) -> Text:
    """The day, ``thứ Tư 02/12/2026`` / ``Wednesday 2 December 2026``."""
    local = _local(when, zone)
    weekday = local.weekday()
    return Text(
        f"{_WEEKDAYS_VI[weekday]} {local:%d/%m/%Y}",
        f"{_WEEKDAYS_EN[weekday]} {local.day} {_MONTHS_EN[local.month - 1]} {local.year}",
    )


def moment(when: datetime, zone: str | ZoneInfo) -> Text:
    """A moment, ``10:47, thứ Tư 02/12/2026``."""
    the_day = day(when, zone)
    time = clock(when, zone)
    return Text(f"{time}, {the_day.vi}", f"{time}, {the_day.en}")


def span(start: datetime, end: datetime | None, zone: str | ZoneInfo) -> Text:
    """A scheduled slot, ``10:47–13:47, thứ Tư 02/12/2026`` (the end's day is named only
    when it differs from the start's)."""
    if end is None:
        return moment(start, zone)
    if _local(start, zone).date() != _local(end, zone).date():
        first, last = moment(start, zone), moment(end, zone)
        return Text(f"{first.vi} – {last.vi}", f"{first.en} – {last.en}")
    the_day = day(start, zone)
    times = f"{clock(start, zone)}–{clock(end, zone)}"
    return Text(f"{times}, {the_day.vi}", f"{times}, {the_day.en}")


def zone_name(zone: str | ZoneInfo) -> Text:
    """The zone as a person says it, ``giờ Việt Nam``; an unnamed zone by its key."""
    key = zone.key if isinstance(zone, ZoneInfo) else zone
    return _ZONE_NAMES.get(key, Text(key, key))
