"""The New pool page: who may open it, what it is prefilled with, and its live validation.

Live validation is a POST with ``HX-Request`` and ``_live=<the field that changed>``; the answer
holds only parts swapped out of band. Assertions are on error codes (``data-code``) and element
ids, not on wording.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse

from pools.models import IpamPool, IpamPoolAllocation, IpamScope, State
from tests.integration.app.pool_form_support import (
    HX,
    Answer,
    form_data,
    grant_add_pool,
    live,
)

ALWAYS_SWAPPED = {"form-errors", "pool-plan", "cidr-suggestion"}


@pytest.fixture
def viewer(client: Client, django_user_model: Any, demo: Any) -> Client:
    """A logged-in user who may read (an IPAM viewer) but not create."""
    user = django_user_model.objects.create_user("viewer")
    user.groups.add(Group.objects.get(name="IPAM viewers"))
    client.force_login(user)
    return client


@pytest.fixture
def public_scope(demo: Any) -> IpamScope:
    return IpamScope.objects.get(scope_type="public")


def pool(name: str) -> IpamPool:
    return IpamPool.objects.select_related("scope").get(name=name)


def page(client: Client, url: str) -> Answer:
    response = client.get(url)
    assert response.status_code == 200
    return Answer.of(response.content.decode())


# --- reaching the page ----------------------------------------------------------------------


def test_home_links_to_the_new_pool_page(editor: Client) -> None:
    assert f'href="{reverse("pool_new")}"' in editor.get(reverse("home")).content.decode()


def test_scope_page_links_to_a_new_pool_in_that_scope(
    editor: Client, private_scope: IpamScope
) -> None:
    html = editor.get(reverse("scope_detail", args=[private_scope.scope_id])).content.decode()
    assert f"{reverse('pool_new')}?scope={private_scope.scope_id}" in html


def test_pool_page_offers_to_add_a_child_pool(editor: Client) -> None:
    parent = pool("us-east-1-prod")
    html = editor.get(reverse("pool_detail", args=[parent.pool_id])).content.decode()
    assert f"{reverse('pool_new')}?source={parent.pool_id}" in html


def test_empty_form_has_a_client_token_and_no_errors(editor: Client) -> None:
    answer = page(editor, reverse("pool_new"))
    (token,) = answer.named("client_token")
    assert len(token.attrs["value"]) == 36
    assert answer.all_codes == {}
    (another,) = page(editor, reverse("pool_new")).named("client_token")
    assert another.attrs["value"] != token.attrs["value"]


def test_opened_from_a_scope_the_scope_is_chosen(editor: Client, private_scope: IpamScope) -> None:
    answer = page(editor, f"{reverse('pool_new')}?scope={private_scope.scope_id}")
    assert answer.selected("id_scope") == [private_scope.scope_id]
    regions = [o.attrs["value"] for o in answer["locale-options"].children]
    assert regions == ["us-east-1", "us-west-2", "eu-west-1"]
    sources = {o.attrs["value"] for o in answer["id_source_pool"].children} - {""}
    assert sources == set(
        IpamPool.objects.filter(scope=private_scope, address_family="ipv4").values_list(
            "pool_id", flat=True
        )
    )


def test_opened_from_a_pool_the_source_pool_is_prefilled(editor: Client) -> None:
    parent = pool("us-west-2-dev")
    answer = page(editor, f"{reverse('pool_new')}?source={parent.pool_id}")
    assert answer.selected("id_scope") == [parent.scope.scope_id]
    assert answer.selected("id_source_pool") == [parent.pool_id]
    assert answer["id_locale"].attrs["value"] == "us-west-2"
    assert "checked" in answer["id_address_family_0"].attrs  # ipv4
    assert answer.text("plan-depth") == "This pool would be at depth 4 of 10."
    assert answer["cidr-suggestion"].children, "the next free block is offered at once"


def test_opened_from_an_ipv6_pool_the_family_follows_it(editor: Client) -> None:
    parent = pool("ula-v6")
    answer = page(editor, f"{reverse('pool_new')}?source={parent.pool_id}")
    assert "checked" in answer["id_address_family_1"].attrs  # ipv6
    assert answer["id_locale"].attrs.get("value", "") == ""


def test_a_free_block_link_prefills_the_cidr(editor: Client) -> None:
    parent = pool("us-east-1-prod")
    answer = page(editor, f"{reverse('pool_new')}?source={parent.pool_id}&cidr=10.0.8.0/24")
    assert answer["id_first_cidr"].attrs["value"] == "10.0.8.0/24"


def test_unknown_source_and_scope_in_the_link_are_ignored(editor: Client) -> None:
    answer = page(editor, f"{reverse('pool_new')}?source=ipam-pool-nope&scope=ipam-scope-nope")
    assert answer.selected("id_scope") == []


def test_every_input_has_a_visible_label_and_describes_itself(
    editor: Client, public_scope: IpamScope
) -> None:
    """On a public-scope IPv6 form with a tag row in each list: every control shown."""
    data = form_data(public_scope, address_family="ipv6", tags={"Name": "x"})
    data.update({"arts-TOTAL_FORMS": "1", "arts-0-key": "env"})
    added = editor.post(reverse("pool_tag_rows", args=["arts"]), data)  # no JS
    answer = Answer.of(added.content.decode())
    assert answer.by_id("id_arts-1-key") is not None
    labels = [e for e in answer.elements if e.tag == "label"]
    labelled = {label.attrs.get("for") for label in labels}
    controls = [
        e
        for e in answer["pool-form"].children
        if e.tag in ("input", "select", "textarea") and e.attrs.get("type") != "hidden"
    ]
    assert len(controls) > 20
    for control in controls:
        name = control.attrs["name"]
        if "id" not in control.attrs:  # the Remove checkbox of a tag row
            assert any(control in label.children and label.text.strip() for label in labels), name
            continue
        assert control.attrs["id"] in labelled, f"{name} has no label"
        described = control.attrs.get("aria-describedby", "").split()
        assert f"id_{name}_error" in described, name
        for target in described:
            assert answer.by_id(target) is not None, f"{target} is missing"
    for region in answer.error_regions():
        assert region.attrs.get("aria-live") == "polite"


def test_live_validation_is_debounced_and_a_newer_request_replaces_an_older_one(
    editor: Client,
) -> None:
    form = page(editor, reverse("pool_new"))["pool-form"]
    assert form.attrs["hx-post"] == reverse("pool_validate")
    assert "input delay:" in form.attrs["hx-trigger"]
    assert form.attrs["hx-sync"] == "this:replace"
    assert form.attrs["hx-swap"] == "none", "answers only swap parts out of band"
    assert form.attrs["action"] == reverse("pool_new"), "the form works without JavaScript"


# --- who may open it ------------------------------------------------------------------------


def test_anonymous_users_are_sent_to_log_in(client: Client, private_scope: IpamScope) -> None:
    for response in (
        client.get(reverse("pool_new")),
        client.post(reverse("pool_new"), form_data(private_scope)),
        client.post(reverse("pool_validate"), form_data(private_scope, _live="scope"), **HX),
    ):
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


def test_users_without_the_permission_get_403(viewer: Client, private_scope: IpamScope) -> None:
    data = form_data(private_scope)
    assert viewer.get(reverse("pool_new")).status_code == 403
    assert viewer.post(reverse("pool_new"), data).status_code == 403
    assert (
        viewer.post(reverse("pool_validate"), {**data, "_live": "scope"}, **HX).status_code == 403
    )
    assert viewer.post(reverse("pool_tag_rows", args=["tag"]), data).status_code == 403
    assert viewer.post(reverse("pool_check_permissions"), data, **HX).status_code == 403
    assert IpamPool.objects.count() == 11


def test_users_without_the_permission_see_no_create_buttons(
    viewer: Client, private_scope: IpamScope
) -> None:
    parent = pool("us-east-1-prod")
    new = reverse("pool_new")
    for url, button in (
        (reverse("home"), f'href="{new}"'),
        (reverse("scope_detail", args=[private_scope.scope_id]), f"{new}?scope="),
        (reverse("pool_detail", args=[parent.pool_id]), f'href="{new}?source={parent.pool_id}"'),
    ):
        response = viewer.get(url)
        assert response.status_code == 200
        assert button not in response.content.decode(), url


# --- live validation: one rule each ---------------------------------------------------------

LONG = "k" * 129

RULES: list[tuple[str, dict[str, Any], str, str, str]] = [
    # (source pool name or "", form values, trigger, error region, code)
    (
        "",
        {"allocation_min_netmask_length": 28, "allocation_max_netmask_length": 24},
        "allocation_max_netmask_length",
        "id_allocation_min_netmask_length_error",
        "netmask_min_gt_max",
    ),
    (
        "",
        {"allocation_min_netmask_length": 33},
        "allocation_min_netmask_length",
        "id_allocation_min_netmask_length_error",
        "netmask_out_of_range",
    ),
    (
        "",
        {"address_family": "ipv6", "allocation_max_netmask_length": 129},
        "allocation_max_netmask_length",
        "id_allocation_max_netmask_length_error",
        "netmask_out_of_range",
    ),
    (
        "",
        {
            "allocation_min_netmask_length": 16,
            "allocation_max_netmask_length": 24,
            "allocation_default_netmask_length": 28,
        },
        "allocation_default_netmask_length",
        "id_allocation_default_netmask_length_error",
        "netmask_default_outside_range",
    ),
    ("", {"locale": "ap-south-1"}, "locale", "id_locale_error", "locale_not_operating"),
    ("", {"locale": "mars-1"}, "locale", "id_locale_error", "locale_invalid"),
    (
        "",
        {"locale": "us-east-1-bos-1"},
        "locale",
        "id_locale_error",
        "locale_local_zone_not_allowed",
    ),
    (
        "us-east-1-prod",
        {"locale": "us-west-2"},
        "locale",
        "id_locale_error",
        "locale_differs_from_source",
    ),
    ("", {"first_cidr": "10.0.0.1/16"}, "first_cidr", "id_first_cidr_error", "cidr_host_bits_set"),
    ("", {"first_cidr": "banana"}, "first_cidr", "id_first_cidr_error", "cidr_invalid"),
    ("", {"first_cidr": "10.0.0.0"}, "first_cidr", "id_first_cidr_error", "cidr_invalid"),
    ("", {"first_cidr": "fd00::/8"}, "first_cidr", "id_first_cidr_error", "cidr_wrong_family"),
    (
        "",
        {"first_cidr": "10.1.0.0/16"},
        "first_cidr",
        "id_first_cidr_error",
        "cidr_overlaps_top_level",
    ),
    (
        "us-east-1-prod",
        {"first_cidr": "10.0.1.0/24"},
        "first_cidr",
        "id_first_cidr_error",
        "cidr_overlaps_allocation",
    ),
    (
        "us-east-1-prod",
        {"first_cidr": "10.8.0.0/16"},
        "first_cidr",
        "id_first_cidr_error",
        "cidr_outside_pool_space",
    ),
    (
        "us-east-1-prod",
        {"first_cidr": "10.0.4.0/30"},
        "first_cidr",
        "id_first_cidr_error",
        "cidr_netmask_outside_pool_rules",
    ),
    (
        "us-east-1-prod",
        {"first_netmask_length": 30},
        "first_netmask_length",
        "id_first_netmask_length_error",
        "cidr_netmask_outside_pool_rules",
    ),
    (
        "us-east-1-prod",
        {"first_netmask_length": 33},
        "first_netmask_length",
        "id_first_netmask_length_error",
        "netmask_out_of_range",
    ),
    (
        "us-east-1-prod",
        {"first_cidr": "10.0.8.0/24", "first_netmask_length": 24},
        "first_netmask_length",
        "id_first_netmask_length_error",
        "cidr_and_netmask_given",
    ),
    (
        "",
        {"tags": {"aws:owner": "me"}},
        "tag-0-key",
        "id_tag-0-key_error",
        "tag_key_reserved",
    ),
    ("", {"tags": {LONG: "x"}}, "tag-0-key", "id_tag-0-key_error", "tag_key_too_long"),
    (
        "",
        {"tags": {"Name": "v" * 257}},
        "tag-0-value",
        "id_tag-0-value_error",
        "tag_value_too_long",
    ),
    (
        "",
        {
            "tags": {"Name": "a"},
            "tag-1-key": "Name",
            "tag-1-value": "b",
            "tag-TOTAL_FORMS": 2,
        },
        "tag-1-key",
        "tag-errors",
        "tag_key_duplicate",
    ),
    (
        "",
        {"arts-TOTAL_FORMS": 1, "arts-0-key": "aws:cloudformation", "arts-0-value": "x"},
        "arts-0-key",
        "id_arts-0-key_error",
        "tag_key_reserved",
    ),
    (
        "",
        {"source_resource_id": "vpc-0123456789abcdef0"},
        "source_resource_id",
        "id_source_resource_id_error",
        "source_resource_without_source_pool",
    ),
    (
        "us-east-1-prod",
        {"source_resource_id": "vpc-0123456789abcdef0", "source_resource_region": "us-west-2"},
        "source_resource_region",
        "id_source_resource_id_error",
        "source_resource_region_mismatch",
    ),
]


@pytest.mark.parametrize(
    ("source", "values", "trigger", "region", "code"),
    RULES,
    ids=[f"{rule[4]}-{rule[2]}" for rule in RULES],
)
def test_live_validation_reports_each_rule(
    editor: Client,
    private_scope: IpamScope,
    source: str,
    values: dict[str, Any],
    trigger: str,
    region: str,
    code: str,
) -> None:
    data = form_data(private_scope, source=pool(source) if source else None, **values)
    answer = live(editor, data, trigger)
    assert answer.codes(region) == [code]
    assert region in answer.oob_ids, "the error region is swapped in out of band"
    assert answer.all_codes == {region: [code]}, "no other field complains"
    assert answer.plan_note() == "warn-note"


@pytest.mark.parametrize(
    ("source", "values"),
    [
        ("", {}),
        (
            "",
            {
                "allocation_min_netmask_length": 32,
                "allocation_max_netmask_length": 32,
                "allocation_default_netmask_length": 32,
            },
        ),
        ("", {"address_family": "ipv6", "allocation_min_netmask_length": 48}),
        ("", {"locale": "eu-west-1", "first_cidr": "172.16.0.0/12"}),
        ("corporate", {"locale": "us-east-1", "first_cidr": "10.64.0.0/14"}),
        ("us-east-1-prod", {"locale": "us-east-1", "first_netmask_length": 20}),
        ("ula-v6", {"first_cidr": "fd00:ec2:1::/48"}),
        ("", {"tags": {"Name": "ok", "team": ""}}),
    ],
)
def test_live_validation_accepts_what_aws_accepts(
    editor: Client, private_scope: IpamScope, source: str, values: dict[str, Any]
) -> None:
    answer = live(
        editor,
        form_data(private_scope, source=pool(source) if source else None, **values),
        "description",
    )
    assert answer.all_codes == {}
    assert answer.plan_note() == "ok-note"


def test_fixing_an_error_clears_it(editor: Client, private_scope: IpamScope) -> None:
    data = form_data(
        private_scope, allocation_min_netmask_length=28, allocation_max_netmask_length=24
    )
    assert live(editor, data, "allocation_max_netmask_length").field_codes(
        "allocation_min_netmask_length"
    ) == ["netmask_min_gt_max"]
    data["allocation_max_netmask_length"] = "28"
    answer = live(editor, data, "allocation_max_netmask_length")
    assert "id_allocation_min_netmask_length_error" in answer.oob_ids
    assert answer.field_codes("allocation_min_netmask_length") == []
    assert answer.all_codes == {}


def test_no_required_errors_while_typing(editor: Client, demo: Any) -> None:
    data = form_data(None, address_family="")
    del data["client_token"]
    answer = live(editor, data, "description")
    assert answer.all_codes == {}
    assert answer.text("plan-depth") == "—"


def test_a_source_pool_that_is_not_usable(editor: Client, private_scope: IpamScope) -> None:
    parent = pool("us-east-1-dev")
    IpamPool.objects.filter(pk=parent.pk).update(state=State.CREATE_IN_PROGRESS)
    answer = live(
        editor, form_data(private_scope, source=parent, locale="us-east-1"), "source_pool"
    )
    assert answer.field_codes("source_pool") == ["source_pool_not_usable"]


def test_a_source_pool_at_the_depth_limit(editor: Client, private_scope: IpamScope) -> None:
    parent = pool("us-east-1-dev")
    IpamPool.objects.filter(pk=parent.pk).update(depth=10)
    answer = live(
        editor, form_data(private_scope, source=parent, locale="us-east-1"), "source_pool"
    )
    assert answer.field_codes("source_pool") == ["pool_depth_exceeded"]
    assert answer.text("plan-depth") == "This pool would be at depth 11 of 10."


def test_a_source_pool_from_another_scope_is_not_a_choice(
    editor: Client, public_scope: IpamScope
) -> None:
    data = form_data(public_scope)
    data["source_pool"] = pool("corporate").pool_id
    answer = live(editor, data, "locale")
    assert answer.field_codes("source_pool") == ["invalid_choice"]


def test_a_source_pool_without_provisioned_space(editor: Client, private_scope: IpamScope) -> None:
    parent = pool("us-east-1-dev")
    parent.cidrs.update(state="pending-provision")
    answer = live(
        editor, form_data(private_scope, source=parent, first_cidr="10.4.0.0/24"), "first_cidr"
    )
    assert answer.field_codes("first_cidr") == ["cidr_outside_pool_space"]


@pytest.mark.parametrize(
    ("source", "depth"), [("", 1), ("corporate", 2), ("us-west-2", 3), ("us-west-2-prod", 4)]
)
def test_the_plan_shows_the_depth(
    editor: Client, private_scope: IpamScope, source: str, depth: int
) -> None:
    data = form_data(private_scope, source=pool(source) if source else None)
    answer = live(editor, data, "source_pool")
    assert answer.text("plan-depth") == f"This pool would be at depth {depth} of 10."


def test_choosing_a_source_pool_adopts_its_locale(editor: Client, private_scope: IpamScope) -> None:
    answer = live(editor, form_data(private_scope, source=pool("eu-west-1-dev")), "source_pool")
    assert answer.parts == {"locale-part", "first-cidr-part"}
    assert answer["id_locale"].attrs["value"] == "eu-west-1"
    assert answer.all_codes == {}


def test_choosing_a_source_pool_keeps_a_locale_already_typed(
    editor: Client, private_scope: IpamScope
) -> None:
    data = form_data(private_scope, source=pool("eu-west-1-dev"), locale="us-east-1")
    answer = live(editor, data, "source_pool")
    assert answer["id_locale"].attrs["value"] == "us-east-1"
    assert answer.field_codes("locale") == ["locale_differs_from_source"]


@pytest.mark.parametrize(
    ("values", "offered"),
    [
        ({}, "10.0.2.0/24"),  # the source pool's default size
        ({"first_netmask_length": 20}, "10.0.16.0/20"),
        ({"first_cidr": "10.0.1.0/24"}, "10.0.2.0/24"),  # a taken block: the next free one
        ({"first_cidr": "10.0.0.0/22"}, "10.0.4.0/22"),
    ],
)
def test_the_next_free_cidr_is_offered(
    editor: Client, private_scope: IpamScope, values: dict[str, Any], offered: str
) -> None:
    data = form_data(private_scope, source=pool("us-east-1-prod"), **values)
    answer = live(editor, data, next(iter(values), "source_pool"))
    (button,) = [e for e in answer["cidr-suggestion"].children if e.tag == "button"]
    assert button.attrs["data-fill"] == "id_first_cidr"
    assert button.attrs["data-value"] == offered
    assert offered in answer.text("cidr-suggestion")


def test_no_free_block_of_the_size_asked_for(editor: Client, private_scope: IpamScope) -> None:
    parent = pool("us-east-1-prod")  # 10.0.0.0/14, with 10.0.0.0/24 and 10.0.1.0/24 taken
    for number, cidr in enumerate(("10.1.0.0/16", "10.2.0.0/15")):
        IpamPoolAllocation.objects.create(
            allocation_id=f"ipam-pool-alloc-test{number}", pool=parent, cidr=cidr
        )
    data = form_data(private_scope, source=parent, first_netmask_length=16)
    answer = live(editor, data, "first_netmask_length")
    assert answer.field_codes("first_netmask_length") == ["cidr_not_available"]
    assert not [e for e in answer["cidr-suggestion"].children if e.tag == "button"]


def test_the_locale_choices_come_from_the_scope(editor: Client, private_scope: IpamScope) -> None:
    private_scope.ipam.operating_regions = ["us-east-1", "ap-southeast-2"]
    private_scope.ipam.save()
    answer = live(editor, form_data(private_scope), "scope")
    regions = [o.attrs["value"] for o in answer["locale-options"].children]
    assert regions == ["us-east-1", "ap-southeast-2"]
    assert live(editor, form_data(private_scope, locale="ap-southeast-2"), "locale").all_codes == {}


def test_public_members_are_hidden_outside_the_public_scope(
    editor: Client, private_scope: IpamScope
) -> None:
    answer = live(editor, form_data(private_scope), "scope")
    assert answer.by_id("public-reason") is not None
    for name in ("public_ip_source", "aws_service", "publicly_advertisable"):
        assert answer.named(name) == []


@pytest.mark.parametrize(
    ("family", "ip_source", "advertisable"),
    [("ipv4", "", False), ("ipv6", "", True), ("ipv6", "byoip", True), ("ipv6", "amazon", False)],
)
def test_publicly_advertisable_applies_only_to_byoip_ipv6(
    editor: Client, public_scope: IpamScope, family: str, ip_source: str, advertisable: bool
) -> None:
    data = form_data(public_scope, address_family=family, public_ip_source=ip_source)
    answer = live(editor, data, "scope")
    assert answer.named("public_ip_source")
    assert answer.named("aws_service")
    (select,) = answer.named("publicly_advertisable")
    assert ("disabled" not in select.attrs) is advertisable
    helptext = answer.text("id_publicly_advertisable_helptext")
    assert ("IPv6" in helptext) is not advertisable


def test_the_netmask_length_applies_only_with_a_source_pool(
    editor: Client, private_scope: IpamScope
) -> None:
    answer = live(editor, form_data(private_scope), "scope")
    assert [e.attrs["type"] for e in answer.named("first_netmask_length")] == ["hidden"]
    answer = live(editor, form_data(private_scope, source=pool("corporate")), "source_pool")
    assert [e.attrs["type"] for e in answer.named("first_netmask_length")] == ["number"]


# --- live validation: what it swaps, and what it costs --------------------------------------


@pytest.mark.parametrize(
    ("trigger", "parts"),
    [
        ("scope", {"crumbs", "source-pool-part", "locale-part", "public-part", "first-cidr-part"}),
        ("address_family", {"source-pool-part", "public-part"}),
        ("source_pool", {"locale-part", "first-cidr-part"}),
        ("public_ip_source", {"advertisable-part"}),
        ("locale", set()),
        ("description", set()),
        ("allocation_min_netmask_length", set()),
        ("first_cidr", set()),
        ("first_netmask_length", set()),
        ("tag-0-key", set()),
        ("", set()),
    ],
)
def test_dependent_parts_are_rendered_only_for_their_key_field(
    editor: Client, public_scope: IpamScope, trigger: str, parts: set[str]
) -> None:
    data = form_data(public_scope, tags={"Name": "x"}, first_cidr="8.8.0.0/16")
    answer = live(editor, data, trigger)
    assert answer.parts == parts
    assert answer.oob_ids >= ALWAYS_SWAPPED
    if trigger:
        assert answer.named(trigger) == [], "the field being typed in is never replaced"


def test_changing_the_scope_drops_a_source_pool_of_the_old_scope(
    editor: Client, public_scope: IpamScope
) -> None:
    data = form_data(source=pool("us-east-1-prod"))
    data["scope"] = public_scope.scope_id
    answer = live(editor, data, "scope")
    assert "source-pool-part" in answer.parts
    assert answer.selected("id_source_pool") == []
    assert answer.all_codes == {}


def test_changing_the_family_drops_a_source_pool_of_the_other_family(
    editor: Client, private_scope: IpamScope
) -> None:
    data = form_data(private_scope, source=pool("corporate"), address_family="ipv6")
    answer = live(editor, data, "address_family")
    assert "source-pool-part" in answer.parts
    options = answer["id_source_pool"].children
    assert {o.attrs["value"] for o in options} == {"", pool("ula-v6").pool_id}
    assert answer.all_codes == {}


def test_live_validation_reads_only_the_database(
    editor: Client,
    private_scope: IpamScope,
    sim: Any,
    monkeypatch: pytest.MonkeyPatch,
    django_assert_max_num_queries: Any,
) -> None:
    calls: list[str] = []
    handle = sim.handle
    monkeypatch.setattr(sim, "handle", lambda *args: calls.append("call") or handle(*args))
    sim.faults.update({"unreachable": True})
    data = form_data(
        private_scope,
        source=pool("us-east-1-prod"),
        locale="us-east-1",
        first_cidr="10.0.1.0/24",
        tags={"Name": "web"},
    )
    # session, user, permissions (4); scope and source pool, looked up once each for the
    # plan and once by their fields (4); the source pool's CIDRs and allocations (2); how many
    # source pools the scope offers, and those choices re-rendered for the new scope (2); how
    # many pools the scope has, for AWS's quota (1); the reservation ledger (1).
    with django_assert_max_num_queries(14):
        answer = live(editor, data, "scope")
    assert answer.field_codes("first_cidr") == ["cidr_overlaps_allocation"]
    assert answer.parts == {
        "crumbs",
        "source-pool-part",
        "locale-part",
        "public-part",
        "first-cidr-part",
    }
    assert calls == []


# --- CSRF -------------------------------------------------------------------------------------


def test_live_validation_needs_the_csrf_token(
    django_user_model: Any, private_scope: IpamScope
) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(grant_add_pool(django_user_model.objects.create_user("csrf")))
    data = form_data(private_scope, allocation_min_netmask_length=28)
    refused = client.post(reverse("pool_validate"), {**data, "_live": "locale"}, **HX)
    assert refused.status_code == 403

    html = client.get(reverse("pool_new")).content.decode()
    body = next(e for e in Answer.of(html).elements if e.tag == "body")
    token = body.attrs["hx-headers"].split('"x-csrftoken": "')[1].split('"')[0]
    accepted = client.post(
        reverse("pool_validate"), {**data, "_live": "locale"}, HTTP_X_CSRFTOKEN=token, **HX
    )
    assert accepted.status_code == 200
    checked = client.post(reverse("pool_check_permissions"), data, **HX)
    assert checked.status_code == 403
    assert client.post(reverse("pool_new"), data).status_code == 403
    assert IpamPool.objects.count() == 11


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"description": "bad\x01text"}, "description"),
        ({"tag-0-key": "team\x0b"}, "tag-0-key"),
        ({"tag-0-value": "net\ufffeops"}, "tag-0-value"),
    ],
)
def test_characters_aws_cannot_carry_are_refused_next_to_their_field(
    editor: Client, private_scope: IpamScope, values: dict[str, str], field: str
) -> None:
    data = form_data(private_scope, tags={"Name": "x"})
    data.update({"tag-0-key": "Name", "tag-0-value": "x", **values})

    response = editor.post(reverse("pool_new"), data)

    assert response.status_code == 200, "the form comes back, nothing is created"
    answer = Answer.of(response.content.decode())
    assert answer.field_codes(field) == ["text_not_xml_safe"]
