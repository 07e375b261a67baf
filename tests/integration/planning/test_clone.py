"""A plan cloned from live pools: every node bound to its pool, holding its CIDR, with its
locale, rules, tags and description; the plan judged with no errors; bounded queries for a
thousand pools."""

from __future__ import annotations

import math
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from netaddr import IPNetwork

from awsipam.constants import NO_LOCALE
from planning import clone, services
from planning.models import Plan, PlanNode
from planning.selectors import plan_spec
from planning.spec import Intent, NodeSpec, Tree
from pools.models import IpamPool, IpamScope
from pools.sync import sync_all
from tests.integration.app.conftest import (  # noqa: F401 (autouse fixtures of the app's tests)
    fast_password_hashing,
    no_retry_delay,
    shared_service_models,
)
from tests.treedata import build_tree


def pool(name: str) -> IpamPool:
    return IpamPool.objects.get(name=name)


def by_name(nodes) -> dict[str, NodeSpec]:
    return {n.name: n for n in nodes}


def create(scope: IpamScope, found: clone.Clone, name: str = "clone") -> Plan:
    return services.plan_create(
        ipam=scope.ipam,
        scope=scope,
        address_family=found.address_family,
        name=name,
        space=found.space,
        parent_pool=found.parent_pool,
        nodes=found.nodes,
    ).plan


def errors(plan: Plan) -> list[dict]:
    return [f for f in plan.findings if f["severity"] == "error"]


@pytest.fixture
def editor(demo, django_user_model) -> Client:
    user = django_user_model.objects.create_user("editor")
    user.groups.add(Group.objects.get(name="IPAM editors"))
    client = Client()
    client.force_login(user)
    return client


def test_a_subtree_clone_binds_every_node_to_its_pool_as_it_is(private_scope):
    regional = pool("us-east-1")

    found = clone.clone_subtree(regional)

    nodes = by_name(found.nodes)
    assert set(nodes) == {"us-east-1", "us-east-1-prod", "us-east-1-dev"}
    assert found.parent_pool == pool("corporate")
    assert found.address_family == "ipv4"
    for name, node in nodes.items():
        live = pool(name)
        assert node.pool_id == live.pool_id
        assert node.cidr == live.cidrs.get().cidr
        assert (node.intent, node.prefix_length) == (Intent.LENGTH, node.cidr.prefixlen)
        assert node.description == live.description
        assert (node.min_netmask, node.max_netmask, node.default_netmask) == (
            live.allocation_min_netmask_length,
            live.allocation_max_netmask_length,
            live.allocation_default_netmask_length,
        )
        assert "Name" not in dict(node.tags)
    prod = nodes["us-east-1-prod"]
    assert prod.parent == nodes["us-east-1"].key
    assert dict(prod.allocation_resource_tags) == {"environment": "prod"}
    # The Regional pool carries the locale; its children, which share it, inherit it.
    assert nodes["us-east-1"].locale == "us-east-1"
    assert prod.locale is None
    assert Tree.of(found.nodes).locale(prod.key) == "us-east-1"
    assert not found.extra_cidrs
    assert not found.renamed


def test_the_clone_of_a_subtree_validates_with_no_errors(private_scope):
    plan = create(private_scope, clone.clone_subtree(pool("us-east-1")))

    assert plan.is_validated
    assert errors(plan) == []
    assert plan.parent_pool == pool("corporate")
    rows = PlanNode.objects.filter(plan=plan).select_related("pool")
    assert all(r.pool is not None and r.pool.pool_id == r.pool_aws_id for r in rows)
    assert all(r.cidr == r.pool.cidrs.get().cidr for r in rows)


@pytest.mark.parametrize(("family", "count"), [("ipv4", 1 + 3 + 6), ("ipv6", 1)])
def test_the_clone_of_a_scope_takes_every_pool_of_one_family(private_scope, family, count):
    found = clone.clone_scope(private_scope, family)

    assert len(found.nodes) == count
    assert all(n.bound for n in found.nodes)
    assert found.parent_pool is None
    tree = Tree.of(found.nodes)
    assert [n.name for n in tree.nodes.values() if tree.parent_of(n.key) is None] == (
        ["corporate"] if family == "ipv4" else ["ula-v6"]
    )
    plan = create(private_scope, found, name=f"clone {family}")
    assert errors(plan) == []


def test_a_cloned_plan_grows_into_free_space_around_the_live_allocations(private_scope):
    plan = create(private_scope, clone.clone_subtree(pool("us-east-1")))
    prod = by_name(plan_spec(plan).nodes)["us-east-1-prod"]

    outcome = services.node_add(
        plan, NodeSpec(key="n-new", name="payments", parent=prod.key, prefix_length=24)
    )

    placed = outcome.packing.cidr_of("n-new")
    taken = [a.cidr for a in pool("us-east-1-prod").allocations.all()]
    assert placed in prod.cidr
    assert not [c for c in taken if c.first <= placed.last and placed.first <= c.last]
    assert [f for f in outcome.findings if f.is_error] == []


