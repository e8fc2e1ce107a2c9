"""The client's adaptive concurrency limit: AIMD on overload answers, paced starts."""

from __future__ import annotations

import asyncio
import contextlib
import time


class AdaptiveLimit:
    """AIMD concurrency with paced starts.

    * At most ``limit`` calls in flight, never above ``ceiling``. An overload answer (429,
      503) halves the limit (at most once per ``cooldown_s``, so one burst of 429s is one
      cut); every ``limit`` successes add one back.
    * Starts are paced: two calls start at least ``latency / (pace_factor · limit)`` apart,
      ``latency`` being the moving average of successful calls. At the steady rate
      (``limit`` calls per latency) that never delays anything; what it prevents is a
      platoon: N calls started in one burst come back in one burst, and their client-side
      work (litellm's parsing, cost, logging: milliseconds each) queues in the event loop,
      so every later wave starts late again. Endpoints also prefer smooth arrivals to
      bursts. The first wave is not paced (no latency is known yet).
    """

    def __init__(self, ceiling: int, cooldown_s: float = 1.0, pace_factor: float = 2.0):
        self.ceiling = self.limit = max(1, ceiling)
        self.cooldown_s = cooldown_s
        self.pace_factor = pace_factor
        self.in_flight = self.peak = self.cuts = 0
        self.latency_s: float | None = None  # moving average of successful calls
        self._successes = 0
        self._last_cut = float("-inf")
        self._next_start = 0.0
        self._cond = asyncio.Condition()

    def _spacing(self) -> float:
        if self.latency_s is None or self.pace_factor <= 0:
            return 0.0
        return self.latency_s / (self.pace_factor * self.limit)

    @contextlib.asynccontextmanager
    async def slot(self):
        async with self._cond:
            await self._cond.wait_for(lambda: self.in_flight < self.limit)
            self.in_flight += 1
            self.peak = max(self.peak, self.in_flight)
            start = max(time.monotonic(), self._next_start)
            self._next_start = start + self._spacing()
        verdict = {"ok": False, "overloaded": False}
        try:
            delay = start - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            started = time.monotonic()
            yield verdict
        finally:
            async with self._cond:
                self.in_flight -= 1
                now = time.monotonic()
                if verdict["overloaded"] and now - self._last_cut >= self.cooldown_s:
                    self.limit, self._last_cut, self._successes = max(1, self.limit // 2), now, 0
                    self.cuts += 1
                elif verdict["ok"]:
                    took = now - started
                    self.latency_s = took if self.latency_s is None else 0.8 * self.latency_s + 0.2 * took
                    self._successes += 1
                    if self._successes >= self.limit and self.limit < self.ceiling:
                        self.limit, self._successes = self.limit + 1, 0
                self._cond.notify(self.limit - self.in_flight)
