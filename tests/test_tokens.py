"""Signed tokens: kinds, expiry by the caller's clock, forgery, malformed input."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from hearing_server.tokens import TokenError, TokenSigner
from rooms.ids import InvitationId, ParticipantId, SessionId, UserId
from rooms.roles import StaffRole

KEY = "k" * 32
OTHER_KEY = "o" * 32
# Far from the wall clock on purpose, in both directions: only the caller's clock counts.
FUTURE = datetime(2031, 5, 1, 8, 0, tzinfo=UTC)
PAST = datetime(2001, 5, 1, 8, 0, tzinfo=UTC)


def _reason(call: Callable[[], object]) -> str:
    with pytest.raises(TokenError) as caught:
        call()
    return caught.value.reason


@pytest.mark.parametrize("now", [FUTURE, PAST], ids=["ahead", "behind"])
def test_tokens_work_by_the_callers_clock_whatever_the_wall_clock(now: datetime) -> None:
    signer = TokenSigner(KEY)
    staff = signer.staff_token(UserId("u1"), "admin", StaffRole.ADMIN, now, timedelta(hours=1))
    claims = signer.read_staff(staff, now)
    assert (claims.user_id, claims.username, claims.role) == ("u1", "admin", StaffRole.ADMIN)
    assert claims.expires_at == now + timedelta(hours=1)

    join = signer.join_token(
        InvitationId("i1"), SessionId("s1"), ParticipantId("p1"), now, now + timedelta(days=1)
    )
    read = signer.read_join(join, now + timedelta(hours=23, minutes=59, seconds=59))
    assert (read.invitation_id, read.session_id, read.participant_id) == ("i1", "s1", "p1")
    assert read.expires_at == now + timedelta(days=1)

    assert _reason(lambda: signer.read_staff(staff, now + timedelta(hours=1))) == "expired"
    assert _reason(lambda: signer.read_join(join, now + timedelta(days=1))) == "expired"


def test_a_token_of_one_kind_is_refused_as_the_other() -> None:
    signer = TokenSigner(KEY)
    staff = signer.staff_token(UserId("u1"), "admin", StaffRole.ADMIN, FUTURE, timedelta(hours=1))
    join = signer.join_token(
        InvitationId("i1"), SessionId("s1"), ParticipantId("p1"), FUTURE, FUTURE + timedelta(1)
    )
    assert _reason(lambda: signer.read_join(staff, FUTURE)) == "wrong_kind"
    assert _reason(lambda: signer.read_staff(join, FUTURE)) == "wrong_kind"


def test_forged_and_malformed_tokens() -> None:
    signer = TokenSigner(KEY)
    token = signer.staff_token(UserId("u1"), "clerk", StaffRole.CLERK, FUTURE, timedelta(hours=1))
    claims = jwt.decode(token, options={"verify_signature": False})

    other = jwt.encode(claims, OTHER_KEY, algorithm="HS256")
    assert _reason(lambda: signer.read_staff(other, FUTURE)) == "forged"
    header, _, signature = token.split(".")
    promoted = jwt.encode({**claims, "role": "admin"}, OTHER_KEY, algorithm="HS256")
    spliced = f"{header}.{promoted.split('.')[1]}.{signature}"
    assert _reason(lambda: signer.read_staff(spliced, FUTURE)) == "forged"

    unsigned = jwt.encode(claims, None, algorithm="none")
    assert _reason(lambda: signer.read_staff(unsigned, FUTURE)) == "malformed"
    assert _reason(lambda: signer.read_staff("abc", FUTURE)) == "malformed"
    assert _reason(lambda: signer.read_staff("a" * 3000, FUTURE)) == "malformed"

    # Signed with the right key but missing what a staff token must say.
    no_role = jwt.encode({k: v for k, v in claims.items() if k != "role"}, KEY, algorithm="HS256")
    assert _reason(lambda: signer.read_staff(no_role, FUTURE)) == "malformed"
    bad_role = jwt.encode({**claims, "role": "emperor"}, KEY, algorithm="HS256")
    assert _reason(lambda: signer.read_staff(bad_role, FUTURE)) == "malformed"
    no_exp = jwt.encode({k: v for k, v in claims.items() if k != "exp"}, KEY, algorithm="HS256")
    assert _reason(lambda: signer.read_staff(no_exp, FUTURE)) == "malformed"
    other_issuer = jwt.encode({**claims, "iss": "someone"}, KEY, algorithm="HS256")
    assert _reason(lambda: signer.read_staff(other_issuer, FUTURE)) == "malformed"


def test_the_signing_key_must_be_long() -> None:
    with pytest.raises(ValueError, match="32 characters"):
        TokenSigner("short")
