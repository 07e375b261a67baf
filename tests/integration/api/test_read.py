"""Reading the mirror through the API: IPAMs, scopes, a pool's CIDRs and allocations, and the
change log; what each shows, its filters, its pages, its SQL budget and who may read it."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pools import changelog, services, tasks
from pools.models import (
    AwsCall,
    CidrState,
    Ipam,
    IpamPool,
    IpamPoolAllocation,
    IpamPoolCidr,
    IpamScope,
    Origin,
    State,
)
from tests.integration.api.conftest import Api, codes, problem
from tests.integration.api.test_read_pools import every_page
from tests.treedata import build_tree

GONE = datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC)


def pool(name: str) -> IpamPool:
    return IpamPool.objects.get(name=name)


def count_queries(api: Api, url: str, params: dict[str, Any] | None = None) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert api.get(url, params or {}).status_code == 200
    return len(queries)


# --- IPAMs -----------------------------------------------------------------------------------


def test_the_ipam_list_and_one_ipam(viewer):
    ipam = Ipam.objects.get()
    rows = viewer.get("/api/ipams/").json()["results"]
    assert [r["ipam_id"] for r in rows] == [ipam.ipam_id]
    one = viewer.get(f"/api/ipams/{ipam.ipam_id}/").json()
    assert one == rows[0]
    assert one["arn"] == ipam.arn
    assert one["region"] == "us-east-1"
    assert one["operating_regions"] == ["us-east-1", "us-west-2", "eu-west-1"]
    assert one["tier"] == "advanced"
    assert one["state"] == "create-complete"
    assert one["scope_count"] == 2
    assert one["tags"] == {"Name": "demo"}
    assert one["in_aws"] is True
    assert one["last_synced_at"]


def test_an_ipam_gone_from_aws_is_neither_listed_nor_found(viewer):
    other = build_tree(2, label="gone").scope.ipam
    Ipam.objects.filter(pk=other.pk).update(missing_since=GONE)
    assert other.ipam_id not in {r["ipam_id"] for r in every_page(viewer, "/api/ipams/")}
    problem(viewer.get(f"/api/ipams/{other.ipam_id}/"), 404)


def test_the_ipam_list_pages_through_every_ipam(viewer):
    for _ in range(5):
        build_tree(1, roots=1, label="ipams")
    expected = list(Ipam.objects.order_by("id").values_list("ipam_id", flat=True))
    rows = every_page(viewer, "/api/ipams/", {"page_size": 2})
    assert [r["ipam_id"] for r in rows] == expected


def test_the_ipam_list_costs_the_same_queries_for_more_ipams(viewer, django_assert_max_num_queries):
    budget = count_queries(viewer, "/api/ipams/")
    for _ in range(10):
        build_tree(1, roots=1, label="more")
    with django_assert_max_num_queries(budget):
        assert len(viewer.get("/api/ipams/").json()["results"]) == 11


# --- scopes ----------------------------------------------------------------------------------


def test_the_scope_list_and_one_scope(viewer, private_scope):
    ipam = private_scope.ipam
    rows = viewer.get("/api/scopes/").json()["results"]
    assert {r["scope_id"] for r in rows} == set(
        IpamScope.objects.values_list("scope_id", flat=True)
    )
    one = viewer.get(f"/api/scopes/{private_scope.scope_id}/").json()
    assert one["ipam_id"] == ipam.ipam_id
    assert one["type"] == "private"
    assert one["default"] is True
    assert one["pool_count"] == 11
    assert one["in_aws"] is True
    assert {"description", "arn", "state", "tags", "last_synced_at"} <= set(one)


def test_a_scope_counts_the_pools_the_tree_shows(viewer, private_scope):
    IpamPool.objects.filter(name="ula-v6").update(state=State.DELETE_IN_PROGRESS)
    IpamPool.objects.filter(name="eu-west-1-dev").update(missing_since=GONE)
    assert viewer.get(f"/api/scopes/{private_scope.scope_id}/").json()["pool_count"] == 9


def test_scope_filters(viewer, private_scope):
    other = build_tree(1, roots=1, label="scopes").scope
    public = IpamScope.objects.get(scope_type="public", ipam=private_scope.ipam)

    def ids(**params: Any) -> set[str]:
        return {r["scope_id"] for r in every_page(viewer, "/api/scopes/", params)}

    assert ids(ipam=private_scope.ipam.ipam_id) == {private_scope.scope_id, public.scope_id}
    assert ids(type="public") == {public.scope_id}
    assert ids(type="private") == {private_scope.scope_id, other.scope_id}
    assert ids(ipam=other.ipam.ipam_id, type="private") == {other.scope_id}
    assert ids(ipam="ipam-00000000000000000") == set()
    assert ids(ipam="no id at all") == set()


@pytest.mark.parametrize("params", [{"type": "secret"}, {"type": "x" * 5000}, {"type": "²"}])
def test_a_scope_type_that_is_none_is_a_400_on_type(viewer, params):
    assert codes(problem(viewer.get("/api/scopes/", params), 400)) == {"type": "invalid_choice"}


def test_a_scope_gone_from_aws_is_a_404(viewer, private_scope):
    IpamScope.objects.filter(pk=private_scope.pk).update(missing_since=GONE)
    problem(viewer.get(f"/api/scopes/{private_scope.scope_id}/"), 404)


def test_the_scope_list_costs_the_same_queries_for_more_scopes_and_pools(
    viewer, django_assert_max_num_queries
):
    budget = count_queries(viewer, "/api/scopes/")
    for _ in range(5):
        build_tree(30, label="scoped")
    with django_assert_max_num_queries(budget):
        assert len(viewer.get("/api/scopes/").json()["results"]) == 7


# --- a pool's CIDRs --------------------------------------------------------------------------


def test_a_pools_cidrs_in_address_order_with_their_state_and_failure(viewer):
    corporate = pool("corporate")
    first = corporate.cidrs.get()
    rows = [
        ("ipam-pool-cidr-failed", "192.168.0.0/16", CidrState.FAILED_PROVISION, "BadCidr"),
        ("ipam-pool-cidr-gone", "172.16.0.0/12", CidrState.DEPROVISIONED, ""),
        ("ipam-pool-cidr-pending", "", CidrState.PENDING_PROVISION, ""),
        ("ipam-pool-cidr-missing", "100.64.0.0/10", CidrState.PROVISIONED, ""),
    ]
    for cidr_id, cidr, state, code in rows:
        IpamPoolCidr.objects.create(
            cidr_id=cidr_id,
            pool=corporate,
            cidr=cidr,
            netmask_length=int(cidr.split("/")[1]) if cidr else 24,
            state=state,
            failure_code=code,
            failure_message="AWS says no." if code else "",
            missing_since=GONE if cidr_id.endswith("missing") else None,
        )
    body = viewer.get(f"/api/pools/{corporate.pool_id}/cidrs/").json()
    assert [c["cidr_id"] for c in body] == [
        first.cidr_id,
        "ipam-pool-cidr-gone",
        "ipam-pool-cidr-failed",
        "ipam-pool-cidr-pending",  # no CIDR yet: last
    ]
    by_id = {c["cidr_id"]: c for c in body}
    assert by_id[first.cidr_id] | {"first_seen_at": 0, "last_synced_at": 0} == {
        "cidr_id": first.cidr_id,
        "pool_id": corporate.pool_id,
        "in_aws": True,
        "cidr": "10.0.0.0/8",
        "netmask_length": 8,
        "state": "provisioned",
        "failure_code": "",
        "failure_message": "",
        "deprovisionable": True,
        "first_seen_at": 0,
        "last_synced_at": 0,
    }
    failed = by_id["ipam-pool-cidr-failed"]
    assert (failed["state"], failed["failure_code"], failed["failure_message"]) == (
        "failed-provision",
        "BadCidr",
        "AWS says no.",
    )
    assert failed["deprovisionable"] is False
    assert by_id["ipam-pool-cidr-gone"]["deprovisionable"] is False
    assert by_id["ipam-pool-cidr-pending"]["cidr"] is None
    assert by_id["ipam-pool-cidr-pending"]["netmask_length"] == 24


def test_a_pools_cidrs_cost_the_same_queries_however_many(viewer, django_assert_max_num_queries):
    corporate = pool("corporate")
    budget = count_queries(viewer, f"/api/pools/{corporate.pool_id}/cidrs/")
    IpamPoolCidr.objects.bulk_create(
        IpamPoolCidr(
            cidr_id=f"ipam-pool-cidr-many{i}",
            pool=corporate,
            cidr=f"172.{16 + i}.0.0/16",
            netmask_length=16,
            state=CidrState.PROVISIONED,
        )
        for i in range(40)
    )
    with django_assert_max_num_queries(budget):
        assert len(viewer.get(f"/api/pools/{corporate.pool_id}/cidrs/").json()) == 41


# --- a pool's allocations --------------------------------------------------------------------


def allocations_url(p: IpamPool) -> str:
    return f"/api/pools/{p.pool_id}/allocations/"


def test_a_pools_allocations_as_the_pool_page_shows_them(viewer):
    prod = pool("us-east-1-prod")
    body = viewer.get(allocations_url(prod)).json()
    assert body["previous"] is None
    assert body["next"] is None
    rows = body["results"]
    assert [r["cidr"] for r in rows] == ["10.0.0.0/24", "10.0.1.0/24"]
    web = rows[0]
    allocation = prod.allocations.get(cidr="10.0.0.0/24")
    assert web == {
        "allocation_id": allocation.allocation_id,
        "cidr": "10.0.0.0/24",
        "resource_type": "custom",
        "resource_id": allocation.resource_id,
        "resource_owner": allocation.resource_owner,
        "resource_region": allocation.resource_region,
        "description": "web VPC",
        "releasable": True,
        "in_aws": True,
    }
    children = viewer.get(allocations_url(pool("us-east-1"))).json()["results"]
    assert {r["resource_id"] for r in children} == {
        pool("us-east-1-prod").pool_id,
        pool("us-east-1-dev").pool_id,
    }
    assert all(r["resource_type"] == "ipam-pool" and not r["releasable"] for r in children)


def test_one_allocation_and_only_in_its_pool(viewer):
    prod, dev = pool("us-east-1-prod"), pool("us-east-1-dev")
    allocation = prod.allocations.get(cidr="10.0.1.0/24")
    url = f"{allocations_url(prod)}{allocation.allocation_id}/"
    body = viewer.get(url).json()
    assert body["allocation_id"] == allocation.allocation_id
    assert body["description"] == "data VPC"
    problem(viewer.get(f"{allocations_url(dev)}{allocation.allocation_id}/"), 404)
    IpamPoolAllocation.objects.filter(pk=allocation.pk).update(missing_since=GONE)
    problem(viewer.get(url), 404)


def many_allocations(p: IpamPool, n: int, start: int = 0) -> None:
    IpamPoolAllocation.objects.bulk_create(
        IpamPoolAllocation(
            allocation_id=f"ipam-pool-alloc-many{start + i:06d}",
            pool=p,
            cidr=f"10.{1 + (start + i) // 256}.{(start + i) % 256}.0/24",
            resource_type="custom" if i % 3 else "vpc",
            resource_id=f"vpc-{start + i:017x}" if i % 3 == 0 else "",
            resource_owner="123456789012",
            resource_region="us-east-1",
            description=f"row {start + i}",
        )
        for i in range(n)
    )


def test_allocation_pages_give_every_row_once_in_a_stable_order(viewer):
    dev = pool("us-east-1-dev")
    many_allocations(dev, 60)
    expected = list(dev.allocations.live().order_by("id").values_list("allocation_id", flat=True))
    first = [r["allocation_id"] for r in every_page(viewer, allocations_url(dev), {"page_size": 7})]
    again = [r["allocation_id"] for r in every_page(viewer, allocations_url(dev), {"page_size": 7})]
    assert first == again == expected
    assert len(first) == 62


def test_allocation_filters(viewer):
    dev = pool("us-east-1-dev")
    many_allocations(dev, 9)

    def cidrs(**params: Any) -> set[str]:
        return {r["cidr"] for r in every_page(viewer, allocations_url(dev), params)}

    assert cidrs(resource_type="vpc") == {"10.1.0.0/24", "10.1.3.0/24", "10.1.6.0/24"}
    assert cidrs(resource_id=f"vpc-{3:017x}") == {"10.1.3.0/24"}
    assert cidrs(contains="10.4.1.77") == {"10.4.1.0/24"}
    assert cidrs(contains="10.4.1.128/25") == {"10.4.1.0/24"}
    assert cidrs(contains="10.4.0.0/16") == set()  # no allocation holds a /16
    assert cidrs(resource_type="subnet") == set()
    assert cidrs(contains="fd00::1") == set()


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"contains": "10.0.0.0/33"}, "contains"),
        ({"contains": "web VPC"}, "contains"),
        ({"contains": "9" * 5000}, "contains"),
        ({"resource_type": "x" * 33}, "resource_type"),
        ({"resource_id": "x" * 129}, "resource_id"),
        ({"cursor": "cD14"}, "cursor"),  # "p=x"
    ],
)
def test_hostile_allocation_filters_are_a_400_on_their_field(viewer, params, field):
    assert problem(viewer.get(allocations_url(pool("us-east-1-dev")), params), 400)["field"] == (
        field
    )


def test_the_allocation_list_costs_the_same_queries_for_more_rows(
    viewer, django_assert_max_num_queries
):
    dev = pool("us-east-1-dev")
    budget = count_queries(viewer, allocations_url(dev), {"page_size": 1000})
    many_allocations(dev, 600)
    with django_assert_max_num_queries(budget):
        rows = viewer.get(allocations_url(dev), {"page_size": 1000}).json()["results"]
    assert len(rows) == 602
    with django_assert_max_num_queries(budget):
        assert viewer.get(allocations_url(dev), {"contains": "10.2.3.4"}).status_code == 200


# --- not found -------------------------------------------------------------------------------

UNKNOWN_IDS = ["ipam-pool-00000000000000000", "x" * 129, "%00", "%C2%B2", "a%20b", "%0A"]


def pool_urls(pool_id: str) -> list[str]:
    return [
        f"/api/pools/{pool_id}/cidrs/",
        f"/api/pools/{pool_id}/allocations/",
        f"/api/pools/{pool_id}/allocations/ipam-pool-alloc-0/",
    ]


@pytest.mark.parametrize("unknown", UNKNOWN_IDS)
def test_unknown_or_impossible_ids_are_a_404(viewer, unknown):
    prod = pool("us-east-1-prod")
    for url in [
        f"/api/ipams/{unknown}/",
        f"/api/scopes/{unknown}/",
        *pool_urls(unknown),
        f"{allocations_url(prod)}{unknown}/",
    ]:
        problem(viewer.get(url), 404)


def test_ids_of_other_kinds_are_a_404(viewer, private_scope):
    prod = pool("us-east-1-prod")
    allocation = prod.allocations.first()
    assert allocation is not None
    problem(viewer.get(f"/api/ipams/{private_scope.scope_id}/"), 404)
    problem(viewer.get(f"/api/scopes/{private_scope.ipam.ipam_id}/"), 404)
    for url in pool_urls(private_scope.scope_id):
        problem(viewer.get(url), 404)
    problem(viewer.get(f"{allocations_url(prod)}{prod.pool_id}/"), 404)


def test_a_pool_gone_from_aws_has_no_cidrs_or_allocations_to_show(viewer):
    prod = pool("us-east-1-prod")
    allocation = prod.allocations.get(cidr="10.0.0.0/24")
    IpamPool.objects.filter(pk=prod.pk).update(missing_since=GONE)
    for url in pool_urls(prod.pool_id):
        problem(viewer.get(url.replace("ipam-pool-alloc-0", allocation.allocation_id)), 404)


# --- the change log --------------------------------------------------------------------------


def provisioned_by(user: Any, p: IpamPool, cidr: str) -> None:
    """A change made in the app by ``user``: its AWS call and the mirror's new CIDR."""
    with changelog.acting(user):
        services.pool_provision_cidr(pool=p, cidr=cidr)


