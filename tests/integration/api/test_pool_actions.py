"""A pool's changes through the API: provision, allocate (and preview), release, deprovision,
edit (PATCH), tags (PUT), delete and the sync; each judged by the page's form, made by the
page's service, with its follow-up task."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django_tasks import task_backends

from pools import services
from pools.models import IpamPool, IpamPoolAllocation
from pools.services import PoolSpec
from pools.sync import sync_all
from tests.integration.api.conftest import codes, problem
from tests.integration.app import conftest as app
from tests.integration.app.conftest import aws_pool, pool_named

# the app's tests' fixtures: the requests sent to AWS, no retry delay, botocore's model once
sent, no_retry_delay, shared_service_models = (
    app.sent,
    app.no_retry_delay,
    app.shared_service_models,
)

pytestmark = pytest.mark.django_db
CHANGES = {  # what each endpoint sends AWS when it changes something
    "provision": "ProvisionIpamPoolCidr",
    "allocate": "AllocateIpamPoolCidr",
    "release": "ReleaseIpamPoolAllocation",
    "deprovision": "DeprovisionIpamPoolCidr",
}


def url(pool: IpamPool, action: str = "") -> str:
    return f"/api/pools/{pool.pool_id}/{action + '/' if action else ''}"


def new_top_pool(sim: Any, cidr: str) -> IpamPool:
    """A top-level pool of the demo's private scope with one CIDR, mirrored."""
    scope = IpamPool.objects.get(name="corporate").scope
    made = sim.call("CreateIpamPool", IpamScopeId=scope.scope_id, AddressFamily="ipv4")
    pool_id = made["IpamPool"]["IpamPoolId"]
    sim.call("ProvisionIpamPoolCidr", IpamPoolId=pool_id, Cidr=cidr)
    sync_all()
    return IpamPool.objects.get(pool_id=pool_id)


def empty_pool() -> IpamPool:
    scope = IpamPool.objects.get(name="corporate").scope
    spec = PoolSpec(scope=scope, address_family="ipv4", description="empty")
    return services.pool_create(spec=spec, client_token=services.new_client_token())


def aws_allocations(sim: Any, pool: IpamPool) -> dict[str, str]:
    found = sim.call("GetIpamPoolAllocations", IpamPoolId=pool.pool_id)["IpamPoolAllocations"]
    return {a["IpamPoolAllocationId"]: a["Cidr"] for a in found}


def followed(pool: IpamPool) -> bool:
    return any(
        r.task.name == "follow_pool" and r.args[0] == pool.pk
        for r in task_backends["default"].results
    )


# --- provision ------------------------------------------------------------------------------


def test_a_top_level_pool_gets_a_cidr_and_the_worker_follows_it(editor, worker):
    pool = pool_named("corporate")

    answer = editor.post(url(pool, "provision"), {"cidr": "172.16.0.0/12"})

    assert answer.status_code == 202, answer.content
    assert answer.json()["cidr"] == "172.16.0.0/12"
    assert answer.json()["pool_id"] == pool.pool_id
    assert followed(pool)
    worker()
    assert pool.cidrs.get(cidr="172.16.0.0/12").state == "provisioned"


def test_a_double_provision_with_the_same_key_makes_one_change(editor, sent):
    pool = pool_named("us-west-2")  # 10.16.0.0/12 from corporate's 10.0.0.0/8

    first = editor.post(url(pool, "provision"), {"netmask_length": 12}, idempotency_key="p")
    second = editor.post(url(pool, "provision"), {"netmask_length": 12}, idempotency_key="p")

    assert (first.status_code, second.status_code) == (202, 202)
    assert second["Idempotent-Replayed"] == "true"
    assert second.json()["cidr_id"] == first.json()["cidr_id"]
    assert pool.cidrs.count() == 2


@pytest.mark.parametrize(
    ("name", "data", "field", "code"),
    [
        ("us-west-2", {"cidr": "10.0.0.1/8"}, "cidr", "cidr_host_bits_set"),
        ("us-west-2", {"cidr": "2001:db8::/32"}, "cidr", "cidr_wrong_family"),
        ("us-west-2", {"cidr": "192.168.0.0/16"}, "cidr", "cidr_outside_pool_space"),
        (
            "us-west-2",
            {"cidr": "10.99.0.0/16", "netmask_length": 16},
            "netmask_length",
            "cidr_and_netmask_given",
        ),
        ("us-west-2", {"netmask_length": 40}, "netmask_length", "netmask_out_of_range"),
        ("corporate", {"netmask_length": 16}, "netmask_length", "netmask_needs_source"),
        ("corporate", {}, "cidr", "cidr_or_netmask_missing"),
    ],
)
def test_a_provision_breaking_a_rule_is_refused_before_aws_is_asked(
    editor, sent, name, data, field, code
):
    pool = pool_named(name)

    found = problem(editor.post(url(pool, "provision"), data), 422)

    assert codes(found).get(field) == code, found["errors"]
    assert sent.actions == []
    assert not followed(pool)


