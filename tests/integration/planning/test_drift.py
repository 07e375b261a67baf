"""Drift between an applied plan and AWS: found after a sync, adopted, applied again, ignored."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse

from planning import drift_services, runs
from planning.models import ApplyRun, DriftDecision, Plan
from pools.sync import sync_all

from .conftest import node

pytestmark = pytest.mark.django_db


@pytest.fixture
def applied_plan(make_plan, apply):
    plan = make_plan(
        nodes=[
            node("top", "top", prefix_length=16, description="top level"),
            node("app", "app", "top", prefix_length=20, tags=(("team", "blue"),)),
            node("later", "later", "top", prefix_length=20),
        ]
    )
    run = apply(plan)
    assert run.status == ApplyRun.Status.DONE, list(
        run.steps.values_list("step_id", "status", "error_message")
    )
    plan.refresh_from_db()
    return plan


def pool_of(plan, key):
    return plan.nodes.get(key=key).pool_aws_id


def kinds(plan):
    plan.refresh_from_db()
    return {(i["kind"], i["node"], i["field"]) for i in plan.drift}


def test_an_applied_plan_has_no_drift(applied_plan):
    assert applied_plan.drift == []
    assert applied_plan.drift_checked_at is not None
    sync_all()
    assert kinds(applied_plan) == set()


def test_a_description_changed_in_aws_is_drift_with_three_values(applied_plan, sim):
    sim.call("ModifyIpamPool", IpamPoolId=pool_of(applied_plan, "top"), Description="x")
    sync_all()
    applied_plan.refresh_from_db()
    (item,) = applied_plan.drift
    assert (item["kind"], item["node"], item["field"]) == ("changed", "top", "description")
    assert (item["plan"], item["applied"], item["aws"]) == ("top level", "top level", "x")
    assert item["key"] == "changed|top|description"
    assert applied_plan.drift_count == 1


def test_tags_and_rules_changed_in_aws(applied_plan, sim):
    app = pool_of(applied_plan, "app")
    sim.call("CreateTags", Resources=[app], Tags=[{"Key": "team", "Value": "red"}])
    sim.call("CreateTags", Resources=[app], Tags=[{"Key": "ipamui:x", "Value": "y"}])
    sim.call("ModifyIpamPool", IpamPoolId=app, AllocationMaxNetmaskLength=28)
    sync_all()
    assert kinds(applied_plan) == {("changed", "app", "tags"), ("changed", "app", "max_netmask")}


def test_an_edit_not_applied_yet_is_not_drift(applied_plan):
    from planning import services

    services.node_update(applied_plan, "top", description="new words")
    drift_services.refresh(applied_plan)
    assert kinds(applied_plan) == set()


def test_a_deleted_pool_is_missing_and_adopting_unbinds_it(applied_plan, sim):
    sim.call("DeleteIpamPool", IpamPoolId=pool_of(applied_plan, "app"), Cascade=True)
    sync_all()
    assert ("missing", "app", "pool") in kinds(applied_plan)
    drift_services.adopt(applied_plan, "missing|app")
    applied_plan.refresh_from_db()
    assert pool_of(applied_plan, "app") == ""
    assert applied_plan.status == Plan.Status.DRAFT
    assert ("missing", "app", "pool") not in kinds(applied_plan)


def unmanaged_pool(sim, plan, cidr="172.16.240.0/20"):
    top = pool_of(plan, "top")
    scope = plan.scope.scope_id
    made = sim.call(
        "CreateIpamPool",
        IpamScopeId=scope,
        AddressFamily="ipv4",
        SourceIpamPoolId=top,
        Locale="us-east-1",
        TagSpecifications=[
            {"ResourceType": "ipam-pool", "Tags": [{"Key": "Name", "Value": "stranger"}]}
        ],
    )["IpamPool"]["IpamPoolId"]
    sim.call("ProvisionIpamPoolCidr", IpamPoolId=made, Cidr=cidr)
    return made


def test_a_pool_made_outside_is_unmanaged_and_adopted_as_a_node(applied_plan, sim):
    made = unmanaged_pool(sim, applied_plan)
    sync_all()
    assert ("unmanaged", "top", "pool") in kinds(applied_plan)
    drift_services.adopt(applied_plan, f"unmanaged|{made}")
    adopted = applied_plan.nodes.get(pool_aws_id=made)
    assert adopted.name == "stranger"
    assert str(adopted.cidr) == "172.16.240.0/20"
    assert adopted.parent.key == "top"
    assert kinds(applied_plan) == set()


def test_adopting_a_changed_field_takes_aws_value(applied_plan, sim):
    sim.call("ModifyIpamPool", IpamPoolId=pool_of(applied_plan, "top"), Description="x")
    sync_all()
    drift_services.adopt(applied_plan, "changed|top|description")
    assert applied_plan.nodes.get(key="top").description == "x"
    assert kinds(applied_plan) == set()
    sync_all()
    assert kinds(applied_plan) == set()


def test_reapply_puts_the_plan_value_back(
    applied_plan, sim, django_capture_on_commit_callbacks, worker
):
    top = pool_of(applied_plan, "top")
    sim.call("ModifyIpamPool", IpamPoolId=top, Description="x")
    sync_all()
    with django_capture_on_commit_callbacks(execute=True):
        run = runs.reapply(applied_plan)
    worker()
    run.refresh_from_db()
    assert run.status == ApplyRun.Status.DONE
    assert run.steps.filter(action="ModifyIpamPool").exists()
    live = sim.call("DescribeIpamPools", IpamPoolIds=[top])["IpamPools"][0]
    assert live.get("Description") == "top level"
    assert kinds(applied_plan) == set()


def test_an_allocation_in_a_planned_block(applied_plan, sim):
    from planning import services

    services.node_add(applied_plan, node("new", "new", "top", prefix_length=24))
    applied_plan.refresh_from_db()
    cidr = str(applied_plan.nodes.get(key="new").cidr)
    sim.call("AllocateIpamPoolCidr", IpamPoolId=pool_of(applied_plan, "top"), Cidr=cidr)
    sync_all()
    assert ("reservation", "new", "cidr") in kinds(applied_plan)


def test_ignore_keeps_the_item_listed_but_not_counted(applied_plan, sim):
    sim.call("ModifyIpamPool", IpamPoolId=pool_of(applied_plan, "top"), Description="x")
    sync_all()
    drift_services.ignore(applied_plan, "changed|top|description", "known: the ops team's")
    applied_plan.refresh_from_db()
    assert applied_plan.drift[0]["ignored"]
    assert applied_plan.drift_count == 0
    sync_all()
    applied_plan.refresh_from_db()
    assert applied_plan.drift[0]["ignored"]
    assert applied_plan.drift_count == 0
    sim.call("ModifyIpamPool", IpamPoolId=pool_of(applied_plan, "top"), Description="top level")
    sync_all()
    assert not DriftDecision.objects.filter(plan=applied_plan).exists()


# --- the views --------------------------------------------------------------------------


def user_with(*codenames):
    user = User.objects.create_user(f"u-{'-'.join(codenames) or 'none'}", password="pw")
    for code in codenames:
        user.user_permissions.add(Permission.objects.get(codename=code))
    return user


@pytest.fixture
def drifted(applied_plan, sim):
    sim.call("ModifyIpamPool", IpamPoolId=pool_of(applied_plan, "top"), Description="x")
    sync_all()
    applied_plan.refresh_from_db()
    return applied_plan


@pytest.fixture
def editor(client):
    client.force_login(user_with("view_plan", "change_plan"))
    return client


def test_the_plan_page_shows_the_drift_panel(drifted, editor):
    page = editor.get(reverse("plan_detail", args=[drifted.pk])).content.decode()
    assert 'id="drift"' in page
    assert "changed|top|description" in page


def test_the_plan_list_counts_open_drift(drifted, editor):
    page = editor.get(reverse("plan_list")).content.decode()
    assert 'data-drift="1"' in page


def test_a_get_changes_nothing(drifted, editor):
    for name in ("plan_drift_adopt", "plan_drift_ignore", "plan_drift_reapply"):
        assert editor.get(reverse(name, args=[drifted.pk])).status_code == 405
    drifted.refresh_from_db()
    assert drifted.drift_count == 1


def test_viewers_cannot_act(drifted, client):
    client.force_login(user_with("view_plan"))
    url = reverse("plan_drift_ignore", args=[drifted.pk])
    answer = client.post(url, {"item": "changed|top|description", "note": "n"})
    assert answer.status_code == 403


@pytest.mark.parametrize(
    "item", ["", "nope", "x" * 5000, "changed|top|description\x00", "<script>"]
)
def test_hostile_keys_are_4xx(drifted, editor, item):
    for name in ("plan_drift_adopt", "plan_drift_ignore"):
        answer = editor.post(reverse(name, args=[drifted.pk]), {"item": item, "note": "n"})
        assert 400 <= answer.status_code < 500


@pytest.mark.parametrize("note", ["", "   ", "y" * 501])
def test_the_note_is_required_and_short(drifted, editor, note):
    url = reverse("plan_drift_ignore", args=[drifted.pk])
    answer = editor.post(url, {"item": "changed|top|description", "note": note})
    assert answer.status_code == 400
    assert not DriftDecision.objects.exists()


def test_ignore_by_form_post_redirects(drifted, editor):
    url = reverse("plan_drift_ignore", args=[drifted.pk])
    answer = editor.post(url, {"item": "changed|top|description", "note": "fine"})
    assert answer.status_code == 302
    drifted.refresh_from_db()
    assert drifted.drift_count == 0


def test_adopt_with_htmx_answers_the_panel(drifted, editor):
    url = reverse("plan_drift_adopt", args=[drifted.pk])
    answer = editor.post(url, {"item": "changed|top|description"}, HTTP_HX_REQUEST="true")
    assert answer.status_code == 200
    assert 'id="drift"' in answer.content.decode()
    assert drifted.nodes.get(key="top").description == "x"


def test_an_extra_cidr_in_aws_is_not_offered_a_reapply(applied_plan, sim):
    """Applying the plan again never deprovisions a CIDR AWS was given outside the app."""
    top = applied_plan.nodes.get(key="top")
    sim.call("ProvisionIpamPoolCidr", IpamPoolId=top.pool_aws_id, Cidr="172.31.0.0/16")
    sync_all()
    applied_plan.refresh_from_db()
    cidr = next(row for row in applied_plan.drift if row["field"] == "cidr")
    assert "reapply" not in cidr["actions"]
