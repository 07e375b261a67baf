"""Submitting the New pool form: creation through the service layer, one pool per ClientToken,
AWS's refusals and outages shown on the form with the input kept, and the DryRun button."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from pools.models import IpamPool, IpamScope, PoolCreation
from tests.integration.app.pool_form_support import (
    HX,
    Answer,
    Element,
    form_data,
)


def pool(name: str) -> IpamPool:
    return IpamPool.objects.select_related("scope").get(name=name)


def aws_pool_ids(sim: Any) -> set[str]:
    return {p["IpamPoolId"] for p in sim.call("DescribeIpamPools", MaxResults=1000)["IpamPools"]}


def submit(client: Client, data: dict[str, str]) -> Any:
    return client.post(reverse("pool_new"), data)


def rendered(response: Any) -> Answer:
    assert response.status_code == 200, response.get("Location")
    return Answer.of(response.content.decode())


def kept(answer: Answer, data: dict[str, str]) -> None:
    """The form came back with what the user typed."""
    for name in ("description", "locale", "first_cidr", "client_token"):
        (element,) = answer.named(name)
        assert element.attrs.get("value", "") == data[name], name


def new_pools(before: set[str], sim: Any) -> set[str]:
    return aws_pool_ids(sim) - before


# --- creating ---------------------------------------------------------------------------------


def test_submit_creates_the_pool_and_lands_on_its_page(
    editor: Client, sim: Any, private_scope: IpamScope
) -> None:
    before = aws_pool_ids(sim)
    parent = pool("us-east-1-prod")
    data = form_data(
        private_scope,
        source=parent,
        description="web tier",
        first_cidr="10.0.8.0/21",
        allocation_min_netmask_length=22,
        allocation_max_netmask_length=26,
        allocation_default_netmask_length=24,
        tags={"Name": "web", "team": "net"},
        **{"arts-TOTAL_FORMS": 1, "arts-0-key": "environment", "arts-0-value": "prod"},
    )
    response = submit(editor, data)
    (pool_id,) = new_pools(before, sim)
    assert response.status_code == 302
    assert response["Location"] == reverse("pool_detail", args=[pool_id])

    sent = sim.call("DescribeIpamPools", IpamPoolIds=[pool_id])["IpamPools"][0]
    assert sent["SourceIpamPoolId"] == parent.pool_id
    assert sent["Locale"] == "us-east-1"
    assert sent["PoolDepth"] == 4
    assert (sent["AllocationMinNetmaskLength"], sent["AllocationMaxNetmaskLength"]) == (22, 26)
    assert sent["AllocationDefaultNetmaskLength"] == 24
    assert {t["Key"]: t["Value"] for t in sent["Tags"]} == {"Name": "web", "team": "net"}
    assert sent["AllocationResourceTags"] == [{"Key": "environment", "Value": "prod"}]
    assert "PublicIpSource" not in sent

    created = IpamPool.objects.get(pool_id=pool_id)
    assert created.client_token == data["client_token"]
    assert created.source_pool == parent
    assert created.created_by.username == "editor"
    page = editor.get(response["Location"])
    assert page.status_code == 200
    assert "10.0.8.0/21" in page.content.decode()


def test_a_top_level_pool_needs_only_a_scope(
    editor: Client, sim: Any, private_scope: IpamScope
) -> None:
    before = aws_pool_ids(sim)
    response = submit(editor, form_data(private_scope, first_cidr="172.16.0.0/12"))
    (pool_id,) = new_pools(before, sim)
    assert response["Location"] == reverse("pool_detail", args=[pool_id])
    sent = sim.call("DescribeIpamPools", IpamPoolIds=[pool_id])["IpamPools"][0]
    assert sent["Locale"] == "None"
    assert "SourceIpamPoolId" not in sent


def test_public_members_are_not_sent_for_a_private_pool(
    editor: Client, sim: Any, private_scope: IpamScope
) -> None:
    before = aws_pool_ids(sim)
    data = form_data(private_scope, aws_service="ec2", public_ip_source="amazon")
    assert submit(editor, data).status_code == 302
    (pool_id,) = new_pools(before, sim)
    sent = sim.call("DescribeIpamPools", IpamPoolIds=[pool_id])["IpamPools"][0]
    assert "AwsService" not in sent
    assert "PublicIpSource" not in sent


def test_the_same_checks_run_again_on_submit(
    editor: Client, sim: Any, private_scope: IpamScope
) -> None:
    before = aws_pool_ids(sim)
    data = form_data(
        private_scope,
        description="bad",
        locale="ap-south-1",
        first_cidr="10.0.0.1/16",
        allocation_min_netmask_length=28,
        allocation_max_netmask_length=24,
    )
    answer = rendered(submit(editor, data))
    assert answer.all_codes == {
        "id_locale_error": ["locale_not_operating"],
        "id_first_cidr_error": ["cidr_host_bits_set"],
        "id_allocation_min_netmask_length_error": ["netmask_min_gt_max"],
    }
    kept(answer, data)
    assert answer["id_locale"].attrs.get("aria-invalid") == "true"
    assert new_pools(before, sim) == set()
    assert not PoolCreation.objects.exists()


def test_submit_without_a_scope_says_it_is_required(editor: Client, demo: Any) -> None:
    answer = rendered(submit(editor, form_data(None, description="no scope")))
    assert answer.field_codes("scope") == ["required"]


# --- one pool per ClientToken -----------------------------------------------------------------


def test_a_resubmit_with_the_same_token_creates_one_pool(
    editor: Client, sim: Any, private_scope: IpamScope
) -> None:
    before = aws_pool_ids(sim)
    data = form_data(private_scope, description="once", first_cidr="172.16.0.0/16")
    first, second = submit(editor, data), submit(editor, data)
    (pool_id,) = new_pools(before, sim)
    assert first["Location"] == second["Location"] == reverse("pool_detail", args=[pool_id])
    assert IpamPool.objects.filter(client_token=data["client_token"]).count() == 1


def test_a_resubmit_with_other_values_asks_to_check_them(
    editor: Client, sim: Any, private_scope: IpamScope
) -> None:
    before = aws_pool_ids(sim)
    data = form_data(private_scope, description="first")
    submit(editor, data)
    (first_id,) = new_pools(before, sim)

    changed = {**data, "description": "second"}
    answer = rendered(submit(editor, changed))
    assert answer.codes("form-errors") == ["IdempotentParameterMismatch"]
    (token,) = answer.named("client_token")
    assert token.attrs["value"] != data["client_token"]
    assert new_pools(before, sim) == {first_id}

    response = submit(editor, {**changed, "client_token": token.attrs["value"]})
    assert response.status_code == 302
    assert len(new_pools(before, sim)) == 2


# --- AWS says no ------------------------------------------------------------------------------


def test_aws_refusing_a_locale_the_mirror_thinks_valid(
    editor: Client, sim: Any, private_scope: IpamScope
) -> None:
    """The mirror says the IPAM operates in ap-south-1; AWS knows better."""
    ipam = private_scope.ipam
    ipam.operating_regions = [*ipam.operating_regions, "ap-south-1"]
    ipam.save()
    before = aws_pool_ids(sim)
    data = form_data(private_scope, description="stale", locale="ap-south-1")
    answer = rendered(submit(editor, data))
    assert answer.all_codes == {"id_locale_error": ["InvalidParameterValue"]}
    assert "ap-south-1" in answer.text("id_locale_error")
    kept(answer, data)
    assert new_pools(before, sim) == set()
    assert PoolCreation.objects.get().status == PoolCreation.Status.REFUSED


def test_aws_refusing_a_source_pool_deleted_since_the_last_sync(
    editor: Client, sim: Any, private_scope: IpamScope
) -> None:
    parent = pool("us-west-2-dev")
    sim.call("DeleteIpamPool", IpamPoolId=parent.pool_id, Cascade=True)
    data = form_data(private_scope, source=parent, description="orphan")
    answer = rendered(submit(editor, data))
    assert answer.all_codes == {"id_source_pool_error": ["InvalidIpamPoolId.NotFound"]}
    kept(answer, data)


def test_a_quota_aws_enforces_is_shown_above_the_form(
    editor: Client, sim: Any, private_scope: IpamScope
) -> None:
    sim.config.max_pools_per_scope = 11
    data = form_data(private_scope, description="one too many")
    answer = rendered(submit(editor, data))
    assert answer.all_codes == {"form-errors": ["LimitExceeded"]}
    kept(answer, data)
    assert answer["form-errors"].children[0].attrs.get("role") == "alert"


def test_aws_denying_the_call(editor: Client, sim: Any, private_scope: IpamScope) -> None:
    sim.faults.update({"deny_actions": {"CreateIpamPool"}})
    before = aws_pool_ids(sim)
    data = form_data(private_scope, description="not mine", locale="us-east-1")
    answer = rendered(submit(editor, data))
    assert answer.all_codes == {"form-errors": ["UnauthorizedOperation"]}
    assert "not allowed" in answer.text("form-errors")
    assert answer.plan_note() == "warn-note"
    assert "above the form" in answer.text("pool-plan")
    kept(answer, data)
    assert new_pools(before, sim) == set()
    assert not IpamPool.objects.filter(client_token=data["client_token"]).exists()


@pytest.mark.parametrize(
    ("fault", "code"),
    [({"unreachable": True}, "Unreachable"), ({"throttle_rate": 1.0}, "RequestLimitExceeded")],
)
def test_aws_unavailable_keeps_the_input_and_a_retry_creates_one_pool(
    editor: Client, sim: Any, private_scope: IpamScope, fault: dict[str, Any], code: str
) -> None:
    before = aws_pool_ids(sim)
    data = form_data(private_scope, description="retry me", first_cidr="172.20.0.0/16")
    sim.faults.update(fault)
    answer = rendered(submit(editor, data))
    assert answer.all_codes == {"form-errors": [code]}
    assert "try again" in answer.text("form-errors").lower()
    kept(answer, data)
    assert answer.by_id("create-button") is not None
    assert not IpamPool.objects.filter(client_token=data["client_token"]).exists()

    sim.faults.update({"unreachable": False, "throttle_rate": 0.0})
    response = submit(editor, data)
    assert response.status_code == 302
    assert len(new_pools(before, sim)) == 1
    assert submit(editor, data)["Location"] == response["Location"]
    assert len(new_pools(before, sim)) == 1


def test_an_error_message_names_its_input(editor: Client, private_scope: IpamScope) -> None:
    answer = rendered(submit(editor, form_data(private_scope, locale="ap-south-1")))
    described = answer["id_locale"].attrs["aria-describedby"].split()
    assert "id_locale_error" in described
    assert answer["id_locale_error"].attrs["aria-live"] == "polite"


# --- check permissions (DryRun) ---------------------------------------------------------------


def permission_check(client: Client, data: dict[str, str]) -> Element:
    response = client.post(reverse("pool_check_permissions"), data, **HX)
    assert response.status_code == 200
    answer = Answer.of(response.content.decode())
    assert answer.by_id("pool-form") is None, "only the result is sent back"
    (note,) = [e for e in answer.elements if e.tag == "p"]
    return note


def test_check_permissions_allowed(editor: Client, sim: Any, private_scope: IpamScope) -> None:
    before = aws_pool_ids(sim)
    note = permission_check(editor, form_data(private_scope, description="dry"))
    assert note.attrs["class"] == "ok-note"
    assert new_pools(before, sim) == set()
    assert not PoolCreation.objects.exists()


def test_check_permissions_on_an_unfinished_form(editor: Client, private_scope: IpamScope) -> None:
    data = form_data(
        private_scope, allocation_min_netmask_length=28, allocation_max_netmask_length=24
    )
    assert permission_check(editor, data).attrs["class"] == "ok-note"


@pytest.mark.parametrize("fault", [{"deny": True}, {"deny_actions": {"CreateIpamPool"}}])
def test_check_permissions_denied(
    editor: Client, sim: Any, private_scope: IpamScope, fault: dict[str, Any]
) -> None:
    sim.faults.update(fault)
    note = permission_check(editor, form_data(private_scope))
    assert note.attrs["class"] == "warn-note"
    assert "not allowed" in note.text


def test_check_permissions_needs_a_scope(editor: Client, demo: Any) -> None:
    note = permission_check(editor, form_data(None))
    assert note.attrs["class"] == "warn-note"


def test_check_permissions_when_aws_is_unreachable(
    editor: Client, sim: Any, private_scope: IpamScope
) -> None:
    sim.faults.update({"unreachable": True})
    note = permission_check(editor, form_data(private_scope))
    assert note.attrs["class"] == "warn-note"
    assert "try again" in note.text.lower()
