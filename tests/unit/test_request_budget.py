"""The sync's request budget: calls paced at the rate per action, whatever the threads.

No test sleeps: the clock is a fake one, and ``sleep`` moves it (or only records the wait).
"""

from __future__ import annotations

import threading
from bisect import bisect_left
from itertools import pairwise

import pytest

from pools.aws.budget import RECOVERY_SECONDS, SLOWEST, RequestBudget, TokenBucket


class Clock:
    """A fake monotonic clock; ``sleep`` moves it on."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def starts(bucket: TokenBucket, clock: Clock, calls: int) -> list[float]:
    """When each of ``calls`` calls in a row may start (one caller, sleeping on the clock)."""
    times = []
    for _ in range(calls):
        bucket.acquire()
        times.append(clock.now)
    return times


def most_within(times: list[float], window: float) -> int:
    """The most of ``times`` (in order) within any ``window`` seconds."""
    return max(bisect_left(times, t + window) - n for n, t in enumerate(times))


@pytest.mark.parametrize("rate", [0.5, 5, 20, 1000])
def test_calls_keep_to_the_rate_after_a_burst_of_one_seconds_worth(rate):
    clock = Clock()
    bucket = TokenBucket(rate, clock=clock, sleep=clock.sleep)
    calls = int(10 * rate) + 50
    burst = max(1, rate)

    times = starts(bucket, clock, calls)

    elapsed = times[-1] - times[0]
    assert elapsed == pytest.approx((calls - burst) / rate, rel=1e-6)
    later = [t for t in times if t > times[0]]
    gaps = [b - a for a, b in pairwise(later)]
    assert min(gaps) == pytest.approx(1 / rate)
    assert most_within(times, 1.0) <= burst + rate


def test_a_quiet_spell_refills_the_bucket_but_no_more_than_its_burst():
    clock = Clock()
    bucket = TokenBucket(10, clock=clock, sleep=clock.sleep)
    starts(bucket, clock, 30)
    clock.now += 60  # an idle minute

    times = starts(bucket, clock, 30)

    assert times[9] == times[0]  # ten at once: the bucket holds one second's worth
    assert times[-1] - times[0] == pytest.approx(2.0)  # the other twenty at ten a second


def test_threads_sharing_a_bucket_are_spaced_as_one_caller_would_be():
    clock = Clock()  # frozen: the threads only record how long each would wait
    waits: list[float] = []
    lock = threading.Lock()

    def record(seconds: float) -> None:
        with lock:
            waits.append(seconds)

    bucket = TokenBucket(20, clock=clock, sleep=record)
    threads = [
        threading.Thread(target=lambda: [bucket.acquire() for _ in range(25)]) for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # 200 calls: 20 at once, then one every 1/20 s, each promised a different moment
    assert len(waits) == 200 - 20
    assert sorted(waits) == pytest.approx([n / 20 for n in range(1, 181)])


def test_a_throttle_halves_the_rate_which_grows_back():
    clock = Clock()
    bucket = TokenBucket(20, clock=clock, sleep=clock.sleep)
    starts(bucket, clock, 40)  # the burst spent; now at 20 a second

    bucket.throttled()
    assert bucket.current == pytest.approx(10)
    assert bucket.acquire() == pytest.approx(1 / 10)

    for _ in range(10):
        bucket.throttled()
    assert bucket.current == pytest.approx(20 * SLOWEST)  # never slower than this

    clock.now += RECOVERY_SECONDS
    bucket.acquire()
    assert bucket.current == 20


def test_a_throttle_makes_the_next_caller_wait_even_with_tokens_left():
    clock = Clock()
    bucket = TokenBucket(20, clock=clock, sleep=clock.sleep)

    bucket.throttled()

    assert bucket.acquire() == pytest.approx(1 / 10)


def test_each_action_has_a_bucket_of_its_own():
    clock = Clock()
    budget = RequestBudget(2, clock=clock, sleep=clock.sleep)
    for _ in range(2):
        budget.acquire("get_ipam_pool_cidrs")
    assert budget.acquire("get_ipam_pool_allocations") == 0  # its own burst
    assert budget.acquire("get_ipam_pool_cidrs") == pytest.approx(0.5)
    budget.throttled("get_ipam_pool_allocations")
    assert budget.bucket("get_ipam_pool_cidrs").current == 2


@pytest.mark.parametrize("rate", [0, -1, float("nan")])
def test_a_rate_that_is_not_positive_is_refused(rate):
    with pytest.raises(ValueError, match="positive"):
        RequestBudget(rate)
