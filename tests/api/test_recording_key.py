"""The recordings' public key is published, and it is the key that seals recordings."""

from __future__ import annotations

from aiohttp.test_utils import TestClient

from hearing_server.settings import Settings
from recorder.integrity import seal_recording, verify_recording
from recorder.signing import ServerKey
from tests.recorder.recording_fixture import make_recording


async def test_the_published_key_verifies_what_the_server_sealed(
    client: TestClient[object, object], settings: Settings
) -> None:
    response = await client.get("/api/v1/recordings/public-key")
    assert response.status == 200
    body = await response.json()
    assert body["algorithm"] == "Ed25519"
    paths = make_recording(settings.effective_recordings_dir)
    manifest = seal_recording(paths, ServerKey.load_or_create(settings.data_dir))
    assert manifest["signing_key"] == body["fingerprint"]
    assert verify_recording(paths, body["public_key_pem"]).ok
