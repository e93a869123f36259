"""Signed tokens: staff bearer tokens and personal join links (HS256 JWTs).

A join token names its invitation (``jti``); the invitation row decides revocation, the
signature and ``exp`` decide forgery and expiry. A staff token carries its own random
``jti``, so logging out can revoke that one token on the server. Each token kind has its own
audience, so one kind can never be replayed as another.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import jwt

from rooms.ids import InvitationId, ParticipantId, SessionId, UserId, new_id
from rooms.roles import StaffRole

ALGORITHM = "HS256"
ISSUER = "hearing-server"
STAFF_AUDIENCE = "staff"
JOIN_AUDIENCE = "join"


class TokenError(Exception):
    """The token is forged, expired, malformed or of the wrong kind."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class StaffClaims:
    user_id: UserId
    username: str
    role: StaffRole
    expires_at: datetime
    token_id: str
    """The token's ``jti``: what logging out revokes."""


@dataclass(frozen=True, slots=True)
class JoinClaims:
    invitation_id: InvitationId
    session_id: SessionId
    participant_id: ParticipantId
    expires_at: datetime


class TokenSigner:
    def __init__(self, key: str) -> None:
        if len(key) < 32:
            raise ValueError("the signing key must be at least 32 characters")
        self._key = key

    def staff_token(
        self, user_id: UserId, username: str, role: StaffRole, now: datetime, ttl: timedelta
    ) -> str:
        return self._encode(
            {"sub": user_id, "name": username, "role": role.value, "jti": new_id()},
            STAFF_AUDIENCE,
            now,
            now + ttl,
        )

    def join_token(
        self,
        invitation_id: InvitationId,
        session_id: SessionId,
        participant_id: ParticipantId,
        now: datetime,
        expires_at: datetime,
    ) -> str:
        return self._encode(
            {"sub": participant_id, "sid": session_id, "jti": invitation_id},
            JOIN_AUDIENCE,
            now,
            expires_at,
        )

    def read_staff(self, token: str, now: datetime) -> StaffClaims:
        claims = self._decode(token, STAFF_AUDIENCE, now)
        try:
            return StaffClaims(
                UserId(str(claims["sub"])),
                str(claims["name"]),
                StaffRole(claims["role"]),
                datetime.fromtimestamp(int(claims["exp"]), tz=now.tzinfo),
                _token_id(claims["jti"]),
            )
        except (KeyError, ValueError) as exc:
            raise TokenError("malformed") from exc

    def read_join(self, token: str, now: datetime) -> JoinClaims:
        claims = self._decode(token, JOIN_AUDIENCE, now)
        try:
            return JoinClaims(
                InvitationId(str(claims["jti"])),
                SessionId(str(claims["sid"])),
                ParticipantId(str(claims["sub"])),
                datetime.fromtimestamp(int(claims["exp"]), tz=now.tzinfo),
            )
        except (KeyError, ValueError) as exc:
            raise TokenError("malformed") from exc

    def _encode(self, claims: dict[str, str], audience: str, now: datetime, exp: datetime) -> str:
        payload = {
            **claims,
            "iss": ISSUER,
            "aud": audience,
            "iat": int(now.timestamp()),
            "exp": int(exp.timestamp()),
        }
        return jwt.encode(payload, self._key, algorithm=ALGORITHM)

    def _decode(self, token: str, audience: str, now: datetime) -> dict[str, Any]:
        if len(token) > 2048:
            raise TokenError("malformed")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=audience,
                issuer=ISSUER,
                # Time claims are checked against the caller's clock below, not PyJWT's wall
                # clock: a token issued by a clock a second ahead must not read as malformed.
                options={
                    "require": ["exp", "iat", "sub", "aud", "iss"],
                    "verify_exp": False,
                    "verify_iat": False,
                    "verify_nbf": False,
                },
            )
        except jwt.InvalidAudienceError as exc:
            raise TokenError("wrong_kind") from exc
        except jwt.InvalidSignatureError as exc:
            raise TokenError("forged") from exc
        except jwt.PyJWTError as exc:
            raise TokenError("malformed") from exc
        # Expiry is checked against the caller's clock, so tests and the server agree on "now".
        exp = claims.get("exp")
        if not isinstance(exp, int) or now.timestamp() >= exp:
            raise TokenError("expired")
        return claims


def _token_id(value: object) -> str:
    """A staff token's id as minted here (32 hex digits); anything else is malformed."""
    text = str(value)
    if len(text) != 32 or not all(c in "0123456789abcdef" for c in text):
        raise ValueError("not a token id")
    return text
