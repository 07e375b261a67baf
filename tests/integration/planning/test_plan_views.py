"""The plan pages: the list, a plan's page (tree, findings, headroom, map), validate, repack,
settings, delete and the diff; who may see and do what; and that a GET writes nothing."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from netaddr import IPNetwork

from planning import packer, selectors, services
from planning.models import Plan, PlanNode
from planning.spec import Intent, NodeSpec
from pools.models import IpamPool, Reservation

from .conftest import node

WRITE = re.compile(r"\s*(INSERT|UPDATE|DELETE)\b", re.IGNORECASE)
HTMX = {"HTTP_HX_REQUEST": "true"}


# --- fixtures shared with the node views' tests -------------------------------------------


@pytest.fixture
def clients(db, demo, django_user_model) -> dict[str, Client]:
    """An anonymous visitor, an IPAM viewer, an IPAM editor and a user of no group."""
    made = {"anonymous": Client()}
    for role, group in (("viewer", "IPAM viewers"), ("editor", "IPAM editors"), ("nobody", "")):
        user = django_user_model.objects.create_user(role)
        if group:
            user.groups.add(Group.objects.get(name=group))
        made[role] = Client()
        made[role].force_login(user)
    return made


@pytest.fixture
def editor(clients) -> Client:
    return clients["editor"]


@pytest.fixture
def viewer(clients) -> Client:
    return clients["viewer"]


def bound_plan_nodes() -> list[NodeSpec]:
    """A plan grown under the demo's "corporate" pool: its node us-east-1 is bound to the live
    pool (whose prod and dev children the plan does not know), with a planned subtree, and a
    planned Region beside it."""
    east = IpamPool.objects.get(name="us-east-1")
    return [
        node(
            "use1",
            "us-east-1",
            pool_id=east.pool_id,
            cidr=IPNetwork("10.0.0.0/12"),
            prefix_length=12,
            locale="us-east-1",
        ),
        node("stg", "us-east-1-staging", parent="use1", prefix_length=14),
        node("stgweb", "staging-web", parent="stg", prefix_length=20, spare_slots=2),
        node("stgdata", "staging-data", parent="stg", prefix_length=20),
        node("aps1", "ap-south-1", prefix_length=12, locale="None"),
        node("aps1prod", "ap-south-1-prod", parent="aps1", prefix_length=14),
        node(
            "aps1pin",
            "ap-pinned",
            parent="aps1",
            intent=Intent.CIDR,
            cidr=IPNetwork("10.48.0.0/16"),
        ),
    ]


@pytest.fixture
def bound_plan(make_plan) -> Plan:
    corporate = IpamPool.objects.get(name="corporate")
    return make_plan("expansion", space="", parent_pool=corporate, nodes=bound_plan_nodes())


def big_plan(make_plan, total: int = 1000, name: str = "big") -> Plan:
    """A plan of ``total`` nodes, six levels deep, packed once and written in bulk (the
    services would take as long to write a thousand new rows as the page takes to draw them
    a hundred times)."""
    plan = make_plan(name, space="10.0.0.0/8", nodes=[])
    lengths, fan = [11, 14, 17, 20, 23, 26], [2, 3, 3, 3, 3]
    specs: list[NodeSpec] = []
    level: list[str | None] = [None]
    for depth, length in enumerate(lengths):
        following = []
        if depth < len(fan):
            for parent in level:
                for _ in range(fan[depth]):
                    key = f"n{len(specs):04d}"
                    specs.append(node(key, f"d{depth + 1}-{key}", parent, prefix_length=length))
                    following.append(key)
        else:
            for index in range(total - len(specs)):
                key = f"n{len(specs):04d}"
                specs.append(
                    node(key, f"leaf-{key}", level[index % len(level)], prefix_length=length)
                )
        level = following
    spec = selectors.spec_of(plan, tuple(specs))
    packed = packer.pack(spec, root_space=[IPNetwork("10.0.0.0/8")]).nodes
    rows: dict[str, PlanNode] = {}
    for depth in range(1, len(lengths) + 1):
        batch = [
            PlanNode(plan=plan, parent=rows.get(n.parent), **selectors.row_values(n))
            for n in packed
            if n.name.startswith(f"d{depth}-")
            or (depth == len(lengths) and n.name.startswith("leaf"))
        ]
        PlanNode.objects.bulk_create(batch)
        rows.update({r.key: r for r in batch})
    return services.plan_validate(plan).plan


def page_of(client: Client, plan: Plan, query: str = "", **headers: Any):
    return client.get(reverse("plan_detail", args=[plan.pk]) + query, **headers)


def row_html(html: str, key: str) -> str:
    """The row of ``key`` (its own line of cells, not its children's)."""
    found = re.search(rf'<li role="treeitem"[^>]*id="node-{re.escape(key)}".*?</div>', html, re.S)
    assert found, f"no row {key}"
    return found.group(0)


# --- the list -----------------------------------------------------------------------------


def test_the_list_shows_each_ipams_plans_with_their_counts(
    make_plan, bound_plan, viewer, editor, django_assert_max_num_queries
):
    for index in range(5):
        make_plan(
            f"other-{index}", nodes=[node("a", prefix_length=16), node("b", "a", prefix_length=16)]
        )
    url = reverse("plan_list")

    with django_assert_max_num_queries(12):
        response = viewer.get(url)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.count('data-plan="') == 6
    row = re.search(rf'data-plan="{bound_plan.pk}".*?</tr>', html, re.S).group(0)
    assert "expansion" in row
    assert ">7<" in row
    assert "0 errors" in row
    other = Plan.objects.get(name="other-0")
    other_row = re.search(rf'data-plan="{other.pk}".*?</tr>', html, re.S).group(0)
    assert "2 errors" in other_row  # two nodes named "a": name_not_unique on each
    assert reverse("plan_new") not in html  # viewers start no plan
    assert reverse("plan_new") in editor.get(url).content.decode()


def test_the_list_is_filtered_by_ipam_and_takes_hostile_parameters(bound_plan, viewer):
    url = reverse("plan_list")
    ipam_id = bound_plan.ipam.ipam_id

    assert f'data-plan="{bound_plan.pk}"' in viewer.get(url, {"ipam": ipam_id}).content.decode()
    for value in ("ipam-0000", "\x01", "x" * 5000, "9" * 5000, "²"):
        response = viewer.get(url, {"ipam": value, "page": value})
        assert response.status_code == 200


def test_the_home_page_and_the_topbar_link_the_plans(bound_plan, viewer, clients):
    html = viewer.get(reverse("home")).content.decode()
    assert f"{reverse('plan_list')}?ipam={bound_plan.ipam.ipam_id}" in html
    assert f'href="{reverse("plan_list")}"' in html
    assert reverse("plan_list") not in clients["nobody"].get(reverse("home")).content.decode()


# --- permissions --------------------------------------------------------------------------


def test_who_may_see_and_change_a_plan(bound_plan, clients):
    detail = reverse("plan_detail", args=[bound_plan.pk])
    edit = reverse("plan_node_edit", args=[bound_plan.pk, "stg"])

    assert clients["anonymous"].get(detail).status_code == 302  # to the login page
    assert clients["nobody"].get(detail).status_code == 403
    viewer_page = clients["viewer"].get(detail)
    assert viewer_page.status_code == 200
    assert "data-action=" not in viewer_page.content.decode()  # no edit buttons
    assert "Add a top-level node" not in viewer_page.content.decode()
    assert clients["viewer"].get(edit).status_code == 403
    assert clients["viewer"].post(edit, {"name": "x"}).status_code == 403
    assert clients["viewer"].post(reverse("plan_validate", args=[bound_plan.pk])).status_code == 403
    assert clients["viewer"].post(reverse("plan_delete", args=[bound_plan.pk])).status_code == 403
    editor_page = clients["editor"].get(detail).content.decode()
    assert 'data-action="edit"' in editor_page
    assert 'data-action="move"' in editor_page
    assert Plan.objects.filter(pk=bound_plan.pk).exists()


@pytest.mark.parametrize("status", [Plan.Status.APPLYING, Plan.Status.ARCHIVED])
def test_a_plan_being_applied_or_archived_shows_no_edits(bound_plan, editor, status):
    Plan.objects.filter(pk=bound_plan.pk).update(status=status)

    html = page_of(editor, bound_plan).content.decode()

    assert "data-action=" not in html
    assert editor.get(reverse("plan_node_edit", args=[bound_plan.pk, "stg"])).status_code == 404


# --- the page -----------------------------------------------------------------------------


def test_the_page_draws_planned_bound_and_live_nodes_with_their_headroom(bound_plan, viewer):
    html = page_of(viewer, bound_plan).content.decode()

    east = IpamPool.objects.get(name="us-east-1")
    bound = row_html(html, "use1")
    assert reverse("pool_detail", args=[east.pool_id]) in bound
    assert "planned" not in bound
    assert 'class="badge planned"' in row_html(html, "stg")
    # the live children of the bound pool that the plan does not know
    for name in ("us-east-1-prod", "us-east-1-dev"):
        pool = IpamPool.objects.get(name=name)
        live = row_html(html, pool.pool_id)
        assert "live, not in plan" in live
        assert str(pool.cidrs.first().cidr) in live
    staging = row_html(html, "stg")
    assert "10.8.0.0/14" in staging
    assert "/14" in staging
    assert "chip inherited" in staging
    assert "us-east-1" in staging
    # use and headroom: two /20s of a /14
    assert "3.1%" in staging
    assert "253,952 free" in staging
    assert "largest /15" in staging
    web = row_html(html, "stgweb")
    assert "spare 2" in web
    assert "/21" in web
    pinned = row_html(html, "aps1pin")
    assert "pinned" in pinned
    assert "10.48.0.0/16" in pinned
    assert 'id="plan-levels"' in html
    assert "The plan's space" in html
    assert "planned-hatch" in html  # the map's hatched planned blocks
    assert re.search(r'<a href="[^"]*\?node=aps1#plan-map" class="planned">', html)


def test_headroom_per_level_sums_each_levels_nodes(bound_plan, viewer):
    html = page_of(viewer, bound_plan).content.decode()
    levels = re.search(r'id="plan-levels".*?<tbody>(.*?)</tbody>', html, re.S).group(1)
    rows = re.findall(r"<tr>(.*?)</tr>", levels, re.S)
    cells = [re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", r, re.S) for r in rows]
    # level 1: us-east-1 (10.0.0.0/12) and ap-south-1 (/12), each 1,048,576 addresses
    assert cells[0][0] == "1"
    assert cells[0][1] == "2"
    assert cells[0][2] == "2,097,152"
    # us-east-1 holds two live /14s and a planned /14; ap-south-1 a /14 and a /16
    assert cells[0][4] == f"{(1 << 20) - 3 * (1 << 18) + (1 << 20) - (1 << 18) - (1 << 16):,}"
    assert "/13" in cells[0][5]  # ap-south-1's largest free block


def test_the_findings_panel_lists_errors_then_warnings_with_links_to_their_nodes(make_plan, viewer):
    plan = make_plan(
        nodes=[
            node("top", prefix_length=16, spare_slots=300),
            node("a", "a", "top", intent=Intent.CIDR, cidr=IPNetwork("172.16.0.0/20")),
            node("b", "b", "top", intent=Intent.CIDR, cidr=IPNetwork("172.16.8.0/21")),
        ]
    )
    html = page_of(viewer, plan).content.decode()
    panel = re.search(r'id="findings".*?</section>', html, re.S).group(0)

    codes = re.findall(r'data-code="([a-z_]+)"', panel)
    assert "node_overlaps_sibling" in codes
    assert "spare_slots_short" in codes
    first_warning = codes.index("spare_slots_short")
    assert all(c != "node_overlaps_sibling" for c in codes[first_warning:])  # errors first
    assert 'href="#node-a"' in panel  # its row is shown: an anchor to it
    assert 'class="badge err"' in row_html(html, "a")


def test_a_finding_of_a_hidden_row_links_to_a_page_that_opens_it(make_plan, viewer):
    plan = make_plan(
        nodes=[
            node("l1", prefix_length=14),
            node("l2", parent="l1", prefix_length=16),
            node("l3", parent="l2", prefix_length=18),
            node("l4", parent="l3", prefix_length=20),
            node("x5", parent="l4", intent=Intent.CIDR, cidr=IPNetwork("172.16.0.0/24")),
            node("y5", parent="l4", intent=Intent.CIDR, cidr=IPNetwork("172.16.0.0/25")),
        ]
    )
    html = page_of(viewer, plan).content.decode()
    assert 'id="node-l3"' in html
    assert 'id="node-l4"' not in html

    assert "?show=x5#node-x5" in html
    shown = page_of(viewer, plan, "?show=x5").content.decode()
    assert 'id="node-x5"' in shown
    assert 'id="node-y5"' in shown


def test_nodes_open_and_close_by_the_url_and_in_place(make_plan, viewer):
    plan = make_plan(
        nodes=[
            node("l1", prefix_length=14),
            node("l2", parent="l1", prefix_length=16),
            node("l3", parent="l2", prefix_length=18),
            node("l4", parent="l3", prefix_length=20),
        ]
    )
    closed = page_of(viewer, plan, "?open=").content.decode()
    assert 'id="node-l1"' in closed
    assert 'id="node-l2"' not in closed
    assert 'aria-expanded="false"' in row_html(closed, "l1")
    everything = page_of(viewer, plan, "?expand=all").content.decode()
    assert 'id="node-l4"' in everything
    children = page_of(viewer, plan, "?children=l3&open=l1,l2,l3&level=4", **HTMX)
    assert children.status_code == 200
    assert 'id="node-l4"' in children.content.decode()
    assert 'aria-level="4"' in children.content.decode()
    assert page_of(viewer, plan, "?children=nope", **HTMX).status_code == 404


class _Nesting(HTMLParser):
    """Each tree row's nearest enclosing row, as the browser nests them."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str | None] = []
        self.parent_of: dict[str, str | None] = {}

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "li":
            key = dict(attrs).get("data-pool")
            rows = [k for k in self.stack if k]
            self.parent_of[key] = rows[-1] if rows else None
            self.stack.append(key)

    def handle_endtag(self, tag: str) -> None:
        if tag == "li":
            self.stack.pop()


def test_rows_nest_as_the_plan_does(bound_plan, make_plan, viewer):
    html = page_of(viewer, bound_plan, "?expand=all").content.decode()
    tree = re.search(r'<ul role="tree".*?</ul>\s*\n', html, re.S).group(0)
    nesting = _Nesting()
    nesting.feed(tree)

    expected = {n.key: n.parent for n in bound_plan_nodes()}
    live = {
        p.pool_id: "use1"
        for p in IpamPool.objects.filter(name__in=["us-east-1-prod", "us-east-1-dev"])
    }
    assert nesting.parent_of == {**expected, **live}
    assert nesting.stack == []


def test_the_address_map_of_one_node(bound_plan, viewer):
    html = page_of(viewer, bound_plan, "?node=stg").content.decode()
    the_map = re.search(r'id="plan-map".*?</section>', html, re.S).group(0)
    assert "us-east-1-staging" in the_map
    assert "staging-web" in the_map
    assert "staging-data" in the_map
    assert 'class="free"' in the_map
    top = page_of(viewer, bound_plan, "?node=use1").content.decode()
    the_map = re.search(r'id="plan-map".*?</section>', top, re.S).group(0)
    assert 'class="pool"' in the_map
    assert "us-east-1-prod" in the_map
    assert 'class="planned"' in the_map


def test_the_stale_notice_when_aws_was_read_since_the_plan_was_judged(bound_plan, viewer):
    assert 'id="plan-stale"' not in page_of(viewer, bound_plan).content.decode()
    IpamPool.objects.filter(name="corporate").update(
        last_synced_at=bound_plan.based_on_sync + timedelta(minutes=5)
    )
    assert 'id="plan-stale"' in page_of(viewer, bound_plan).content.decode()


def test_a_get_writes_nothing(bound_plan, editor):
    pages = [
        reverse("plan_list"),
        reverse("plan_detail", args=[bound_plan.pk]),
        reverse("plan_detail", args=[bound_plan.pk]) + "?expand=all&node=stg",
        reverse("plan_diff", args=[bound_plan.pk]),
        reverse("plan_node_add", args=[bound_plan.pk]) + "?parent=stg",
        reverse("plan_node_edit", args=[bound_plan.pk, "stg"]),
        reverse("plan_node_move", args=[bound_plan.pk, "stg"]),
        reverse("plan_node_delete", args=[bound_plan.pk, "stg"]),
        reverse("plan_repack", args=[bound_plan.pk]) + "?under=stg",
        reverse("plan_settings", args=[bound_plan.pk]),
        reverse("plan_delete", args=[bound_plan.pk]),
    ]
    for url in pages:
        for headers in ({}, HTMX):
            with CaptureQueriesContext(connection) as queries:
                response = editor.get(url, **headers)
            assert response.status_code == 200, url
            assert not [q["sql"] for q in queries if WRITE.match(q["sql"])], url


def test_a_thousand_nodes_six_deep_in_a_few_queries(
    make_plan, viewer, django_assert_max_num_queries
):
    plan = big_plan(make_plan)
    assert PlanNode.objects.filter(plan=plan).count() == 1000

    started = time.perf_counter()
    with django_assert_max_num_queries(20):
        response = page_of(viewer, plan)
    took = time.perf_counter() - started

    assert response.status_code == 200
    html = response.content.decode()
    shown = html.count('role="treeitem"')
    assert shown == 2 + 6 + 18  # three levels open; the rest opens in place
    print(f"1,000 nodes: {shown} rows in {took:.3f} s")
    with django_assert_max_num_queries(20):
        everything = page_of(viewer, plan, "?expand=all")
    assert everything.content.decode().count('role="treeitem"') == 1000


# --- validate, repack -----------------------------------------------------------------------


def renumbering_plan(make_plan) -> Plan:
    """A /20 grown to a /19 that cannot grow in place (its sibling sits after it)."""
    plan = make_plan(
        nodes=[
            node("top", prefix_length=16),
            node("a", "a", "top", prefix_length=20),
            node("b", "b", "top", prefix_length=20),
        ]
    )
    return services.node_update(plan, "a", prefix_length=19).plan


def test_validate_judges_the_plan_again(bound_plan, editor):
    url = reverse("plan_validate", args=[bound_plan.pk])
    version = bound_plan.version

    response = editor.post(url, **HTMX)

    assert response.status_code == 200
    assert response["HX-Retarget"] == "#plan-main"
    assert 'id="plan-main"' in response.content.decode()
    assert Plan.objects.get(pk=bound_plan.pk).version == version + 1
    assert editor.post(url).status_code == 302
    assert editor.get(url).status_code == 405


def test_repack_asks_first_with_the_nodes_whose_cidr_changes_then_renumbers(make_plan, editor):
    plan = renumbering_plan(make_plan)
    assert any(f["code"] == "renumbering_needed" for f in plan.findings)
    html = page_of(editor, plan).content.decode()
    assert "data-repack" in html  # the finding's "Repack" button
    url = reverse("plan_repack", args=[plan.pk])

    ask = editor.get(url, {"under": "top"}, **HTMX)

    assert ask.status_code == 200
    moves = re.search(r'id="repack-moves".*?</ul>', ask.content.decode(), re.S).group(0)
    assert 'data-key="a"' in moves  # a moves (to a free /19)
    assert PlanNode.objects.get(plan=plan, key="a").cidr == IPNetwork("172.16.0.0/20")

    done = editor.post(url, {"under": "top"}, **HTMX)

    assert done.status_code == 200
    plan.refresh_from_db()
    assert not any(f["code"] == "renumbering_needed" for f in plan.findings)
    assert PlanNode.objects.get(plan=plan, key="a").cidr.prefixlen == 19
    assert editor.get(url, {"under": "nope"}).status_code == 404
    assert editor.post(url, {"under": "nope"}).status_code == 200  # says the node is gone
    assert 'id="plan-notice"' in editor.post(url, {"under": "nope"}).content.decode()


# --- settings, delete ---------------------------------------------------------------------


def test_settings_rename_and_give_space(make_plan, editor):
    plan = make_plan("one", nodes=[node("a", prefix_length=16)])
    make_plan("two")
    url = reverse("plan_settings", args=[plan.pk])

    taken = editor.post(url, {"name": "two", "space": "172.16.0.0/12"}, **HTMX)
    assert 'data-code="name_taken"' in taken.content.decode()
    host_bits = editor.post(url, {"name": "one", "space": "172.16.0.1/12"})
    assert 'data-code="cidr_host_bits_set"' in host_bits.content.decode()
    assert "172.16.0.1/12" in host_bits.content.decode()  # the input is kept
    overlap = editor.post(url, {"name": "one", "space": "172.16.0.0/12, 172.17.0.0/16"})
    assert 'data-code="space_overlaps"' in overlap.content.decode()
    assert Plan.objects.get(pk=plan.pk).name == "one"

    saved = editor.post(url, {"name": "uno", "space": "10.0.0.0/8\n192.168.0.0/16"}, **HTMX)

    assert saved["HX-Redirect"] == reverse("plan_detail", args=[plan.pk])
    plan.refresh_from_db()
    assert plan.name == "uno"
    assert plan.space == ["10.0.0.0/8", "192.168.0.0/16"]
    assert PlanNode.objects.get(plan=plan).cidr == IPNetwork("172.16.0.0/16")  # kept, now outside
    assert any(f["code"] == "node_outside_space" for f in plan.findings)


def test_deleting_a_plan_gives_its_blocks_back(bound_plan, editor):
    assert Reservation.objects.filter(plan_id=bound_plan.pk).exists()
    url = reverse("plan_delete", args=[bound_plan.pk])

    ask = editor.get(url, **HTMX)
    assert "7 nodes" in ask.content.decode()
    response = editor.post(url)

    assert response.status_code == 302
    assert not Plan.objects.filter(pk=bound_plan.pk).exists()
    assert not Reservation.objects.filter(plan_id=bound_plan.pk).exists()
    assert IpamPool.objects.filter(name="us-east-1").exists()  # AWS's pool stays


def test_a_plan_being_applied_is_not_deleted(bound_plan, editor):
    Plan.objects.filter(pk=bound_plan.pk).update(status=Plan.Status.APPLYING)

    response = editor.post(reverse("plan_delete", args=[bound_plan.pk]))

    assert response["Location"] == reverse("plan_detail", args=[bound_plan.pk])
    assert Plan.objects.filter(pk=bound_plan.pk).exists()


# --- the diff -----------------------------------------------------------------------------


def test_the_diff_page_lists_what_each_node_would_do_and_the_calls(
    bound_plan, viewer, django_assert_max_num_queries
):
    with django_assert_max_num_queries(15):
        response = viewer.get(reverse("plan_diff", args=[bound_plan.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    result = response.context["diff"]
    kinds = {n.key: n.kind for n in result.nodes}
    assert set(kinds.values()) <= {"create", "change", "unchanged", "blocked"}
    assert "create" in kinds.values()
    for row in response.context["steps"]:
        assert row["step"].action in html
        assert all(number < row["number"] for number in row["after"])
    assert "kind-create" in html
