"""The jurisdiction policy: Vietnam's rules by default, another court's by configuration."""

from __future__ import annotations

from typing import Any

import pytest
from rooms_testkit import CLERK_STAFF, END, START, criminal_case

from rooms import (
    VIETNAM,
    CaseType,
    CourtSession,
    InvalidInput,
    JurisdictionPolicy,
    PointKind,
    PolicyViolation,
    Role,
)
from rooms.cases import Instance

REFUSED = [
    pytest.param({"state_secret": True}, "policy.state_secret", "state secrets", id="state-secret"),
    pytest.param(
        {"penal_chapters": frozenset({13})}, "policy.penal_chapter", "chapter XIII", id="ch-XIII"
    ),
    pytest.param(
        {"penal_chapters": frozenset({26})}, "policy.penal_chapter", "chapter XXVI", id="ch-XXVI"
    ),
    pytest.param(
        {"penal_chapters": frozenset({26, 13, 17})},
        "policy.penal_chapter",
        "chapter XIII, XXVI",
        id="ch-both",
    ),
    pytest.param(
        {"case_type": CaseType.BANKRUPTCY, "penal_chapters": frozenset()},
        "policy.case_type",
        "Bankruptcy",
        id="bankruptcy",
    ),
    pytest.param({"instance": Instance.CASSATION}, "policy.instance", "Cassation", id="cassation"),
    pytest.param({"instance": Instance.REOPENING}, "policy.instance", "Reopening", id="reopening"),
    pytest.param(
        {"case_type": CaseType.CIVIL, "penal_chapters": frozenset(), "state_secret": True},
        "policy.state_secret",
        "state secrets",
        id="civil-state-secret",
    ),
]


@pytest.mark.parametrize(("changes", "rule", "words"), REFUSED)
def test_vietnam_refuses(changes: dict[str, Any], rule: str, words: str) -> None:
    case = criminal_case(**changes)
    with pytest.raises(PolicyViolation) as refused:
        VIETNAM.ensure_online_hearing_allowed(case)
    assert refused.value.rule == rule
    assert refused.value.code == "policy_violation"
    assert words in refused.value.message.en
    assert refused.value.message.vi


def test_penal_chapter_message_uses_roman_numerals_in_both_languages() -> None:
    with pytest.raises(PolicyViolation) as refused:
        VIETNAM.ensure_online_hearing_allowed(criminal_case(penal_chapters=frozenset({26})))
    assert "Chương XXVI" in refused.value.message.vi
    assert "26" not in refused.value.message.en


ALLOWED = [
    pytest.param(CaseType.CRIMINAL, Instance.FIRST_INSTANCE, frozenset({17}), id="criminal-1st"),
    pytest.param(CaseType.CRIMINAL, Instance.APPEAL, frozenset({12, 14}), id="criminal-appeal"),
    pytest.param(CaseType.CIVIL, Instance.FIRST_INSTANCE, frozenset(), id="civil-1st"),
    pytest.param(CaseType.CIVIL, Instance.APPEAL, frozenset(), id="civil-appeal"),
    pytest.param(CaseType.ADMINISTRATIVE, Instance.FIRST_INSTANCE, frozenset(), id="admin-1st"),
    pytest.param(CaseType.ADMINISTRATIVE, Instance.APPEAL, frozenset(), id="admin-appeal"),
]


@pytest.mark.parametrize(("case_type", "instance", "chapters"), ALLOWED)
def test_vietnam_allows_ordinary_cases(
    case_type: CaseType, instance: Instance, chapters: frozenset[int]
) -> None:
    case = criminal_case(case_type=case_type, instance=instance, penal_chapters=chapters)
    assert VIETNAM.ensure_online_hearing_allowed(case) is None
    session = CourtSession.schedule_hearing(CLERK_STAFF, case, VIETNAM, START, END)
    assert session.case == case


def test_scheduling_a_refused_case_creates_nothing() -> None:
    with pytest.raises(PolicyViolation, match="state secrets"):
        CourtSession.schedule_hearing(
            CLERK_STAFF, criminal_case(state_secret=True), VIETNAM, START, END
        )


def _hearing(policy: JurisdictionPolicy) -> CourtSession:
    return CourtSession.schedule_hearing(CLERK_STAFF, criminal_case(), policy, START, END)


def test_three_remote_points_but_not_four() -> None:
    session = _hearing(VIETNAM)
    for number in range(3):
        session.add_point(CLERK_STAFF, f"Điểm cầu {number + 1}", PointKind.OTHER)
    assert len(session.remote_points()) == 3
    points_before = dict(session.points)
    with pytest.raises(PolicyViolation) as refused:
        session.add_point(CLERK_STAFF, "Điểm cầu 4", PointKind.HOME)
    assert refused.value.rule == "policy.max_remote_points"
    assert "3" in refused.value.message.en
    assert session.points == points_before


def test_the_courtroom_is_not_a_remote_point() -> None:
    session = _hearing(VIETNAM)
    assert session.central_point.kind is PointKind.COURTROOM
    assert session.remote_points() == []
    with pytest.raises(PolicyViolation) as refused:
        session.add_point(CLERK_STAFF, "Phòng xử án 2", PointKind.COURTROOM)
    assert refused.value.rule == "policy.one_central_point"