def test_aws_refusing_a_provision_is_a_422_on_its_field(editor, sim):
    pool = pool_named("us-west-2")
    source = pool.source_pool
    free = sim.call(
        "AllocateIpamPoolCidr", IpamPoolId=source.pool_id, NetmaskLength=16, PreviewNextCidr=True
    )["IpamPoolAllocation"]["Cidr"]
    sim.call("AllocateIpamPoolCidr", IpamPoolId=source.pool_id, Cidr=free)  # not mirrored

    found = problem(editor.post(url(pool, "provision"), {"cidr": free}), 422)

    assert found["type"] == "urn:ipamui:problem:aws-refused"
    assert found["field"] == "cidr"
    assert pool.cidrs.count() == 1


def test_aws_unreachable_is_a_503(editor, sim):
    pool = pool_named("corporate")
    sim.faults.update({"unreachable": True})

    answer = editor.post(url(pool, "provision"), {"cidr": "172.16.0.0/12"})

    assert problem(answer, 503)["code"] == "Unreachable"
    assert answer["Retry-After"]
    assert not pool.cidrs.filter(cidr="172.16.0.0/12").exists()


# --- allocate and preview -------------------------------------------------------------------


def test_allocate_by_netmask_length(editor, sim):
    pool = pool_named("us-east-1-prod")

    answer = editor.post(url(pool, "allocate"), {"netmask_length": 26, "description": "batch"})

    assert answer.status_code == 201, answer.content
    made = answer.json()
    assert answer["Location"] == f"{url(pool)}allocations/{made['allocation_id']}/"
    assert (made["description"], made["resource_type"], made["cidr"][-3:]) == (
        "batch",
        "custom",
        "/26",
    )
    assert aws_allocations(sim, pool)[made["allocation_id"]] == made["cidr"]


def test_allowed_and_disallowed_cidrs_confine_the_block(editor, sim):
    pool = new_top_pool(sim, "172.2.0.0/24")
    data = {"netmask_length": 28, "disallowed_cidrs": ["172.2.0.0/28"]}

    preview = editor.post(url(pool, "allocate/preview"), data)
    assert (preview.status_code, preview.json()) == (200, {"cidr": "172.2.0.16/28"})
    assert not pool.allocations.exists()
    assert editor.post(url(pool, "allocate"), data).json()["cidr"] == "172.2.0.16/28"
    allowed = {"netmask_length": 28, "allowed_cidrs": ["172.2.0.128/25"]}
    assert editor.post(url(pool, "allocate"), allowed).json()["cidr"] == "172.2.0.128/28"


def test_a_double_allocate_with_the_same_key_allocates_once(editor, sim):
    pool = pool_named("us-east-1-prod")
    before = len(aws_allocations(sim, pool))

    first = editor.post(url(pool, "allocate"), {"netmask_length": 26}, idempotency_key="a-1")
    second = editor.post(url(pool, "allocate"), {"netmask_length": 26}, idempotency_key="a-1")

    assert (first.status_code, second.status_code) == (201, 200)
    assert second["Idempotent-Replayed"] == "true"
    assert second.json()["allocation_id"] == first.json()["allocation_id"]
    assert len(aws_allocations(sim, pool)) == before + 1
    assert pool.allocations.count() == before + 1


