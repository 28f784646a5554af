"""Failed sign-ins per address: past a limit, refuse before any password is hashed."""

import math
import time
from collections import OrderedDict, deque


class AddressThrottle:
    """A sliding window of failed sign-ins per remote address, in real monotonic time.

    The per-user wait protects one account; this protects the service: one address guessing
    across many usernames would otherwise keep the password thread busy (~0.2 s of argon2 per
    guess) and queue every honest sign-in behind it. Per node, in memory: behind a load balancer
    each node counts what it sees, which bounds each node's hashing all the same.
    """

    def __init__(self, limit: int, window_s: float, max_addresses: int = 100_000) -> None:
        self._limit = limit
        self._window_s = window_s
        self._max_addresses = max_addresses
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def retry_after(self, address: str | None, now: float | None = None) -> int | None:
        """Seconds until `address` may try again, or None if it may try now."""
        times = self._failures.get(address or "?")
        if times is None:
            return None
        now = time.monotonic() if now is None else now
        while times and times[0] <= now - self._window_s:
            times.popleft()
        if len(times) < self._limit:
            return None
        return max(1, math.ceil(times[0] + self._window_s - now))

    def failed(self, address: str | None, now: float | None = None) -> None:
        """Count one failed sign-in from `address`."""
        key = address or "?"
        times = self._failures.get(key)
        if times is None:
            if len(self._failures) >= self._max_addresses:
                self._failures.popitem(last=False)  # a flood of addresses must not fill memory
            times = self._failures[key] = deque(maxlen=self._limit)
        else:
            self._failures.move_to_end(key)
        times.append(time.monotonic() if now is None else now)

    def forgive(self, address: str | None) -> None:
        """Take back one counted failure (the attempt it stood for succeeded)."""
        times = self._failures.get(address or "?")
        if times:
            times.pop()
