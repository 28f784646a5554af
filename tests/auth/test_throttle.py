"""The per-address sign-in throttle's window, in the monotonic seconds the test chooses."""

from backend.users.throttle import AddressThrottle


def test_an_address_may_try_again_once_its_oldest_failure_leaves_the_window() -> None:
    t = AddressThrottle(limit=3, window_s=600)
    for at in (0.0, 100.0, 200.0):
        assert t.retry_after("10.0.0.1", now=at) is None
        t.failed("10.0.0.1", now=at)
    assert t.retry_after("10.0.0.1", now=250.0) == 350  # the failure at 0 leaves at 600
    assert t.retry_after("10.0.0.2", now=250.0) is None  # others are not affected
    assert t.retry_after("10.0.0.1", now=600.0) is None
    t.failed("10.0.0.1", now=600.0)
    assert t.retry_after("10.0.0.1", now=601.0) == 99  # now the one at 100 is the oldest


def test_a_flood_of_addresses_forgets_the_longest_quiet_one_first() -> None:
    t = AddressThrottle(limit=1, window_s=600, max_addresses=2)
    t.failed("a", now=0.0)
    t.failed("b", now=1.0)
    t.failed("a", now=2.0)  # a is fresh again; b is now the longest quiet
    t.failed("c", now=3.0)
    assert t.retry_after("b", now=4.0) is None
    assert t.retry_after("a", now=4.0) is not None and t.retry_after("c", now=4.0) is not None


def test_a_success_takes_back_the_failure_counted_for_its_attempt() -> None:
    t = AddressThrottle(limit=2, window_s=600)
    t.failed("a", now=0.0)  # counted when the attempt starts
    t.forgive("a")  # it succeeded
    t.failed("a", now=1.0)
    assert t.retry_after("a", now=2.0) is None
    t.failed("a", now=2.0)
    assert t.retry_after("a", now=3.0) == 598