@pytest.mark.parametrize(
    ("data", "field", "code"),
    [
        ({"cidr": "10.0.2.1/24"}, "cidr", "cidr_host_bits_set"),
        ({"cidr": "10.0.2.0/24", "netmask_length": 24}, "netmask_length", "cidr_and_netmask_given"),
        ({"cidr": "10.9.0.0/24"}, "cidr", "cidr_outside_pool_space"),
        ({"cidr": "10.0.0.0/24"}, "cidr", "cidr_overlaps_allocation"),
        ({"netmask_length": 8}, "netmask_length", "cidr_netmask_outside_pool_rules"),
        ({"netmask_length": 99}, "netmask_length", "netmask_out_of_range"),
        (
            {"cidr": "10.0.2.0/24", "allowed_cidrs": ["10.0.0.0/16"]},
            "allowed_cidrs",
            "allowed_cidrs_need_netmask",
        ),
        ({"netmask_length": 24, "allowed_cidrs": ["10.0.0/16"]}, "allowed_cidrs", "cidr_invalid"),
        (
            {"netmask_length": 24, "disallowed_cidrs": ["fd00::/8"]},
            "disallowed_cidrs",
            "cidr_wrong_family",
        ),
        ({"description": "bad\x01text"}, "description", "text_not_xml_safe"),
    ],
)
@pytest.mark.parametrize("action", ["allocate", "allocate/preview"])
def test_an_allocation_breaking_a_rule_is_refused_before_aws_is_asked(
    editor, sent, data, field, code, action
):
    pool = pool_named("us-east-1-prod")

    found = problem(editor.post(url(pool, action), data), 422)

    assert codes(found).get(field) == code, found["errors"]
    assert sent.actions == []
    assert pool.allocations.count() == 2


def test_no_size_on_a_pool_without_a_default_netmask(editor):
    found = problem(editor.post(url(pool_named("corporate"), "allocate"), {}), 422)

    assert codes(found) == {"netmask_length": "allocation_size_missing"}


def test_aws_refusing_an_allocation_is_a_422_on_its_field(editor, sim):
    pool = pool_named("us-east-1-prod")
    sim.call("AllocateIpamPoolCidr", IpamPoolId=pool.pool_id, Cidr="10.0.2.0/24")  # not mirrored

    found = problem(editor.post(url(pool, "allocate"), {"cidr": "10.0.2.0/24"}), 422)

    assert (found["type"], found["field"]) == ("urn:ipamui:problem:aws-refused", "cidr")
    assert pool.allocations.count() == 2


def test_preview_allocates_nothing(editor, sim, sent):
    pool = pool_named("us-east-1-prod")
    before = aws_allocations(sim, pool)

    answer = editor.post(url(pool, "allocate/preview"), {"netmask_length": 24})

    assert answer.json() == {"cidr": "10.0.2.0/24"}
    assert sent.actions == ["AllocateIpamPoolCidr"]  # with PreviewNextCidr
    assert aws_allocations(sim, pool) == before
    assert pool.allocations.count() == len(before)


# --- release --------------------------------------------------------------------------------


def test_release_a_custom_allocation_and_again(editor, sim, sent):
    pool = pool_named("us-east-1-prod")
    allocation = pool.allocations.get(description="web VPC")

    first = editor.post(url(pool, "release"), {"allocation_id": allocation.allocation_id})
    second = editor.post(url(pool, "release"), {"allocation_id": allocation.allocation_id})

    assert (first.status_code, second.status_code) == (200, 200)
    assert first.json()["in_aws"] is second.json()["in_aws"] is False
    assert allocation.allocation_id not in aws_allocations(sim, pool)
    assert sent.count("ReleaseIpamPoolAllocation") == 1


def test_a_child_pools_allocation_is_not_released(editor, sent):
    pool = pool_named("us-east-1")
    allocation = pool.allocations.filter(resource_type="ipam-pool").first()

    found = problem(
        editor.post(url(pool, "release"), {"allocation_id": allocation.allocation_id}), 422
    )

    assert codes(found) == {"allocation_id": "allocation_not_custom"}
    assert sent.actions == []


@pytest.mark.parametrize("value", ["", "ipam-pool-alloc-0000", "\x00", "other"])
def test_release_of_an_allocation_the_pool_does_not_have(editor, sent, value):
    pool = pool_named("us-east-1-prod")
    if value == "other":
        value = pool_named("us-east-1-dev").allocations.first().allocation_id

    answer = editor.post(url(pool, "release"), {"allocation_id": value})

    assert answer.status_code in (400, 422)
    assert problem(answer, answer.status_code)["field"] == "allocation_id"
    assert sent.actions == []


def test_aws_refusing_a_release_is_a_422(editor, sim):
    pool = pool_named("us-east-1-prod")
    allocation = pool.allocations.get(description="web VPC")
    sim.call(  # released outside the app: the mirror does not know yet
        "ReleaseIpamPoolAllocation",
        IpamPoolId=pool.pool_id,
        IpamPoolAllocationId=allocation.allocation_id,
        Cidr=str(allocation.cidr),
    )

    found = problem(
        editor.post(url(pool, "release"), {"allocation_id": allocation.allocation_id}), 422
    )

    assert found["type"] == "urn:ipamui:problem:aws-refused"
    assert found["field"] == "allocation_id"