def test_a_pool_with_several_cidrs_keeps_the_one_holding_its_children(sim, private_scope):
    corporate = pool("corporate")
    sim.call("ProvisionIpamPoolCidr", IpamPoolId=corporate.pool_id, Cidr="9.0.0.0/8")
    sync_all()

    found = clone.clone_scope(private_scope, "ipv4")

    assert by_name(found.nodes)["corporate"].cidr == IPNetwork("10.0.0.0/8")
    assert [(e.name, e.kept, e.others) for e in found.extra_cidrs] == [
        ("corporate", IPNetwork("10.0.0.0/8"), (IPNetwork("9.0.0.0/8"),))
    ]
    assert errors(create(private_scope, found)) == []


def test_pools_sharing_a_name_or_having_none_are_named_apart(private_scope):
    IpamPool.objects.filter(name="us-east-1-dev").update(name="us-east-1-prod")
    IpamPool.objects.filter(name="eu-west-1-dev").update(name="")
    dev = IpamPool.objects.get(description="eu-west-1 dev")

    found = clone.clone_scope(private_scope, "ipv4")

    names = [n.name for n in found.nodes]
    assert len(set(names)) == len(names)
    assert dev.pool_id in names
    assert {r.was for r in found.renamed} == {"us-east-1-prod", ""}
    assert len(found.renamed) == 3
    assert errors(create(private_scope, found)) == []


def test_pools_being_deleted_are_left_out_with_what_is_below_them(private_scope):
    IpamPool.objects.filter(name="us-west-2").update(state="delete-in-progress")

    names = {n.name for n in clone.clone_scope(private_scope, "ipv4").nodes}

    assert not {"us-west-2", "us-west-2-prod", "us-west-2-dev"} & names
    assert "us-east-1-prod" in names


def test_a_pool_without_a_cidr_yet_is_bound_and_unsized(sim, private_scope):
    sim.call(
        "CreateIpamPool",
        IpamScopeId=private_scope.scope_id,
        AddressFamily="ipv4",
        SourceIpamPoolId=pool("us-east-1").pool_id,
        Locale="us-east-1",
        TagSpecifications=[
            {"ResourceType": "ipam-pool", "Tags": [{"Key": "Name", "Value": "empty"}]}
        ],
    )
    sync_all()

    found = clone.clone_subtree(pool("us-east-1"))

    empty = by_name(found.nodes)["empty"]
    assert (empty.bound, empty.cidr, empty.prefix_length) == (True, None, None)
    assert found.without_cidr == ("empty",)


# --- through the page ----------------------------------------------------------------------------


def test_the_clone_page_shows_what_is_cloned_before_creating(
    editor, private_scope, django_assert_max_num_queries
):
    with django_assert_max_num_queries(14):
        response = editor.get(reverse("plan_clone"), {"pool": pool("us-west-2").pool_id})

    assert response.status_code == 200
    assert response.context["form"].initial["pool"] == pool("us-west-2")
    page = response.content.decode()
    assert 'id="clone-summary"' in page
    assert "10.16.0.0/12" in page
    assert response.context["source"].pool_count == 3
    assert not Plan.objects.exists()


def test_cloning_through_the_page_binds_every_node_and_goes_to_the_plan(editor, private_scope):
    data = {
        "scope": private_scope.scope_id,
        "pool": pool("eu-west-1").pool_id,
        "address_family": "ipv4",
        "name": "eu growth",
        "description": "From the live eu-west-1 pools",
    }

    response = editor.post(reverse("plan_clone"), data)

    plan = Plan.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("plan_detail", args=[plan.pk])
    assert (plan.name, plan.parent_pool, plan.description) == (
        "eu growth",
        pool("corporate"),
        "From the live eu-west-1 pools",
    )
    assert PlanNode.objects.filter(plan=plan).exclude(pool_aws_id="").count() == 3
    assert not PlanNode.objects.filter(plan=plan, pool_aws_id="").exists()
    assert errors(plan) == []


@pytest.mark.parametrize(
    ("change", "field", "code"),
    [
        ({"pool": "ipam-pool-0123456789abcdef0"}, "pool", "invalid_choice"),
        ({"pool": "\x00"}, "pool", "invalid_choice"),
        ({"scope": "ipam-scope-0123456789abcdef0"}, "scope", "invalid_choice"),
        ({"name": ""}, "name", "required"),
    ],
)
def test_clone_refusals_are_said_next_to_their_field(editor, private_scope, change, field, code):
    data = {"scope": private_scope.scope_id, "pool": "", "address_family": "ipv4", "name": "c"}

    response = editor.post(reverse("plan_clone"), {**data, **change})

    assert response.status_code == 200
    assert {e.code for e in response.context["form"].errors.as_data()[field]} == {code}
    assert not Plan.objects.exists()


