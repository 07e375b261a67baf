"""The admin site as a superuser, as staff without rights, and as a user who is not staff."""

from __future__ import annotations

import re

import pytest
from django.contrib.auth.models import Permission
from django.contrib.messages import get_messages
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from pools import services
from pools.aws import AwsUnavailable
from pools.models import (
    Ipam,
    IpamPool,
    IpamPoolAllocation,
    IpamPoolCidr,
    IpamScope,
    PoolCreation,
)
from pools.services import new_client_token
from pools.sync import sync_all
from tests.integration.app.conftest import pool_named, spec

pytestmark = pytest.mark.django_db

MODELS = [Ipam, IpamScope, IpamPool, IpamPoolCidr, IpamPoolAllocation, PoolCreation]
MIRRORED = [Ipam, IpamScope, IpamPool, IpamPoolCidr, IpamPoolAllocation]


def changelist(model) -> str:
    return reverse(f"admin:pools_{model._meta.model_name}_changelist")


def change(obj) -> str:
    return reverse(f"admin:pools_{obj._meta.model_name}_change", args=[obj.pk])


def listed(response) -> list:
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def messages_of(response) -> list[tuple[str, str]]:
    return [(m.level_tag, m.message) for m in get_messages(response.wsgi_request)]


@pytest.fixture
def creation(private_scope) -> PoolCreation:
    pool = services.pool_create(
        spec=spec(private_scope, description="from the app"), client_token=new_client_token()
    )
    return PoolCreation.objects.get(pool=pool)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_changelist_and_change_page_renders(admin_client, demo, creation, model):
    rows = listed(admin_client.get(changelist(model)))

    assert rows
    response = admin_client.get(change(model.objects.first()))
    assert response.status_code == 200


@pytest.mark.parametrize("model", MIRRORED, ids=lambda m: m.__name__)
def test_changelist_queries_do_not_grow_with_rows(
    admin_client, demo, sim, model, django_assert_max_num_queries
):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert admin_client.get(changelist(model)).status_code == 200
        return len(captured)

    before = queries()
    scope = IpamScope.objects.get(scope_type="private", is_default=True).scope_id
    sim.config.max_pools_per_scope = 100
    for index in range(40):
        pool_id = sim.call(
            "CreateIpamPool",
            IpamScopeId=scope,
            AddressFamily="ipv4",
            Locale="us-east-1",
            TagSpecifications=[
                {"ResourceType": "ipam-pool", "Tags": [{"Key": "Name", "Value": f"p{index}"}]}
            ],
        )["IpamPool"]["IpamPoolId"]
        sim.call("ProvisionIpamPoolCidr", IpamPoolId=pool_id, Cidr=f"172.16.{index}.0/24")
        sim.call("AllocateIpamPoolCidr", IpamPoolId=pool_id, NetmaskLength=28)
    sync_all()

    with django_assert_max_num_queries(before):
        assert admin_client.get(changelist(model)).status_code == 200


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_nothing_can_be_added(admin_client, demo, model):
    response = admin_client.get(changelist(model))

    assert not response.context["has_add_permission"]
    assert reverse(f"admin:pools_{model._meta.model_name}_add") not in response.content.decode()
    assert admin_client.get(reverse(f"admin:pools_{model._meta.model_name}_add")).status_code == 403


