"""The forwarding plan: one versioned decision, and differences as small as the change."""

from __future__ import annotations

import itertools

from rooms_testkit import (
    CHAIR,
    CLERK,
    DEFENDANT,
    EVERYONE,
    IT_STAFF,
    LAWYER,
    OBSERVER,
    PJ,
    WITNESS,
    act,
    live_hearing,
    running_meeting,
)

from rooms import (
    MediaSource,
    ParticipantId,
    PointKind,
    Role,
)
from rooms.forwarding import AudienceChange, ForwardingPlan, Publication, PublicationRule

MIC, CAM, SCREEN = MediaSource.MICROPHONE, MediaSource.CAMERA, MediaSource.SCREEN


def test_the_plan_answers_what_may_receive_answers() -> None:
    hearing = live_hearing().session
    hearing.call_witness(act(PJ), WITNESS)
    hearing.set_screening(act(PJ), WITNESS, DEFENDANT, audio=True)
    hearing.mute(act(PJ), OBSERVER)
    hearing.move_to_consultation(act(CLERK), [DEFENDANT, LAWYER], "Bào chữa")
    plan = hearing.forwarding_plan()
    for receiver, publisher, source in itertools.product(EVERYONE, EVERYONE, MediaSource):
        assert plan.may_receive(receiver, publisher, source) == hearing.may_receive(
            receiver, publisher, source
        ), (receiver, publisher, source)
    assert not plan.may_receive(PJ, PJ, CAM), "nobody is sent their own media"
    assert plan.rule(OBSERVER, MIC).paused
    assert plan.rule(PJ, SCREEN).paused, "an unshared screen goes nowhere"
    assert plan.rule(LAWYER, CAM).audience == {DEFENDANT, LAWYER}


def test_a_mute_pauses_one_publication_and_touches_nobody_else() -> None:
    session, people = running_meeting(99)
    before = session.forwarding_plan()
    session.mute(act(CHAIR), people[7])
    session.version += 1  # what the repository does on save
    after = session.forwarding_plan()

    changes = after.changes_since(before)
    assert changes.paused == (Publication(people[7], MIC),)
    assert changes.resumed == () and dict(changes.audience) == {}
    assert not after.may_receive(CHAIR, people[7], MIC)
    assert after.may_receive(CHAIR, people[7], CAM)


def test_publications_of_one_room_share_their_audience() -> None:
    """Comparing two plans costs one identity check per publication when nobody moved."""
    session, people = running_meeting(20)
    plan = session.forwarding_plan()
    assert len({id(rule.audience) for rule in plan.rules.values()}) == 1
    assert len(plan.rules[Publication(CHAIR, CAM)].audience) == 21

    session.mute(act(CHAIR), people[0])
    session.version += 1
    later = session.forwarding_plan(previous=plan)
    assert all(
        later.rules[publication].audience is rule.audience
        for publication, rule in plan.rules.items()
    )


def test_an_admission_adds_one_receiver_to_each_publication() -> None:
    session, people = running_meeting(5)
    point = session.add_point(IT_STAFF, "TAND tỉnh", PointKind.COURT).id
    late = ParticipantId("late")
    session.add_participant(IT_STAFF, "Đến muộn", Role.PARTICIPANT, point, late)
    session.join(late)
    before = session.forwarding_plan()
    session.admit(act(CHAIR), late)
    session.version += 1
    changes = session.forwarding_plan().changes_since(before)

    everyone = [CHAIR, *people]
    assert {p: c for p, c in changes.audience.items() if p.publisher != late} == {
        Publication(person, source): AudienceChange(frozenset({late}), frozenset())
        for person in everyone
        for source in MediaSource
    }
    # The late person's own face was seen by the chair alone in the lobby; now everyone's.
    assert changes.audience[Publication(late, CAM)] == AudienceChange(
        frozenset(people), frozenset()
    )
    assert set(changes.resumed) == {Publication(late, MIC)}


def test_screening_removes_one_receiver_from_the_withheld_sources_only() -> None:
    hearing = live_hearing().session
    hearing.call_witness(act(PJ), WITNESS)
    before = hearing.forwarding_plan()
    hearing.set_screening(act(PJ), WITNESS, DEFENDANT)
    hearing.version += 1
    changes = hearing.forwarding_plan().changes_since(before)
    lost = AudienceChange(frozenset(), frozenset({DEFENDANT}))
    assert dict(changes.audience) == {
        Publication(WITNESS, CAM): lost,
        Publication(WITNESS, SCREEN): lost,
    }


def test_an_older_plan_is_not_newer() -> None:
    hearing = live_hearing().session
    old = hearing.forwarding_plan()
    hearing.version += 1
    new = hearing.forwarding_plan()
    assert new.is_newer_than(old) and new.is_newer_than(None)
    assert not old.is_newer_than(new) and not new.is_newer_than(new)


def test_leaving_hides_every_publication() -> None:
    hearing = live_hearing().session
    before = hearing.forwarding_plan()
    hearing.leave(LAWYER)
    hearing.version += 1
    after = hearing.forwarding_plan()
    changes = after.changes_since(before)
    assert set(changes.paused) == {Publication(LAWYER, CAM)} | {Publication(LAWYER, MIC)}
    assert Publication(LAWYER, CAM) not in after.rules
    for source in MediaSource:
        assert not after.may_receive(PJ, LAWYER, source)
    # ... and the lawyer is no longer in anybody's audience.
    assert changes.audience[Publication(PJ, CAM)].lost == {LAWYER}


def test_a_plan_against_nothing_lists_what_flows() -> None:
    plan = ForwardingPlan(
        3,
        {
            Publication(PJ, CAM): PublicationRule(False, frozenset({PJ, CLERK}), recorded=True),
            Publication(PJ, MIC): PublicationRule(True, frozenset({PJ, CLERK})),
        },
    )
    changes = plan.changes_since(None)
    assert changes.resumed == (Publication(PJ, CAM),)
    assert changes.recorded == (Publication(PJ, CAM),)
    assert changes.paused == ()
    assert set(changes.audience) == {Publication(PJ, CAM), Publication(PJ, MIC)}
    assert not plan.changes_since(plan)