# --- deprovision ----------------------------------------------------------------------------


def test_deprovision_a_cidr_and_the_worker_follows_it(editor, sim, worker):
    pool = new_top_pool(sim, "172.5.0.0/16")

    answer = editor.post(url(pool, "deprovision"), {"cidr": "172.5.0.0/16"})

    assert answer.status_code == 202, answer.content
    assert answer.json()["state"] == "pending-deprovision"
    assert followed(pool)
    worker()
    assert pool.cidrs.get().state == "deprovisioned"


@pytest.mark.parametrize("value", ["", "10.0.0.0/33", "\x00", "fd00::/8", "10.0.0.1/14", "²"])
def test_deprovision_of_what_is_no_cidr_of_the_pool(editor, sent, value):
    answer = editor.post(url(pool_named("us-east-1-prod"), "deprovision"), {"cidr": value})

    assert answer.status_code in (400, 422)
    assert problem(answer, answer.status_code)["field"] == "cidr"
    assert sent.actions == []


def test_a_cidr_holding_allocations_is_refused_before_aws_is_asked(editor, sent):
    pool = pool_named("us-east-1-prod")

    found = problem(
        editor.post(url(pool, "deprovision"), {"cidr": str(pool.cidrs.get().cidr)}), 422
    )

    assert codes(found) == {"cidr": "cidr_has_allocations"}
    assert sent.actions == []


# --- edit (PATCH) ---------------------------------------------------------------------------


def test_a_patch_sends_only_what_it_gives(editor, sim, sent):
    pool = pool_named("us-east-1-prod")

    answer = editor.patch(
        url(pool), {"description": "renamed", "allocation_max_netmask_length": 26}
    )

    assert answer.status_code == 200, answer.content
    body = answer.json()
    assert (body["description"], body["allocation_max_netmask_length"]) == ("renamed", 26)
    assert body["allocation_min_netmask_length"] == pool.allocation_min_netmask_length
    assert body["allocation_resource_tags"] == {"environment": "prod"}
    assert sent.actions.count("ModifyIpamPool") == 1
    aws = aws_pool(sim, pool.pool_id)
    assert (aws["Description"], aws["AllocationMaxNetmaskLength"]) == ("renamed", 26)


def test_a_patch_that_changes_nothing_asks_aws_nothing(editor, sent):
    pool = pool_named("us-east-1-prod")

    answer = editor.patch(url(pool), {"description": pool.description})
    empty = editor.patch(url(pool), {})

    assert (answer.status_code, empty.status_code) == (200, 200)
    assert sent.actions == []


def test_a_patch_changes_allocation_resource_tags_and_clears_the_default(editor, sim):
    pool = pool_named("us-east-1-prod")

    answer = editor.patch(
        url(pool),
        {"allocation_resource_tags": {"team": "web"}, "allocation_default_netmask_length": None},
    )

    body = answer.json()
    assert body["allocation_resource_tags"] == {"team": "web"}
    assert body["allocation_default_netmask_length"] is None
    aws = aws_pool(sim, pool.pool_id)
    assert aws["AllocationResourceTags"] == [{"Key": "team", "Value": "web"}]


@pytest.mark.parametrize(
    ("data", "field", "code"),
    [
        (
            {"allocation_min_netmask_length": 24, "allocation_max_netmask_length": 20},
            "allocation_min_netmask_length",
            "netmask_min_gt_max",
        ),
        (
            {"allocation_default_netmask_length": 12},
            "allocation_default_netmask_length",
            "netmask_default_outside_range",
        ),
        (
            {"allocation_max_netmask_length": 33},
            "allocation_max_netmask_length",
            "netmask_out_of_range",
        ),
        (
            {"allocation_default_netmask_length": 20, "clear_default_netmask_length": True},
            "allocation_default_netmask_length",
            "default_set_and_cleared",
        ),
        ({"description": "bad\x01text"}, "description", "text_not_xml_safe"),
        (
            {"allocation_resource_tags": {"aws:reserved": "x"}},
            "allocation_resource_tags.aws:reserved",
            "tag_key_reserved",
        ),
    ],
)
def test_a_patch_breaking_a_rule_is_refused_before_aws_is_asked(editor, sent, data, field, code):
    pool = pool_named("us-east-1-prod")

    found = problem(editor.patch(url(pool), data), 422)

    assert codes(found).get(field) == code, found["errors"]
    assert sent.actions == []
    assert IpamPool.objects.get(pk=pool.pk).description == pool.description


