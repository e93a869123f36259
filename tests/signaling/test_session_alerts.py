"""A monitor takes charge of all of one session's open alerts at once, audited (issue 10)."""

from __future__ import annotations

from rooms.alerts import AlertKind
from rooms.roles import StaffRole
from tests.signaling.harness import CLI, Hearing, staff_token


async def test_a_monitor_acknowledges_a_sessions_alerts_together(hearing: Hearing) -> None:
    service = hearing.service
    defendant = hearing.ids["defendant"]
    raised = [
        await service.raise_alert(
            hearing.session_id, defendant, AlertKind.DISCONNECTED, name="Bị cáo"
        ),
        await service.raise_alert(
            hearing.session_id, defendant, AlertKind.MEDIA_SILENT, name="Bị cáo", seconds=30
        ),
    ]
    token = await staff_token(hearing.client, "kythuat", StaffRole.IT_STAFF)
    monitor = await hearing.connect("monitor", {"staff_token": token})
    await monitor.wait_for("welcome")
    other = await hearing.connect("other", {"staff_token": token})
    await other.wait_for("welcome")
    for peer in (monitor, other):
        assert (await peer.call("watch", {"session_id": hearing.session_id}))["ok"]

    reply = await monitor.call("acknowledge_alert", {"session_id": hearing.session_id})
    assert reply["ok"], reply
    assert sorted(a["id"] for a in reply["alerts"]) == sorted(a.id for a in raised)
    assert all(a["acknowledged_by"]["name"] for a in reply["alerts"])
    for alert in raised:
        await other.wait_for("alert", lambda a, i=alert.id: a["id"] == i and a["acknowledged_by"])
    assert await service.alerts(CLI, hearing.session_id) == []

    again = await monitor.call("acknowledge_alert", {"session_id": hearing.session_id})
    assert again["alerts"] == []
    audited = await hearing.audit("alert.acknowledge_session")
    assert sorted(e.detail["count"] for e in audited) == [0, 2]
    assert all(e.outcome == "accepted" for e in audited)
