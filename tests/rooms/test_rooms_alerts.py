"""When staff are warned that recordings are running out of room: once per episode."""

from __future__ import annotations

from rooms.alerts import ALERT_TEXT, AlertKind, LowSpaceAlarm


def test_one_warning_until_the_space_comes_back_well_above_the_mark() -> None:
    alarm = LowSpaceAlarm(warn_mb=1000)
    assert [alarm.observe(free) for free in (5000, 1200, 999)] == [False, False, True]
    # Hovering about the mark, or lower still, warns no more...
    assert [alarm.observe(free) for free in (990, 1010, 900, 1240)] == [False] * 4
    # ...until it has come back a quarter above it; then a new fall warns again.
    assert [alarm.observe(free) for free in (1250, 800)] == [False, True]


def test_a_mark_of_zero_never_warns() -> None:
    alarm = LowSpaceAlarm(warn_mb=0)
    assert not any(alarm.observe(free) for free in (0, 10, 0))


def test_the_warning_gives_the_figures_in_both_languages() -> None:
    text = ALERT_TEXT[AlertKind.RECORDING_SPACE_LOW].format(free_mb=512, min_mb=1024)
    assert "còn 512 MB" in text.vi and "Dưới 1024 MB" in text.vi
    assert "512 MB left" in text.en