def test_the_change_log_shows_calls_and_changes_newest_first(viewer, editor):
    corporate = pool("corporate")
    provisioned_by(editor.user, corporate, "192.168.0.0/16")
    body = viewer.get("/api/changes/").json()
    assert body["previous"] is None
    assert body["next"] is None
    change, call = body["results"]
    assert [e["kind"] for e in body["results"]] == ["cidr", "call"]  # the mirror's write last
    assert call["what"] == "ProvisionIpamPoolCidr"
    assert call["object"] == "ProvisionIpamPoolCidr"
    assert call["who"] == call["user"] == "api-editor"
    assert call["origin"] == "app"
    assert call["outcome"] == "succeeded"
    assert call["error_code"] == ""
    assert call["request_id"]
    assert call["ipam_id"] == corporate.ipam.ipam_id
    assert call["pool_id"] == corporate.pool_id
    assert {"field": "Cidr", "before": None, "after": "192.168.0.0/16"} in call["details"]
    assert not any(d["field"] == "ClientToken" for d in call["details"])
    assert change["what"] == "pool CIDR created"
    assert change["object"] == "192.168.0.0/16"
    assert change["object_id"] == corporate.cidrs.get(cidr="192.168.0.0/16").cidr_id
    assert change["outcome"] is None
    assert change["ipam_id"] == corporate.ipam.ipam_id
    assert change["pool_id"] == corporate.pool_id
    assert change["who"] == "api-editor"
    assert {d["field"] for d in change["details"]} >= {"CIDR", "state"}


