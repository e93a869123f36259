"""Fixtures for the signalling tests: a real server (shared ``client`` fixture) with a hearing
scheduled in it, and clean-up of every socket.io client a test opened."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from hearing_server.app import create_app
from hearing_server.settings import Settings
from rooms.forwarding import ForwardingPlan
from rooms.session import CourtSession
from rooms.text import Text
from signaling.gateway import (
    ActiveSpeakerListener,
    IceCandidateInfo,
    LinkReport,
    OutgoingTrack,
    RecordingSpace,
    ServerOfferSender,
)
from tests.conftest import FakeClock
from tests.signaling.harness import Client, Hearing, schedule_hearing


@pytest.fixture
async def hearing(client: Client) -> AsyncIterator[Hearing]:
    scheduled = await schedule_hearing(client)
    try:
        yield scheduled
    finally:
        await scheduled.close()


@dataclass
class RecordingGateway:
    """A media gateway that records what signalling asks of it and answers offers with a
    fixed SDP; it can also push a server offer, as the forwarder does on renegotiation."""

    send_offer: ServerOfferSender
    calls: list[tuple[str, Any]] = field(default_factory=list)
    plans: list[tuple[str, ForwardingPlan]] = field(default_factory=list)
    changes: list[tuple[str, list[str]]] = field(default_factory=list)
    refusal: Text | None = None
    "What recording_refusal says: a test sets it to stand for a full disk."
    "Each command's session and event names, as the recorder would be told them."
    speaker_listener: ActiveSpeakerListener | None = None
    "What signalling gave to hear of active speakers: tests call it as the forwarder would."

    @property
    def enabled(self) -> bool:
        return True

    async def offer(
        self,
        session_id: str,
        participant_id: str,
        sdp: str,
        sources: Mapping[str, str],
        plan: ForwardingPlan,
    ) -> str:
        self.calls.append(("offer", (participant_id, sdp, dict(sources))))
        return ANSWER_SDP

    async def answer(self, session_id: str, participant_id: str, sdp: str) -> None:
        self.calls.append(("answer", (participant_id, sdp)))

    async def ice_candidate(
        self, session_id: str, participant_id: str, candidate: IceCandidateInfo
    ) -> None:
        self.calls.append(("ice_candidate", (participant_id, candidate)))

    async def renegotiate(self, session_id: str, participant_id: str) -> None:
        self.calls.append(("renegotiate", participant_id))
        await self.send_offer(
            session_id, participant_id, "v=0\r\nserver", {"0": OutgoingTrack("x", "camera")}
        )

    async def leave(self, session_id: str, participant_id: str) -> None:
        self.calls.append(("leave", participant_id))

    async def apply_plan(self, session_id: str, plan: ForwardingPlan) -> None:
        self.plans.append((session_id, plan))

    async def links(self, session_id: str) -> dict[str, LinkReport]:
        return {}

    def sessions(self) -> tuple[str, ...]:
        return ()

    def listen_active_speaker(self, listener: ActiveSpeakerListener) -> None:
        self.speaker_listener = listener

    async def session_changed(
        self, session: CourtSession, events: Sequence[Mapping[str, Any]]
    ) -> None:
        self.changes.append((session.id, [str(event["name"]) for event in events]))

    def recording_refusal(self) -> Text | None:
        return self.refusal

    def recording_space(self) -> RecordingSpace | None:
        return None

    async def close(self) -> None:
        self.calls.append(("close", None))


ANSWER_SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=answer\r\n"


@pytest.fixture
async def media_hearing(
    settings: Settings, clock: FakeClock
) -> AsyncIterator[tuple[Hearing, RecordingGateway]]:
    """A server whose media gateway is a recorder, with a hearing scheduled in it."""
    gateways: list[RecordingGateway] = []

    def factory(send_offer: ServerOfferSender) -> RecordingGateway:
        gateways.append(RecordingGateway(send_offer))
        return gateways[-1]

    if settings.effective_database_url.startswith("postgresql"):
        pytest.skip("the media plumbing does not depend on the database")
    app = create_app(settings, clock=clock, media=factory)
    async with TestClient(TestServer(app)) as client:
        scheduled = await schedule_hearing(client)
        try:
            yield scheduled, gateways[0]
        finally:
            await scheduled.close()
