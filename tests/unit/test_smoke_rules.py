from __future__ import annotations

from pools import rules


def test_min_equal_max_is_accepted():
    assert rules.check_netmask_lengths("ipv4", 32, 32, 32) == []
