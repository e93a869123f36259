"""Property-based test of the whole REST API against its own served OpenAPI document.

schemathesis reads ``/api/v1/openapi.json`` from the real server and, for every operation,
sends requests the document allows and requests it forbids. Any 5xx, any undocumented status,
any body, header or content type the document does not describe, a forbidden request accepted,
an allowed one refused by the schema, or a 405 without ``Allow`` fails the test. Examples are
few and derandomised, so CI stays fast and a failure is reproduced by running it again.

The server runs on the test's event loop while schemathesis sends blocking requests, so the
exploration runs in a worker thread.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, Case, CheckContext, GenerationMode, Response
from schemathesis.errors import FailureGroup
from schemathesis.specs.openapi.checks import positive_data_acceptance

from hearing_server.app import OPENAPI_PATH
from tests.api.conftest import ADMIN_PASSWORD, API, Api, login_token

EXAMPLES = 15
"""Per operation and generation mode: about 700 requests a database, some 15 s each."""

EXPLORATION = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@dataclass(frozen=True)
class KnownIds:
    """Ids of things that exist, so half the generated requests reach past the 404s."""

    session_id: str
    participant_id: str
    invitation_id: str
    join_token: str
    user_id: str
    """A clerk's account, for the generated changes to accounts (never the admin's own)."""
    webhook_id: str
    logout_token: str
    """A second login of the admin's, for the generated logouts: the first one revokes it,
    and the token every other operation uses stays valid."""

    def path_parameters(self, operation: APIOperation) -> dict[str, str]:
        known = {
            "session_id": self.session_id,
            "participant_id": self.participant_id,
            "invitation_id": self.invitation_id,
            "user_id": self.user_id,
            "webhook_id": self.webhook_id,
            "seq": "1",
            "number": "1",
            "recording_id": "no-such-recording",  # 404s: the catalogue is tested on its own
        }
        return {p.name: known[p.name] for p in operation.path_parameters}


def schema_accepts_what_the_document_allows(
    ctx: CheckContext, response: Response, case: Case
) -> None:
    """A document-valid request may be refused by a rule of the court (a taken username, an
    end before the start: 422 with that rule) but never by the schema itself."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return
    if response.status_code in (400, 415) or (
        response.status_code == 422 and response.json()["error"]["rule"].startswith("request.")
    ):
        raise AssertionError(f"the schema refused a request the document allows: {response.text}")


async def _seed(api: Api) -> KnownIds:
    hearing = await api.schedule_hearing()
    point = await api.add_point(hearing["id"])
    added = await api.add_participant(hearing["id"], point["id"])
    clerk = await api.create_user("thu_ky_mau", "clerk", "a-clerk-password-long-enough")
    hook = await api.post(f"{API}/webhooks", {"url": "http://127.0.0.1:9/hooks"})
    return KnownIds(
        session_id=hearing["id"],
        participant_id=added["participant"]["id"],
        invitation_id=added["join_link"]["invitation"]["id"],
        join_token=added["join_link"]["token"],
        user_id=clerk["id"],
        webhook_id=hook.body["id"],
        logout_token=await login_token(api.client, "admin", ADMIN_PASSWORD),
    )


def _explore_operation(
    operation: APIOperation,
    mode: GenerationMode,
    base_url: str,
    http: requests.Session,
    token: str,
    known: KnownIds,
) -> str | None:
    """The failures schemathesis found on one operation in one mode, as its report, or None."""
    strategies = [operation.as_strategy(generation_mode=mode)]
    if operation.path_parameters:
        fixed = known.path_parameters(operation)
        strategies.append(operation.as_strategy(generation_mode=mode, path_parameters=fixed))

    @EXPLORATION
    @given(case=st.one_of(strategies))
    def exchange(case: Case) -> None:
        case.call_and_validate(
            base_url=base_url,
            session=http,
            headers={"Authorization": f"Bearer {token}"},
            # A refusal by a rule of the court is not a schema mismatch; see the check.
            excluded_checks=[positive_data_acceptance],
            additional_checks=[schema_accepts_what_the_document_allows],
        )

    try:
        exchange()
    except Unsatisfiable as exc:
        raise AssertionError(f"{operation.label} ({mode.value})") from exc
    except FailureGroup as group:
        return f"{operation.label} ({mode.value}): {group}"
    return None


def _explore(document: dict[str, Any], base_url: str, staff_token: str, known: KnownIds) -> None:
    schema = schemathesis.openapi.from_dict(document)
    failures: list[str] = []
    with requests.Session() as http:
        for result in schema.get_all_operations():
            operation = result.ok()
            join = operation.definition.raw.get("security") == [{"join": []}]
            token = known.join_token if join else staff_token
            if operation.path.endswith("/auth/logout"):
                token = known.logout_token
            raw = operation.definition.raw
            modes = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
            if not raw.get("security") and not raw.get("parameters") and "requestBody" not in raw:
                modes.pop()  # a public operation with no input: nothing to make invalid
            for mode in modes:
                report = _explore_operation(operation, mode, base_url, http, token, known)
                if report is not None:
                    failures.append(report)
    assert not failures, "\n\n".join(failures)


async def test_every_operation_answers_as_its_document_says(api: Api) -> None:
    reply = await api.as_token(None).get(OPENAPI_PATH)
    assert reply.status == 200
    known = await _seed(api)
    assert api.token is not None
    base_url = str(api.client.make_url("")).rstrip("/")
    await asyncio.to_thread(_explore, reply.body, base_url, api.token, known)
    # The server still answers afterwards, and the seeded hearing is still readable.
    assert (await api.get(f"{API}/sessions/{known.session_id}")).status == 200
