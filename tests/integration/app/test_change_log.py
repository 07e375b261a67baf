"""The change log: the app's AWS calls (who, what, AWS's answer) and the mirror's changes, with
where they came from; on the pool page, as a filterable list for the IPAM, and in the admin."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from pools import changelog, services, tasks
from pools.models import AwsCall, Change, IpamPool, Origin
from pools.sync import sync_all

from .conftest import spec
from .pool_form_support import form_data

pytestmark = pytest.mark.django_db


def create_through_the_form(editor, scope):
    data = form_data(scope) | {"description": "logged"}
    return editor.post("/pools/new/", data)


def test_a_pool_made_in_the_app_is_logged_with_its_user_and_aws_answer(editor, private_scope):
    response = create_through_the_form(editor, private_scope)
    assert response.status_code == 302
    pool = IpamPool.objects.get(description="logged")

    call = AwsCall.objects.get(action="CreateIpamPool")
    assert call.user.username == "editor"
    assert call.origin == Origin.APP
    assert call.outcome == AwsCall.Outcome.SUCCEEDED
    assert call.pool_aws_id == pool.pool_id
    assert call.ipam_id == pool.ipam_id
    assert call.parameters["Description"] == "logged"
    assert call.request_id
    created = Change.objects.get(pool_aws_id=pool.pool_id, action=Change.Action.CREATE)
    assert created.actor.username == "editor"
    assert created.origin == Origin.APP
    assert created.changes["state"] == [None, "create-in-progress"]


def test_a_refusal_is_logged_with_aws_code(editor, private_scope):
    pool = IpamPool.objects.get(name="corporate")
    editor.post(f"/pools/{pool.pool_id}/provision/", {"cidr": "10.0.0.0/8"})  # no permission
    services_call = AwsCall.objects.filter(action="ProvisionIpamPoolCidr")
    assert not services_call.exists()  # refused by the app: AWS was not asked

    with pytest.raises(services.AwsError):
        services.pool_provision_cidr(pool=pool, cidr="10.0.0.0/8")
    call = AwsCall.objects.get(action="ProvisionIpamPoolCidr")
    assert call.outcome == AwsCall.Outcome.REFUSED
    assert call.error_code
    assert call.user is None  # no request: nobody logged in


def test_reads_dry_runs_and_previews_are_not_logged(private_scope):
    services.pool_check_permissions(spec=spec(private_scope))
    services.pool_refresh(pool=IpamPool.objects.get(name="corporate"))
    assert not AwsCall.objects.exists()


def test_the_worker_follow_up_is_logged_as_the_worker(private_scope, worker, sim):
    sim.config.create_delay = 60  # AWS takes its time: the worker sees it finish
    pool = services.pool_create(spec=spec(private_scope), client_token="worker-follows")
    sim.config.create_delay = 0
    sim.clock = lambda: 10**10  # everything due has happened
    tasks.follow(pool)
    worker()

    changed = Change.objects.get(pool_aws_id=pool.pool_id, action=Change.Action.UPDATE)
    assert changed.origin == Origin.WORKER
    assert changed.changes["state"] == ["create-in-progress", "create-complete"]


def test_a_first_sync_logs_no_row_by_row_and_later_ones_log_what_changed(private_scope, sim):
    assert not Change.objects.exists()  # the demo's first sync: every row's first_seen_at


def test_a_sync_logs_what_changed_outside_the_app(private_scope, sim):
    pool = IpamPool.objects.get(name="corporate")
    sim.call("ModifyIpamPool", IpamPoolId=pool.pool_id, Description="edited in the console")
    made = sim.call("CreateIpamPool", IpamScopeId=private_scope.scope_id, AddressFamily="ipv4")
    before = Change.objects.count()

    sync_all()

    changed = Change.objects.get(pool_aws_id=pool.pool_id, action=Change.Action.UPDATE)
    assert changed.origin == Origin.OUTSIDE
    assert changed.actor is None
    assert changed.changes["description"] == ["All private IPv4 space", "edited in the console"]
    new = made["IpamPool"]["IpamPoolId"]
    assert Change.objects.get(pool_aws_id=new, action=Change.Action.CREATE).origin == "outside"
    assert Change.objects.count() > before
    # Nothing changed since: the next sync logs nothing.
    logged = Change.objects.count()
    sync_all()
    assert Change.objects.count() == logged


def test_a_removal_outside_the_app_is_logged(private_scope, sim):
    pool = IpamPool.objects.get(name="eu-west-1-dev")
    allocation = pool.allocations.filter(resource_type="custom").first()
    sim.call(
        "ReleaseIpamPoolAllocation",
        IpamPoolId=pool.pool_id,
        IpamPoolAllocationId=allocation.allocation_id,
        Cidr=str(allocation.cidr),
    )
    sync_all()
    removed = Change.objects.get(object_pk=str(allocation.pk), action=Change.Action.DELETE)
    assert removed.origin == Origin.OUTSIDE
    assert removed.pool_aws_id == pool.pool_id


def test_the_pool_page_shows_its_log(admin_client, private_scope):
    pool = IpamPool.objects.get(name="corporate")
    services.pool_provision_cidr(pool=pool, cidr="192.168.0.0/16")

    html = admin_client.get(f"/pools/{pool.pool_id}/").content.decode()

    assert 'id="pool-changes"' in html
    assert "ProvisionIpamPoolCidr" in html
    assert "192.168.0.0/16" in html


def test_the_ipam_list_filters_and_pages(
    admin_client, private_scope, django_assert_max_num_queries
):
    ipam = private_scope.ipam
    now = timezone.now()
    AwsCall.objects.bulk_create(
        AwsCall(
            at=now - datetime.timedelta(seconds=i),
            action="AllocateIpamPoolCidr",
            outcome="succeeded",
            ipam=ipam,
            pool_aws_id="ipam-pool-0000000000000000a",
        )
        for i in range(120)
    )
    url = f"/ipams/{ipam.ipam_id}/changes/"
    with django_assert_max_num_queries(8):
        first = admin_client.get(url, {"kind": "call"})
    assert first.status_code == 200
    page = first.context["entries"]
    assert len(page) == changelog.PAGE_SIZE
    seen = {e.item.pk for e in page}
    query = first.context["next_query"]
    while query:
        response = admin_client.get(f"{url}?{query}")
        for entry in response.context["entries"]:
            assert entry.item.pk not in seen
            seen.add(entry.item.pk)
        query = response.context["next_query"]
    assert len(seen) == 120

    only_app = admin_client.get(url, {"origin": "app"}).context["entries"]
    assert only_app
    assert all(e.item.origin == "app" for e in only_app)


def test_entries_at_the_same_instant_are_neither_lost_nor_repeated(private_scope):
    """A sync writes a batch of changes with one timestamp; pages must not split it badly."""
    at = timezone.now()
    AwsCall.objects.bulk_create(
        AwsCall(at=at, action="DeleteIpamPool", outcome="succeeded") for _ in range(7)
    )
    Change.objects.filter().update(timestamp=at)
    total = AwsCall.objects.count() + Change.objects.count()
    seen, cursor = set(), None
    while True:
        page, cursor = changelog.entries(cursor=cursor, limit=5)
        for entry in page:
            key = (entry.rank, entry.item.pk)
            assert key not in seen
            seen.add(key)
        if cursor is None:
            break
    assert len(seen) == total


@pytest.mark.parametrize(
    "query",
    [
        {"pool": "not an id"},
        {"pool": "ipam-pool-\x00"},
        {"user": "nobody-here"},
        {"user": "x" * 10_000},
        {"origin": "²"},
        {"kind": "9" * 5000},
        {"before": "2026-01-01T00:00:00+00:00~1~" + "9" * 5000},
        {"before": "garbage"},
        {"before": "2024-01-01T00:00:00+00:00~²~1"},
        {"before": "0001-01-01T00:00:00+14:00~1~1"},
    ],
)
def test_hostile_filters_get_a_message_not_a_5xx(admin_client, private_scope, query):
    response = admin_client.get(f"/ipams/{private_scope.ipam.ipam_id}/changes/", query)
    assert response.status_code in (200, 400)
    if response.status_code == 200:
        assert response.context["form"].errors


def test_viewers_read_the_log_and_others_do_not(client, django_user_model, private_scope):
    url = f"/ipams/{private_scope.ipam.ipam_id}/changes/"
    client.force_login(django_user_model.objects.create_user("nobody"))
    assert client.get(url).status_code == 403


def test_the_admin_lists_calls_and_changes(admin_client, private_scope):
    services.pool_provision_cidr(pool=IpamPool.objects.get(name="corporate"), cidr="192.168.0.0/16")
    assert admin_client.get("/admin/pools/awscall/").status_code == 200
    assert admin_client.get("/admin/pools/change/").status_code == 200
    call = AwsCall.objects.first()
    assert admin_client.get(f"/admin/pools/awscall/{call.pk}/change/").status_code == 200


def test_pages_hear_of_changes_made_since_they_were_shown(admin_client, private_scope, sim):
    ipam = private_scope.ipam
    url = f"/ipams/{ipam.ipam_id}/changes/since/"
    shown = timezone.now().isoformat()
    assert "read from AWS" not in admin_client.get(url, {"after": shown}).content.decode()

    pool = IpamPool.objects.get(name="corporate")
    sim.call("ModifyIpamPool", IpamPoolId=pool.pool_id, Description="edited elsewhere")
    sync_all()

    html = admin_client.get(url, {"after": shown}).content.decode()
    assert "1 change read from AWS" in html
    for hostile in (
        *("\x00", "²", "9" * 5000, "2026-13-45T99:00:00+00:00", "2026-01-01T00:00:00"),
        *("0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00"),
    ):
        assert admin_client.get(url, {"after": hostile}).status_code in (200, 400)  # NUL: 400


def test_the_tree_polls_for_changes_since_it_was_shown(admin_client, private_scope):
    html = admin_client.get(f"/scopes/{private_scope.scope_id}/").content.decode()
    assert 'id="changed-since"' in html
    assert f"/ipams/{private_scope.ipam.ipam_id}/changes/since/?after=" in html
