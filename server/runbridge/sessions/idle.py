"""A session's idle clock: when it last did something, and the one timer that ends it.

The manager calls :meth:`IdleClock.touch` on every activity (open, run start and end,
input, file transfer, terminal input and output). Touching only records the time: the
timer, once set, wakes at the deadline the last touch it knew of gave, and then either
sets itself again for a later deadline (there was activity since), does nothing (the
session is not idle now: whatever keeps it busy touches the clock when it ends), or
hands the session to ``on_expired``. Nothing polls.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable


class IdleClock:
    def __init__(
        self, timeout_s: float, is_idle: Callable[[], bool], on_expired: Callable[[], None]
    ) -> None:
        #: 0: the session is never closed for being idle.
        self.timeout_s = timeout_s
        self._is_idle = is_idle
        self._on_expired = on_expired
        self._loop = asyncio.get_running_loop()
        self._last = self._loop.time()
        #: The wall-clock time of the last activity (for the wire, like ``createdAt``).
        self.last_activity = time.time()
        self._timer: asyncio.TimerHandle | None = None
        self._stopped = False

    def touch(self) -> None:
        """Something happened on the session: its idle time starts again from now."""
        self._last = self._loop.time()
        self.last_activity = time.time()
        self.rearm()

    def rearm(self) -> None:
        """Set the timer again for the deadline the last activity gave (it was spent on a
        session that turned out not to be idle), without counting an activity."""
        if self.timeout_s > 0 and self._timer is None and not self._stopped:
            self._timer = self._loop.call_at(self._last + self.timeout_s, self._wake)

    def expired(self) -> bool:
        """True when the session has had no activity for its timeout (never with 0)."""
        return self.timeout_s > 0 and self._loop.time() >= self._last + self.timeout_s

    def stop(self) -> None:
        """No more timer (the session is closing)."""
        self._stopped = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _wake(self) -> None:
        self._timer = None
        deadline = self._last + self.timeout_s
        if self._loop.time() < deadline:  # touched since the timer was set
            self._timer = self._loop.call_at(deadline, self._wake)
        elif self._is_idle():
            self._on_expired()
