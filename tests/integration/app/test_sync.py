"""`ipam_sync` and sync_all: everything AWS has, imported in bulk, marked when it goes."""

from __future__ import annotations

import sqlite3
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

import ipamsim
from ipamsim.seed import seed_demo
from pools import mirror
from pools import sync as sync_module
from pools.aws import AwsNotAuthorised, AwsUnavailable, reset_clients
from pools.aws.embedded import use_simulator
from pools.models import (
    Ipam,
    IpamPool,
    IpamPoolAllocation,
    IpamPoolCidr,
    IpamScope,
    PoolTag,
)
from pools.sync import sync_all
from tests.integration.app.conftest import aws_pools, build_hierarchy

pytestmark = pytest.mark.django_db


def ipam_sync(*args: str) -> str:
    out = StringIO()
    call_command("ipam_sync", *args, stdout=out)
    return out.getvalue()


def aws_space(sim: ipamsim.Simulator) -> tuple[set[str], set[str]]:
    cidrs, allocations = set(), set()
    for pool in aws_pools(sim):
        pool_id = pool["IpamPoolId"]
        cidrs |= {
            c["IpamPoolCidrId"]
            for c in sim.call("GetIpamPoolCidrs", IpamPoolId=pool_id)["IpamPoolCidrs"]
        }
        allocations |= {
            a["IpamPoolAllocationId"]
            for a in sim.call("GetIpamPoolAllocations", IpamPoolId=pool_id)["IpamPoolAllocations"]
        }
    return cidrs, allocations


def test_ipam_sync_imports_everything_aws_has(sim):
    seed_demo(sim, showcase=False)

    output = ipam_sync()

    ipams = sim.call("DescribeIpams")["Ipams"]
    assert set(Ipam.objects.values_list("ipam_id", flat=True)) == {i["IpamId"] for i in ipams}
    ipam = Ipam.objects.get()
    assert ipam.operating_regions == ["us-east-1", "us-west-2", "eu-west-1"]
    assert ipam.tags == {"Name": "demo"}
    scopes = sim.call("DescribeIpamScopes")["IpamScopes"]
    assert set(IpamScope.objects.values_list("scope_id", flat=True)) == {
        s["IpamScopeId"] for s in scopes
    }
    assert set(IpamScope.objects.values_list("scope_type", flat=True)) == {"public", "private"}
    in_aws = {p["IpamPoolId"]: p for p in aws_pools(sim)}
    pools = {p.pool_id: p for p in IpamPool.objects.select_related("source_pool", "scope")}
    assert pools.keys() == in_aws.keys()
    for pool_id, pool in pools.items():
        aws = in_aws[pool_id]
        assert pool.depth == aws["PoolDepth"]
        assert pool.state == aws["State"]
        assert pool.scope.arn == aws["IpamScopeArn"]
        assert (pool.source_pool.pool_id if pool.source_pool else None) == aws.get(
            "SourceIpamPoolId"
        )
        assert pool.locale == ("" if aws["Locale"] == "None" else aws["Locale"])
        assert pool.tags == {t["Key"]: t["Value"] for t in aws.get("Tags", [])}
    assert PoolTag.objects.filter(key="Name").count() == len(in_aws)
    cidrs, allocations = aws_space(sim)
    assert set(IpamPoolCidr.objects.values_list("cidr_id", flat=True)) == cidrs
    assert set(IpamPoolAllocation.objects.values_list("allocation_id", flat=True)) == allocations
    assert IpamPoolAllocation.objects.filter(resource_type="ipam-pool").exists()
    assert IpamPoolAllocation.objects.filter(resource_type="custom").count() == 12
    assert "pools: 11" in output
    assert "CIDRs and allocations: 11/11 pools" in output
    assert "pools: 11 new, 0 changed, 0 unchanged, 0 no longer in AWS" in output
    assert "changes saved" in output


def test_second_run_changes_nothing(sim):
    seed_demo(sim, showcase=False)
    ipam_sync()
    before = {
        model: list(model.objects.order_by("pk").values())
        for model in (Ipam, IpamScope, IpamPool, IpamPoolCidr, IpamPoolAllocation)
    }
    for rows in before.values():
        for row in rows:
            row.pop("last_synced_at")

    output = ipam_sync()
    report = sync_all()

    assert not report.changed_anything
    assert "nothing changed" in output
    assert "pools: 0 new, 0 changed, 11 unchanged, 0 no longer in AWS" in output
    for model, rows in before.items():
        after = list(model.objects.order_by("pk").values())
        for row in after:
            row.pop("last_synced_at")
        assert after == rows, model


