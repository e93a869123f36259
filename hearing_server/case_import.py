"""Cases from the case registry's files (CSV or JSON) become scheduled hearings.

QLTA, the courts' case management software, has no public interface; what it and a clerk's
spreadsheet can give is a file with one case per row. Each row is read into the fields of our
case model, then put to the same domain rules as a hearing scheduled by hand. A dry run
reports every row that would be refused, and why, and changes nothing; a real import
schedules the rows that pass and reports the others the same way.

Columns (CSV header or JSON keys): ``case_number``, ``case_type``, ``instance``, ``title``,
``closed_hearing``, ``state_secret``, ``penal_chapters``, ``scheduled_start``,
``scheduled_end``, ``courtroom_name``, ``record_automatically`` (start recording when the
hearing starts). Times are ISO 8601; without an offset they are the
court's local time. Penal Code chapters are numerals, Roman or Arabic, separated by commas or
semicolons. Yes/no columns take ``true``/``false``, ``1``/``0``, ``có``/``không``.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from hearing_server.persistence.repositories import SessionFilter
from hearing_server.services import HearingService
from rooms.cases import Case, CaseType, Instance
from rooms.errors import DomainError
from rooms.ids import CourtId
from rooms.participants import Actor
from rooms.session import CourtSession
from rooms.states import ENDED_SESSION_STATES
from rooms.text import Text

__all__ = [
    "IMPORT_COLUMNS",
    "MAX_IMPORT_BYTES",
    "MAX_IMPORT_ROWS",
    "CaseRow",
    "ImportFormat",
    "ParsedRow",
    "RowOutcome",
    "import_cases",
    "parse_case_file",
]

ImportFormat = Literal["csv", "json"]

MAX_IMPORT_ROWS = 2000
"""A registry export for one court for months; a larger file is split by the sender."""
MAX_IMPORT_BYTES = 2 * 1024 * 1024

IMPORT_COLUMNS = (
    "case_number",
    "case_type",
    "instance",
    "title",
    "closed_hearing",
    "state_secret",
    "penal_chapters",
    "scheduled_start",
    "scheduled_end",
    "courtroom_name",
    "record_automatically",
)

_COLUMN_NAMES: Mapping[str, Text] = {
    "case_number": Text("Số thụ lý", "Case number"),
    "case_type": Text("Loại vụ án", "Case type"),
    "instance": Text("Cấp xét xử", "Instance"),
    "title": Text("Tên vụ án", "Title"),
    "closed_hearing": Text("Xử kín", "Closed hearing"),
    "state_secret": Text("Bí mật nhà nước", "State secret"),
    "penal_chapters": Text("Chương của Bộ luật Hình sự", "Penal Code chapters"),
    "scheduled_start": Text("Giờ bắt đầu", "Start"),
    "scheduled_end": Text("Giờ kết thúc", "End"),
    "courtroom_name": Text("Tên phòng xử án", "Courtroom name"),
    "record_automatically": Text("Tự động ghi âm, ghi hình khi bắt đầu", "Record from the start"),
}

_ROMAN = {"I": 1, "V": 5, "X": 10, "L": 50}
_YES = {"true", "1", "yes", "có", "co", "x"}
_NO = {"false", "0", "no", "không", "khong", ""}


def _chapter(text: str) -> int:
    value = text.strip().upper().removeprefix("CHƯƠNG").strip()
    if value.isdigit():
        return int(value)
    if not value or any(c not in _ROMAN for c in value):
        raise ValueError(f"{text!r} is not a chapter numeral")
    total = 0
    for current, following in zip(value, [*value[1:], ""], strict=True):
        number = _ROMAN[current]
        total += -number if following and _ROMAN[following] > number else number
    return total


class CaseRow(BaseModel):
    """One row as the registry gives it, checked field by field."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    case_number: str = Field(min_length=1, max_length=100)
    case_type: CaseType
    instance: Instance = Instance.FIRST_INSTANCE
    title: str = Field(default="", max_length=500)
    closed_hearing: bool = False
    state_secret: bool = False
    penal_chapters: list[int] = Field(default_factory=list, max_length=26)
    scheduled_start: datetime
    scheduled_end: datetime | None = None
    courtroom_name: str = Field(default="Phòng xử án", min_length=1, max_length=300)
    record_automatically: bool = False

    @field_validator("closed_hearing", "state_secret", "record_automatically", mode="before")
    @classmethod
    def _yes_no(cls, value: object) -> object:
        if isinstance(value, str):
            word = value.strip().lower()
            if word in _YES:
                return True
            if word in _NO:
                return False
        return value

    @field_validator("penal_chapters", mode="before")
    @classmethod
    def _chapters(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [p for p in value.replace(";", ",").split(",") if p.strip()]
            return [_chapter(p) for p in parts]
        return value

    def case(self, court_id: CourtId) -> Case:
        return Case(
            court_id=court_id,
            number=self.case_number,
            case_type=self.case_type,
            instance=self.instance,
            title=self.title,
            closed_hearing=self.closed_hearing,
            state_secret=self.state_secret,
            penal_chapters=frozenset(self.penal_chapters),
        )

    def start_in(self, zone: ZoneInfo) -> datetime:
        return _localised(self.scheduled_start, zone)

    def end_in(self, zone: ZoneInfo) -> datetime | None:
        return None if self.scheduled_end is None else _localised(self.scheduled_end, zone)


def _localised(moment: datetime, zone: ZoneInfo) -> datetime:
    """A time without an offset is the court's wall clock, as a clerk writes it."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=zone)


@dataclass(frozen=True, slots=True)
class ParsedRow:
    line: int
    "The row's line in the file (CSV: counting the header as 1; JSON: its position from 1)."
    row: CaseRow | None
    reasons: tuple[Text, ...] = ()
    case_number: str = ""
    "As the file wrote it, so a refused row is named by its case."


@dataclass(slots=True)
class RowOutcome:
    line: int
    case_number: str
    status: Literal["accepted", "scheduled", "refused"]
    reasons: list[Text] = field(default_factory=list)
    session_id: str | None = None


class ImportFileError(ValueError):
    """The file as a whole cannot be read: nothing in it is considered."""

    def __init__(self, message: Text) -> None:
        super().__init__(message.en)
        self.message = message


def parse_case_file(content: str, file_format: ImportFormat) -> list[ParsedRow]:
    if len(content.encode("utf-8")) > MAX_IMPORT_BYTES:
        raise ImportFileError(
            Text(
                f"Tệp quá lớn (tối đa {MAX_IMPORT_BYTES // 1024 // 1024} MB).",
                f"The file is too large (at most {MAX_IMPORT_BYTES // 1024 // 1024} MB).",
            )
        )
    raw = _csv_rows(content) if file_format == "csv" else _json_rows(content)
    if len(raw) > MAX_IMPORT_ROWS:
        raise ImportFileError(
            Text(
                f"Tệp có {len(raw)} dòng, tối đa {MAX_IMPORT_ROWS} dòng mỗi lần.",
                f"The file has {len(raw)} rows; at most {MAX_IMPORT_ROWS} at a time.",
            )
        )
    return [_parse(line, values) for line, values in raw]


def _csv_rows(content: str) -> list[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(content.lstrip("\ufeff")))
    header = [name.strip() for name in reader.fieldnames or []]
    unknown = [name for name in header if name not in IMPORT_COLUMNS]
    if not header or unknown or "case_number" not in header:
        raise ImportFileError(
            Text(
                "Dòng tiêu đề phải gồm các cột: "
                + ", ".join(IMPORT_COLUMNS)
                + (f" (cột không biết: {', '.join(unknown)})" if unknown else "."),
                "The header must name columns among: "
                + ", ".join(IMPORT_COLUMNS)
                + (f" (unknown: {', '.join(unknown)})" if unknown else "."),
            )
        )
    reader.fieldnames = header
    rows: list[tuple[int, dict[str, Any]]] = []
    for values in reader:
        if not any((v or "").strip() for v in values.values() if isinstance(v, str)):
            continue  # a blank line in a spreadsheet export
        if None in values:
            values = {k: v for k, v in values.items() if k is not None}
            values["__extra__"] = True
        # An empty cell is a value the registry did not give: the field's default applies.
        rows.append((reader.line_num, {k: v for k, v in values.items() if v not in (None, "")}))
    return rows


def _json_rows(content: str) -> list[tuple[int, dict[str, Any]]]:
    try:
        loaded = json.loads(content)
    except ValueError as exc:
        raise ImportFileError(
            Text(f"Tệp JSON không đọc được: {exc}", f"The JSON file does not parse: {exc}")
        ) from exc
    if isinstance(loaded, dict) and isinstance(loaded.get("cases"), list):
        loaded = loaded["cases"]
    if not isinstance(loaded, list):
        raise ImportFileError(
            Text(
                'Tệp JSON phải là một danh sách vụ án (hoặc {"cases": [...]}).',
                'The JSON file must be a list of cases (or {"cases": [...]}).',
            )
        )
    return [
        (index, item if isinstance(item, dict) else {"__not_an_object__": item})
        for index, item in enumerate(loaded, start=1)
    ]


def _parse(line: int, values: dict[str, Any]) -> ParsedRow:
    if "__extra__" in values:
        return ParsedRow(
            line,
            None,
            (Text("Dòng có nhiều ô hơn tiêu đề.", "The row has more cells than the header."),),
        )
    if "__not_an_object__" in values:
        return ParsedRow(
            line, None, (Text("Mục này không phải một vụ án.", "This item is not a case."),)
        )
    number = values.get("case_number")
    named = number.strip()[:100] if isinstance(number, str) else ""
    try:
        return ParsedRow(line, CaseRow.model_validate(values), case_number=named)
    except ValidationError as error:
        return ParsedRow(line, None, tuple(_reason(e) for e in error.errors()), named)


def _reason(error: Mapping[str, Any]) -> Text:
    column = str(error["loc"][0]) if error.get("loc") else ""
    name = _COLUMN_NAMES.get(column)
    message = str(error.get("msg", ""))
    if error.get("type") == "extra_forbidden":
        return Text(f"Cột không biết: {column}.", f"Unknown column: {column}.")
    if error.get("type") == "missing":
        label = name or Text(column, column)
        return Text(f"Thiếu {label.vi.lower()}.", f"{label.en} is missing.")
    if name is None:
        return Text(f"Giá trị không hợp lệ: {message}", f"Invalid value: {message}")
    return Text(f"{name.vi} không hợp lệ ({message}).", f"{name.en} is not valid ({message}).")


def outcomes_as_json(outcomes: Sequence[RowOutcome], language: str = "vi") -> list[dict[str, Any]]:
    return [
        {
            "line": o.line,
            "case_number": o.case_number,
            "status": o.status,
            "reasons": [r.vi if language == "vi" else r.en for r in o.reasons],
            "session_id": o.session_id,
        }
        for o in outcomes
    ]


_DUPLICATE = Text(
    "Vụ án này đã có phiên xét xử vào đúng thời gian này.",
    "This case already has a hearing at this very time.",
)
_REPEATED = Text(
    "Dòng này lặp lại một dòng trước trong tệp (cùng số thụ lý và thời gian).",
    "This row repeats an earlier row of the file (same case number and time).",
)


async def import_cases(
    service: HearingService,
    actor: Actor,
    court_id: CourtId,
    rows: Sequence[ParsedRow],
    *,
    dry_run: bool,
) -> list[RowOutcome]:
    """Every row put to the rules of scheduling by hand; a dry run stores nothing.

    A row whose case already has a live or scheduled hearing at the same start is refused,
    so importing the same file twice schedules nothing twice."""
    court = await service.court(actor, court_id)  # the actor's own court, or refused
    zone = ZoneInfo(court.time_zone)
    seen: set[tuple[str, datetime]] = set()
    outcomes: list[RowOutcome] = []
    for parsed in rows:
        row = parsed.row
        if row is None:
            outcomes.append(
                RowOutcome(parsed.line, parsed.case_number, "refused", list(parsed.reasons))
            )
            continue
        outcome = RowOutcome(parsed.line, row.case_number, "accepted")
        outcomes.append(outcome)
        try:
            case = row.case(court_id)
            start, end = row.start_in(zone), row.end_in(zone)
            CourtSession.schedule_hearing(  # the domain's verdict, nothing stored
                actor, case, service.database.policy, start, end, row.courtroom_name
            )
        except DomainError as error:
            outcome.status, outcome.reasons = "refused", [error.message]
            continue
        key = (case.number, start)
        if key in seen:
            outcome.status, outcome.reasons = "refused", [_REPEATED]
            continue
        seen.add(key)
        if await _already_scheduled(service, actor, court_id, case.number, start):
            outcome.status, outcome.reasons = "refused", [_DUPLICATE]
            continue
        if dry_run:
            continue
        try:
            session = await service.schedule_hearing(
                actor,
                case,
                start,
                end,
                row.courtroom_name,
                record_automatically=row.record_automatically,
            )
        except DomainError as error:
            outcome.status, outcome.reasons = "refused", [error.message]
            continue
        outcome.status, outcome.session_id = "scheduled", session.id
    return outcomes


async def _already_scheduled(
    service: HearingService, actor: Actor, court_id: CourtId, number: str, start: datetime
) -> bool:
    sessions = await service.find_sessions(
        actor, SessionFilter(court_id=court_id, case_number=number, limit=100)
    )
    return any(s.scheduled_start == start and s.state not in ENDED_SESSION_STATES for s in sessions)
