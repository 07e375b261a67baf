"""A deleted pool, and everything a cascade takes with it, leaves the mirror's live rows: the
tree, the counts and the free-space checks no longer see it, and its space is free at once."""

from __future__ import annotations

import pytest

from pools import mirror, selectors, services, tasks, tree
from pools.models import Change, IpamPool, IpamPoolAllocation, IpamPoolCidr
from pools.sync import sync_all

pytestmark = pytest.mark.django_db


def regional() -> IpamPool:
    return IpamPool.objects.get(name="us-east-1")


def descendants_of(pool: IpamPool) -> list[IpamPool]:
    found, level = [], [pool.pk]
    while level:
        children = list(IpamPool.objects.filter(source_pool__in=level))
        found += children
        level = [child.pk for child in children]
    return found


def test_a_cascade_delete_is_followed_to_the_end(private_scope, worker, sim):
    pool = regional()
    below = descendants_of(pool)
    assert len(below) == 2  # prod and dev
    source = pool.source_pool
    allocation_in_source = IpamPoolAllocation.objects.live().get(
        pool=source, resource_id=pool.pool_id
    )

    tasks.follow(services.pool_delete(pool=pool, cascade=True))
    worker()

    gone = IpamPool.objects.filter(pk__in=[pool.pk, *(p.pk for p in below)])
    assert all(not p.in_aws for p in gone), [(p.name, p.state) for p in gone]
    assert not IpamPoolCidr.objects.live().filter(pool__in=gone).exists()
    assert not IpamPoolAllocation.objects.live().filter(pool__in=gone).exists()
    allocation_in_source.refresh_from_db()
    assert not allocation_in_source.in_aws  # the space is the source pool's again
    names = {node.pool.name for node in tree.walk(tree.build(private_scope, {source.pool_id}))}
    assert "us-east-1" not in names
    assert "corporate" in names


def test_the_freed_space_is_usable_at_once(private_scope, worker):
    pool = regional()
    freed = pool.cidrs.get().cidr
    source = pool.source_pool
    tasks.follow(services.pool_delete(pool=pool, cascade=True))
    worker()

    facts = selectors.pool_facts(selectors.pool_with_space().get(pk=source.pk))
    assert not any(a.cidr == freed for a in facts.allocations)
    node = tree.children_of(source)
    free = [item.range for item in node.children if isinstance(item, tree.FreeBlock)]
    assert any(r.first <= freed.first and freed.last <= r.last for r in free), free


def test_a_delete_complete_pool_read_by_a_sync_is_gone(private_scope, sim):
    pool = IpamPool.objects.get(name="us-east-1-dev")
    sim.call("DeleteIpamPool", IpamPoolId=pool.pool_id, Cascade=True)
    # (no delay here: AWS has finished, and still lists the pool for a while)

    sync_all()

    pool.refresh_from_db()
    assert pool.state == "delete-complete"
    assert not pool.in_aws
    assert not IpamPool.objects.live().filter(pk=pool.pk).exists()
    assert (
        selectors.scope_facts(private_scope).pool_count
        == IpamPool.objects.filter(scope=private_scope).not_deleted().count()
    )
    # A second sync, while AWS still lists it, changes nothing and logs nothing new.
    logged = Change.objects.count()
    report = sync_all()
    assert not report.changed_anything
    assert Change.objects.count() == logged


def test_a_pool_never_seen_that_is_already_deleted_is_not_imported(private_scope, sim):
    scope_id = private_scope.scope_id
    made = sim.call("CreateIpamPool", IpamScopeId=scope_id, AddressFamily="ipv4")["IpamPool"]
    sim.call("DeleteIpamPool", IpamPoolId=made["IpamPoolId"])

    sync_all()

    assert not IpamPool.objects.filter(pool_id=made["IpamPoolId"]).exists()


@pytest.mark.usefixtures("private_scope")
def test_forget_pools_counts_every_level():
    pool = regional()
    marked = mirror.forget_pools([pool.pk])
    assert marked == 1 + len(descendants_of(pool))
