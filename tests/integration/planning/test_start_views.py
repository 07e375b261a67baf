"""Starting a plan in the app: the four ways, the empty plan's form, the template wizard with
its live preview, and who may do what. Errors are asserted by code, next to their field."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from netaddr import IPNetwork

from planning import services, start_forms, wizard
from planning.models import Plan, PlanNode
from planning.selectors import plan_spec
from planning.spec import Tree
from pools.models import Ipam, IpamPool, IpamScope, Reservation
from pools.sync import sync_all
from tests.integration.app.conftest import (  # noqa: F401 (autouse fixtures of the app's tests)
    fast_password_hashing,
    no_retry_delay,
    shared_service_models,
)

HX = {"HTTP_HX_REQUEST": "true"}


def user_in(django_user_model: Any, group: str, name: str) -> Client:
    user = django_user_model.objects.create_user(name)
    user.groups.add(Group.objects.get(name=group))
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def editor(demo, django_user_model) -> Client:
    return user_in(django_user_model, "IPAM editors", "editor")


@pytest.fixture
def viewer(demo, django_user_model) -> Client:
    return user_in(django_user_model, "IPAM viewers", "viewer")


def pool(name: str) -> IpamPool:
    return IpamPool.objects.get(name=name)


def codes(response: Any, field: str, form: str = "form") -> set[str]:
    errors = response.context[form].errors.as_data()
    return {e.code for e in errors.get(field, [])}


def place(scope: IpamScope, **fields: Any) -> dict[str, Any]:
    return {
        "ipam": scope.ipam.ipam_id,
        "scope": scope.scope_id,
        "address_family": "ipv4",
        "name": "growth",
        "space": "172.16.0.0/12",
        "parent_pool": "",
        "description": "",
        **fields,
    }


def writes() -> tuple[int, int, int]:
    return Plan.objects.count(), PlanNode.objects.count(), Reservation.objects.count()


PAGES = ["plan_new", "plan_wizard", "plan_clone"]


# --- who may ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", PAGES)
def test_a_viewer_may_neither_open_nor_post_the_start_forms(viewer, private_scope, name):
    assert viewer.get(reverse(name)).status_code == 403
    before = writes()

    response = viewer.post(reverse(name), place(private_scope))

    assert response.status_code == 403
    assert writes() == before


@pytest.mark.parametrize("name", PAGES)
def test_an_anonymous_visitor_is_sent_to_log_in(client, demo, name):
    response = client.post(reverse(name), {"name": "x"})

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]
    assert not Plan.objects.exists()


# --- the ways to start and the empty plan ------------------------------------------------------


def test_the_new_plan_page_offers_four_ways_and_prefills_the_only_ipam(
    editor, private_scope, django_assert_max_num_queries
):
    with django_assert_max_num_queries(12):
        response = editor.get(reverse("plan_new"))

    assert response.status_code == 200
    page = response.content.decode()
    for name in ("plan_wizard", "plan_clone", "plan_upload"):
        assert f'href="{reverse(name)}"' in page
    assert 'href="#empty-plan"' in page
    form = response.context["form"]
    assert form.initial["scope"] == private_scope
    assert form.initial["ipam"] == private_scope.ipam
    assert pool("corporate").pool_id in page  # the scope's pools, to grow under


def test_an_empty_plan_is_created_with_its_space_and_shown(editor, private_scope):
    response = editor.post(reverse("plan_new"), place(private_scope, description="2027"))

    plan = Plan.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("plan_detail", args=[plan.pk])
    assert (plan.name, plan.space, plan.description) == ("growth", ["172.16.0.0/12"], "2027")
    assert (plan.ipam, plan.scope, plan.address_family) == (
        private_scope.ipam,
        private_scope,
        "ipv4",
    )
    assert plan.created_by.username == "editor"
    assert not plan.nodes.exists()
    assert plan.is_validated


def test_an_empty_plan_can_grow_under_a_live_pool(editor, private_scope):
    corporate = pool("corporate")

    response = editor.post(
        reverse("plan_new"), place(private_scope, space="", parent_pool=corporate.pool_id)
    )

    assert response.status_code == 302
    plan = Plan.objects.get()
    assert (plan.parent_pool, plan.space) == (corporate, [])


def test_several_cidrs_make_the_space(editor, private_scope):
    editor.post(reverse("plan_new"), place(private_scope, space="172.16.0.0/12, 192.168.0.0/16"))

    assert Plan.objects.get().space == ["172.16.0.0/12", "192.168.0.0/16"]


@pytest.mark.parametrize(
    ("space", "parent", "code"),
    [
        ("10.0.0.1/8", "", "cidr_host_bits_set"),
        ("10.0.0.0", "", "cidr_invalid"),
        ("fd00::/8", "", "cidr_wrong_family"),
        ("10.0.0.0/8 10.1.0.0/16", "", "space_overlaps"),
        ("", "", "space_required"),
        ("172.16.0.0/12", "corporate", "space_with_parent_pool"),
        (", ".join(f"10.{i}.0.0/16" for i in range(51)), "", "space_too_many"),
    ],
)
def test_a_bad_space_is_refused_next_to_it_with_the_input_kept(
    editor, private_scope, space, parent, code
):
    parent_id = pool(parent).pool_id if parent else ""

    response = editor.post(
        reverse("plan_new"), place(private_scope, space=space, parent_pool=parent_id)
    )

    assert response.status_code == 200
    assert codes(response, "space") == {code}
    assert response.context["form"]["space"].value() == space
    assert not Plan.objects.exists()


def test_a_host_address_as_space_suggests_its_network(editor, private_scope):
    response = editor.post(reverse("plan_new"), place(private_scope, space="10.0.0.1/8"))

    errors = response.context["form"].errors.as_data()["space"]
    assert "10.0.0.0/8" in errors[0].messages[0]
    assert 'id="id_space_error"' in response.content.decode()


def test_a_name_the_ipam_has_already_is_refused(editor, private_scope, make_plan):
    make_plan("growth")

    response = editor.post(reverse("plan_new"), place(private_scope))

    assert codes(response, "name") == {"plan_name_taken"}
    assert Plan.objects.count() == 1


def test_a_name_taken_between_the_check_and_the_insert_is_said_at_the_name(
    editor, private_scope, make_plan, monkeypatch
):
    make_plan("growth")
    monkeypatch.setattr(start_forms, "_taken", lambda ipam, name: False)

    response = editor.post(reverse("plan_new"), place(private_scope))

    assert response.status_code == 200
    assert codes(response, "name") == {"plan_name_taken"}
    assert Plan.objects.count() == 1


def test_a_scope_of_another_ipam_is_refused(editor, private_scope, sim):
    sim.call("CreateIpam", Description="other", OperatingRegions=[{"RegionName": "us-east-1"}])
    sync_all()
    other = Ipam.objects.exclude(pk=private_scope.ipam_id).get()

    response = editor.post(reverse("plan_new"), place(private_scope, ipam=other.ipam_id))

    assert codes(response, "scope") == {"scope_other_ipam"}
    assert not Plan.objects.exists()


def test_a_parent_pool_of_another_family_or_scope_is_no_choice(editor, private_scope):
    for other in (pool("ula-v6").pool_id, "ipam-pool-0123456789abcdef0", "\x00"):
        response = editor.post(
            reverse("plan_new"), place(private_scope, space="", parent_pool=other)
        )
        assert codes(response, "parent_pool") == {"invalid_choice"}, other
    assert not Plan.objects.exists()


def test_live_validation_answers_a_partial_and_writes_nothing(
    editor, private_scope, django_assert_max_num_queries
):
    data = place(private_scope, space="10.0.0.1/8", name="", _live="space")

    with django_assert_max_num_queries(8):
        response = editor.post(reverse("plan_new"), data, **HX)

    page = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in page
    assert 'id="id_space_error"' in page
    assert 'data-code="cidr_host_bits_set"' in page
    assert 'data-code="required"' not in page  # a name not typed yet is no error yet
    assert 'id="place-part"' not in page
    assert not Plan.objects.exists()


def test_choosing_another_family_offers_that_familys_pools(editor, private_scope):
    data = place(private_scope, address_family="ipv6", _live="address_family")

    page = editor.post(reverse("plan_new"), data, **HX).content.decode()

    assert 'id="place-part" hx-swap-oob="true"' in page
    assert pool("ula-v6").pool_id in page
    assert pool("corporate").pool_id not in page


# --- the wizard ----------------------------------------------------------------------------------


def wizard_post(scope: IpamScope, preset: str = wizard.DEFAULT_PRESET, **fields: Any) -> dict:
    data = start_forms.wizard_data(wizard.PRESETS[preset], {"ipam": scope.ipam, "scope": scope})
    data = dict(data.lists())
    data.update({"name": "landing zone"}, **fields)
    return data


def test_the_wizard_opens_on_the_common_layout_with_its_preview(
    editor, private_scope, django_assert_max_num_queries
):
    with django_assert_max_num_queries(30):
        response = editor.get(reverse("plan_wizard"))

    assert response.status_code == 200
    preview = response.context["preview"]
    # The IPAM's 3 operating Regions x 3 environments x 4 VPCs, under one top node.
    assert preview.node_count == preview.placed == 1 + 3 + 9 + 36
    # 10.0.0.0/8 is the live corporate pool's: the first free private space is offered.
    assert response.context["form"]["space"].value() == "172.16.0.0/12"
    assert preview.rows[0].cidr == IPNetwork("172.16.0.0/13")
    assert {f.code for f in preview.errors} == {"pools_per_scope_exceeded"}
    page = response.content.decode()
    assert "172.16.0.0/13" in page
    assert 'data-code="required"' not in page
    assert not Plan.objects.exists()
    for key in wizard.PRESETS:
        assert f'href="?preset={key}"' in page


def test_the_ipv6_preset_previews_nibble_sizes(editor, private_scope):
    response = editor.get(reverse("plan_wizard"), {"preset": "ipv6-regions-vpcs"})

    form, preview = response.context["form"], response.context["preview"]
    assert form["address_family"].value() == "ipv6"
    assert preview.placed == preview.node_count == 3 + 12
    assert all(r.cidr.prefixlen % 4 == 0 for r in preview.rows)
    assert preview.lengths == (52, 56)
    assert not preview.errors


def test_the_live_preview_follows_the_input_and_writes_nothing(
    editor, private_scope, django_assert_max_num_queries
):
    data = wizard_post(private_scope, environments="prod, dev", _live="environments")
    before = writes()

    with django_assert_max_num_queries(30):
        response = editor.post(reverse("plan_wizard"), data, **HX)

    assert response.status_code == 200
    preview = response.context["preview"]
    assert preview.node_count == 1 + 3 + 6 + 24
    page = response.content.decode()
    assert 'id="wizard-preview" class="card preview"' in page
    assert 'hx-swap-oob="true"' in page
    assert 'id="level-2-length" hx-swap-oob="true"' in page
    assert writes() == before


def test_a_level_problem_is_shown_at_its_field_and_the_input_kept(editor, private_scope):
    data = wizard_post(private_scope, **{"level-3-pattern": "{region}-{zone}-vpc{n}"})

    response = editor.post(reverse("plan_wizard"), data)

    assert response.status_code == 200
    level = response.context["form"].levels.forms[3]
    assert {e.code for e in level.errors.as_data()["pattern"]} == {"pattern_placeholder_unknown"}
    assert level["pattern"].value() == "{region}-{zone}-vpc{n}"
    assert response.context["preview"] is None
    assert 'id="id_level-3-pattern_error"' in response.content.decode()
    assert not Plan.objects.exists()


def test_regions_are_the_ipams_operating_regions(editor, private_scope):
    data = wizard_post(private_scope, regions=["us-east-1", "ap-south-1"])

    response = editor.post(reverse("plan_wizard"), data)

    assert codes(response, "regions") == {"invalid_choice"}
    assert not Plan.objects.exists()


def test_a_level_is_added_under_the_last_without_javascript_and_with_it(editor, private_scope):
    data = wizard_post(private_scope, _action="add_level")

    page = editor.post(reverse("plan_wizard"), data)
    partial = editor.post(reverse("plan_wizard"), data, **HX)

    levels = page.context["form"].levels.forms
    assert len(levels) == 5
    assert levels[4]["dimension"].value() == wizard.UNIT  # numbered and environments are taken
    assert levels[4]["pattern"].value() == "{region}-{env}-vpc{n}-{unit}"
    assert 'id="wizard-levels" hx-swap-oob="true"' in partial.content.decode()
    assert "<html" not in partial.content.decode()
    assert not Plan.objects.exists()


def test_the_wizard_creates_the_plan_it_previewed(editor, private_scope):
    data = wizard_post(private_scope, environments="prod, dev")
    shown = editor.post(reverse("plan_wizard"), {**data, "_live": ""}, **HX).context["preview"]

    response = editor.post(reverse("plan_wizard"), data)

    plan = Plan.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("plan_detail", args=[plan.pk])
    rows = {n.name: n for n in PlanNode.objects.filter(plan=plan)}
    assert len(rows) == shown.node_count == 1 + 3 + 6 + 24
    assert {r.name: r.cidr for r in shown.rows} == {name: n.cidr for name, n in rows.items()}
    assert rows["us-west-2"].locale == "us-west-2"
    assert rows["us-west-2-dev"].locale == ""  # inherited
    assert rows["us-west-2-dev-vpc1"].parent == rows["us-west-2-dev"]
    assert rows["global"].spare_slots == 1
    assert plan.space == ["172.16.0.0/12"]
    assert not [f for f in plan.findings if f["severity"] == "error"]


def test_a_wizard_plan_grows_by_a_region_without_moving_a_stored_cidr(editor, private_scope):
    first = wizard_post(private_scope, regions=["us-east-1", "us-west-2"], environments="prod")
    editor.post(reverse("plan_wizard"), first)
    plan = Plan.objects.get()
    stored = {n.key: n for n in plan_spec(plan).nodes}
    template = wizard.Template(
        levels=wizard.PRESETS[wizard.DEFAULT_PRESET].template.levels,
        regions=("us-east-1", "us-west-2", "eu-west-1"),
        environments=("prod",),
    )

    merged = wizard.merge(wizard.expand(template), list(stored.values()))
    outcome = services.plan_replace_nodes(plan, merged)

    after = {n.key: n for n in plan_spec(outcome.plan).nodes}
    tree = Tree.of(after.values())
    for key, old in stored.items():
        new = after[key]
        if old.name == "global":  # sized to fit the Regions: grows in place
            assert new.cidr.first == old.cidr.first
            assert old.cidr in new.cidr
        else:
            assert new.cidr == old.cidr, old.name
    added = [n for n in after.values() if n.key not in stored]
    assert {n.name for n in added} == {
        "eu-west-1",
        "eu-west-1-prod",
        *(f"eu-west-1-prod-vpc{i}" for i in range(1, 5)),
    }
    assert all(n.cidr is not None for n in added)
    assert tree.locale(next(n.key for n in added if n.name == "eu-west-1-prod-vpc1")) == (
        "eu-west-1"
    )
    assert not [f for f in outcome.findings if f.is_error]