def test_changes_in_aws_are_picked_up(sim, demo):
    pool = IpamPool.objects.get(name="eu-west-1-dev")
    sim.call(
        "ModifyIpamPool",
        IpamPoolId=pool.pool_id,
        Description="renamed",
        AddAllocationResourceTags=[{"Key": "cost", "Value": "1"}],
    )

    report = sync_all(include_space=False)

    assert report.counts["pools"].changed == 1
    pool.refresh_from_db()
    assert pool.description == "renamed"
    assert pool.allocation_resource_tags == {"environment": "dev", "cost": "1"}


def test_what_aws_no_longer_has_is_marked_not_deleted(sim, demo):
    pool = IpamPool.objects.get(name="ula-v6")
    cidr = pool.cidrs.get()
    allocation = IpamPoolAllocation.objects.filter(resource_type="custom").first()
    kept = sim.store.get("pool", pool.pool_id)
    sim.store.remove("pool", pool.pool_id)
    sim.call(
        "ReleaseIpamPoolAllocation",
        IpamPoolId=allocation.pool.pool_id,
        IpamPoolAllocationId=allocation.allocation_id,
        Cidr=str(allocation.cidr),
    )

    report = sync_all()

    assert report.missing["pools"] == 1
    assert report.missing["allocations"] == 1
    for row in (pool, cidr, allocation):
        row.refresh_from_db()
        assert row.missing_since is not None
    assert IpamPool.objects.filter(missing_since__isnull=True).count() == 10
    missing_since = pool.missing_since

    assert not sync_all().changed_anything
    pool.refresh_from_db()
    assert pool.missing_since == missing_since

    sim.store.add("pool", pool.pool_id, kept)
    report = sync_all()

    assert report.counts["pools"].changed == 1
    pool.refresh_from_db()
    cidr.refresh_from_db()
    assert (pool.missing_since, cidr.missing_since) == (None, None)


def test_a_sync_leaves_djangos_view_of_the_database_alone(sim, demo):
    sim.call("ModifyIpamPool", IpamPoolId=aws_pools(sim)[0]["IpamPoolId"], Description="changed")
    features = vars(connection.features).copy()

    report = sync_all()

    assert report.counts["pools"].changed == 1
    assert {name: vars(connection.features)[name] for name in features} == features
    assert "max_query_params" not in vars(connection.features)  # Django's own, for all queries


def test_a_deleted_pool_leaves_the_mirror_while_aws_still_lists_it(sim, demo):
    pool = IpamPool.objects.get(name="ula-v6")
    sim.call("DeleteIpamPool", IpamPoolId=pool.pool_id, Cascade=True)

    sync_all(include_space=False)

    pool.refresh_from_db()
    assert pool.state == "delete-complete"  # its last state is kept, with when it went
    assert pool.missing_since is not None


def test_a_sync_leaves_other_regions_ipams_as_they_are(sim, demo, settings):
    ipam = sim.call(
        "CreateIpam", region="eu-central-1", OperatingRegions=[{"RegionName": "eu-central-1"}]
    )["Ipam"]
    sim.call(
        "CreateIpamPool",
        region="eu-central-1",
        IpamScopeId=ipam["PrivateDefaultScopeId"],
        AddressFamily="ipv4",
    )
    settings.IPAM_REGION = "eu-central-1"
    sync_all()
    assert IpamPool.objects.filter(region="eu-central-1").count() == 1

    settings.IPAM_REGION = "us-east-1"
    report = sync_all()

    assert not report.changed_anything
    assert not Ipam.objects.filter(missing_since__isnull=False).exists()
    assert not IpamPool.objects.filter(missing_since__isnull=False).exists()


def test_a_scope_created_during_the_sync_is_imported_with_its_pools(sim, monkeypatch):
    seed_demo(sim, showcase=False)
    read_scopes = sync_module._sync_ipams_and_scopes
    calls = []

    def then_a_new_ipam(*args):
        answer = read_scopes(*args)
        if not calls:  # after the sync has read the scopes, before it reads the pools
            ipam = sim.call("CreateIpam", OperatingRegions=[{"RegionName": "us-east-1"}])
            scope = ipam["Ipam"]["PrivateDefaultScopeId"]
            sim.call("CreateIpamPool", IpamScopeId=scope, AddressFamily="ipv4", Description="new")
        calls.append(answer)
        return answer

    monkeypatch.setattr(sync_module, "_sync_ipams_and_scopes", then_a_new_ipam)

    report = sync_all(include_space=False)

    assert len(calls) == 2
    assert report.counts["pools"].created == 12
    assert IpamPool.objects.get(description="new").scope.ipam.scopes.count() == 2


