"""A demo court day: one criminal hearing with three remote points and a leadership meeting,
with every participant's personal join link."""

from __future__ import annotations

from datetime import timedelta

from hearing_server.services import HearingService
from hearing_server.settings import Settings
from rooms import dates
from rooms.cases import Case, CaseType, Instance, MeetingInfo
from rooms.participants import Actor
from rooms.points import PointKind
from rooms.roles import Role


async def create_demo(service: HearingService, settings: Settings, actor: Actor) -> str:
    """Create the demo sessions and return a printable summary with the join links."""
    court = next(c for c in await service.courts(actor) if c.code == settings.court.code)
    now = service.clock()
    start = now.replace(second=0, microsecond=0) + timedelta(minutes=10)
    suffix = start.strftime("%H%M%S")
    case = Case(
        court_id=court.id,
        number=f"DEMO-{suffix}/2026/HS-ST",
        case_type=CaseType.CRIMINAL,
        instance=Instance.FIRST_INSTANCE,
        title="Vụ án trộm cắp tài sản (Điều 173 BLHS) — phiên tòa mẫu",
        penal_chapters=frozenset({16}),
    )
    hearing = await service.schedule_hearing(actor, case, start, start + timedelta(hours=3))
    courtroom = hearing.central_point.id
    detention = await service.add_point(
        actor, hearing.id, "Trại tạm giam Công an tỉnh", PointKind.DETENTION_CENTRE
    )
    lawyer = await service.add_point(
        actor, hearing.id, "Văn phòng Luật sư", PointKind.LAWYER_OFFICE
    )
    home = await service.add_point(actor, hearing.id, "Nơi ở của bị hại", PointKind.HOME)
    people = [
        ("Nguyễn Văn An", Role.PRESIDING_JUDGE, courtroom),
        ("Trần Thị Bình", Role.CLERK, courtroom),
        ("Lê Văn Cường", Role.PROCURATOR, courtroom),
        ("Phạm Văn Dũng", Role.DEFENDANT, detention.id),
        ("Hoàng Thị Em", Role.DEFENCE_COUNSEL, lawyer.id),
        ("Vũ Thị Phương", Role.VICTIM, home.id),
        ("Đỗ Văn Giang", Role.WITNESS, home.id),
    ]
    zone = court.time_zone
    when = dates.span(start, start + timedelta(hours=3), zone).vi
    lines = [
        f"Phiên tòa {hearing.id}: vụ án số thụ lý {case.number}, {court.name}",
        f"  {when} ({dates.zone_name(zone).vi})",
    ]
    for name, role, point in people:
        participant, link = await service.add_participant(actor, hearing.id, name, role, point)
        lines.append(f"  {role.label.vi:<26} {participant.name:<18} {link.short_url}  {link.url}")

    meeting = await service.schedule_meeting(
        actor,
        MeetingInfo(court.id, "Họp giao ban trực tuyến toàn ngành", "Văn phòng", "Chánh án"),
        start + timedelta(hours=4),
        start + timedelta(hours=5),
    )
    meeting_when = dates.span(meeting.scheduled_start, meeting.scheduled_end, zone).vi
    lines += [
        "",
        f"Cuộc họp {meeting.id}: {meeting.meeting.title if meeting.meeting else ''}",
        f"  {meeting_when} ({dates.zone_name(zone).vi})",
    ]
    chair_point = meeting.central_point.id
    _, link = await service.add_participant(actor, meeting.id, "Chánh án", Role.CHAIR, chair_point)
    lines.append(f"  {Role.CHAIR.label.vi:<26} {'Chánh án':<18} {link.short_url}  {link.url}")
    for n in range(1, 4):
        site = await service.add_point(actor, meeting.id, f"TAND cấp huyện số {n}", PointKind.COURT)
        name = f"Điểm cầu {n}"
        _, link = await service.add_participant(actor, meeting.id, name, Role.PARTICIPANT, site.id)
        lines.append(f"  {Role.PARTICIPANT.label.vi:<26} {name:<18} {link.short_url}  {link.url}")
    return "\n".join(lines)
