"""Hostile input to the reservation ledger: its page, its form (and the form's live check) and
releasing a block. No answer is a 5xx, a GET or a live check writes nothing, a refused request
changes nothing and keeps what was typed, and a plan's block is never released here.

Besides the hostile text of the app's fuzz tests, the values include what belongs to others:
the CIDRs of reservations and plans, of live pools, other IPAMs' ids, huge row numbers.
"""

from __future__ import annotations

from html import unescape
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st
from netaddr import IPNetwork

from planning import services
from planning.spec import NodeSpec
from pools.models import Ipam, IpamPoolCidr, IpamScope, Reservation
from tests.integration.app.pool_form_support import Answer
from tests.integration.app.test_fuzz import HOSTILE_TEXT, ROLES, WRITE

# The fixtures of the app's fuzz tests: its users, and the count of AWS calls (autouse).
from tests.integration.app.test_fuzz import clients as clients
from tests.integration.app.test_fuzz import count_answers as count_answers

FIELDS = ["address_family", "cidr", "kind", "name", "note", "_live", "family"]
OTHER_IPAM = "ipam-0fedcba98765432100"


@pytest.fixture
def ledger_world(clients) -> dict[str, Any]:
    """The demo IPAM with a plan's block, an external network and an excluded range, and
    another IPAM with a block of its own."""
    scope = IpamScope.objects.get(scope_type="private", is_default=True)
    ipam = scope.ipam
    plan = services.plan_create(
        ipam=ipam,
        scope=scope,
        address_family="ipv4",
        name="q3",
        space=[IPNetwork("172.16.0.0/12")],
        nodes=[NodeSpec(key="vpc", name="vpc", prefix_length=16)],
    ).plan
    Reservation.objects.create(
        ipam=ipam, address_family="ipv4", cidr=IPNetwork("192.168.0.0/16"), name="office"
    )
    Reservation.objects.create(
        ipam=ipam,
        address_family="ipv6",
        cidr=IPNetwork("fd12::/16"),
        name="partner",
        kind=Reservation.Kind.EXCLUDED,
    )
    other = Ipam.objects.create(ipam_id=OTHER_IPAM, region="us-east-1")
    theirs = Reservation.objects.create(
        ipam=other, address_family="ipv4", cidr=IPNetwork("10.0.0.0/8"), name="theirs"
    )
    return {"ipam": ipam, "plan": plan, "theirs": theirs}


def others(world: dict[str, Any]) -> list[str]:
    """CIDRs and ids that belong to something: reservations, plans, live pools, IPAMs."""
    values = [str(c) for c in Reservation.objects.values_list("cidr", flat=True)]
    values += [str(c) for c in IpamPoolCidr.objects.values_list("cidr", flat=True)[:20]]
    values += [str(pk) for pk in Reservation.objects.values_list("pk", flat=True)]
    values += [world["ipam"].ipam_id, OTHER_IPAM, str(world["plan"].pk), "10.0.0.0/12", "ipv6"]
    return values


def ledger_state() -> list[tuple]:
    return sorted(
        (str(r.cidr), r.kind, r.name, r.note, r.plan_id, r.ipam_id)
        for r in Reservation.objects.all()
    )


def typed_value(html: str, name: str) -> str | None:
    fields = Answer.of(html).named(name)
    return unescape(fields[0].attrs.get("value", "")) if fields else None


@given(
    role=st.sampled_from(ROLES),
    data=st.dictionaries(st.sampled_from(FIELDS), HOSTILE_TEXT, max_size=6),
    pick=st.lists(st.tuples(st.sampled_from(FIELDS), st.integers(min_value=0)), max_size=3),
    htmx=st.booleans(),
)
def test_the_ledger_form_answers_and_a_refusal_changes_nothing(
    clients, ledger_world, role, data, pick, htmx
):
    known = others(ledger_world)
    for field, index in pick:  # something else's CIDR or id in a field
        data[field] = known[index % len(known)]
    url = reverse("ledger", args=[ledger_world["ipam"].ipam_id])
    before = ledger_state()
    extra = {"HTTP_HX_REQUEST": "true"} if htmx else {}

    response = clients[role].post(url, data, **extra)

    assert response.status_code < 500, data
    if response.status_code != 302 or (htmx and data.get("_live")):
        assert ledger_state() == before, "a refused request or a live check changed the ledger"
    if response.status_code == 302 and role != "anonymous" and not (htmx and data.get("_live")):
        added = set(ledger_state()) - set(before)
        assert len(added) <= 1
        assert all(kind in ("external", "excluded") for _, kind, *_ in added)
    if response.status_code == 200 and not (htmx and data.get("_live")):
        typed = data.get("cidr", "")
        shown = typed_value(response.content.decode(), "cidr")
        if "\x00" not in typed and typed.isprintable():
            assert shown == typed, "the CIDR typed was not kept"


@given(
    role=st.sampled_from(ROLES),
    query=st.lists(st.tuples(st.sampled_from(FIELDS), HOSTILE_TEXT), max_size=4),
    segment=st.one_of(st.none(), HOSTILE_TEXT),
)
def test_the_ledger_page_answers_and_writes_nothing(clients, ledger_world, role, query, segment):
    ipam_id = ledger_world["ipam"].ipam_id if segment is None else segment
    try:
        url = reverse("ledger", args=[ipam_id])
    except Exception:  # a segment no URL can carry: the router answers it
        url = f"/ipams/{ipam_id}/ledger/"
    before = ledger_state()

    with CaptureQueriesContext(connection) as queries:
        response = clients[role].get(url, query)

    assert response.status_code < 500, (url, query)
    assert ledger_state() == before
    writes = [
        q["sql"] for q in queries if WRITE.match(q["sql"]) and "django_session" not in q["sql"]
    ]
    assert not writes, "a GET wrote"


@given(
    role=st.sampled_from(ROLES),
    segment=st.one_of(
        HOSTILE_TEXT,
        st.integers(min_value=-5, max_value=1 << 70).map(str),
        st.sampled_from(["plan", "mine", "theirs"]),
    ),
    ipam_segment=st.sampled_from(["mine", "theirs", "hostile"]),
    body=st.dictionaries(st.sampled_from(FIELDS), HOSTILE_TEXT, max_size=3),
)
def test_releasing_answers_and_never_takes_a_plans_block(
    clients, ledger_world, role, segment, ipam_segment, body
):
    rows = {
        "plan": Reservation.objects.filter(plan_id=ledger_world["plan"].pk).first(),
        "mine": Reservation.objects.filter(ipam=ledger_world["ipam"], plan_id=None).first(),
        "theirs": ledger_world["theirs"],
    }
    if segment in rows:
        segment = str(rows[segment].pk) if rows[segment] is not None else "1"
    ipam_id = {"mine": ledger_world["ipam"].ipam_id, "theirs": OTHER_IPAM, "hostile": "a\x00b"}[
        ipam_segment
    ]
    url = f"/ipams/{ipam_id}/ledger/{segment}/delete/"
    plan_rows = Reservation.objects.filter(plan_id__isnull=False).count()
    before = ledger_state()

    response = clients[role].post(url, body)

    assert response.status_code < 500, url
    assert Reservation.objects.filter(plan_id__isnull=False).count() == plan_rows
    if response.status_code != 302 or role == "anonymous":
        assert ledger_state() == before
