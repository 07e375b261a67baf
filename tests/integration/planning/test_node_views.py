"""The node views of the plan page: add a child, edit, move and delete a subtree, each checked
live by a dry run and saved through the services."""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse
from netaddr import IPNetwork

from planning import services
from planning.forms import NodeForm
from planning.models import Plan, PlanNode
from planning.selectors import plan_spec
from planning.spec import Intent

from . import test_plan_views
from .conftest import node
from .test_plan_views import HTMX, page_of, row_html

# The plan and the users of test_plan_views.py, as fixtures of this module too.
bound_plan = test_plan_views.bound_plan
clients = test_plan_views.clients
editor = test_plan_views.editor
viewer = test_plan_views.viewer


def test_adding_a_node_whose_key_the_plan_has_is_refused_and_changes_nothing(make_plan):
    plan = make_plan(nodes=[node("a", prefix_length=16)])

    with pytest.raises(services.PlanError) as refused:
        services.node_add(plan, node("a", name="other", prefix_length=20))

    assert refused.value.code == "node_key_exists"
    assert list(PlanNode.objects.values_list("key", "name", "prefix_length")) == [("a", "a", 16)]


# --- the node views -----------------------------------------------------------------------


def state(plan: Plan) -> tuple:
    """What a refused or dry-run request must not change."""
    return (
        sorted(PlanNode.objects.filter(plan=plan).values_list("key", "name", "cidr", "intent")),
        Plan.objects.filter(pk=plan.pk).values_list("version", "findings").get(),
    )


def new_node(**fields) -> dict:
    return {"key": "n-0123456789ab", "intent": Intent.LENGTH, "version": "2", **fields}


def edit_data(plan: Plan, key: str, **changes) -> dict:
    """What the edit form of ``key`` posts as shown, with ``changes``."""
    form = editor_form(plan, key)
    return {**form, **changes}


def editor_form(plan: Plan, key: str) -> dict:
    spec = plan_spec(plan)
    current = next(n for n in spec.nodes if n.key == key)
    form = NodeForm(
        spec=spec, regions=["us-east-1"], scope_type="private", node=current, version=plan.version
    )
    data = {}
    for name in form.fields:
        value = form[name].value()
        data[name] = "" if value is None else str(value)
    for formset in form.formsets:
        data.update(
            {
                f"{formset.prefix}-TOTAL_FORMS": str(len(formset.forms)),
                f"{formset.prefix}-INITIAL_FORMS": str(len(formset.forms)),
            }
        )
        for index, row in enumerate(formset.forms):
            data[f"{formset.prefix}-{index}-key"] = row["key"].value() or ""
            data[f"{formset.prefix}-{index}-value"] = row["value"].value() or ""
    return data


def codes(html: str) -> list[str]:
    return re.findall(r'data-code="([a-z_]+)"', html)


# --- adding -------------------------------------------------------------------------------


def test_the_add_form_opens_in_the_row_with_a_new_key(bound_plan, editor):
    url = reverse("plan_node_add", args=[bound_plan.pk])

    partial = editor.get(url, {"parent": "aps1"}, **HTMX)
    page = editor.get(url, {"parent": "aps1"})

    assert partial.status_code == 200
    html = partial.content.decode()
    assert '<form id="node-form"' in html
    assert "<html" not in html
    assert re.search(r'name="key" value="n-[0-9a-f]{12}"', html)
    assert '<option value="aps1" selected>' in html
    # without JavaScript: the plan's page with the form open in the row of its parent
    assert re.search(r'id="slot-aps1">\s*<form id="node-form"', page.content.decode())


def test_adding_a_child_places_it_and_answers_with_the_plan(bound_plan, editor):
    url = reverse("plan_node_add", args=[bound_plan.pk])

    response = editor.post(
        url, new_node(name="ap-south-1-dev", parent="aps1", prefix_length="14"), **HTMX
    )

    assert response.status_code == 200
    assert response["HX-Retarget"] == "#plan-main"
    added = PlanNode.objects.get(plan=bound_plan, key="n-0123456789ab")
    assert added.parent.key == "aps1"
    assert added.cidr == IPNetwork("10.56.0.0/14")  # the lowest free /14 past the pinned /16
    html = response.content.decode()
    assert 'id="plan-notice"' in html
    assert "10.56.0.0/14" in html
    assert "10.56.0.0/14" in row_html(html, "n-0123456789ab")  # its parent opened to show it


