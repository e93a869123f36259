"""Short codes: fresh ones are random in the whole alphabet, and reading one forgives what
people do to a code on paper or on the telephone, but nothing else."""

from __future__ import annotations

from rooms.participants import Actor
from rooms.permissions import may_handle_link
from rooms.roles import Role, StaffRole
from rooms.short_codes import (
    SHORT_CODE_ALPHABET,
    SHORT_CODE_BITS,
    SHORT_CODE_LENGTH,
    grouped,
    new_short_code,
    read_short_code,
)


def test_fresh_codes_use_the_whole_alphabet_and_do_not_repeat() -> None:
    assert len(SHORT_CODE_ALPHABET) == 32 == len(set(SHORT_CODE_ALPHABET))
    assert not set("ILOU") & set(SHORT_CODE_ALPHABET)
    assert SHORT_CODE_BITS == 50
    codes = [new_short_code() for _ in range(2000)]
    assert len(set(codes)) == len(codes)
    assert all(len(c) == SHORT_CODE_LENGTH for c in codes)
    # 20,000 symbols: every one of the 32 turns up (each is missing with odds of ~e^-625).
    assert set("".join(codes)) == set(SHORT_CODE_ALPHABET)
    assert all(read_short_code(c) == c for c in codes)


def test_reading_forgives_case_lookalikes_and_separators() -> None:
    assert read_short_code("7k3m9-qx2p4") == "7K3M9QX2P4"
    assert read_short_code(" 7K3M9 QX2P4 ") == "7K3M9QX2P4"
    assert read_short_code("O1IL0ABCDE") == "0111" + "0ABCDE"
    assert grouped("7K3M9QX2P4") == "7K3M9-QX2P4"


def test_reading_refuses_what_cannot_be_a_code() -> None:
    for typed in ("", "7K3M9QX2P", "7K3M9QX2P44", "7K3M9QX2PU", "7K3M9QX2P*", "ĐK3M9QX2P4"):
        assert read_short_code(typed) is None, typed
    assert read_short_code("-" * 31 + "7K3M9QX2P4") is None  # longer than anyone types


def test_a_link_is_seen_by_those_who_may_issue_it() -> None:
    clerk = Actor.staff("u-1", StaffRole.CLERK)
    judge = Actor.staff("u-2", StaffRole.JUDGE)
    assert may_handle_link(clerk, Role.DEFENDANT) and may_handle_link(clerk, Role.WITNESS)
    assert not may_handle_link(clerk, Role.PRESIDING_JUDGE)
    assert may_handle_link(judge, Role.PRESIDING_JUDGE)
    assert may_handle_link(Actor.system(), Role.PRESIDING_JUDGE)
    assert not may_handle_link(Actor.participant("p-1"), Role.DEFENDANT)  # type: ignore[arg-type]