def test_a_pool_of_another_scope_and_an_empty_scope_are_refused(editor, private_scope):
    public = IpamScope.objects.get(scope_type="public")
    data = {"scope": public.scope_id, "pool": "", "address_family": "ipv4", "name": "c"}

    empty = editor.post(reverse("plan_clone"), data)
    elsewhere = editor.post(reverse("plan_clone"), {**data, "pool": pool("us-east-1").pool_id})

    assert {e.code for e in empty.context["form"].errors.as_data()["scope"]} == {"nothing_to_clone"}
    assert {e.code for e in elsewhere.context["form"].errors.as_data()["pool"]} == {
        "invalid_choice"
    }
    assert not Plan.objects.exists()


def test_a_name_taken_is_refused_with_the_input_kept(editor, private_scope, make_plan):
    make_plan("c")
    data = {"scope": private_scope.scope_id, "pool": "", "address_family": "ipv4", "name": "c"}

    response = editor.post(reverse("plan_clone"), {**data, "description": "kept"})

    form = response.context["form"]
    assert {e.code for e in form.errors.as_data()["name"]} == {"plan_name_taken"}
    assert form["description"].value() == "kept"
    assert Plan.objects.count() == 1


def test_live_validation_of_the_clone_form_shows_what_is_cloned(editor, private_scope):
    data = {"scope": private_scope.scope_id, "pool": "", "address_family": "ipv6", "name": ""}

    response = editor.post(
        reverse("plan_clone"), {**data, "_live": "address_family"}, HTTP_HX_REQUEST="true"
    )

    page = response.content.decode()
    assert 'id="clone-summary" class="card preview"' in page
    assert "fd00:ec2::/32" in page
    assert 'id="pool-part" hx-swap-oob="true"' in page
    assert not Plan.objects.exists()


# --- a thousand pools ----------------------------------------------------------------------------


@pytest.fixture
def big_tree(db) -> Any:
    return build_tree(1000, roots=1)


def test_a_thousand_pool_subtree_is_read_in_a_few_queries(big_tree, django_assert_max_num_queries):
    root = big_tree.pools[0]

    with django_assert_max_num_queries(3):
        found = clone.clone_subtree(root)

    assert found.pool_count == 1000
    assert len({n.name for n in found.nodes}) == 1000


def test_a_thousand_pool_clone_is_created_in_bounded_queries_and_validates(
    big_tree, django_user_model, django_assert_max_num_queries
):
    user = django_user_model.objects.create_user("editor")
    user.groups.add(Group.objects.get(name="IPAM editors"))
    client = Client()
    client.force_login(user)
    root = big_tree.pools[0]
    data = {"scope": big_tree.scope.scope_id, "pool": root.pool_id, "name": "big"}

    # A fixed number, plus the batches the database splits the nodes' bulk insert and update
    # into (SQLite takes some 45 rows a statement, PostgreSQL all of them).
    fields = [f for f in PlanNode._meta.concrete_fields if not f.primary_key]
    batches = math.ceil(1000 / connection.ops.bulk_batch_size(fields, [None] * 1000))
    with django_assert_max_num_queries(40 + 2 * batches):
        response = client.post(reverse("plan_clone"), data)

    assert response.status_code == 302, response.context["form"].errors
    plan = Plan.objects.get()
    assert PlanNode.objects.filter(plan=plan).exclude(pool=None).count() == 1000
    assert errors(plan) == []
    with django_assert_max_num_queries(12):
        page = client.get(reverse("plan_clone"), {"pool": root.pool_id})
    assert page.status_code == 200
    assert page.context["form"].many_pools


def test_no_locale_is_written_as_inherited_at_the_top(private_scope):
    found = clone.clone_scope(private_scope, "ipv4")

    corporate = by_name(found.nodes)["corporate"]
    assert corporate.locale is None
    assert NO_LOCALE not in {n.locale for n in found.nodes}


def test_a_thousand_new_nodes_are_inserted_with_their_parents_and_not_rewritten(big_tree):
    found = clone.clone_subtree(big_tree.pools[0])

    with CaptureQueriesContext(connection) as queries:
        create(big_tree.scope, found, name="big")

    updates = [q["sql"] for q in queries if q["sql"].startswith('UPDATE "planning_plannode"')]
    # New rows go in a level at a time, each with its parent. Rewriting every column of a
    # thousand new rows in CASE expressions took half a minute.
    assert not [u for u in updates if '"name" = CASE' in u or '"pool_id" = CASE' in u]