def test_a_second_submit_of_the_add_form_adds_nothing(bound_plan, editor):
    url = reverse("plan_node_add", args=[bound_plan.pk])
    data = new_node(name="once", parent="aps1", prefix_length="20")

    first = editor.post(url, data)
    second = editor.post(url, data)
    third = editor.post(url, data, **HTMX)

    assert first.status_code == second.status_code == 302
    assert third.status_code == 200
    assert "added already" in third.content.decode()
    assert PlanNode.objects.filter(plan=bound_plan, name="once").count() == 1


def test_a_refused_add_keeps_the_input_and_writes_nothing(bound_plan, editor):
    url = reverse("plan_node_add", args=[bound_plan.pk])
    before = state(bound_plan)

    pinned = editor.post(
        url, new_node(name="pin <me>", intent=Intent.CIDR, cidr="10.48.0.1/16"), **HTMX
    )
    no_length = editor.post(url, new_node(name="x", prefix_length="33"))
    rules = editor.post(
        url, new_node(name="x", prefix_length="16", min_netmask="28", max_netmask="20")
    )
    hostile = editor.post(url, new_node(name="a\x00b", prefix_length="9" * 5000, parent="²"))

    assert state(bound_plan) == before
    html = pinned.content.decode()
    assert pinned["HX-Retarget"] == "#node-form"
    assert "cidr_host_bits_set" in codes(html)
    assert "did you mean 10.48.0.0/16" in html
    assert 'value="pin &lt;me&gt;"' in html
    assert 'value="10.48.0.1/16"' in html
    assert "netmask_out_of_range" in codes(no_length.content.decode())
    assert "netmask_min_gt_max" in codes(rules.content.decode())
    hostile_codes = codes(hostile.content.decode())
    assert "null_characters_not_allowed" in hostile_codes
    assert "invalid" in hostile_codes
    assert "invalid_choice" in hostile_codes


def test_the_need_and_its_growth(bound_plan, editor):
    url = reverse("plan_node_add", args=[bound_plan.pk])
    both = editor.post(
        url, new_node(name="x", intent=Intent.NEED, need_length="24", need_hosts="10")
    )
    assert "need_both" in codes(both.content.decode())
    huge = editor.post(url, new_node(name="x", intent=Intent.NEED, need_hosts=str(1 << 40)))
    assert "need_too_large" in codes(huge.content.decode())

    editor.post(
        url,
        new_node(
            name="vpcs",
            parent="aps1",
            intent=Intent.NEED,
            need_count="8",
            need_length="24",
            need_growth="25",
        ),
    )

    added = PlanNode.objects.get(plan=bound_plan, name="vpcs")
    assert (added.need_count, added.need_length, added.need_growth) == (8, 24, 25)
    assert added.cidr.prefixlen == 20  # 8 /24s and a quarter more: 2,560 addresses, a /20
    assert "8 \N{MULTIPLICATION SIGN} /24 +25%" in row_html(
        page_of(editor, bound_plan, f"?show={added.key}").content.decode(), added.key
    )


def test_live_checks_show_field_errors_and_a_dry_run_without_saving(bound_plan, editor):
    url = reverse("plan_node_add", args=[bound_plan.pk])
    before = state(bound_plan)

    typing = editor.post(
        url, {**new_node(name="", parent="aps1", prefix_length="14"), "_validate": "1"}, **HTMX
    )
    overlap = editor.post(
        url,
        {
            **new_node(name="clash", parent="aps1", intent=Intent.CIDR, cidr="10.48.0.0/20"),
            "_validate": "1",
        },
        **HTMX,
    )
    wrong = editor.post(
        url,
        {**new_node(name="x", intent=Intent.CIDR, cidr="10.48.0.1/20"), "_validate": "1"},
        **HTMX,
    )

    assert state(bound_plan) == before
    html = typing.content.decode()
    assert 'id="id_name_error" aria-live="polite" hx-swap-oob="innerHTML"></div>' in html  # not yet
    assert 'id="node-dry"' in html
    assert 'hx-swap-oob="true"' in html
    assert "It would be <code>10.56.0.0/14</code>" in html
    assert "node_overlaps_sibling" in codes(overlap.content.decode())
    assert "cidr_host_bits_set" in codes(wrong.content.decode())
    assert "It would be" not in wrong.content.decode()