def test_a_refused_call_is_in_the_log_with_aws_code(viewer):
    corporate = pool("corporate")
    with pytest.raises(services.AwsError):
        services.pool_provision_cidr(pool=corporate, cidr="10.0.0.0/8")  # already there
    (call,) = viewer.get("/api/changes/", {"kind": "call"}).json()["results"]
    assert call["outcome"] == "refused"
    assert call["error_code"]
    assert call["user"] is None
    assert call["who"] == Origin.APP.label


def test_change_log_filters(viewer, editor, admin):
    corporate, ula = pool("corporate"), pool("ula-v6")
    provisioned_by(editor.user, corporate, "192.168.0.0/16")
    provisioned_by(admin.user, ula, "fd00:ec3::/32")
    other = build_tree(1, roots=1, label="log")
    with changelog.acting(admin.user):  # a pool of the mirror only: its change, no call
        row = {"id": other.pools[0].pk, "pool_id": other.pools[0].pool_id}
        row["ipam_id"] = other.scope.ipam_id
        changelog.record_rows(IpamPool, changed=[({**row, "name": "a"}, {**row, "name": "b"})])

    def log(**params: Any) -> list[tuple[str, str]]:
        rows = every_page(viewer, "/api/changes/", params)
        return [(r["kind"], r["object"]) for r in rows]

    assert log(pool=corporate.pool_id) == [
        ("cidr", "192.168.0.0/16"),
        ("call", "ProvisionIpamPoolCidr"),
    ]
    assert log(user="api-admin", kind="cidr") == [("cidr", "fd00:ec3::/32")]
    assert log(user="api-admin", kind="pool") == [("pool", "b")]
    assert log(ipam=other.scope.ipam.ipam_id) == [("pool", "b")]
    assert len(log(ipam=corporate.ipam.ipam_id)) == 4
    assert len(log(origin="app")) == 5
    assert log(origin="outside") == []
    assert log(kind="allocation") == []
    assert log(ipam="ipam-00000000000000000") == []


