"""A request budget that threads share: one token bucket per action, as EC2 meters calls.

EC2 throttles each account, per Region and per action, with a token bucket [aws]: a call
takes a token, refused with ``RequestLimitExceeded`` when there is none, and the bucket
refills at a fixed rate (by default 20 per second for non-mutating actions such as
``GetIpamPoolCidrs``, with a bucket of 100). A caller that takes a token from a bucket of its
own, refilled at the same rate or slower, before each call never outruns AWS's, however many
threads share it. Other clients of the account draw on the same budget, so AWS may throttle
all the same: :meth:`TokenBucket.throttled` then halves the rate, which grows back to the
configured one over :data:`RECOVERY_SECONDS` (additive increase, multiplicative decrease).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

RECOVERY_SECONDS = 10.0  # from a halved rate back to the configured one, growing linearly
SLOWEST = 1 / 32  # the lowest the rate falls after throttles, as a fraction of the configured


class TokenBucket:
    """Calls paced at ``rate`` per second, at most ``burst`` at once after a quiet spell.

    :meth:`acquire` reserves a token under a lock and then sleeps, outside it, until that
    token is due; threads are served in the order they asked. ``clock`` and ``sleep`` are
    injectable, so tests need not sleep.
    """

    def __init__(
        self,
        rate: float,
        *,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not rate > 0:
            raise ValueError(f"a rate of calls per second must be positive, not {rate!r}")
        self.rate = float(rate)
        self.burst = max(1.0, float(rate if burst is None else burst))
        self.current = self.rate  # lower than ``rate`` for a while after a throttle
        self._clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._tokens = self.burst  # below zero: tokens promised to callers still waiting
        self._updated = clock()

    def acquire(self) -> float:
        """Wait for a token; returns the seconds waited."""
        with self._lock:
            self._refill()
            self._tokens -= 1
            wait = -self._tokens / self.current if self._tokens < 0 else 0.0
        if wait > 0:
            self._sleep(wait)
        return wait

    def throttled(self) -> None:
        """AWS refused a call for its rate: halve ours, and let no one call before it says."""
        with self._lock:
            self._refill()
            self.current = max(self.rate * SLOWEST, self.current / 2)
            self._tokens = min(self._tokens, 0.0)

    def _refill(self) -> None:
        now = self._clock()
        elapsed = max(0.0, now - self._updated)
        self._updated = now
        if self.current < self.rate:
            self.current = min(self.rate, self.current + self.rate * elapsed / RECOVERY_SECONDS)
        self._tokens = min(self.burst, self._tokens + elapsed * self.current)


class RequestBudget:
    """A :class:`TokenBucket` per action, each at ``rate`` calls per second."""

    def __init__(
        self,
        rate: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        TokenBucket(rate)  # refuses a rate that is not positive now, not at the first call
        self.rate = rate
        self._clock = clock
        self._sleep = sleep
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def bucket(self, action: str) -> TokenBucket:
        with self._lock:
            bucket = self._buckets.get(action)
            if bucket is None:
                bucket = self._buckets[action] = TokenBucket(
                    self.rate, clock=self._clock, sleep=self._sleep
                )
            return bucket

    def acquire(self, action: str) -> float:
        return self.bucket(action).acquire()

    def throttled(self, action: str) -> None:
        self.bucket(action).throttled()