def test_a_locale_must_be_an_operating_region(bound_plan, editor):
    url = reverse("plan_node_add", args=[bound_plan.pk])
    response = editor.post(url, new_node(name="x", prefix_length="16", locale="mars-north-1"))
    assert "invalid_choice" in codes(response.content.decode())
    editor.post(url, new_node(name="in-west", prefix_length="16", locale="us-west-2"))
    assert PlanNode.objects.get(plan=bound_plan, name="in-west").locale == "us-west-2"


# --- editing ------------------------------------------------------------------------------


def test_resizing_so_it_cannot_grow_in_place_says_renumbering_is_needed(bound_plan, editor):
    url = reverse("plan_node_edit", args=[bound_plan.pk, "stgdata"])
    data = edit_data(bound_plan, "stgdata", prefix_length="19")

    dry = editor.post(url, {**data, "_validate": "1"}, **HTMX)
    assert "renumbering_needed" in codes(dry.content.decode())
    saved = editor.post(url, data, **HTMX)

    html = saved.content.decode()
    assert saved["HX-Retarget"] == "#plan-main"
    panel = re.search(r'id="findings".*?</section>', html, re.S).group(0)
    assert 'data-code="renumbering_needed"' in panel
    assert "data-repack" in panel  # the options, and the repack button
    node = PlanNode.objects.get(plan=bound_plan, key="stgdata")
    assert node.prefix_length == 19
    assert node.cidr == IPNetwork("10.8.0.0/20")


def test_pinning_a_cidr_over_a_sibling_is_a_finding(bound_plan, editor):
    url = reverse("plan_node_edit", args=[bound_plan.pk, "stgweb"])
    data = edit_data(bound_plan, "stgweb", intent=Intent.CIDR, cidr="10.8.0.0/20")

    response = editor.post(url, data, **HTMX)

    panel = re.search(r'id="findings".*?</section>', response.content.decode(), re.S).group(0)
    assert 'data-code="node_overlaps_sibling" data-node="stgweb"' in panel
    assert PlanNode.objects.get(plan=bound_plan, key="stgweb").intent == Intent.CIDR


def test_an_edit_posted_against_an_older_version_keeps_what_others_changed(bound_plan, editor):
    url = reverse("plan_node_edit", args=[bound_plan.pk, "stg"])
    shown = edit_data(bound_plan, "stg")  # the form as opened
    services.node_update(bound_plan, "stg", name="renamed-meanwhile")

    response = editor.post(url, {**shown, "description": "mine"}, **HTMX)

    node = PlanNode.objects.get(plan=bound_plan, key="stg")
    assert node.name == "renamed-meanwhile"  # the other edit stays
    assert node.description == "mine"
    assert "had changed since the form was opened" in response.content.decode()


def test_an_edit_of_a_node_removed_meanwhile_says_so_and_changes_nothing(bound_plan, editor):
    url = reverse("plan_node_edit", args=[bound_plan.pk, "stgweb"])
    data = edit_data(bound_plan, "stgweb", name="too late")
    services.node_delete(bound_plan, "stgweb")
    before = state(bound_plan)

    htmx = editor.post(url, data, **HTMX)
    plain = editor.post(url, data)

    assert state(bound_plan) == before
    for response in (htmx, plain):
        assert response.status_code == 200
        assert "no longer in the plan" in response.content.decode()
    assert editor.get(url).status_code == 404


def test_an_unchanged_edit_changes_nothing(bound_plan, editor):
    before = state(bound_plan)
    response = editor.post(
        reverse("plan_node_edit", args=[bound_plan.pk, "stg"]), edit_data(bound_plan, "stg")
    )
    assert response.status_code == 302
    assert state(bound_plan) == before


def test_tags_rows_and_the_name_tag(bound_plan, editor):
    url = reverse("plan_node_edit", args=[bound_plan.pk, "stg"])
    data = edit_data(bound_plan, "stg")

    more = editor.post(url, {**data, "_rows": "tag"}, **HTMX)
    assert 'name="tag-0-key"' in more.content.decode()
    assert "<form" not in more.content.decode()
    tagged = {
        **data,
        "tag-TOTAL_FORMS": "2",
        "tag-0-key": "team",
        "tag-0-value": "netops",
        "tag-1-key": "Name",
        "tag-1-value": "x",
    }
    refused = editor.post(url, tagged)
    assert "tag_name_is_the_name" in codes(refused.content.decode())
    reserved = editor.post(url, {**tagged, "tag-1-key": "aws:x"})
    assert "tag_key_reserved" in codes(reserved.content.decode()) or "tag_reserved_prefix" in codes(
        reserved.content.decode()
    )

    editor.post(url, {**tagged, "tag-1-key": "cost", "tag-1-value": "42"})
    assert PlanNode.objects.get(plan=bound_plan, key="stg").tags == {"team": "netops", "cost": "42"}