@pytest.mark.parametrize(
    ("params", "field", "code"),
    [
        ({"origin": "martians"}, "origin", "invalid_choice"),
        ({"kind": "everything"}, "kind", "invalid_choice"),
        ({"pool": "ipam-scope-0123456789abcdef0"}, "pool", "invalid"),
        ({"pool": "ipam-pool-²"}, "pool", "invalid"),
        ({"pool": "x" * 5000}, "pool", "max_length"),
        ({"user": "nobody-is-called-this"}, "user", "unknown"),
        ({"user": "u" * 151}, "user", "max_length"),
        ({"before": "yesterday"}, "before", "cursor"),
        ({"before": "2024-01-01T00:00:00+00:00~7~1"}, "before", "cursor"),
        ({"before": "0001-01-01T00:00:00+14:00~0~1"}, "before", "cursor"),
        ({"before": "2024-01-01T00:00:00+00:00~0~" + "9" * 40}, "before", "max_length"),
        ({"ipam": "not an id"}, "ipam", "invalid"),
        ({"ipam": "i" * 65}, "ipam", "max_length"),
        ({"page_size": "0"}, "page_size", "min_value"),
        ({"page_size": "1001"}, "page_size", "max_value"),
        ({"page_size": "²"}, "page_size", "invalid"),
        ({"page_size": "9" * 5000}, "page_size", "invalid"),
    ],
)
def test_hostile_change_log_filters_are_a_400_on_their_field(viewer, params, field, code):
    assert codes(problem(viewer.get("/api/changes/", params), 400)) == {field: code}