def test_aws_refusing_a_patch_is_a_422_on_its_field(editor, sim):
    pool = pool_named("us-east-1-prod")
    # changed outside the app: the mirror still says min /16
    sim.call("ModifyIpamPool", IpamPoolId=pool.pool_id, AllocationMinNetmaskLength=22)

    found = problem(editor.patch(url(pool), {"allocation_default_netmask_length": 18}), 422)

    assert found["type"] == "urn:ipamui:problem:aws-refused"
    assert found["field"] == "allocation_default_netmask_length"


# --- tags (PUT) -----------------------------------------------------------------------------


def test_put_tags_gives_the_pool_exactly_these(editor, sim):
    pool = pool_named("us-east-1-prod")

    added = editor.put(url(pool, "tags"), {"tags": {"Name": "east-prod", "team": "netops"}})
    removed = editor.put(url(pool, "tags"), {"tags": {"Name": "east-prod"}})

    assert added.status_code == 200, added.content
    assert added.json()["tags"] == {"Name": "east-prod", "team": "netops"}
    assert (removed.json()["name"], removed.json()["tags"]) == ("east-prod", {"Name": "east-prod"})
    assert aws_pool(sim, pool.pool_id)["Tags"] == [{"Key": "Name", "Value": "east-prod"}]


def test_put_of_the_tags_it_has_asks_aws_nothing(editor, sent):
    pool = pool_named("us-east-1-prod")

    assert editor.put(url(pool, "tags"), {"tags": pool.tags}).status_code == 200
    assert sent.actions == []


@pytest.mark.parametrize(
    ("tags", "field", "code"),
    [
        ({"Name": "x", "aws:cloudformation": "y"}, "tags.aws:cloudformation", "tag_key_reserved"),
        ({"Name": "x", "k" * 129: ""}, f"tags.{'k' * 129}", "tag_key_too_long"),
        ({"Name": "v" * 257}, "tags.Name", "tag_value_too_long"),
        ({"Name": "a\x01b"}, "tags.Name", "text_not_xml_safe"),
        ({"Name": "x", **{f"k{n}": "" for n in range(50)}}, "tags", "too_many_tags"),
    ],
)
def test_a_refused_tag_is_a_422_on_its_key(editor, sent, tags, field, code):
    pool = pool_named("us-east-1-prod")

    found = problem(editor.put(url(pool, "tags"), {"tags": tags}), 422)

    assert codes(found).get(field) == code, found["errors"]
    assert sent.actions == []


def test_aws_refusing_tags_is_a_422(editor, sim):
    pool = pool_named("us-east-1-prod")
    outside = [{"Key": f"k{n}", "Value": ""} for n in range(49)]
    sim.call("CreateTags", Resources=[pool.pool_id], Tags=outside)  # the mirror has 1 tag

    found = problem(editor.put(url(pool, "tags"), {"tags": {"Name": "x", "a": "1", "b": "2"}}), 422)

    assert found["type"] == "urn:ipamui:problem:aws-refused"


# --- delete ---------------------------------------------------------------------------------


def test_an_empty_pool_is_deleted_and_a_second_delete_asks_aws_nothing(admin, sim, sent, worker):
    pool = empty_pool()

    first = admin.delete(url(pool))
    second = admin.delete(url(pool))

    assert (first.status_code, second.status_code) == (202, 202)
    assert first.json()["state"] == "delete-in-progress"
    assert sent.count("DeleteIpamPool") == 1
    assert followed(pool)
    worker()
    assert problem(admin.get(url(pool)), 404)


def test_a_pool_with_children_is_refused_without_cascade(admin):
    pool = pool_named("us-east-1")

    found = problem(admin.delete(url(pool)), 422)

    assert (found["type"], found["code"]) == (
        "urn:ipamui:problem:aws-refused",
        "DependencyViolation",
    )
    pool.refresh_from_db()
    assert pool.state == "create-complete"


def test_cascade_deletes_the_pool_and_its_children(admin, worker):
    pool = pool_named("us-east-1")
    children = list(pool.children.all())

    assert admin.delete(f"{url(pool)}?cascade=true").status_code == 202
    worker(limit=1)

    assert children
    for row in [pool, *children]:
        row.refresh_from_db()
        assert not row.in_aws, row


