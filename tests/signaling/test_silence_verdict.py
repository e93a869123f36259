"""When media silence is a lost link: the verdict the monitoring takes, without a network.
A silence found while the server itself stalled waits for the link's own evidence."""

from __future__ import annotations

import pytest

from signaling.monitoring import SilencePolicy, SilenceVerdict, silence_verdict

POLICY = SilencePolicy(limit=10.0, lag_threshold=0.25, grace_after_lag=10.0, rtcp_evidence=5.0)
LOST, WAIT = SilenceVerdict.LOST, SilenceVerdict.WAIT


def verdict(
    silent: float,
    lag: float = 0.01,
    steady: float = 30.0,
    connection: str = "connected",
    rtcp_quiet: float | None = 0.5,
) -> SilenceVerdict:
    return silence_verdict(
        POLICY,
        silent_seconds=silent,
        loop_lag_max=lag,
        loop_steady_seconds=steady,
        connection=connection,
        rtcp_quiet_seconds=rtcp_quiet,
    )


def test_a_silence_on_a_steady_server_is_a_loss_once_it_lasts_the_limit() -> None:
    assert verdict(silent=9.9) is WAIT
    assert verdict(silent=10.0) is LOST
    # RTCP still flowing does not save a person whose media stopped on a steady server.
    assert verdict(silent=12.0, rtcp_quiet=0.2) is LOST


def test_a_silence_while_the_server_stalled_waits_while_the_link_shows_life() -> None:
    # The loop stalled 12 s and has just woken: the frames may be in our own buffers.
    assert verdict(silent=12.5, lag=12.0, steady=0.0, rtcp_quiet=12.5) is WAIT
    # RTCP reports arrive again on a steady loop: the link lives, keep waiting.
    assert verdict(silent=16.0, lag=12.0, steady=6.0, rtcp_quiet=0.4) is WAIT
    # A lag shorter than the threshold is no excuse.
    assert verdict(silent=12.0, lag=0.2, steady=0.0, rtcp_quiet=12.0) is LOST


@pytest.mark.parametrize("state", ["failed", "closed"])
def test_a_failed_or_closed_connection_is_a_loss_whatever_the_lag(state: str) -> None:
    assert verdict(silent=10.5, lag=12.0, steady=0.0, connection=state) is LOST
    assert verdict(silent=5.0, lag=12.0, steady=0.0, connection=state) is WAIT


def test_no_rtcp_on_a_loop_steady_long_enough_to_read_it_is_a_loss() -> None:
    assert verdict(silent=15.0, lag=8.0, steady=4.9, rtcp_quiet=15.0) is WAIT
    assert verdict(silent=15.0, lag=8.0, steady=5.0, rtcp_quiet=15.0) is LOST
    assert verdict(silent=15.0, lag=8.0, steady=5.0, rtcp_quiet=None) is LOST
    # The last report came in after the stall, but none since for the evidence time.
    assert verdict(silent=17.0, lag=8.0, steady=7.0, rtcp_quiet=5.5) is LOST


def test_a_silence_that_outlasts_the_grace_after_the_stall_is_a_loss() -> None:
    assert verdict(silent=25.0, lag=8.0, steady=9.9, rtcp_quiet=0.3) is WAIT
    assert verdict(silent=25.0, lag=8.0, steady=10.0, rtcp_quiet=0.3) is LOST


def test_the_policy_refuses_durations_that_are_not_positive() -> None:
    with pytest.raises(ValueError):
        SilencePolicy(limit=10.0, lag_threshold=0.0, grace_after_lag=10.0)