def test_a_service_refusal_lands_next_to_its_field(bound_plan, editor, monkeypatch):
    def refuse(*args, **kwargs):
        raise services.PlanError("No.", field="name", code="refused_here")

    monkeypatch.setattr(services, "node_update", refuse)
    data = edit_data(bound_plan, "stg", name="other")
    response = editor.post(reverse("plan_node_edit", args=[bound_plan.pk, "stg"]), data, **HTMX)

    assert response["HX-Retarget"] == "#node-form"
    assert re.search(
        r'id="id_name_error"[^>]*><p data-code="refused_here">', response.content.decode()
    )


# --- moving and deleting ------------------------------------------------------------------


def test_moving_a_node_places_it_in_its_new_parent(bound_plan, editor):
    url = reverse("plan_node_move", args=[bound_plan.pk, "stgweb"])
    form = editor.get(url, **HTMX).content.decode()
    assert 'value="stgweb"' not in form  # not under itself
    assert '<option value="stg" selected>' in form

    dry = editor.post(url, {"parent": "aps1", "version": "2", "_validate": "1"}, **HTMX)
    assert "It would be" in dry.content.decode()
    response = editor.post(url, {"parent": "aps1", "version": "2"}, **HTMX)

    moved = PlanNode.objects.get(plan=bound_plan, key="stgweb")
    assert moved.parent.key == "aps1"
    assert moved.cidr in IPNetwork("10.48.0.0/12")
    assert "Moved staging-web under ap-south-1" in response.content.decode()


def test_a_node_cannot_move_under_itself_nor_a_bound_one_at_all(bound_plan, editor):
    before = state(bound_plan)
    inside = editor.post(
        reverse("plan_node_move", args=[bound_plan.pk, "stg"]), {"parent": "stgweb"}
    )
    bound = editor.post(
        reverse("plan_node_move", args=[bound_plan.pk, "use1"]), {"parent": "aps1"}, **HTMX
    )
    assert "invalid_choice" in codes(inside.content.decode())
    assert "bound_cannot_move" in codes(bound.content.decode())
    assert bound["HX-Retarget"] == "#node-move"
    assert state(bound_plan) == before


def test_deleting_a_subtree_after_a_confirmation_that_counts_it(bound_plan, editor):
    url = reverse("plan_node_delete", args=[bound_plan.pk, "stg"])
    ask = editor.get(url, **HTMX).content.decode()
    assert '<strong id="delete-count">3 nodes</strong>' in ask

    response = editor.post(url, {"version": "2"}, **HTMX)

    assert not PlanNode.objects.filter(
        plan=bound_plan, key__in=["stg", "stgweb", "stgdata"]
    ).exists()
    assert PlanNode.objects.filter(plan=bound_plan).count() == 4
    assert "Deleted us-east-1-staging and 2 below it" in response.content.decode()
    again = editor.post(url, {"version": "2"}, **HTMX)
    assert "no longer in the plan" in again.content.decode()


def test_the_bound_node_says_its_pool_stays_in_aws(bound_plan, editor):
    ask = editor.get(reverse("plan_node_delete", args=[bound_plan.pk, "use1"]), **HTMX)
    assert "stays in AWS" in ask.content.decode()


def test_node_forms_need_the_change_permission(bound_plan, viewer):
    for name in ("plan_node_edit", "plan_node_move", "plan_node_delete"):
        url = reverse(name, args=[bound_plan.pk, "stg"])
        assert viewer.get(url).status_code == 403
        assert viewer.post(url, {"parent": "", "name": "x"}).status_code == 403
    assert (
        viewer.post(
            reverse("plan_node_add", args=[bound_plan.pk]), new_node(name="x", prefix_length="16")
        ).status_code
        == 403
    )
    assert not PlanNode.objects.filter(plan=bound_plan, name="x").exists()


def test_the_seen_snapshot_may_be_garbage(bound_plan, editor):
    data = edit_data(bound_plan, "stg", description="d")
    for seen in ("", "{", "[1, 2]", json.dumps({"name": 5}), "\x00"):
        editor.post(reverse("plan_node_edit", args=[bound_plan.pk, "stg"]), {**data, "seen": seen})
    assert PlanNode.objects.get(plan=bound_plan, key="stg").description == "d"