@pytest.mark.parametrize("value", ["perhaps", "\x00", "2" * 5000])
def test_a_cascade_that_is_no_boolean_is_a_400(admin, sent, value):
    pool = pool_named("us-east-1")

    answer = admin.client.delete(
        f"{url(pool)}?cascade={value}", HTTP_AUTHORIZATION=f"Bearer {admin.token}"
    )

    assert problem(answer, 400)["field"] in ("cascade", None)  # (a NUL: refused before the view)
    assert sent.actions == []


def test_aws_unreachable_on_a_delete_is_a_503(admin, sim):
    pool = empty_pool()
    sim.faults.update({"unreachable": True})

    problem(admin.delete(url(pool)), 503)
    pool.refresh_from_db()
    assert not pool.is_deleting


def test_a_pool_being_deleted_is_not_edited(editor, admin, sent):
    pool = empty_pool()
    admin.delete(url(pool))

    problem(editor.patch(url(pool), {"description": "x"}), 404)
    problem(editor.put(url(pool, "tags"), {"tags": {}}), 404)
    assert sent.count("ModifyIpamPool") == 0


# --- the sync -------------------------------------------------------------------------------


def test_an_admin_starts_a_sync_and_reads_its_state(admin, settings, worker):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

    answer = admin.post("/api/sync/")

    assert answer.status_code == 202, answer.content
    body = answer.json()
    assert body["status"] == "READY"
    assert answer["Location"] == body["status_url"] == f"/api/sync/{body['task_id']}/"
    state = admin.get(body["status_url"])
    assert (state.status_code, state.json()["status"]) == (200, "READY")
    assert problem(admin.get("/api/sync/00000000-0000-0000-0000-000000000000/"), 404)


def test_the_sync_task_is_queued(admin):
    assert admin.post("/api/sync/").status_code == 202
    assert [r.task.name for r in task_backends["default"].results] == ["sync_region"]


@pytest.mark.parametrize("role", ["viewer", "editor", "nobody"])
def test_only_who_may_sync_starts_one(api_as, role):
    problem(api_as(role).post("/api/sync/"), 403)
    problem(api_as(role).get("/api/sync/00000000-0000-0000-0000-000000000000/"), 403)
    assert not task_backends["default"].results


# --- who may, and what is not there ---------------------------------------------------------

WRITES: list[tuple[str, str, dict[str, Any]]] = [
    ("post", "provision", {"cidr": "172.16.0.0/12"}),
    ("post", "allocate", {"netmask_length": 26}),
    ("post", "allocate/preview", {"netmask_length": 26}),
    ("post", "release", {"allocation_id": "ipam-pool-alloc-0123456789abcdef0"}),
    ("post", "deprovision", {"cidr": "10.0.0.0/14"}),
    ("put", "tags", {"tags": {"Name": "x"}}),
    ("patch", "", {"description": "x"}),
    ("delete", "", {}),
]


@pytest.mark.parametrize(("method", "action", "data"), WRITES)
def test_a_viewer_changes_nothing_and_anonymous_is_a_401(api_as, sent, method, action, data):
    pool = pool_named("us-east-1-prod")

    for role in ("viewer", "nobody"):
        problem(getattr(api_as(role), method)(url(pool, action), data), 403)
    anonymous = getattr(Client(), method)(url(pool, action), data, content_type="application/json")
    problem(anonymous, 401)
    assert sent.actions == []


def test_deleting_needs_an_admin(editor, sent):
    pool = pool_named("us-east-1-prod")

    problem(editor.delete(url(pool)), 403)
    assert sent.actions == []


@pytest.mark.parametrize(("method", "action", "data"), WRITES)
@pytest.mark.parametrize("pool_id", ["ipam-pool-0123456789abcdef0", "nope", "x" * 300])
def test_an_unknown_pool_is_a_404(admin, sent, method, action, data, pool_id):
    path = f"/api/pools/{pool_id}/{action + '/' if action else ''}"

    problem(getattr(admin, method)(path, data), 404)
    assert sent.actions == []


def test_a_pool_gone_from_aws_is_a_404(editor, sim, sent):
    pool = empty_pool()
    sim.call("DeleteIpamPool", IpamPoolId=pool.pool_id)
    sync_all()
    sent.actions.clear()

    problem(editor.post(url(pool, "provision"), {"cidr": "172.16.0.0/12"}), 404)
    assert sent.actions == []


def test_an_allocation_answer_has_its_pool(editor):
    pool = pool_named("us-east-1-prod")
    answer = editor.post(url(pool, "allocate"), {"netmask_length": 27})

    row = IpamPoolAllocation.objects.get(allocation_id=answer.json()["allocation_id"])
    assert row.pool == pool
