"""The audit trail as a hash chain: each entry seals the one before, so an edited or
deleted row breaks every hash after it."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

GENESIS_HASH = "0" * 64


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor: str
    action: str
    outcome: str
    """``accepted`` or ``refused``."""
    session_id: str | None = None
    rule: str = ""
    detail: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A client can send any string, lone surrogates included; those cannot be encoded to
        # hash or store them. Escaped (``\\ud800`` as text) every entry can be kept; a string
        # that is valid Unicode is unchanged, so existing entries hash as they always did.
        for name in ("actor", "action", "outcome", "rule"):
            object.__setattr__(self, name, _escaped(getattr(self, name)))
        if self.session_id is not None:
            object.__setattr__(self, "session_id", _escaped(self.session_id))
        object.__setattr__(self, "detail", _escaped(self.detail))

    def canonical(self) -> str:
        """A stable text form: the same entry always hashes the same on any database."""
        return json.dumps(
            {
                "at": self.at.isoformat(timespec="microseconds"),
                "actor": self.actor,
                "action": self.action,
                "outcome": self.outcome,
                "session_id": self.session_id,
                "rule": self.rule,
                "detail": self.detail,
            },
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
            default=str,
        )


def _escaped(value: Any) -> Any:
    """``value`` with every lone surrogate in its strings (keys too) written as an escape."""
    if isinstance(value, str):
        return value.encode("utf-8", "backslashreplace").decode("utf-8")
    if isinstance(value, dict):
        return {_escaped(k): _escaped(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    if isinstance(value, tuple):
        return tuple(_escaped(v) for v in value)
    return value


def chain_hash(previous_hash: str, entry: AuditEntry) -> str:
    return hashlib.sha256((previous_hash + entry.canonical()).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SealedEntry:
    seq: int
    entry: AuditEntry
    previous_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class ChainBreak:
    seq: int
    reason: str


def verify_chain(entries: Iterable[SealedEntry]) -> list[ChainBreak]:
    """Every place the chain does not hold; an empty list means untouched."""
    breaks: list[ChainBreak] = []
    expected_previous = GENESIS_HASH
    last_seq = 0
    for sealed in entries:
        if sealed.seq != last_seq + 1:
            breaks.append(
                ChainBreak(sealed.seq, f"entries {last_seq + 1}..{sealed.seq - 1} missing")
            )
        if sealed.previous_hash != expected_previous:
            breaks.append(ChainBreak(sealed.seq, "previous hash does not match the entry before"))
        if chain_hash(sealed.previous_hash, sealed.entry) != sealed.hash:
            breaks.append(ChainBreak(sealed.seq, "content does not match its hash"))
        expected_previous = sealed.hash
        last_seq = sealed.seq
    return breaks