@pytest.mark.parametrize("model", MIRRORED, ids=lambda m: m.__name__)
def test_aws_owned_fields_are_read_only(admin_client, demo, model):
    obj = model.objects.first()
    url = change(obj)

    response = admin_client.get(url)

    assert response.status_code == 200
    assert not response.context["has_change_permission"]
    assert not response.context["has_delete_permission"]
    form = response.context["adminform"].form
    assert list(form.fields) == []
    assert admin_client.post(url, {"description": "edited"}).status_code == 403
    assert admin_client.post(url + "delete/", {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()


@pytest.mark.parametrize("model", MIRRORED, ids=lambda m: m.__name__)
def test_change_pages_show_each_field_once(admin_client, demo, model):
    page = admin_client.get(change(model.objects.last())).content.decode()

    labels = re.findall(r"<label>([^<]+)</label>", page)
    assert labels
    assert len(labels) == len(set(labels))


def test_pool_page_links_parent_and_children_and_shows_tags(admin_client, demo):
    pool = pool_named("us-east-1")
    parent = pool_named("corporate")

    page = admin_client.get(change(pool)).content.decode()

    assert f'href="{change(parent)}"' in page
    for child in pool.children.all():
        assert f'href="{change(child)}"' in page
    assert "<code>Name</code> = us-east-1" in page
    assert "10.0.0.0/12" in page  # its CIDR, inline


def test_pool_page_shows_allocation_resource_tags(admin_client, demo):
    page = admin_client.get(change(pool_named("eu-west-1-prod"))).content.decode()

    assert "<code>environment</code> = prod" in page


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("us-west-2-prod", {"us-west-2-prod"}),
        ("All private IPv4", {"corporate"}),
        ("ula-v6", {"ula-v6"}),
        ("fd00:ec2::/32", {"ula-v6"}),
    ],
    ids=["tag-value", "description", "name", "cidr"],
)
def test_pool_search(admin_client, demo, query, names):
    rows = listed(admin_client.get(changelist(IpamPool), {"q": query}))

    assert {p.name for p in rows} == names


def test_pool_search_by_pool_id(admin_client, demo):
    pool = pool_named("eu-west-1-dev")

    rows = listed(admin_client.get(changelist(IpamPool), {"q": pool.pool_id}))

    assert rows == [pool]


def test_pool_search_by_tag_key(admin_client, demo, private_scope):
    services.pool_create(
        spec=spec(private_scope, tags={"cost-centre": "42"}), client_token=new_client_token()
    )

    rows = listed(admin_client.get(changelist(IpamPool), {"q": "cost-centre"}))

    assert [p.tags for p in rows] == [{"cost-centre": "42"}]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"address_family__exact": "ipv6"}, {"ula-v6"}),
        ({"locale": "eu-west-1"}, {"eu-west-1", "eu-west-1-prod", "eu-west-1-dev"}),
        ({"locale": "-"}, {"corporate", "ula-v6"}),
        ({"depth": "1"}, {"corporate", "ula-v6"}),
        ({"depth": "2"}, {"us-east-1", "us-west-2", "eu-west-1"}),
        ({"state__exact": "create-complete"}, "all"),
        ({"state__exact": "delete-in-progress"}, set()),
        ({"in_aws": "no"}, set()),
    ],
    ids=str,
)
def test_pool_filters(admin_client, demo, params, expected):
    rows = listed(admin_client.get(changelist(IpamPool), params))

    if expected == "all":
        expected = set(IpamPool.objects.values_list("name", flat=True))
    assert {p.name for p in rows} == expected


def test_pool_filter_by_scope(admin_client, demo, private_scope, public_scope):
    private = listed(admin_client.get(changelist(IpamPool), {"scope__id__exact": private_scope.pk}))
    public = listed(admin_client.get(changelist(IpamPool), {"scope__id__exact": public_scope.pk}))

    assert len(private) == 11
    assert public == []


def test_pool_filter_with_a_bad_depth_is_not_an_error(admin_client, demo):
    response = admin_client.get(changelist(IpamPool), {"depth": "deep"})

    assert response.status_code == 302
    assert response["Location"].endswith("?e=1")


def test_filters_are_offered(admin_client, demo):
    response = admin_client.get(changelist(IpamPool))

    titles = {spec.title for spec in response.context["cl"].filter_specs}
    assert {"scope", "address family", "locale", "state", "pool depth", "in AWS"} <= {
        str(t) for t in titles
    }


def test_refresh_action_reads_the_selected_pools_from_aws(admin_client, demo, sim, worker):
    pools = [pool_named("us-east-1-dev"), pool_named("us-west-2-dev")]
    for pool in pools:
        sim.call("ModifyIpamPool", IpamPoolId=pool.pool_id, Description="refreshed")

    response = admin_client.post(
        changelist(IpamPool),
        {"action": "refresh_from_aws", "_selected_action": [p.pk for p in pools]},
        follow=True,
    )

    assert response.status_code == 200
    assert [level for level, _ in messages_of(response)] == ["success"]
    assert not IpamPool.objects.filter(description="refreshed").exists(), "not in the request"
    worker()
    assert set(IpamPool.objects.filter(description="refreshed").values_list("pk", flat=True)) == {
        p.pk for p in pools
    }


