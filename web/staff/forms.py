"""Staff forms in, request models out: the same models (and limits) as the REST API.

A form field that cannot be read gets an error *code* (``required``, ``too_long``...); the
templates turn codes into sentences in the page's language, so no text lives here. What the
domain refuses (a state-secret case, a fourth remote point) comes back from the service with
its own bilingual message.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError

from web import schemas as s

M = TypeVar("M", bound=BaseModel)

FLAGS = frozenset({"closed_hearing", "state_secret", "record_automatically"})
"""Checkboxes: present means true, absent false."""
_ERROR_CODES = {
    "missing": "required",
    "string_too_short": "required",
    "string_too_long": "too_long",
    "enum": "choose",
    "literal_error": "choose",
}


@dataclass(frozen=True)
class Parsed(Generic[M]):
    """A validated model, or the errors per field; ``values`` re-fill the form either way."""

    values: Mapping[str, str]
    model: M | None = None
    errors: Mapping[str, str] = field(default_factory=dict)


REPEATED_FIELDS = frozenset({"penal_chapters"})
"""Fields sent once per ticked box; their values are kept together, comma-separated."""


def form_values(form: Mapping[str, Any]) -> dict[str, str]:
    """The submitted text fields (files are not part of these forms)."""
    values: dict[str, str] = {}
    for key, value in form.items():
        if not isinstance(value, str):
            continue
        if key in REPEATED_FIELDS and values.get(key):
            values[key] = f"{values[key]}, {value.strip()}"
        else:
            values[key] = value.strip()
    return values


def hearing(values: Mapping[str, str], zone: ZoneInfo) -> Parsed[s.HearingIn]:
    errors: dict[str, str] = {}
    data = {
        "case": {
            "number": values.get("number", ""),
            "case_type": values.get("case_type", ""),
            "instance": values.get("instance", ""),
            "title": values.get("title", ""),
            "closed_hearing": "closed_hearing" in values,
            "state_secret": "state_secret" in values,
            "penal_chapters": _chapters(values.get("penal_chapters", ""), errors),
        },
        "courtroom_name": values.get("courtroom_name", ""),
        "record_automatically": "record_automatically" in values,
        **_times(values, zone, errors),
    }
    return _validated(s.HearingIn, values, data, errors)


def meeting(values: Mapping[str, str], zone: ZoneInfo) -> Parsed[s.MeetingIn]:
    errors: dict[str, str] = {}
    data = {
        "title": values.get("title", ""),
        "organiser": values.get("organiser", ""),
        "chair": values.get("chair", ""),
        "main_point_name": values.get("main_point_name", ""),
        **_times(values, zone, errors),
    }
    return _validated(s.MeetingIn, values, data, errors)


def point(values: Mapping[str, str]) -> Parsed[s.PointIn]:
    data = {k: values.get(k, "") for k in ("name", "kind", "location")}
    return _validated(s.PointIn, values, data, {})


def participant(values: Mapping[str, str]) -> Parsed[s.ParticipantIn]:
    data = {k: values.get(k, "") for k in ("name", "role", "point_id")}
    return _validated(s.ParticipantIn, values, data, {})


def _validated(
    model: type[M], values: Mapping[str, str], data: dict[str, Any], errors: dict[str, str]
) -> Parsed[M]:
    try:
        # A form is text, like a query: read it lax; the JSON API reads the same models strictly.
        parsed = model.model_validate(data, strict=False)
    except ValidationError as error:
        for problem in error.errors(include_url=False, include_input=False):
            name = next((str(p) for p in reversed(problem["loc"]) if isinstance(p, str)), "")
            errors.setdefault(name, _ERROR_CODES.get(problem["type"], "invalid"))
        return Parsed(values, errors=errors)
    if errors:
        return Parsed(values, errors=errors)
    return Parsed(values, model=parsed)


def _times(values: Mapping[str, str], zone: ZoneInfo, errors: dict[str, str]) -> dict[str, Any]:
    """Start and end as typed on the court's clock (``datetime-local`` inputs)."""
    times: dict[str, Any] = {}
    for name in ("scheduled_start", "scheduled_end"):
        raw = values.get(name, "")
        if not raw:
            continue
        try:
            moment = datetime.fromisoformat(raw)
        except ValueError:
            errors[name] = "datetime"
            continue
        times[name] = moment if moment.tzinfo else moment.replace(tzinfo=zone)
    return times


def _chapters(raw: str, errors: dict[str, str]) -> list[int]:
    """``16, 17`` -> [16, 17]; the domain checks the range and the case type."""
    parts = [p for p in re.split(r"[,;\s]+", raw) if p]
    if not all(p.isdigit() for p in parts):
        errors["penal_chapters"] = "chapters"
        return []
    return [int(p) for p in parts]


def chapter_numbers(raw: str) -> list[int]:
    """The chapters a form sent back, to tick them again; anything else is left out."""
    return [int(p) for p in re.split(r"[,;\s]+", raw) if p.isdigit()]
