"""The whole stack with real media: the app on a real socket, the forwarding gateway, and
headless participants (socket.io + aiortc over loopback) joining with their join links."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import pytest
from aiohttp.test_utils import TestClient, TestServer

from hearing_server.app import create_app
from hearing_server.settings import Settings
from signaling.client import HeadlessParticipant
from signaling.forwarding import ForwardingGateway
from signaling.media.policy import Source
from signaling.media.synthetic import opus_tone_clip, vp8_test_pattern_clip
from signaling.server import SIGNALING
from tests.conftest import FakeClock
from tests.signaling.harness import Hearing, schedule_hearing

SETTLE = 0.5
"""Seconds to let packets flow before comparing counts: 15 video frames, 25 audio packets."""


@dataclass
class MediaHearing:
    hearing: Hearing
    people: dict[str, HeadlessParticipant] = field(default_factory=dict)
    known_as: dict[tuple[str, str], str] = field(default_factory=dict)
    """(receiver, publisher) → the pseudonym the receiver knows the publisher by (screening)."""

    @property
    def gateway(self) -> ForwardingGateway:
        gateway = self.hearing.client.server.app[SIGNALING].gateway
        assert isinstance(gateway, ForwardingGateway)
        return gateway

    def id(self, who: str) -> str:
        return str(self.hearing.ids[who])

    async def join(
        self, who: str, *, publish: bool = True, call_seconds: float = 10.0
    ) -> HeadlessParticipant:
        """``call_seconds``: how long each of the participant's calls may wait for the server
        (a starved machine answers late)."""
        person = HeadlessParticipant(
            self.hearing.url.rstrip("/"), self.hearing.tokens[who], timeout=call_seconds
        )
        self.people[who] = person
        await person.join()
        if publish:
            await person.publish()
        return person

    async def admit(self, who: str, by: str = "clerk") -> None:
        """Identity checked, then let in from the lobby, as the court does."""
        for command in ("verify_identity", "admit"):
            await self.people[by].call(command, {"participant_id": self.id(who)})

    async def packets(self, receiver: str, publisher: str, source: Source) -> int:
        publisher_id = self.known_as.get((receiver, publisher), self.id(publisher))
        return await self.people[receiver].packets_from(publisher_id, source)

    async def flowing(self, receiver: str, publisher: str, source: Source) -> bool:
        """Whether packets of ``publisher``'s ``source`` keep arriving at ``receiver``."""
        before = await self.packets(receiver, publisher, source)
        await asyncio.sleep(SETTLE)
        return await self.packets(receiver, publisher, source) > before

    async def wait_flowing(
        self, receiver: str, publisher: str, source: Source, within: float = 10.0
    ) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not await self.flowing(receiver, publisher, source):
            assert loop.time() < deadline, f"{publisher}'s {source} never reached {receiver}"

    async def wait_everyone_flowing(self, people: Sequence[str]) -> None:
        """Until each of ``people`` receives every other's camera and microphone."""
        await asyncio.gather(
            *(
                self.wait_flowing(receiver, publisher, source)
                for receiver in people
                for publisher in people
                for source in ("camera", "microphone")
                if receiver != publisher
            )
        )

    async def wait_stopped(
        self, receiver: str, publisher: str, source: Source, within: float = 5.0
    ) -> None:
        """Packets already on the wire may still land; then nothing more may."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while await self.flowing(receiver, publisher, source):
            assert loop.time() < deadline, f"{publisher}'s {source} still reaches {receiver}"

    async def close(self) -> None:
        for person in self.people.values():
            await person.close()


@pytest.fixture
def media_settings(settings: Settings) -> Settings:
    """Loopback needs no STUN; modules may override this to tune the server."""
    return settings.model_copy(update={"ice_servers": []})


@pytest.fixture
async def media_hearing(media_settings: Settings, clock: FakeClock) -> AsyncIterator[MediaHearing]:
    if media_settings.effective_database_url.startswith("postgresql"):
        pytest.skip("media does not depend on the database")
    # The participants' clips are encoded (once, cached) before the server starts: in
    # these tests they share its event loop, and encoding stalls it for seconds on a busy
    # machine, which the server would rightly report as an overload.
    vp8_test_pattern_clip()
    opus_tone_clip()
    app = create_app(media_settings, clock=clock)
    async with TestClient(TestServer(app)) as client:
        scheduled = await schedule_hearing(client)
        media = MediaHearing(scheduled)
        try:
            yield media
        finally:
            await media.close()
            await scheduled.close()
