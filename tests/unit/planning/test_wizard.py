"""The template wizard: expansion, sizes, names, stability when a plan grows, IPv6 nibbles."""

from __future__ import annotations

import pytest

from planning import packer


@pytest.mark.parametrize(("length", "nibble"), [(48, 48), (49, 48), (50, 48), (51, 48), (53, 52)])
def test_nibble_length_is_the_nibble_block_that_holds_the_length(length, nibble):
    # A node that needs a /50 fits in a /48, not in a /52 (a quarter of what it needs).
    assert packer.nibble_length(length) == nibble