def test_refresh_action_marks_what_aws_no_longer_has(admin_client, demo, sim, worker):
    gone, fine = pool_named("ula-v6"), pool_named("corporate")
    sim.store.remove("pool", gone.pool_id)

    response = admin_client.post(
        changelist(IpamPool),
        {"action": "refresh_from_aws", "_selected_action": [gone.pk, fine.pk]},
        follow=True,
    )
    worker()

    assert [level for level, _ in messages_of(response)] == ["success"]
    gone.refresh_from_db()
    assert gone.missing_since is not None


@pytest.mark.parametrize("model", MIRRORED, ids=lambda m: m.__name__)
def test_sync_action(admin_client, demo, sim, model, worker):
    pool = pool_named("eu-west-1-dev")
    sim.call("ModifyIpamPool", IpamPoolId=pool.pool_id, Description="synced")

    response = admin_client.post(
        changelist(model),
        {"action": "sync_from_aws", "_selected_action": [model.objects.first().pk]},
        follow=True,
    )
    assert worker() == 1

    assert [level for level, _ in messages_of(response)] == ["success"]
    pool.refresh_from_db()
    assert pool.description == "synced"


def test_the_sync_action_asks_aws_nothing_in_the_request(admin_client, demo, sim, worker):
    sim.faults.update({"unreachable": True})

    response = admin_client.post(
        changelist(IpamPool),
        {"action": "sync_from_aws", "_selected_action": [IpamPool.objects.first().pk]},
        follow=True,
    )

    assert [level for level, _ in messages_of(response)] == ["success"]
    with pytest.raises(AwsUnavailable):  # the task fails, and its result says why
        worker()


# --- staff without rights, staff with view rights, users who are not staff --------------------


@pytest.fixture
def staff_client(client, django_user_model):
    user = django_user_model.objects.create_user("staff", password="pw", is_staff=True)
    client.force_login(user)
    client.user = user
    return client


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_staff_without_rights_is_refused(staff_client, demo, creation, model):
    assert staff_client.get(changelist(model)).status_code == 403
    assert staff_client.get(change(model.objects.first())).status_code == 403


def test_staff_without_rights_sees_no_pools_in_the_index(staff_client, demo):
    response = staff_client.get(reverse("admin:index"))

    assert response.status_code == 200
    assert response.context["app_list"] == []
    assert changelist(IpamPool) not in response.content.decode()


def test_staff_with_view_rights_sees_pools_but_no_actions(staff_client, demo, sim):
    staff_client.user.user_permissions.add(Permission.objects.get(codename="view_ipampool"))
    pool = pool_named("corporate")
    sim.call("ModifyIpamPool", IpamPoolId=pool.pool_id, Description="not synced")

    response = staff_client.get(changelist(IpamPool))
    assert response.status_code == 200
    assert response.context["action_form"] is None
    assert staff_client.get(changelist(Ipam)).status_code == 403

    staff_client.post(
        changelist(IpamPool), {"action": "sync_from_aws", "_selected_action": [pool.pk]}
    )
    pool.refresh_from_db()
    assert pool.description != "not synced"


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_users_who_are_not_staff_are_sent_to_the_admin_login(client, django_user_model, model):
    client.force_login(django_user_model.objects.create_user("plain"))

    response = client.get(changelist(model))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def test_anonymous_users_are_sent_to_log_in(client):
    response = client.get(changelist(IpamPool))

    assert response.status_code == 302
    assert response["Location"].startswith((reverse("admin:login"), reverse("login")))


def test_client_token_records_cannot_be_deleted(admin_client, creation):
    url = reverse("admin:pools_poolcreation_delete", args=[creation.pk])

    assert admin_client.get(url).status_code == 403
    assert admin_client.post(url, {"post": "yes"}).status_code == 403
    assert PoolCreation.objects.filter(pk=creation.pk).exists()


def test_a_pools_tree_link_opens_its_ancestors(admin_client, demo):
    pool = IpamPool.objects.get(name="us-east-1-prod")
    html = admin_client.get(f"/admin/pools/ipampool/{pool.pk}/change/").content.decode()
    ancestors = sorted([pool.source_pool.pool_id, pool.source_pool.source_pool.pool_id])
    assert f"?open={','.join(ancestors)}#node-{pool.pool_id}" in html
