"""Editing a pool from its page: ModifyIpamPool, its tags, what a delete takes, its ancestry."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from pools import services
from pools.aws import AwsNotAuthorised, AwsRefused
from pools.models import IpamPool, PoolTag
from tests.integration.app.conftest import aws_pool, pool_named

pytestmark = pytest.mark.django_db


@pytest.fixture
def changer(client_may: Any) -> Client:
    return client_may("change_ipampool")


def edit_data(pool: IpamPool, **changes: Any) -> dict[str, Any]:
    """The edit form as the page gives it for ``pool``, with ``changes`` made."""
    tags = list(pool.allocation_resource_tags.items())
    data: dict[str, Any] = {
        "edit-description": pool.description,
        "edit-allocation_min_netmask_length": pool.allocation_min_netmask_length,
        "edit-allocation_max_netmask_length": pool.allocation_max_netmask_length,
        "edit-allocation_default_netmask_length": pool.allocation_default_netmask_length or "",
        "arts-TOTAL_FORMS": len(tags),
        "arts-INITIAL_FORMS": len(tags),
    }
    if pool.auto_import:
        data["edit-auto_import"] = "on"
    for n, (key, value) in enumerate(tags):
        data[f"arts-{n}-key"], data[f"arts-{n}-value"] = key, value
    data.update({f"edit-{k}" if not k.startswith("arts-") else k: v for k, v in changes.items()})
    return data


def tag_data(tags: dict[str, str], *, initial: int | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "tag-TOTAL_FORMS": len(tags),
        "tag-INITIAL_FORMS": len(tags) if initial is None else initial,
    }
    for n, (key, value) in enumerate(tags.items()):
        data[f"tag-{n}-key"], data[f"tag-{n}-value"] = key, value
    return data


def error_codes(html: str) -> list[str]:
    import re

    return re.findall(r'data-code="([^"]+)"', html)


# --- services -------------------------------------------------------------------------------


def test_modify_sends_the_changes_and_saves_what_aws_answers(demo, sim):
    pool = pool_named("us-east-1-prod")

    saved = services.pool_modify(
        pool=pool,
        changes={
            "Description": "production, east",
            "AllocationMaxNetmaskLength": 26,
            "ClearAllocationDefaultNetmaskLength": True,
            "RemoveAllocationResourceTags": [{"Key": "environment", "Value": "prod"}],
            "AddAllocationResourceTags": [{"Key": "environment", "Value": "production"}],
        },
    )

    assert saved.pk == pool.pk
    assert saved.description == aws_pool(sim, pool.pool_id)["Description"] == "production, east"
    assert saved.allocation_max_netmask_length == 26
    assert saved.allocation_default_netmask_length is None
    assert saved.allocation_resource_tags == {"environment": "production"}
    assert saved.state == "modify-complete"


def test_set_tags_sends_only_the_calls_needed_and_reads_the_pool_back(demo, sim, sent):
    pool = pool_named("us-east-1-prod")
    pool.tags = {"Name": "us-east-1-prod", "team": "web"}
    sim.call("CreateTags", Resources=[pool.pool_id], Tags=[{"Key": "team", "Value": "web"}])

    saved = services.pool_set_tags(pool=pool, tags={"Name": "east-prod", "cost": "42"})

    assert sent.actions == ["CreateTags", "DeleteTags", "DescribeIpamPools"]
    assert saved.name == "east-prod"
    assert saved.tags == {"Name": "east-prod", "cost": "42"}
    assert {t["Key"]: t["Value"] for t in aws_pool(sim, pool.pool_id)["Tags"]} == saved.tags
    assert set(PoolTag.objects.filter(pool=pool).values_list("key", "value")) == {
        ("Name", "east-prod"),
        ("cost", "42"),
    }


def test_set_tags_reads_the_pool_back_when_its_second_call_fails(demo, sim, sent):
    pool = pool_named("us-east-1-prod")
    sim.faults.update({"deny_actions": ["DeleteTags"]})

    with pytest.raises(AwsNotAuthorised):
        services.pool_set_tags(pool=pool, tags={"team": "web"})

    pool.refresh_from_db()
    assert pool.tags == {"Name": "us-east-1-prod", "team": "web"}  # what AWS has now
    assert sent.actions[-1] == "DescribeIpamPools"


def test_set_tags_with_nothing_to_change_asks_aws_nothing(demo, sent):
    pool = pool_named("us-east-1-prod")

    assert services.pool_set_tags(pool=pool, tags=dict(pool.tags)) == pool
    assert sent.actions == []


def test_the_endpoint_refuses_tags_of_what_it_does_not_have(demo, sim):
    pool = pool_named("us-east-1-prod")
    with pytest.raises(AwsRefused) as caught:
        services.pool_set_tags(pool=IpamPool(pool_id="vpc-0123", tags={}), tags={"a": "b"})
    assert caught.value.code == "InvalidID"
    gone = IpamPool(pool_id="ipam-pool-0123456789abcdef0", tags={})
    with pytest.raises(AwsRefused) as caught:
        services.pool_set_tags(pool=gone, tags={"a": "b"})
    assert caught.value.code == "InvalidIpamPoolId.NotFound"
    assert aws_pool(sim, pool.pool_id)["Tags"] == [{"Key": "Name", "Value": "us-east-1-prod"}]


# --- the edit form --------------------------------------------------------------------------


def test_the_edit_form_starts_as_the_pool_is(changer):
    pool = pool_named("us-east-1-prod")

    html = changer.get(f"/pools/{pool.pool_id}/edit/").content.decode()

    assert 'name="edit-description" value="us-east-1 prod"' in html
    assert 'name="edit-allocation_default_netmask_length" value="24"' in html
    assert 'name="arts-0-key" value="environment"' in html
    assert 'name="edit-clear_default_netmask_length"' in html


def test_an_edit_sends_only_what_changed(changer, sim, sent):
    pool = pool_named("us-east-1-prod")
    data = edit_data(pool, description="east production", allocation_max_netmask_length=26)

    response = changer.post(f"/pools/{pool.pool_id}/edit/", data)

    assert response.status_code == 302
    assert sent.actions == ["ModifyIpamPool"]
    pool.refresh_from_db()
    assert (pool.description, pool.allocation_max_netmask_length) == ("east production", 26)
    assert pool.allocation_default_netmask_length == 24  # untouched
    assert "Saved the changes" in changer.get(response["Location"]).content.decode()


def test_an_edit_that_changes_nothing_asks_aws_nothing(changer, sent):
    pool = pool_named("us-east-1-prod")

    response = changer.post(f"/pools/{pool.pool_id}/edit/", edit_data(pool))

    assert response.status_code == 302
    assert sent.actions == []


def test_allocation_resource_tags_are_added_removed_and_changed_as_rows(changer, sim):
    pool = pool_named("us-east-1-prod")
    data = edit_data(pool)
    data |= {"arts-TOTAL_FORMS": 2, "arts-0-value": "production", "arts-1-key": "owner"}
    data["arts-1-value"] = "netops"

    assert changer.post(f"/pools/{pool.pool_id}/edit/", data).status_code == 302

    pool.refresh_from_db()
    assert pool.allocation_resource_tags == {"environment": "production", "owner": "netops"}
    row = list(pool.allocation_resource_tags).index("environment")  # (PostgreSQL sorts keys)
    data = edit_data(pool) | {f"arts-{row}-DELETE": "on"}
    assert changer.post(f"/pools/{pool.pool_id}/edit/", data).status_code == 302
    pool.refresh_from_db()
    assert pool.allocation_resource_tags == {"owner": "netops"}
    assert aws_pool(sim, pool.pool_id)["AllocationResourceTags"] == [
        {"Key": "owner", "Value": "netops"}
    ]


def test_emptying_the_default_or_ticking_clear_clears_it(changer):
    pool = pool_named("us-east-1-prod")
    data = edit_data(pool, allocation_default_netmask_length="")

    assert changer.post(f"/pools/{pool.pool_id}/edit/", data).status_code == 302

    pool.refresh_from_db()
    assert pool.allocation_default_netmask_length is None
    other = pool_named("us-east-1-dev")
    data = edit_data(other, clear_default_netmask_length="on")
    assert changer.post(f"/pools/{other.pool_id}/edit/", data).status_code == 302
    other.refresh_from_db()
    assert other.allocation_default_netmask_length is None


@pytest.mark.parametrize(
    ("changes", "field", "code"),
    [
        (
            {"allocation_min_netmask_length": 24, "allocation_max_netmask_length": 20},
            "min",
            "netmask_min_gt_max",
        ),
        ({"allocation_default_netmask_length": 12}, "default", "netmask_default_outside_range"),
        ({"allocation_max_netmask_length": 33}, "max", "netmask_out_of_range"),
        (
            {"allocation_default_netmask_length": 20, "clear_default_netmask_length": "on"},
            "default",
            "default_set_and_cleared",
        ),
        ({"description": "bad\x01text"}, "description", "text_not_xml_safe"),
        ({"arts-0-key": "aws:reserved"}, "arts-0-key", "tag_key_reserved"),
    ],
)
def test_a_refused_edit_shows_the_rule_next_to_its_field_and_asks_aws_nothing(
    changer, sent, changes, field, code
):
    pool = pool_named("us-east-1-prod")
    data = edit_data(pool, **changes)

    response = changer.post(f"/pools/{pool.pool_id}/edit/", data)

    assert response.status_code == 200
    html = response.content.decode()
    target = field if field.startswith("arts-") else f"edit-allocation_{field}_netmask_length"
    if field == "description":
        target = "edit-description"
    assert f'id="id_{target}_error" aria-live="polite"><p data-code="{code}">' in html
    assert sent.actions == []
    assert IpamPool.objects.get(pk=pool.pk).description == pool.description


def test_the_live_check_answers_errors_only(changer, sent):
    pool = pool_named("us-east-1-prod")
    data = edit_data(pool, allocation_min_netmask_length=24, allocation_max_netmask_length=20)

    response = changer.post(f"/pools/{pool.pool_id}/edit/validate/", data, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert response.status_code == 200
    assert "<form" not in html
    assert "<input" not in html
    assert 'id="id_edit-allocation_min_netmask_length_error"' in html
    assert "netmask_min_gt_max" in error_codes(html)
    assert 'hx-swap-oob="innerHTML"' in html
    assert sent.actions == []


def test_aws_refusal_is_shown_next_to_its_field_with_the_input_kept(changer, sim):
    pool = pool_named("us-east-1-prod")
    # changed outside the app: the mirror still says min /16
    sim.call("ModifyIpamPool", IpamPoolId=pool.pool_id, AllocationMinNetmaskLength=22)
    data = edit_data(pool, allocation_default_netmask_length=18)

    response = changer.post(f"/pools/{pool.pool_id}/edit/", data)

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_edit-allocation_default_netmask_length_error"' in html
    assert "AWS refused" in html
    assert 'name="edit-allocation_default_netmask_length" value="18"' in html


def test_editing_needs_the_change_permission(client_may):
    viewer = client_may("view_ipampool", "viewer")
    pool = pool_named("us-east-1-prod")

    assert viewer.get(f"/pools/{pool.pool_id}/edit/").status_code == 403
    assert viewer.post(f"/pools/{pool.pool_id}/edit/", edit_data(pool)).status_code == 403
    assert viewer.post(f"/pools/{pool.pool_id}/tags/", tag_data({"a": "b"})).status_code == 403
    assert "Edit tags" not in viewer.get(f"/pools/{pool.pool_id}/").content.decode()


def test_a_row_is_added_in_place_or_with_the_whole_page(changer):
    pool = pool_named("us-east-1-prod")
    data = edit_data(pool)

    rows = changer.post(
        f"/pools/{pool.pool_id}/edit/rows/arts/", data, HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'id="arts-rows"' in rows
    assert 'name="arts-1-key"' in rows
    assert "<h1" not in rows
    page = changer.post(f"/pools/{pool.pool_id}/edit/rows/arts/", data).content.decode()
    assert "<h1" in page
    assert 'name="arts-1-key"' in page
    tags = changer.post(
        f"/pools/{pool.pool_id}/edit/rows/tag/", tag_data(pool.tags), HTTP_HX_REQUEST="true"
    ).content.decode()
    assert 'id="tag-rows"' in tags
    assert 'name="tag-1-key"' in tags
    assert changer.post(f"/pools/{pool.pool_id}/edit/rows/other/", data).status_code == 404


# --- the tag editor -------------------------------------------------------------------------


def test_tags_are_changed_added_and_removed_from_the_pool_page(changer, sim):
    pool = pool_named("us-east-1-prod")
    page = changer.get(f"/pools/{pool.pool_id}/").content.decode()
    assert 'name="tag-0-key" value="Name"' in page

    data = tag_data({"Name": "east-prod", "team": "netops"}, initial=1)
    response = changer.post(f"/pools/{pool.pool_id}/tags/", data)

    assert response.status_code == 302
    pool.refresh_from_db()
    assert (pool.name, pool.tags) == ("east-prod", {"Name": "east-prod", "team": "netops"})
    assert PoolTag.objects.filter(pool=pool, key="team", value="netops").exists()
    data = tag_data(pool.tags) | {"tag-1-DELETE": "on"}
    assert changer.post(f"/pools/{pool.pool_id}/tags/", data).status_code == 302
    pool.refresh_from_db()
    assert pool.tags == {"Name": "east-prod"}
    assert aws_pool(sim, pool.pool_id)["Tags"] == [{"Key": "Name", "Value": "east-prod"}]


@pytest.mark.parametrize(
    ("tags", "where", "code"),
    [
        ({"Name": "x", "aws:cloudformation": "y"}, "id_tag-1-key_error", "tag_key_reserved"),
        ({"Name": "x", "k" * 129: ""}, "id_tag-1-key_error", "tag_key_too_long"),
        ({"Name": "v" * 257}, "id_tag-0-value_error", "tag_value_too_long"),
        ({"Name": "x", "": "orphan value"}, "id_tag-1-key_error", "tag_key_empty"),
        ({"Name": "a\x01b"}, "id_tag-0-value_error", "text_not_xml_safe"),
    ],
)
def test_a_refused_tag_is_shown_next_to_its_row(changer, sent, tags, where, code):
    pool = pool_named("us-east-1-prod")

    response = changer.post(f"/pools/{pool.pool_id}/tags/", tag_data(tags, initial=1))

    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="{where}" aria-live="polite"><p data-code="{code}">' in html
    assert '<details id="pool-tags" open>' in html
    assert sent.actions == []


def test_more_than_fifty_tags_are_refused_above_the_rows(changer, sent):
    pool = pool_named("us-east-1-prod")
    tags = {"Name": "x", **{f"k{n}": "" for n in range(50)}}

    html = changer.post(f"/pools/{pool.pool_id}/tags/", tag_data(tags)).content.decode()

    assert 'id="tag-errors"' in html
    assert "too_many_tags" in error_codes(html) or "tag_limit_exceeded" in error_codes(html)
    assert sent.actions == []


def test_aws_refusing_tags_is_shown_with_the_rows_kept(changer, sim):
    pool = pool_named("us-east-1-prod")
    outside = [{"Key": f"k{n}", "Value": ""} for n in range(49)]
    sim.call("CreateTags", Resources=[pool.pool_id], Tags=outside)  # the mirror has 1 tag

    data = tag_data({"Name": "x", "a": "1", "b": "2"}, initial=1)
    response = changer.post(f"/pools/{pool.pool_id}/tags/", data)

    html = response.content.decode()
    assert response.status_code == 200
    assert "AWS refused" in html
    assert 'name="tag-2-key" value="b"' in html


def test_the_tag_editor_checks_live(changer, sent):
    pool = pool_named("us-east-1-prod")
    data = tag_data({"Name": "x", "aws:x": ""}, initial=1)

    response = changer.post(f"/pools/{pool.pool_id}/tags/validate/", data, HTTP_HX_REQUEST="true")

    html = response.content.decode()
    assert 'id="id_tag-1-key_error"' in html
    assert "tag_key_reserved" in error_codes(html)
    assert "<input" not in html
    assert sent.actions == []


# --- delete confirmation, breadcrumbs -------------------------------------------------------


def test_the_delete_confirmation_counts_every_level(client_may):
    deleter = client_may("delete_ipampool")
    pool = pool_named("corporate")

    html = deleter.get(f"/pools/{pool.pool_id}/").content.decode()

    # 3 regional and 6 environment pools; 1 + 3 + 6 CIDRs; 2 custom allocations per env pool
    assert "9 descendant pools, 10 CIDRs and 12 allocations" in html
    assert html.count('<li><a href="/pools/ipam-pool-') >= 9
    assert 'id="delete-refusal"' in html
    assert "child pools in the pool" in html


def test_the_delete_confirmation_of_an_empty_pool_says_it_goes_alone(client_may, private_scope):
    from pools.services import PoolSpec, new_client_token

    deleter = client_may("delete_ipampool")
    pool = services.pool_create(
        spec=PoolSpec(scope=private_scope, address_family="ipv4"), client_token=new_client_token()
    )

    html = deleter.get(f"/pools/{pool.pool_id}/").content.decode()

    assert "it goes alone" in html
    assert 'id="delete-refusal"' not in html


def test_the_list_of_pools_that_go_is_capped(client_may, private_scope, sim):
    from pools.selectors import DELETE_LIST_CAP
    from pools.sync import sync_all

    deleter = client_may("delete_ipampool")
    top = pool_named("corporate")
    for n in range(DELETE_LIST_CAP):
        sim.call(
            "CreateIpamPool",
            IpamScopeId=private_scope.scope_id,
            AddressFamily="ipv4",
            SourceIpamPoolId=top.pool_id,
            Description=f"extra {n}",
        )
    sync_all()

    html = deleter.get(f"/pools/{top.pool_id}/").content.decode()

    assert f"{9 + DELETE_LIST_CAP} descendant pools" in html
    assert "… and 9 more." in html


def test_the_breadcrumbs_name_the_ipam_the_scope_and_every_ancestor(client, admin_user, demo):
    client.force_login(admin_user)
    pool = pool_named("us-east-1-prod")

    html = client.get(f"/pools/{pool.pool_id}/").content.decode()

    crumbs = html[
        html.index('id="pool-crumbs"') : html.index("</nav>", html.index('id="pool-crumbs"'))
    ]
    assert ">demo</a>" in crumbs
    assert f'href="/pools/{pool_named("corporate").pool_id}/">corporate</a>' in crumbs
    assert f'href="/pools/{pool_named("us-east-1").pool_id}/">us-east-1</a>' in crumbs
    assert crumbs.index("corporate") < crumbs.index(">us-east-1<")
    assert '<span aria-current="page">us-east-1-prod</span>' in crumbs


def test_a_deep_pool_page_reads_its_ancestry_in_one_query(
    client, admin_user, private_scope, sim, django_assert_max_num_queries
):
    from pools.sync import sync_all

    client.force_login(admin_user)
    parent = None
    for depth in range(1, 11):
        params = {"SourceIpamPoolId": parent} if parent else {}
        parent = sim.call(
            "CreateIpamPool",
            IpamScopeId=private_scope.scope_id,
            AddressFamily="ipv4",
            TagSpecifications=[
                {"ResourceType": "ipam-pool", "Tags": [{"Key": "Name", "Value": f"level-{depth}"}]}
            ],
            **params,
        )["IpamPool"]["IpamPoolId"]
    sync_all()
    shallow = pool_named("level-2")
    with django_assert_max_num_queries(40) as shallow_queries:
        client.get(f"/pools/{shallow.pool_id}/")

    with django_assert_max_num_queries(len(shallow_queries) + 1):
        html = client.get(f"/pools/{parent}/").content.decode()

    crumbs = html[html.index('id="pool-crumbs"') :]
    crumbs = crumbs[: crumbs.index("</nav>")]
    positions = [crumbs.index(f">level-{d}<") for d in range(1, 11)]
    assert positions == sorted(positions)


def test_the_pool_page_queries_do_not_grow_with_what_a_delete_takes(
    client, admin_user, private_scope, sim, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from pools.sync import sync_all

    client.force_login(admin_user)
    top = pool_named("corporate")
    with CaptureQueriesContext(connection) as before:
        client.get(f"/pools/{top.pool_id}/")
    for n in range(30):  # more pools on levels the page already reads
        child = sim.call(
            "CreateIpamPool",
            IpamScopeId=private_scope.scope_id,
            AddressFamily="ipv4",
            SourceIpamPoolId=pool_named("us-east-1").pool_id,
            Locale="us-east-1",
            Description=f"extra {n}",
        )["IpamPool"]["IpamPoolId"]
        sim.call("ProvisionIpamPoolCidr", IpamPoolId=child, NetmaskLength=20)
    sync_all()

    with django_assert_max_num_queries(len(before)):
        html = client.get(f"/pools/{top.pool_id}/").content.decode()

    assert "39 descendant pools, 40 CIDRs and 12 allocations" in html


def test_what_is_gone_or_going_is_not_counted_again(demo):
    from pools import mirror
    from pools.selectors import delete_summary

    top = pool_named("corporate")
    assert delete_summary(top).pool_count == 9
    mirror.mark_missing(IpamPool.objects.filter(name="us-west-2"))  # and its two below
    IpamPool.objects.filter(name="eu-west-1-dev").update(state="delete-in-progress")

    summary = delete_summary(top)

    assert summary.pool_count == 5
    assert {row["name"] for row in summary.pools} == {
        "us-east-1",
        "eu-west-1",
        "us-east-1-prod",
        "us-east-1-dev",
        "eu-west-1-prod",
    }
    assert summary.cidr_count == 6
    assert summary.allocation_count == 6


def test_aws_out_of_reach_is_said_with_the_input_kept(changer, sim):
    pool = pool_named("us-east-1-prod")
    sim.faults.update({"throttle_rate": 1})

    edit = changer.post(f"/pools/{pool.pool_id}/edit/", edit_data(pool, description="later"))
    tags = changer.post(f"/pools/{pool.pool_id}/tags/", tag_data({"Name": "later"}))

    for response in (edit, tags):
        html = response.content.decode()
        assert response.status_code == 200
        assert "AWS is busy or throttling requests" in html
        assert "AWS refused" not in html
    assert 'value="later"' in edit.content.decode()
    assert 'value="later"' in tags.content.decode()
    pool.refresh_from_db()
    assert (pool.description, pool.name) == ("us-east-1 prod", "us-east-1-prod")