def test_custom_policy_changes_behaviour_without_code() -> None:
    policy = JurisdictionPolicy.from_mapping(
        {
            "name": "elsewhere",
            "max_remote_points": 5,
            "excluded_penal_chapters": [1, 4],
            "online_instances": ["first_instance", "appeal", "cassation"],
            "online_case_types": ["criminal", "civil", "bankruptcy"],
            "direct_entry_roles": ["presiding_judge", "clerk", "procurator"],
            "observers_in_closed_hearings": True,
        }
    )
    assert policy.name == "elsewhere"
    # chapters XIII and XXVI are fine here, IV is not
    policy.ensure_online_hearing_allowed(criminal_case(penal_chapters=frozenset({13, 26})))
    with pytest.raises(PolicyViolation) as refused:
        policy.ensure_online_hearing_allowed(criminal_case(penal_chapters=frozenset({4})))
    assert "chapter IV " in refused.value.message.en
    policy.ensure_online_hearing_allowed(criminal_case(instance=Instance.CASSATION))
    policy.ensure_online_hearing_allowed(
        criminal_case(case_type=CaseType.BANKRUPTCY, penal_chapters=frozenset())
    )
    with pytest.raises(PolicyViolation, match="Administrative"):
        policy.ensure_online_hearing_allowed(
            criminal_case(case_type=CaseType.ADMINISTRATIVE, penal_chapters=frozenset())
        )
    assert policy.enters_directly(Role.PROCURATOR)
    assert not policy.enters_directly(Role.COURT_IT)

    session = _hearing(policy)
    for number in range(5):
        session.add_point(CLERK_STAFF, f"Điểm cầu {number + 1}", PointKind.OTHER)
    with pytest.raises(PolicyViolation) as refused:
        session.add_point(CLERK_STAFF, "Điểm cầu 6", PointKind.OTHER)
    assert refused.value.rule == "policy.max_remote_points"
    assert "5" in refused.value.message.en


def test_no_limit_on_remote_points_when_unset() -> None:
    session = _hearing(JurisdictionPolicy.from_mapping({"max_remote_points": None}))
    for number in range(12):
        session.add_point(CLERK_STAFF, f"Điểm cầu {number + 1}", PointKind.OTHER)
    assert len(session.remote_points()) == 12


def test_empty_mapping_is_vietnam() -> None:
    assert JurisdictionPolicy.from_mapping({}) == VIETNAM


def test_vietnam_defaults() -> None:
    assert VIETNAM.max_remote_points == 3
    assert VIETNAM.excluded_penal_chapters == frozenset({13, 26})
    assert VIETNAM.online_instances == frozenset({Instance.FIRST_INSTANCE, Instance.APPEAL})
    assert CaseType.BANKRUPTCY not in VIETNAM.online_case_types
    assert not VIETNAM.observers_in_closed_hearings
    assert not VIETNAM.record_consultations
    assert VIETNAM.suspend_on_courtroom_disconnect
    assert VIETNAM.needs_identity_check(Role.DEFENDANT)
    assert not VIETNAM.needs_identity_check(Role.CLERK)
    assert VIETNAM.enters_directly(Role.PRESIDING_JUDGE)
    assert not VIETNAM.enters_directly(Role.DEFENDANT)


BAD_MAPPINGS = [
    pytest.param({"max_remote_pointz": 4}, "policy.unknown_keys", id="typo-key"),
    pytest.param({"court": "x", "name": "y"}, "policy.unknown_keys", id="unknown-key"),
    pytest.param({"online_case_types": ["piracy"]}, "policy.invalid_value", id="case-type"),
    pytest.param({"online_instances": ["supreme"]}, "policy.invalid_value", id="instance"),
    pytest.param({"direct_entry_roles": ["king"]}, "policy.invalid_value", id="role"),
    pytest.param(
        {"identity_check_exempt_roles": ["clerk", "jester"]}, "policy.invalid_value", id="role2"
    ),
    pytest.param({"excluded_penal_chapters": ["XIII"]}, "policy.invalid_value", id="chapter"),
    pytest.param({"excluded_penal_chapters": [None]}, "policy.invalid_value", id="chapter-none"),
    pytest.param({"online_case_types": 5}, "policy.invalid_value", id="not-a-list"),
    pytest.param({"max_remote_points": "three"}, "policy.invalid_value", id="points-text"),
    pytest.param({"max_remote_points": "3"}, "policy.invalid_value", id="points-quoted"),
    pytest.param({"max_remote_points": -1}, "policy.invalid_value", id="points-negative"),
    pytest.param({"max_meeting_points": 2.5}, "policy.invalid_value", id="meeting-points"),
    pytest.param({"max_remote_points": True}, "policy.invalid_value", id="points-bool"),
    pytest.param({"refuse_state_secrets": "no"}, "policy.invalid_value", id="flag-text"),
    pytest.param({"observers_in_closed_hearings": 1}, "policy.invalid_value", id="flag-int"),
    pytest.param({"name": 7}, "policy.invalid_value", id="name"),
]


@pytest.mark.parametrize(("data", "rule"), BAD_MAPPINGS)
def test_bad_configuration_is_refused(data: dict[str, Any], rule: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        JurisdictionPolicy.from_mapping(data)
    assert refused.value.rule == rule
    assert refused.value.code == "invalid_input"
    assert refused.value.message.vi
    assert refused.value.message.en


def test_unknown_keys_are_named() -> None:
    with pytest.raises(InvalidInput) as refused:
        JurisdictionPolicy.from_mapping({"max_remote_pointz": 4})
    assert "max_remote_pointz" in refused.value.message.en
