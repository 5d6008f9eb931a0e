"""Leases: one holder at a time, taken over only after expiry, renewed while working."""

import time

import pytest

from core.leases import LeaseLost, lease_acquire, lease_held, lease_release, lease_renew


@pytest.mark.django_db
def test_lease_is_refused_to_a_second_holder_while_held():
    assert lease_acquire(name="payout-run", holder="a", seconds=60)

    assert not lease_acquire(name="payout-run", holder="b", seconds=60)
    assert lease_acquire(name="payout-run", holder="a", seconds=60), "the holder may re-take it"


@pytest.mark.django_db
def test_lease_expired_is_taken_over_and_the_old_holder_cannot_renew():
    assert lease_acquire(name="job", holder="killed", seconds=0.05)
    time.sleep(0.1)

    assert lease_acquire(name="job", holder="next", seconds=60)
    assert not lease_renew(name="job", holder="killed", seconds=60)
    assert lease_renew(name="job", holder="next", seconds=60)


@pytest.mark.django_db
def test_lease_released_is_free_at_once_and_release_by_another_changes_nothing():
    assert lease_acquire(name="job", holder="a", seconds=60)
    lease_release(name="job", holder="b")
    assert not lease_acquire(name="job", holder="b", seconds=60)

    lease_release(name="job", holder="a")
    assert lease_acquire(name="job", holder="b", seconds=60)


@pytest.mark.django_db
def test_lease_held_block_yields_none_to_the_second_and_renew_raises_after_takeover():
    with lease_held("run", seconds=0.05) as first:
        assert first is not None
        with lease_held("run", seconds=60) as second:
            assert second is None
        time.sleep(0.1)
        assert lease_acquire(name="run", holder="other", seconds=60)
        with pytest.raises(LeaseLost):
            first.renew()
    assert not lease_acquire(name="run", holder="third", seconds=60), "the takeover kept it"
