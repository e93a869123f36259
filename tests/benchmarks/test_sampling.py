"""The benchmark's py-spy profile: summed up from py-spy's raw output, idle left out."""

from __future__ import annotations

from benchmarks.sampling import hot_spots

RAW = "\n".join(
    [
        # the event loop forwarding: our function calling the send system call
        "run_forever (loop.c:1);push_rtp (signaling/media/fanout.py:383);"
        "send (signaling/media/aiortc_internals.py:865);sendmsg (libc.so.6) 6",
        "run_forever (loop.c:1);push_rtp (signaling/media/fanout.py:383) 2",
        "run_forever (loop.c:1);protect (pylibsrtp/__init__.py:236) 2",
        # waiting is not work: the loop's poll, and another thread's lock
        "run_forever (loop.c:1);uv__io_poll (linux.c:1);epoll_wait (libc.so.6) 50",
        "Thread._bootstrap (threading.py:1002);Condition.wait (threading.py:327) 40",
        "not a sample line",
    ]
)


def test_hot_spots_count_the_loops_work_only_and_name_files_not_paths() -> None:
    spots = hot_spots(RAW)
    assert spots.samples == 10
    assert spots.own[0] == ("sendmsg (libc.so.6)", 0.6)
    assert ("push_rtp (fanout.py)", 0.2) in spots.own
    assert dict(spots.ours) == {"push_rtp (fanout.py)": 0.8, "send (aiortc_internals.py)": 0.6}


def test_no_samples_give_an_empty_profile() -> None:
    spots = hot_spots("")
    assert (spots.samples, spots.own, spots.ours) == (0, [], [])
