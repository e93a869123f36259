"""Hearings scheduled from a case registry file: every refused row is named with its reason,
a dry run changes nothing, and importing the same file twice schedules nothing twice."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from tests.api.conftest import API, Api

CSV = (
    "case_number,case_type,instance,title,penal_chapters,scheduled_start,scheduled_end,"
    "courtroom_name,closed_hearing\n"
    "10/2026/HS-ST,criminal,first_instance,Vụ án trộm cắp,XVI,2026-12-10 08:00,"
    "2026-12-10 11:00,Phòng xử án số 1,không\n"
    "11/2026/DS-ST,civil,,Tranh chấp hợp đồng,,2026-12-11T08:00:00+07:00,,Phòng xử án số 2,có\n"
    "\n"
    "12/2026/HS-ST,criminal,first_instance,Tội xâm phạm an ninh quốc gia,XIII,"
    "2026-12-12 08:00,,Phòng xử án số 1,\n"
    "13/2026/HS-ST,murder,first_instance,Loại sai,,2026-12-13 08:00,,Phòng 1,\n"
    "14/2026/HS-ST,criminal,first_instance,Không có giờ,,,,Phòng 1,\n"
    "10/2026/HS-ST,criminal,first_instance,Lặp lại,XVI,2026-12-10 08:00,,Phòng xử án số 1,\n"
)


async def _import(api: Api, content: str, fmt: str = "csv", **extra: Any) -> Any:
    reply = await api.post(f"{API}/case-imports", {"format": fmt, "content": content, **extra})
    assert reply.status == 200, reply.body
    return reply.body


async def _state(api: Api) -> tuple[Any, int]:
    sessions = (await api.get(f"{API}/sessions")).body
    return sessions, len(await api.audit())


async def test_a_dry_run_reports_every_refused_row_and_changes_nothing(api: Api) -> None:
    before = await _state(api)
    report = await _import(api, CSV)
    assert report["dry_run"] is True
    assert (report["accepted"], report["scheduled"], report["refused"]) == (2, 0, 4)
    rows = {(r["line"], r["case_number"]): r for r in report["rows"]}
    assert rows[(2, "10/2026/HS-ST")]["status"] == "accepted"
    assert rows[(3, "11/2026/DS-ST")]["status"] == "accepted"
    chapter_xiii = rows[(5, "12/2026/HS-ST")]
    assert chapter_xiii["status"] == "refused"
    assert "XIII" in chapter_xiii["reasons"][0]["vi"]
    by_line = {r["line"]: r for r in report["rows"]}
    assert by_line[6]["reasons"] == [
        {"vi": by_line[6]["reasons"][0]["vi"], "en": by_line[6]["reasons"][0]["en"]}
    ]
    assert by_line[6]["reasons"][0]["vi"].startswith("Loại vụ án không hợp lệ")
    assert by_line[7]["reasons"][0]["vi"] == "Thiếu giờ bắt đầu."
    assert by_line[8]["reasons"][0]["en"].startswith("This row repeats an earlier row")
    assert await _state(api) == before


async def test_an_import_schedules_the_rows_that_pass_in_the_courts_time_and_not_twice(
    api: Api,
) -> None:
    report = await _import(api, CSV, dry_run=False)
    assert (report["accepted"], report["scheduled"], report["refused"]) == (0, 2, 4)
    first = next(r for r in report["rows"] if r["case_number"] == "10/2026/HS-ST")
    hearing = (await api.get(f"{API}/sessions/{first['session_id']}")).body
    assert datetime.fromisoformat(hearing["scheduled_start"]) == datetime.fromisoformat(
        "2026-12-10T01:00:00+00:00"  # 08:00 in the court's zone, Asia/Ho_Chi_Minh
    )
    assert hearing["case"]["penal_chapters"] == [16]
    civil = next(r for r in report["rows"] if r["case_number"] == "11/2026/DS-ST")
    assert (await api.get(f"{API}/sessions/{civil['session_id']}")).body["case"][
        "closed_hearing"
    ] is True
    again = await _import(api, CSV, dry_run=False)
    assert again["scheduled"] == 0
    assert {r["reasons"][0]["en"] for r in again["rows"] if r["line"] in (2, 3)} == {
        "This case already has a hearing at this very time."
    }


async def test_json_rows_are_read_like_csv_ones(api: Api) -> None:
    content = json.dumps(
        {
            "cases": [
                {
                    "case_number": "20/2026/HC-ST",
                    "case_type": "administrative",
                    "scheduled_start": "2026-12-20T08:00:00+07:00",
                },
                {"case_number": "21/2026/HC-ST", "case_type": "administrative", "judge": "x"},
                "not a case",
            ]
        }
    )
    report = await _import(api, content, "json")
    assert [r["status"] for r in report["rows"]] == ["accepted", "refused", "refused"]
    reasons = [reason["en"] for reason in report["rows"][1]["reasons"]]
    assert "Unknown column: judge." in reasons
    assert "Start is missing." in reasons
    assert report["rows"][2]["reasons"][0]["en"] == "This item is not a case."


async def test_a_file_that_cannot_be_read_is_refused_whole(api: Api) -> None:
    reply = await api.post(
        f"{API}/case-imports", {"format": "csv", "content": "number;type\n1;2\n"}
    )
    assert reply.status == 422
    assert "case_number" in reply.body["error"]["message"]["en"]
    reply = await api.post(f"{API}/case-imports", {"format": "json", "content": "{"})
    assert reply.status == 422


async def test_a_row_may_ask_to_record_from_the_hearings_start(api: Api) -> None:
    content = (
        "case_number,case_type,scheduled_start,record_automatically\n"
        "30/2026/HS-ST,criminal,2026-12-21 08:00,có\n"
        "31/2026/HS-ST,criminal,2026-12-21 09:00,\n"
        "32/2026/HS-ST,criminal,2026-12-21 10:00,đôi khi\n"
    )
    report = await _import(api, content, dry_run=False)
    assert [r["status"] for r in report["rows"]] == ["scheduled", "scheduled", "refused"]
    recorded, plain = [
        (await api.get(f"{API}/sessions/{r['session_id']}")).body for r in report["rows"][:2]
    ]
    assert (recorded["record_automatically"], plain["record_automatically"]) == (True, False)
    assert "Tự động ghi âm, ghi hình" in report["rows"][2]["reasons"][0]["vi"]
