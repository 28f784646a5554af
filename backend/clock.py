"""The server's clock: real time, or an exercise clock that starts elsewhere and runs faster."""

from datetime import UTC, datetime, timedelta

from backend.config import Settings, now_utc


class Clock:
    """Every time-based rule asks this clock, so an exercise can replay a whole election day."""

    def __init__(
        self,
        start: datetime | None = None,
        speed: float = 1.0,
        *,
        real_origin: datetime | None = None,
    ) -> None:
        self.speed = speed
        # real_origin: the real moment the exercise clock read `start`; a restarted server
        # passes the stored one so exercise time continues instead of jumping back.
        self._real_origin = real_origin or now_utc()
        self._origin = (start if start is not None else self._real_origin).astimezone(UTC)

    @classmethod
    def from_settings(cls, settings: Settings) -> "Clock":
        """Build the clock the settings ask for."""
        return cls(settings.clock_start, settings.clock_speed)

    @property
    def real_origin(self) -> datetime:
        """The real moment this clock read its start."""
        return self._real_origin

    @property
    def is_exercise(self) -> bool:
        """Whether this clock differs from real time."""
        return self.speed != 1.0 or self._origin != self._real_origin

    def now(self) -> datetime:
        """The current time on this clock (UTC, timezone-aware)."""
        elapsed = now_utc() - self._real_origin
        if self.speed == 1.0:
            return self._origin + elapsed
        return self._origin + timedelta(seconds=elapsed.total_seconds() * self.speed)

    def real_seconds(self, clock_seconds: float) -> float:
        """How many real seconds pass while this clock advances by `clock_seconds`."""
        return clock_seconds / self.speed