def test_a_pool_saved_by_the_app_during_the_sync_is_not_a_conflict(sim, monkeypatch):
    build_hierarchy(sim, 30)
    pages = sync_module.prefetched

    def saved_meanwhile(items):
        for page in pages(items):
            mirror.save_pools(page[5:6])  # as a pool page would after creating a pool
            yield page

    monkeypatch.setattr(sync_module, "prefetched", saved_meanwhile)

    report = sync_all(include_space=False)

    assert (report.counts["pools"].created, report.counts["pools"].unchanged) == (29, 1)
    assert IpamPool.objects.count() == 30
    assert not IpamPool.objects.filter(source_pool__isnull=True).exclude(depth=1).exists()
    assert not sync_all(include_space=False).changed_anything


def test_a_pool_without_cidrs_is_not_asked_for_allocations(sim, sent):
    seed_demo(sim, showcase=False)
    scope = sim.call("DescribeIpamScopes")["IpamScopes"][0]["IpamScopeId"]
    sim.call("CreateIpamPool", IpamScopeId=scope, AddressFamily="ipv4", Description="empty")
    with_cidrs = [
        p["IpamPoolId"]
        for p in aws_pools(sim)
        if sim.call("GetIpamPoolCidrs", IpamPoolId=p["IpamPoolId"])["IpamPoolCidrs"]
    ]

    sync_all()

    assert sent.count("GetIpamPoolCidrs") == len(aws_pools(sim)) == 12
    assert sent.count("GetIpamPoolAllocations") == len(with_cidrs) == 11
    assert IpamPoolAllocation.objects.count() == sum(
        len(sim.call("GetIpamPoolAllocations", IpamPoolId=p)["IpamPoolAllocations"])
        for p in with_cidrs
    )


def test_links_that_are_wrong_are_mended_and_only_those(demo):
    linked = IpamPool.objects.filter(source_pool__isnull=False).order_by("pk")
    unset, wrong, lost, cleared, kept = linked[:5]
    roots = IpamPool.objects.filter(source_pool__isnull=True)
    IpamPool.objects.filter(pk=unset.pk).update(source_pool=None)
    IpamPool.objects.filter(pk=wrong.pk).update(source_pool=roots.exclude(pk=wrong.pk).first())
    IpamPool.objects.filter(pk=lost.pk).update(source_pool_aws_id="ipam-pool-notmirrored")
    IpamPool.objects.filter(pk=cleared.pk).update(source_pool_aws_id="")

    assert mirror.link_sources() == 4
    assert mirror.link_sources() == 0

    now = {p.pk: p.source_pool_id for p in IpamPool.objects.all()}
    assert (now[unset.pk], now[wrong.pk], now[kept.pk]) == (
        unset.source_pool_id,
        wrong.source_pool_id,
        kept.source_pool_id,
    )
    assert now[lost.pk] is None
    assert now[cleared.pk] is None


def test_a_child_written_before_its_source_pool_is_linked_afterwards(sim):
    build_hierarchy(sim, 30)
    first, *rest = aws_pools(sim)
    scopes = {d["IpamScopeArn"] for d in rest}
    sync_all(include_space=False)  # every IPAM, scope and pool mirrored: now rewrite the pools
    IpamPool.objects.all().delete()
    ipam_pks = dict(Ipam.objects.values_list("arn", "id"))
    scope_pks = dict(IpamScope.objects.filter(arn__in=scopes).values_list("arn", "id"))

    mirror.upsert_pools(list(reversed(rest)), ipam_pks=ipam_pks, scope_pks=scope_pks)
    waiting = {d["IpamPoolId"] for d in rest if d.get("SourceIpamPoolId") == first["IpamPoolId"]}
    unlinked = IpamPool.objects.filter(source_pool__isnull=True).exclude(depth=1)
    assert set(unlinked.values_list("pool_id", flat=True)) == waiting  # the others are linked
    mirror.upsert_pools([first], ipam_pks=ipam_pks, scope_pks=scope_pks)

    assert mirror.link_sources() == len(waiting) > 0
    assert not unlinked.exists()


def test_pools_of_every_page_are_imported(sim):
    ids = build_hierarchy(sim, 1100)

    output = ipam_sync("--skip-space")

    assert IpamPool.objects.count() == 1100
    assert set(IpamPool.objects.values_list("pool_id", flat=True)) == set(ids)
    assert "pools: 1000" in output
    assert "pools: 1100" in output
    assert not IpamPoolCidr.objects.exists()