def many_entries(n: int) -> None:
    """``n`` AWS calls (each at its own time) and ``n`` changes (all at one instant)."""
    corporate = pool("corporate")
    now = timezone.now()
    AwsCall.objects.bulk_create(
        AwsCall(
            at=now - datetime.timedelta(seconds=i % 5),  # some share an instant
            action="ModifyIpamPool",
            parameters={"IpamPoolId": corporate.pool_id, "Description": f"d{i}"},
            outcome=AwsCall.Outcome.SUCCEEDED,
            ipam_id=corporate.ipam_id,
            pool_aws_id=corporate.pool_id,
        )
        for i in range(n)
    )
    row = {"id": corporate.pk, "pool_id": corporate.pool_id, "ipam_id": corporate.ipam_id}
    changelog.record_rows(
        IpamPool,
        changed=[
            ({**row, "description": f"d{i}"}, {**row, "description": f"d{i + 1}"}) for i in range(n)
        ],
    )


def test_change_log_pages_give_every_entry_once_in_the_logs_order(viewer):
    many_entries(40)
    expected, cursor = [], None
    while True:
        page, cursor = changelog.entries(cursor=cursor, limit=1000)
        expected += [(e.is_call, e.item.pk) for e in page]
        if cursor is None:
            break
    rows = every_page(viewer, "/api/changes/", {"page_size": 7})
    assert [(r["kind"] == "call", r["id"]) for r in rows] == expected
    assert len(rows) == 80


