"""Tearing an applied plan down against the local endpoint: the reverse plan driven by the
apply engine, with and without Cascade, a node AWS would refuse, and the teardown page."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.urls import reverse as url
from django.utils import timezone

from planning import runs
from planning.models import ApplyRun, ApplyStep, Plan
from pools import sync
from pools.models import IpamPool

from .conftest import node

pytestmark = pytest.mark.django_db
TEARDOWN = ApplyRun.Kind.TEARDOWN


def three_levels(make_plan):
    return make_plan(
        nodes=[
            node("top", "top", prefix_length=16),
            node("eu", "eu", "top", prefix_length=20, locale="us-east-1"),
            node("us", "us", "top", prefix_length=20, locale="us-east-1"),
            node("eu-a", "eu-a", "eu", prefix_length=24),
            node("us-a", "us-a", "us", prefix_length=24),
        ]
    )


def journal(run: ApplyRun) -> list[tuple]:
    return list(run.steps.values_list("step_id", "status", "error_code", "error_message"))


@pytest.fixture
def applied(make_plan, sim, apply):
    """A three-level plan, applied, with a custom allocation in a leaf pool (in the mirror)."""
    plan = three_levels(make_plan)
    run = apply(plan)
    assert run.status == ApplyRun.Status.DONE, journal(run)
    leaf = plan.nodes.get(key="eu-a")
    allocation = sim.call("AllocateIpamPoolCidr", IpamPoolId=leaf.pool_aws_id, NetmaskLength=28)[
        "IpamPoolAllocation"
    ]
    sync.sync_all()
    plan.refresh_from_db()
    return plan, {n.key: n.pool_aws_id for n in plan.nodes.all()}, allocation


def live_pools(sim, pool_ids) -> dict[str, str]:
    """Pool id -> state in the endpoint, of those it still lists and has not deleted."""
    return {
        p["IpamPoolId"]: p["State"]
        for p in sim.call("DescribeIpamPools")["IpamPools"]
        if p["IpamPoolId"] in set(pool_ids) and p["State"] != "delete-complete"
    }


def assert_torn_down(plan: Plan, sim, pool_ids) -> None:
    assert live_pools(sim, pool_ids) == {}
    plan.refresh_from_db()
    assert plan.status == Plan.Status.DRAFT
    for n in plan.nodes.all():
        assert (n.pool_aws_id, n.pool_id, n.applied) == ("", None, {}), n.key
    assert not IpamPool.objects.live().filter(pool_id__in=pool_ids, state="create-complete")


def test_a_teardown_deletes_every_pool_children_first(applied, sim, apply):
    plan, pool_ids, allocation = applied
    run = apply(plan, kind=TEARDOWN)
    assert run.kind == TEARDOWN
    assert run.status == ApplyRun.Status.DONE, journal(run)
    assert not run.steps.exclude(status=ApplyStep.Status.DONE).exists()
    ids = list(run.steps.order_by("order").values_list("step_id", flat=True))
    assert ids.index("eu-a/release-1") < ids.index("eu-a/deprovision-1")
    assert ids.index("eu-a/delete") < ids.index("eu/deprovision-1") < ids.index("top/delete")
    release = run.steps.get(step_id="eu-a/release-1")
    assert release.params["IpamPoolAllocationId"] == allocation["IpamPoolAllocationId"]
    assert_torn_down(plan, sim, pool_ids.values())


def test_a_cascade_teardown_deletes_the_top_pool_only(applied, sim, apply):
    plan, pool_ids, _ = applied
    run = apply(plan, kind=TEARDOWN, cascade=True)
    assert run.status == ApplyRun.Status.DONE, journal(run)
    assert journal(run) == [("top/delete", ApplyStep.Status.DONE, "", "")]
    assert run.steps.get().params == {"IpamPoolId": pool_ids["top"], "Cascade": True}
    assert_torn_down(plan, sim, pool_ids.values())


def test_the_plan_can_be_applied_again_after_a_teardown(applied, sim, apply):
    plan, pool_ids, _ = applied
    apply(plan, kind=TEARDOWN)
    plan.refresh_from_db()
    run = apply(plan)
    assert run.status == ApplyRun.Status.DONE, journal(run)
    plan.refresh_from_db()
    fresh = {n.key: n.pool_aws_id for n in plan.nodes.all()}
    assert all(fresh.values())
    assert not set(fresh.values()) & set(pool_ids.values())


def test_a_pool_holding_what_the_plan_did_not_make_is_left_with_its_ancestors(applied, sim, apply):
    plan, pool_ids, _ = applied
    # A child pool no plan knows, under us-a: us-a, us and top stay; eu and eu-a go.
    stray = sim.call(
        "CreateIpamPool",
        IpamScopeId=IpamPool.objects.get(pool_id=pool_ids["us-a"]).scope.scope_id,
        SourceIpamPoolId=pool_ids["us-a"],
        AddressFamily="ipv4",
        Locale="us-east-1",
    )["IpamPool"]
    us_a_cidr = str(plan.nodes.get(key="us-a").cidr)
    sim.call(
        "ProvisionIpamPoolCidr",
        IpamPoolId=stray["IpamPoolId"],
        Cidr=us_a_cidr.rsplit(".", 1)[0] + ".0/26",
    )
    sync.sync_all()
    run = apply(plan, kind=TEARDOWN)
    assert run.status == ApplyRun.Status.DONE, journal(run)
    assert {s.split("/")[0] for s in run.steps.values_list("step_id", flat=True)} == {
        "eu",
        "eu-a",
    }
    left = live_pools(sim, pool_ids.values())
    assert set(left) == {pool_ids["top"], pool_ids["us"], pool_ids["us-a"]}
    plan.refresh_from_db()
    bound = dict(plan.nodes.values_list("key", "pool_aws_id"))
    assert bound["eu"] == bound["eu-a"] == ""
    assert bound["us-a"] == pool_ids["us-a"]
    assert bound["top"] == pool_ids["top"]


# --- the page -------------------------------------------------------------------------------


@pytest.fixture
def viewer(client):
    user = User.objects.create_user("viewer", password="pw")
    user.user_permissions.add(Permission.objects.get(codename="view_plan"))
    client.force_login(user)
    return client


@pytest.fixture
def editor(client):
    user = User.objects.create_user("editor", password="pw")
    user.user_permissions.add(*Permission.objects.filter(codename__in=("view_plan", "change_plan")))
    client.force_login(user)
    return client


def test_the_plan_page_links_to_the_teardown(applied, editor):
    plan, _, _ = applied
    page = editor.get(url("plan_detail", args=[plan.pk]))
    assert url("plan_teardown", args=[plan.pk]) in page.content.decode()


def test_a_plan_with_nothing_bound_has_no_teardown_link(make_plan, editor):
    plan = three_levels(make_plan)
    page = editor.get(url("plan_detail", args=[plan.pk]))
    assert url("plan_teardown", args=[plan.pk]) not in page.content.decode()


def test_the_preview_shows_the_reverse_plan_and_changes_nothing(applied, editor, sim):
    plan, _pool_ids, _ = applied
    version, before = plan.version, sim.call("DescribeIpamPools")["IpamPools"]
    page = editor.get(url("plan_teardown", args=[plan.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert "ReleaseIpamPoolAllocation" in text
    assert "DeprovisionIpamPoolCidr" in text
    assert text.index("eu-a/release-1") < text.index("top/delete")
    cascade = editor.get(url("plan_teardown", args=[plan.pk]), {"cascade": "1"})
    assert cascade.status_code == 200
    assert "DeprovisionIpamPoolCidr" not in cascade.content.decode()
    assert "Cascade" in cascade.content.decode()
    plan.refresh_from_db()
    assert plan.version == version
    assert not plan.runs.filter(kind=TEARDOWN).exists()
    assert sim.call("DescribeIpamPools")["IpamPools"] == before


def test_tearing_down_needs_the_change_permission(applied, viewer):
    plan, _, _ = applied
    assert viewer.get(url("plan_teardown", args=[plan.pk])).status_code == 403
    answer = viewer.post(url("plan_teardown", args=[plan.pk]), {"confirm": plan.name})
    assert answer.status_code == 403
    assert not plan.runs.filter(kind=TEARDOWN).exists()


def test_the_teardown_asks_for_the_plan_name(applied, editor):
    plan, _, _ = applied
    answer = editor.post(url("plan_teardown", args=[plan.pk]), {"confirm": "not it"})
    assert answer.status_code == 400
    assert not plan.runs.filter(kind=TEARDOWN).exists()


def test_posting_the_teardown_starts_a_run(
    applied, editor, sim, worker, django_capture_on_commit_callbacks
):
    plan, pool_ids, _ = applied
    with django_capture_on_commit_callbacks(execute=True):
        answer = editor.post(
            url("plan_teardown", args=[plan.pk]), {"confirm": plan.name, "cascade": "on"}
        )
    assert answer.status_code == 302
    assert answer["Location"] == url("plan_detail", args=[plan.pk])
    run = plan.runs.get(kind=TEARDOWN)
    assert run.cascade
    worker()
    run.refresh_from_db()
    assert run.status == ApplyRun.Status.DONE, journal(run)
    assert_torn_down(plan, sim, pool_ids.values())


def test_a_refused_start_is_a_message_not_an_error(make_plan, editor):
    plan = three_levels(make_plan)  # nothing bound: nothing to tear down
    answer = editor.post(url("plan_teardown", args=[plan.pk]), {"confirm": plan.name})
    assert answer.status_code == 409
    assert "Nothing to do" in answer.content.decode()


@pytest.mark.parametrize(
    "query",
    [
        {"cascade": "\x00"},
        {"cascade": ["1", "0", "x" * 5000]},
        {"cascade": "<script>"},
    ],
)
def test_hostile_parameters_never_give_a_server_error(applied, editor, query):
    plan, _, _ = applied
    assert editor.get(url("plan_teardown", args=[plan.pk]), query).status_code < 500
    answer = editor.post(url("plan_teardown", args=[plan.pk]), {"confirm": "\x00", **query})
    assert 400 <= answer.status_code < 500
    assert not plan.runs.filter(kind=TEARDOWN).exists()


def test_an_unknown_plan_is_not_found(editor, demo):
    assert editor.get("/plans/999999/teardown/").status_code == 404
    assert editor.post("/plans/999999/teardown/", {"confirm": "x"}).status_code == 404


# --- the engine's reads before a step is sent again -----------------------------------------


def started(plan, django_capture_on_commit_callbacks, **kwargs) -> ApplyRun:
    """A teardown run in the journal, its drivers queued but not yet run."""
    with django_capture_on_commit_callbacks(execute=True):
        return runs.start(plan, kind=TEARDOWN, **kwargs)


def begun(run: ApplyRun) -> None:
    """The run is past the stale-plan guard (which stops a run when AWS changed before it)."""
    ApplyRun.objects.filter(pk=run.pk).update(
        status=ApplyRun.Status.RUNNING, started_at=timezone.now(), heartbeat_at=timezone.now()
    )


def maybe_sent(run: ApplyRun, *step_ids: str) -> None:
    """As after a worker killed mid-call: the run had begun, and the steps may have reached
    AWS."""
    assert run.steps.filter(step_id__in=step_ids).update(maybe_sent=True) == len(step_ids)
    begun(run)


def test_steps_AWS_already_did_are_read_back_not_sent_again(
    applied, sim, worker, django_capture_on_commit_callbacks
):
    plan, pool_ids, allocation = applied
    run = started(plan, django_capture_on_commit_callbacks)
    leaf, cidr = pool_ids["eu-a"], str(plan.nodes.get(key="eu-a").cidr)
    sim.call(
        "ReleaseIpamPoolAllocation",
        IpamPoolId=leaf,
        IpamPoolAllocationId=allocation["IpamPoolAllocationId"],
        Cidr=allocation["Cidr"],
    )
    sim.call("DeprovisionIpamPoolCidr", IpamPoolId=leaf, Cidr=cidr)
    sim.call("DeleteIpamPool", IpamPoolId=leaf)
    maybe_sent(run, "eu-a/release-1", "eu-a/deprovision-1", "eu-a/delete")
    worker()
    run.refresh_from_db()
    assert run.status == ApplyRun.Status.DONE, journal(run)
    for step_id in ("eu-a/release-1", "eu-a/deprovision-1", "eu-a/delete"):
        step = run.steps.get(step_id=step_id)
        assert (step.tries, step.request_id) == (0, ""), step_id  # read, never sent
    assert_torn_down(plan, sim, pool_ids.values())


def test_a_release_AWS_already_did_is_read_back_while_the_pool_lives(
    applied, sim, worker, django_capture_on_commit_callbacks
):
    plan, pool_ids, allocation = applied
    run = started(plan, django_capture_on_commit_callbacks)
    sim.call(
        "ReleaseIpamPoolAllocation",
        IpamPoolId=pool_ids["eu-a"],
        IpamPoolAllocationId=allocation["IpamPoolAllocationId"],
        Cidr=allocation["Cidr"],
    )
    maybe_sent(run, "eu-a/release-1", "top/delete")  # top/delete: not sent yet after all
    worker()
    run.refresh_from_db()
    assert run.status == ApplyRun.Status.DONE, journal(run)
    assert run.steps.get(step_id="eu-a/release-1").tries == 0
    assert run.steps.get(step_id="top/delete").tries == 1
    assert_torn_down(plan, sim, pool_ids.values())


def test_a_cascade_delete_AWS_already_did_is_read_back(
    applied, sim, worker, django_capture_on_commit_callbacks
):
    plan, pool_ids, _ = applied
    run = started(plan, django_capture_on_commit_callbacks, cascade=True)
    sim.call("DeleteIpamPool", IpamPoolId=pool_ids["top"], Cascade=True)
    maybe_sent(run, "top/delete")
    worker()
    run.refresh_from_db()
    assert run.status == ApplyRun.Status.DONE, journal(run)
    assert run.steps.get().tries == 0
    assert_torn_down(plan, sim, pool_ids.values())


def test_throttling_and_conflicts_are_tried_again(applied, sim, apply, settings):
    plan, pool_ids, _ = applied
    settings.IPAM_APPLY_MAX_TRIES = 50
    sim.faults.update({"throttle_rate": 0.3, "mutation_conflict_rate": 0.3})
    run = apply(plan, kind=TEARDOWN)
    sim.faults.update({"throttle_rate": 0.0, "mutation_conflict_rate": 0.0})
    assert run.status == ApplyRun.Status.DONE, journal(run)
    assert not run.steps.filter(status=ApplyStep.Status.FAILED).exists()
    assert_torn_down(plan, sim, pool_ids.values())


def test_a_cidr_that_took_an_allocation_meanwhile_fails_to_deprovision(
    applied, sim, worker, django_capture_on_commit_callbacks
):
    plan, pool_ids, _ = applied
    run = started(plan, django_capture_on_commit_callbacks)
    begun(run)  # the allocation comes after the guard's read
    sim.call("AllocateIpamPoolCidr", IpamPoolId=pool_ids["us-a"], NetmaskLength=28)  # C7
    worker()
    run.refresh_from_db()
    assert run.status == ApplyRun.Status.FAILED
    failed = run.steps.get(step_id="us-a/deprovision-1")
    assert (failed.status, failed.error_code) == (ApplyStep.Status.FAILED, "failed-deprovision")
    held = set(run.steps.filter(status=ApplyStep.Status.HELD).values_list("step_id", flat=True))
    assert held == {
        "us-a/delete",
        "us/deprovision-1",
        "us/delete",
        "top/deprovision-1",
        "top/delete",
    }
    assert set(live_pools(sim, pool_ids.values())) == {
        pool_ids["top"],
        pool_ids["us"],
        pool_ids["us-a"],
    }
    plan.refresh_from_db()
    bound = dict(plan.nodes.values_list("key", "pool_aws_id"))
    assert bound["eu-a"] == bound["eu"] == ""
    assert bound["us-a"] == pool_ids["us-a"]


def test_a_lost_answer_to_a_deprovision_or_delete_is_read_back(applied, sim, apply):
    """botocore sends the call again after the lost answer; AWS refuses the second copy of an
    untokened deprovision or delete, and the engine finds what the first one did."""
    plan, pool_ids, _ = applied
    sim.faults.update({"lose_next_answers": 3})
    run = apply(plan, kind=TEARDOWN)
    assert run.status == ApplyRun.Status.DONE, journal(run)
    assert_torn_down(plan, sim, pool_ids.values())


def test_a_teardown_stops_when_aws_changed_in_its_space(applied, sim, apply):
    plan, pool_ids, _ = applied
    start = runs.start

    def start_then_change(plan, **kwargs):
        run = start(plan, **kwargs)
        sim.call("AllocateIpamPoolCidr", IpamPoolId=pool_ids["us-a"], NetmaskLength=28)
        return run

    runs.start = start_then_change
    try:
        run = apply(plan, kind=TEARDOWN)
    finally:
        runs.start = start
    assert run.status == ApplyRun.Status.STALE
    assert all(
        sim.call("DescribeIpamPools", IpamPoolIds=[p])["IpamPools"] for p in pool_ids.values()
    )
