"""The active-speaker decision on synthetic level sequences: no network, no event loop."""

from __future__ import annotations

from collections.abc import Mapping

import pytest

from signaling.media.active_speaker import SILENT_LEVEL, ActiveSpeakerDetector, SpeakerSettings

TICK = 0.2
LOUD = 20  # -20 dBov: someone speaking into a headset
SOFT = 38  # -38 dBov: speaking from further away
NOISE = 70  # -70 dBov: a quiet room


def run(
    detector: ActiveSpeakerDetector,
    levels: Mapping[str, int],
    seconds: float,
    start: float,
) -> tuple[float, list[str | None]]:
    """Feed the same levels every tick for ``seconds``; the time reached and every answer."""
    answers = []
    now = start
    for _ in range(round(seconds / TICK)):
        now += TICK
        answers.append(detector.update(now, levels))
    return now, answers


def test_nobody_speaks_in_silence_or_room_noise() -> None:
    detector = ActiveSpeakerDetector()
    _, answers = run(detector, {"a": SILENT_LEVEL, "b": NOISE}, 5.0, 0.0)
    assert answers == [None] * len(answers)


def test_the_loudest_becomes_the_speaker_after_a_short_hold() -> None:
    detector = ActiveSpeakerDetector()
    assert detector.update(0.0, {"a": LOUD, "b": SOFT}) is None  # the first call sets the clock
    now, answers = run(detector, {"a": LOUD, "b": SOFT}, 2.0, 0.0)
    assert answers[0] is None, "one interval of sound is not speech yet"
    assert set(answers[1:]) == {"a"}
    assert now == pytest.approx(2.0)


def test_a_speaker_keeps_the_floor_through_pauses_between_words() -> None:
    detector = ActiveSpeakerDetector()
    now, _ = run(detector, {"a": LOUD}, 1.0, 0.0)
    answers: list[str | None] = []
    for _ in range(10):  # 400 ms of speech, 400 ms of pause, while b murmurs
        now, said = run(detector, {"a": LOUD, "b": SOFT}, 0.4, now)
        answers += said
        now, said = run(detector, {"b": SOFT}, 0.4, now)
        answers += said
    assert set(answers) == {"a"}


def test_a_louder_newcomer_takes_over_only_after_staying_louder() -> None:
    detector = ActiveSpeakerDetector()
    now, _ = run(detector, {"a": SOFT}, 1.0, 0.0)
    assert detector.speaker == "a"
    # b interrupts for 400 ms, louder: not long enough to take over
    now, answers = run(detector, {"a": SOFT, "b": LOUD}, 0.4, now)
    assert set(answers) == {"a"}
    now, answers = run(detector, {"a": SOFT}, 1.0, now)
    assert set(answers) == {"a"}
    # b keeps talking over a: b takes over, within the hold plus the smoothing
    now, answers = run(detector, {"a": SOFT, "b": LOUD}, 2.0, now)
    assert answers[-1] == "b"
    switched = answers.index("b")
    assert 3 <= switched + 1 <= 6, "0.6 s of hold, plus the smoothing: 3 to 6 ticks"
    assert set(answers[switched:]) == {"b"}, "once switched, the speaker does not flap back"


def test_a_newcomer_as_loud_as_the_speaker_does_not_take_over() -> None:
    detector = ActiveSpeakerDetector()
    now, _ = run(detector, {"a": LOUD}, 1.0, 0.0)
    _, answers = run(detector, {"a": LOUD, "b": LOUD - 3}, 5.0, now)
    assert set(answers) == {"a"}


def test_when_the_speaker_stops_the_next_one_takes_over_quickly() -> None:
    detector = ActiveSpeakerDetector()
    now, _ = run(detector, {"a": LOUD}, 1.0, 0.0)
    _, answers = run(detector, {"b": SOFT}, 2.0, now)
    switched = answers.index("b")
    assert switched + 1 <= 5, "within a second"
    assert set(answers[switched:]) == {"b"}


def test_silence_lets_the_speaker_go() -> None:
    detector = ActiveSpeakerDetector()
    now, _ = run(detector, {"a": LOUD}, 1.0, 0.0)
    _, answers = run(detector, {"a": NOISE}, 3.0, now)
    assert answers[0] == "a", "a pause is not the end of speech"
    assert answers[-1] is None
    released = answers.index(None)
    assert 6 <= released + 1 <= 11, "1.2 s of silence, plus the smoothing: 6 to 11 ticks"


def test_a_cough_does_not_take_the_stage() -> None:
    detector = ActiveSpeakerDetector()
    now, _ = run(detector, {}, 1.0, 0.0)
    now, answers = run(detector, {"b": LOUD}, TICK, now)
    _, later = run(detector, {}, 2.0, now)
    assert set(answers + later) == {None}


def test_a_publisher_that_stops_sending_is_not_the_speaker_for_long() -> None:
    """Muted (paused) publishers are left out of the samples: they fall silent."""
    detector = ActiveSpeakerDetector()
    now, _ = run(detector, {"a": LOUD, "b": SOFT}, 1.0, 0.0)
    assert detector.speaker == "a"
    _, answers = run(detector, {"b": SOFT}, 2.0, now)
    assert answers[-1] == "b"


def test_forgetting_the_speaker_clears_it_at_once() -> None:
    detector = ActiveSpeakerDetector()
    now, _ = run(detector, {"a": LOUD}, 1.0, 0.0)
    detector.forget("a")
    assert detector.speaker is None
    assert detector.loudness("a") == 0.0
    assert detector.update(now + TICK, {}) is None


def test_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="floor"):
        SpeakerSettings(floor_level=0)
    with pytest.raises(ValueError, match="positive"):
        SpeakerSettings(switch_after=0)
    with pytest.raises(ValueError, match="loudness"):
        SpeakerSettings(speaking_loudness=-1)