def test_the_change_log_keeps_other_filters_on_its_next_page(viewer):
    many_entries(10)
    first = viewer.get("/api/changes/", {"kind": "pool", "page_size": 3}).json()
    assert "kind=pool" in first["next"]
    assert all(r["kind"] == "pool" for r in every_page(viewer, first["next"]))


def test_the_change_log_costs_the_same_queries_for_more_entries(
    viewer, django_assert_max_num_queries
):
    many_entries(5)
    budget = count_queries(viewer, "/api/changes/", {"page_size": 1000})
    many_entries(500)
    with django_assert_max_num_queries(budget):
        rows = viewer.get("/api/changes/", {"page_size": 1000}).json()["results"]
    assert len(rows) == 1000
    ipam_id = pool("corporate").ipam.ipam_id
    with django_assert_max_num_queries(budget + 1):  # the IPAM's lookup
        answer = viewer.get("/api/changes/", {"ipam": ipam_id})
    assert len(answer.json()["results"]) == 100


# --- who may read ----------------------------------------------------------------------------


def read_urls() -> list[str]:
    prod = pool("us-east-1-prod")
    allocation = prod.allocations.first()
    assert allocation is not None
    scope = IpamScope.objects.get(scope_type="private")
    return [
        "/api/ipams/",
        f"/api/ipams/{scope.ipam.ipam_id}/",
        "/api/scopes/",
        f"/api/scopes/{scope.scope_id}/",
        f"/api/pools/{prod.pool_id}/cidrs/",
        allocations_url(prod),
        f"{allocations_url(prod)}{allocation.allocation_id}/",
        "/api/changes/",
    ]


@pytest.mark.parametrize("role", ["viewer", "editor", "admin"])
def test_every_role_may_read(api_as, role):
    for url in read_urls():
        assert api_as(role).get(url).status_code == 200, url


def test_a_user_without_the_permission_is_refused(api_as):
    for url in read_urls():
        problem(api_as("nobody").get(url), 403)


@pytest.mark.parametrize("authorization", [None, "Bearer nope", "Bearer ipamui_" + "0" * 40])
def test_no_token_or_a_bad_one_is_a_401(demo, authorization):
    headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
    for url in read_urls():
        problem(Client().get(url, **headers), 401)


def test_a_session_login_reads_everything(viewer):
    client = Client()
    client.force_login(viewer.user)
    for url in read_urls():
        assert client.get(url).status_code == 200, url


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_nothing_here_can_be_written(editor, admin, method: str):
    call: Callable[..., Any] = getattr(admin, method)
    for url in read_urls():
        assert call(url, {}).status_code in (403, 405), url


def test_an_etag_answers_304(viewer):
    for url in read_urls():
        etag = viewer.get(url)["ETag"]
        assert viewer.get(url, If_None_Match=etag).status_code == 304, url


# --- AWS away or refusing ----------------------------------------------------------------------


def test_reads_answer_from_the_mirror_when_aws_is_unreachable_or_refuses(viewer, sim):
    sim.faults.update({"unreachable": True, "deny": True})
    for url in read_urls():
        assert viewer.get(url).status_code == 200, url


def test_a_cidr_aws_failed_to_provision_shows_its_failure(viewer, sim, worker):
    corporate = pool("corporate")
    sim.faults.update({"fail_next_provisions": 1})
    services.pool_provision_cidr(pool=corporate, cidr="192.168.0.0/16")
    tasks.follow(corporate)
    worker()
    failed = next(
        c
        for c in viewer.get(f"/api/pools/{corporate.pool_id}/cidrs/").json()
        if c["cidr"] == "192.168.0.0/16"
    )
    assert failed["state"] == "failed-provision"
    assert failed["failure_code"] == "cidr-not-available"
    assert failed["failure_message"] == "The CIDR could not be provisioned."
    assert failed["deprovisionable"] is False