def test_sync_failure_is_a_command_error(sim):
    seed_demo(sim, showcase=False)
    sim.faults.update({"unreachable": True})

    with pytest.raises(CommandError) as caught:
        ipam_sync()

    assert isinstance(caught.value.__cause__, AwsUnavailable)
    assert not Ipam.objects.exists()


def test_not_authorised_is_a_command_error(sim):
    sim.faults.update({"deny_actions": {"DescribeIpamPools"}})

    with pytest.raises(CommandError) as caught:
        ipam_sync()

    assert isinstance(caught.value.__cause__, AwsNotAuthorised)
    assert caught.value.__cause__.code == "UnauthorizedOperation"


def test_quiet_sync_prints_nothing(sim):
    seed_demo(sim, showcase=False)

    assert ipam_sync("--verbosity", "0") == ""
    assert IpamPool.objects.count() == 11


def use_fresh_endpoint(pools: int) -> ipamsim.Simulator:
    """Empty the database and point the app at a new endpoint holding ``pools`` pools."""
    Ipam.objects.all().delete()
    fresh = ipamsim.Simulator(ipamsim.Config(create_delay=0))
    build_hierarchy(fresh, pools)
    use_simulator(fresh)
    reset_clients()
    return fresh


def count_queries(func) -> int:
    with CaptureQueriesContext(connection) as queries:
        func()
    return len(queries)


def test_sync_of_2000_pools_at_depth_10_grows_with_pages_not_pools(
    sim, django_assert_max_num_queries
):
    """1,100 and 2,000 pools are both two pages of DescribeIpamPools: the same queries."""
    use_fresh_endpoint(1100)
    import_1100 = count_queries(lambda: sync_all(include_space=False))
    resync_1100 = count_queries(lambda: sync_all(include_space=False))

    use_fresh_endpoint(2000)
    with django_assert_max_num_queries(import_1100):
        report = sync_all(include_space=False)
    with django_assert_max_num_queries(resync_1100):
        again = sync_all(include_space=False)

    assert report.pages == again.pages == 2
    assert report.counts["pools"].created == 2000
    assert not again.changed_anything
    assert import_1100 <= 34  # the change log adds an INSERT per page
    pools = IpamPool.objects.all()
    assert pools.count() == 2000
    assert pools.filter(depth=10).count() > 100
    assert max(pools.values_list("depth", flat=True)) == 10
    deepest = IpamPool.objects.get(name="chain-10")
    ancestors = []
    node = deepest
    while node.source_pool_id:
        node = IpamPool.objects.get(pk=node.source_pool_id)
        ancestors.append(node.depth)
    assert ancestors == list(range(9, 0, -1))
    assert not IpamPool.objects.filter(source_pool__isnull=True).exclude(depth=1).exists()
    assert IpamPool.objects.get(name="chain-5").children.count() > 200


@pytest.fixture
def small_variable_limit():
    """On SQLite, a limit on query variables far below this build's, as some builds have."""
    if connection.vendor != "sqlite":
        yield
        return
    connection.ensure_connection()
    raw = connection.connection
    before = raw.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 2000)
    yield
    raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, before)


def test_resync_rewrites_every_field_that_drifted(sim, small_variable_limit):
    build_hierarchy(sim, 150)
    sync_all(include_space=False)
    IpamPool.objects.update(
        arn="x",
        owner_id="x",
        region="x",
        scope_type="x",
        source_pool_aws_id="x",
        locale="x",
        depth=1,
        state="x",
        state_message="x",
        name="x",
        description="x",
        auto_import=True,
        publicly_advertisable=True,
        allocation_min_netmask_length=1,
        allocation_max_netmask_length=2,
        allocation_default_netmask_length=2,
        allocation_resource_tags={"x": "x"},
        tags={"x": "x"},
        aws_service="ec2",
        public_ip_source="byoip",
        source_resource={"x": "x"},
    )

    report = sync_all(include_space=False)

    assert report.counts["pools"].changed == 150
    assert not sync_all(include_space=False).changed_anything
    chain = IpamPool.objects.get(name="chain-10")
    assert (chain.depth, chain.description, chain.locale, chain.state) == (
        10,
        "level 10",
        "",
        "create-complete",
    )
    assert chain.source_pool.name == "chain-9"
    assert set(PoolTag.objects.filter(pool=chain).values_list("key", "value")) == {
        ("Name", "chain-10")
    }
