"""A screened witness over real socket.io: the defendant they are screened from is told that a
protected participant takes part, never who (no name, role, point or participant id in the
welcome, any view, event, chat message or offered track), while the court sees everything."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hearing_server.settings import Settings
from rooms.disclosure import PSEUDONYM_PREFIX
from rooms.points import PointKind
from rooms.roles import Role, StaffRole
from signaling.gateway import OutgoingTrack
from tests.signaling.conftest import RecordingGateway
from tests.signaling.harness import CLI, Body, Hearing, Peer, person_state, staff_token

WITNESS_NAME = "Hoàng Văn Nhân Chứng"
WITNESS_POINT = "Nhà riêng người làm chứng"


@pytest.fixture
def settings(settings: Settings) -> Settings:
    return settings.model_copy(update={"media_enabled": False})


Clues = dict[str, str]


async def add_witness(hearing: Hearing) -> Clues:
    """Add the witness at a point of their own; return what would identify them."""
    point = await hearing.service.add_point(CLI, hearing.session_id, WITNESS_POINT, PointKind.HOME)
    witness, link = await hearing.service.add_participant(
        CLI, hearing.session_id, WITNESS_NAME, Role.WITNESS, point.id
    )
    hearing.ids["witness"], hearing.tokens["witness"] = witness.id, link.token
    return {
        "name": WITNESS_NAME,
        "id": witness.id,
        "point id": point.id,
        "point name": WITNESS_POINT,
        "role": '"witness"',
    }


def leaks(clues: Clues, body: Any) -> list[str]:
    """What in ``body`` identifies the witness."""
    text = json.dumps(body, ensure_ascii=False)
    return [what for what, clue in clues.items() if clue in text]


def event_named(name: str) -> Any:
    return lambda body: body["event"]["name"] == name


def called_in(body: Body) -> bool:
    """The protected witness, called into the courtroom, as a shielded person reads it."""
    payload = body["event"]["payload"]
    return bool(
        body["event"]["name"] == "participant_state_changed"
        and payload["current"] == "in_session"
        and payload["participant_id"].startswith(PSEUDONYM_PREFIX)
    )


def protected_entry(view: Body) -> Body:
    [entry] = [p for p in view["participants"] if p.get("protected")]
    return entry


async def screened_hearing(
    hearing: Hearing, hidden_from: str = "defendant"
) -> tuple[dict[str, Peer], Clues]:
    """The hearing started with the defendant in; the witness screened and called in."""
    clues = await add_witness(hearing)
    peers = {who: (await hearing.join(who))[0] for who in ("judge", "clerk", "defendant")}
    await hearing.admit(peers["clerk"], "defendant")
    assert (await peers["judge"].call("start"))["ok"]
    peers["witness"], _ = await hearing.join("witness")
    witness_id = hearing.ids["witness"]
    assert (await peers["clerk"].call("verify_identity", {"participant_id": witness_id}))["ok"]
    reply = await peers["judge"].call(
        "set_screening", {"protected": witness_id, "hidden_from": hearing.ids[hidden_from]}
    )
    assert reply["ok"], reply
    assert (await peers["judge"].call("call_witness", {"participant_id": witness_id}))["ok"]
    await peers[hidden_from].wait_for("session_event", called_in)
    return peers, clues


async def test_the_defendant_sees_a_protected_participant_and_the_judge_sees_the_witness(
    hearing: Hearing,
) -> None:
    peers, clues = await screened_hearing(hearing)
    defendant, judge = peers["defendant"], peers["judge"]
    witness_id = hearing.ids["witness"]

    screened = await defendant.wait_for("session_event", event_named("screening_changed"))
    called = await defendant.wait_for("session_event", called_in)
    for body in (screened, called):
        assert leaks(clues, body) == []
    entry = protected_entry(called["view"])
    assert entry["id"].startswith(PSEUDONYM_PREFIX)
    assert entry["name"] == "Người tham gia được bảo vệ"
    assert entry["state"] == "in_session"
    assert (entry["role"], entry["point"], entry["verified"]) == (None, None, None)
    assert called["event"]["payload"]["participant_id"] == entry["id"]
    assert screened["event"]["payload"]["protected"] == entry["id"]
    assert screened["event"]["payload"]["hidden_from"] == hearing.ids["defendant"]
    # The other parties' points are still listed; the witness's is not.
    assert [p["name"] for p in called["view"]["session"]["points"]] == [
        "Phòng xử án",
        "Trại tạm giam",
        "Nhà riêng",
    ]

    # The court, unscreened, sees who it is.
    seen = await judge.wait_for("session_event", person_state(witness_id, "in_session"))
    [witness] = [p for p in seen["view"]["participants"] if p["id"] == witness_id]
    assert (witness["name"], witness["role"], witness["verified"]) == (
        WITNESS_NAME,
        "witness",
        True,
    )

    # What the witness does reaches the defendant under the pseudonym only.
    assert (await peers["witness"].call("raise_hand"))["ok"]
    assert (await judge.call("give_floor", {"participant_id": witness_id}))["ok"]
    floor = await defendant.wait_for("session_event", event_named("floor_changed"))
    hand = await defendant.wait_for("session_event", event_named("hand_changed"))
    assert floor["event"]["payload"]["holder"] == entry["id"]
    assert floor["view"]["session"]["floor_holder"] == entry["id"]
    assert protected_entry(floor["view"])["floor"] is True
    assert (hand["event"]["actor"], hand["event"]["payload"]["actor"]) == (entry["id"],) * 2
    assert (await judge.wait_for("session_event", event_named("floor_changed")))["event"][
        "payload"
    ]["holder"] == witness_id

    # Nothing the defendant received since the screening names the witness, and a new
    # connection's welcome does not either; the pseudonym stays the same.
    since = next(i for i, (_n, body) in enumerate(defendant.events) if body is screened)
    await defendant.close()
    again, welcome = await hearing.join("defendant")
    assert protected_entry(welcome["view"])["id"] == entry["id"]
    received = defendant.events[since:] + again.events
    assert len(received) > 5
    assert [(name, leaks(clues, body)) for name, body in received if leaks(clues, body)] == []


async def test_lifting_the_screening_names_the_witness_again(hearing: Hearing) -> None:
    peers, _ = await screened_hearing(hearing)
    witness_id = hearing.ids["witness"]
    reply = await peers["judge"].call(
        "set_screening",
        {"protected": witness_id, "hidden_from": hearing.ids["defendant"], "active": False},
    )
    assert reply["ok"]
    lifted = await peers["defendant"].wait_for(
        "session_event",
        lambda b: b["event"]["name"] == "screening_changed" and not b["event"]["payload"]["active"],
    )
    assert lifted["event"]["payload"]["protected"] == witness_id
    assert not any(p.get("protected") for p in lifted["view"]["participants"])
    assert WITNESS_NAME in {p["name"] for p in lifted["view"]["participants"]}


async def test_a_shielded_court_member_reads_the_protected_persons_chat_pseudonymously(
    hearing: Hearing,
) -> None:
    peers, clues = await screened_hearing(hearing, hidden_from="clerk")
    clerk, judge, witness = peers["clerk"], peers["judge"], peers["witness"]
    witness_id = hearing.ids["witness"]

    sent = await witness.call("chat", {"text": "Tôi xin trình bày."})
    assert sent["ok"], sent
    to_judge = await judge.wait_for("chat")
    to_clerk = await clerk.wait_for("chat")
    assert to_judge["from"] == {"id": witness_id, "name": WITNESS_NAME, "role": "witness"}
    assert leaks(clues, to_clerk) == []
    assert to_clerk["from"]["name"] == "Người tham gia được bảo vệ"
    assert to_clerk["from"]["id"].startswith(PSEUDONYM_PREFIX)
    assert (to_clerk["id"], to_clerk["text"]) == (sent["id"], "Tôi xin trình bày.")

    reply = await judge.call("chat", {"text": "Mời trình bày.", "to": witness_id})
    assert reply["ok"]
    answered = await clerk.wait_for("chat", lambda m: m["text"] == "Mời trình bày.")
    assert answered["to"] == to_clerk["from"]["id"]
    assert leaks(clues, answered) == []
    assert (await witness.wait_for("chat", lambda m: m["text"] == "Mời trình bày."))[
        "to"
    ] == witness_id


async def test_tracks_offered_to_the_defendant_are_labelled_with_the_pseudonym(
    media_hearing: tuple[Hearing, RecordingGateway],
) -> None:
    hearing, gateway = media_hearing
    peers, clues = await screened_hearing(hearing)
    defendant_id, witness_id = hearing.ids["defendant"], hearing.ids["witness"]
    # The screening made the server describe the defendant's tracks anew.
    assert ("renegotiate", defendant_id) in gateway.calls
    alias = protected_entry((await peers["defendant"].wait_for("session_event", called_in))["view"])

    tracks = {
        "0": OutgoingTrack(witness_id, "camera"),
        "1": OutgoingTrack(witness_id, "microphone"),
        "2": OutgoingTrack(hearing.ids["judge"], "camera"),
        "3": None,
    }
    for receiver in ("defendant", "judge"):
        await gateway.send_offer(hearing.session_id, hearing.ids[receiver], "v=0\r\n", tracks)
    offered = await peers["defendant"].wait_for("offer", lambda b: "3" in b["tracks"])
    assert leaks(clues, offered) == []
    assert offered["tracks"] == {
        "0": {"publisher": alias["id"], "source": "camera"},
        "1": {"publisher": alias["id"], "source": "microphone"},
        "2": {"publisher": hearing.ids["judge"], "source": "camera"},
        "3": None,
    }
    to_judge = await peers["judge"].wait_for("offer", lambda b: "3" in b["tracks"])
    assert to_judge["tracks"]["0"] == {"publisher": witness_id, "source": "camera"}


async def test_the_active_speaker_reaches_the_defendant_as_the_pseudonym(
    media_hearing: tuple[Hearing, RecordingGateway],
) -> None:
    hearing, gateway = media_hearing
    peers, clues = await screened_hearing(hearing)
    witness_id = hearing.ids["witness"]
    alias = protected_entry((await peers["defendant"].wait_for("session_event", called_in))["view"])
    assert (await peers["judge"].call("unmute", {"participant_id": witness_id}))["ok"]
    token = await staff_token(hearing.client, "kythuat", StaffRole.IT_STAFF)
    monitor = await hearing.connect("monitor", {"staff_token": token})
    await monitor.wait_for("welcome")
    assert (await monitor.call("watch", {"session_id": hearing.session_id}))["ok"]
    assert gateway.speaker_listener is not None

    await gateway.speaker_listener(hearing.session_id, witness_id)
    told = await peers["defendant"].wait_for("active_speaker")
    assert told == {"session_id": hearing.session_id, "participant_id": alias["id"]}
    assert leaks(clues, told) == []
    assert (await peers["judge"].wait_for("active_speaker"))["participant_id"] == witness_id
    assert (await monitor.wait_for("active_speaker"))["participant_id"] == witness_id
    assert (await peers["witness"].wait_for("active_speaker"))["participant_id"] == witness_id

    await gateway.speaker_listener(hearing.session_id, None)
    silence = await peers["defendant"].wait_for(
        "active_speaker", lambda b: b["participant_id"] is None
    )
    assert silence["session_id"] == hearing.session_id


async def test_a_withheld_voice_is_never_named_the_active_speaker(
    media_hearing: tuple[Hearing, RecordingGateway],
) -> None:
    """The defendant hears nothing of the witness, so no tile of theirs may light up either."""
    hearing, gateway = media_hearing
    peers, _ = await screened_hearing(hearing)
    witness_id, defendant_id = hearing.ids["witness"], hearing.ids["defendant"]
    assert (await peers["judge"].call("unmute", {"participant_id": witness_id}))["ok"]
    reply = await peers["judge"].call(
        "set_screening", {"protected": witness_id, "hidden_from": defendant_id, "audio": True}
    )
    assert reply["ok"], reply
    assert gateway.speaker_listener is not None

    await gateway.speaker_listener(hearing.session_id, witness_id)
    assert (await peers["judge"].wait_for("active_speaker"))["participant_id"] == witness_id
    told = await peers["defendant"].wait_for("active_speaker")
    assert told == {"session_id": hearing.session_id, "participant_id": None}
