from __future__ import annotations

from pools.models import IpamPool
from pools.sync import sync_all


def test_demo_sync_imports_the_hierarchy(demo):
    assert IpamPool.objects.count() == 11
    assert set(IpamPool.objects.values_list("depth", flat=True)) == {1, 2, 3}
    child = IpamPool.objects.filter(depth=3).select_related("source_pool").first()
    assert child.source_pool.depth == 2
    assert not sync_all().changed_anything
