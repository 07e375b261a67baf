"""The pool page's space: allocate (and preview), release, deprovision, and the live checks of
these forms and of provisioning. Each is judged here before AWS is asked; AWS's own refusal
comes back on its field or row, the input kept."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.test import Client
from netaddr import IPNetwork

from pools.models import IpamPool, IpamPoolAllocation, IpamScope
from pools.sync import sync_all
from tests.integration.app.conftest import pool_named

pytestmark = pytest.mark.django_db


@pytest.fixture
def changer(client_may: Any) -> Client:
    return client_may("change_ipampool")


def count_calls(sim: Any) -> list[tuple]:
    calls: list[tuple] = []
    handle = sim.handle
    sim.handle = lambda *args: calls.append(args) or handle(*args)
    return calls


def new_top_pool(sim: Any, cidr: str, **params: Any) -> IpamPool:
    """A top-level pool of the demo's private scope with one CIDR, mirrored."""
    scope = IpamScope.objects.get(scope_type="private", is_default=True)
    made = sim.call("CreateIpamPool", IpamScopeId=scope.scope_id, AddressFamily="ipv4", **params)
    pool_id = made["IpamPool"]["IpamPoolId"]
    sim.call("ProvisionIpamPoolCidr", IpamPoolId=pool_id, Cidr=cidr)
    sync_all()
    return IpamPool.objects.get(pool_id=pool_id)


def aws_allocations(sim: Any, pool: IpamPool) -> dict[str, str]:
    found = sim.call("GetIpamPoolAllocations", IpamPoolId=pool.pool_id)["IpamPoolAllocations"]
    return {a["IpamPoolAllocationId"]: a["Cidr"] for a in found}


def allocate(client: Client, pool: IpamPool, what: str = "", token: str = "t-1", **data: Any):
    fields = {
        "allocate-client_token": token,
        "allocate-cidr": "",
        "allocate-netmask_length": "",
        "allocate-allowed_cidrs": "",
        "allocate-disallowed_cidrs": "",
        "allocate-description": "",
    }
    fields.update({f"allocate-{k}": "" if v is None else str(v) for k, v in data.items()})
    url = f"/pools/{pool.pool_id}/allocate/{what}"
    return client.post(url, fields, **({"HTTP_HX_REQUEST": "true"} if what else {}))


def field_error(html: str, field: str, prefix: str = "allocate") -> str:
    match = re.search(rf'id="id_{prefix}-{field}_error"[^>]*>(.*?)</div>', html, re.S)
    return re.sub(r"<[^>]+>", "", match[1]).strip() if match else ""


def error_codes(html: str, field: str, prefix: str = "allocate") -> list[str]:
    match = re.search(rf'id="id_{prefix}-{field}_error"[^>]*>(.*?)</div>', html, re.S)
    return re.findall(r'data-code="([^"]*)"', match[1]) if match else []


def top_errors(html: str, region: str = "allocate-errors") -> str:
    match = re.search(rf'id="{region}"[^>]*>(.*?)</div>', html, re.S)
    return re.sub(r"<[^>]+>", "", match[1]).strip() if match else ""


# --- allocate ---------------------------------------------------------------------------------


def test_allocate_by_netmask_length(changer, sim):
    pool = pool_named("us-east-1-prod")

    response = allocate(changer, pool, netmask_length=26, description="batch VPC")

    assert response.status_code == 302
    made = pool.allocations.get(description="batch VPC")
    assert response["Location"].endswith(f"#allocation-{made.allocation_id}")
    assert (made.cidr.prefixlen, made.resource_type) == (26, "custom")
    assert aws_allocations(sim, pool)[made.allocation_id] == str(made.cidr)
    page = changer.get(response["Location"]).content.decode()
    assert f'id="allocation-{made.allocation_id}"' in page
    assert f"Allocated {made.cidr}" in page


def test_allocate_with_the_pool_default_when_no_size_is_given(changer):
    pool = pool_named("us-east-1-prod")  # default /24

    assert allocate(changer, pool).status_code == 302

    assert pool.allocations.filter(cidr__endswith="/24").count() == 3


def test_a_disallowed_block_is_skipped_as_aws_does(changer, sim):
    """Spec section 4: pool 172.2.0.0/24, a /28 with DisallowedCidrs [172.2.0.0/28]."""
    pool = new_top_pool(sim, "172.2.0.0/24")

    preview = allocate(
        changer, pool, "preview/", netmask_length=28, disallowed_cidrs="172.2.0.0/28"
    )
    assert "172.2.0.16/28" in preview.content.decode()
    assert not pool.allocations.exists()

    response = allocate(changer, pool, netmask_length=28, disallowed_cidrs="172.2.0.0/28")

    assert response.status_code == 302
    assert [str(a.cidr) for a in pool.allocations.all()] == ["172.2.0.16/28"]


def test_allowed_cidrs_confine_the_block(changer, sim):
    pool = new_top_pool(sim, "172.3.0.0/16")

    response = allocate(
        changer, pool, netmask_length=24, allowed_cidrs="172.3.128.0/17\n172.3.64.0/18"
    )

    assert response.status_code == 302
    assert [str(a.cidr) for a in pool.allocations.all()] == ["172.3.64.0/24"]


def test_a_double_submit_allocates_once(changer, sim):
    pool = pool_named("us-east-1-prod")
    before = len(aws_allocations(sim, pool))

    allocate(changer, pool, token="same", netmask_length=26)
    allocate(changer, pool, token="same", netmask_length=26)

    assert len(aws_allocations(sim, pool)) == before + 1
    assert pool.allocations.count() == before + 1


def test_preview_allocates_nothing_and_shows_the_page_without_javascript(changer, sim):
    pool = pool_named("us-east-1-prod")
    before = aws_allocations(sim, pool)

    html = changer.post(
        f"/pools/{pool.pool_id}/allocate/preview/",
        {"allocate-client_token": "t", "allocate-netmask_length": "24"},
    ).content.decode()

    assert "AWS would allocate <code>10.0.2.0/24</code>" in html
    assert 'value="24"' in html  # the input is kept
    assert aws_allocations(sim, pool) == before
    assert pool.allocations.count() == len(before)


def test_preview_with_no_free_block_says_so(changer, sim):
    pool = new_top_pool(sim, "172.4.0.0/28")

    html = allocate(changer, pool, "preview/", netmask_length=24).content.decode()

    assert "/24" in html
    assert "would allocate" not in html


@pytest.mark.parametrize(
    ("data", "field", "code"),
    [
        ({"cidr": "10.0.2.1/24"}, "cidr", "cidr_host_bits_set"),
        ({"cidr": "10.0.2.0/24", "netmask_length": 24}, "netmask_length", "cidr_and_netmask_given"),
        ({"cidr": "10.9.0.0/24"}, "cidr", "cidr_outside_pool_space"),
        ({"cidr": "10.0.0.0/24"}, "cidr", "cidr_overlaps_allocation"),
        ({"netmask_length": 8}, "netmask_length", "cidr_netmask_outside_pool_rules"),
        ({"netmask_length": 99}, "netmask_length", "netmask_out_of_range"),
        (
            {"cidr": "10.0.2.0/24", "allowed_cidrs": "10.0.0.0/16"},
            "allowed_cidrs",
            "allowed_cidrs_need_netmask",
        ),
        ({"netmask_length": 24, "allowed_cidrs": "10.0.0/16"}, "allowed_cidrs", "cidr_invalid"),
        (
            {"netmask_length": 24, "disallowed_cidrs": "fd00::/8"},
            "disallowed_cidrs",
            "cidr_wrong_family",
        ),
        (
            {"netmask_length": 24, "disallowed_cidrs": "192.168.0.0/16"},
            "disallowed_cidrs",
            "allocation_cidr_outside_pool",
        ),
        ({"description": "bad\x01text"}, "description", "text_not_xml_safe"),
    ],
)
def test_mistakes_are_refused_before_aws_is_asked(changer, sim, data, field, code):
    pool = pool_named("us-east-1-prod")
    calls = count_calls(sim)

    response = allocate(changer, pool, token="first", **data)

    assert response.status_code == 200
    html = response.content.decode()
    assert error_codes(html, field) == [code], field_error(html, field)
    assert '<details id="pool-allocate" open>' in html
    for name, value in data.items():
        if name in ("cidr", "netmask_length"):
            assert f'value="{value}"' in html  # the input is kept
    token = re.search(r'name="allocate-client_token" value="([^"]+)"', html)[1]
    assert token == "first", "AWS never saw it: the same request may go again"
    assert calls == []
    assert pool.allocations.count() == 2


def test_no_size_on_a_pool_without_a_default_netmask(changer):
    pool = pool_named("corporate")

    html = allocate(changer, pool).content.decode()

    assert error_codes(html, "netmask_length") == ["allocation_size_missing"]


def test_aws_refusal_lands_on_the_field_and_the_next_try_is_new(changer, sim):
    pool = pool_named("us-east-1-prod")
    sim.call("AllocateIpamPoolCidr", IpamPoolId=pool.pool_id, Cidr="10.0.2.0/24")  # not mirrored

    html = allocate(changer, pool, token="first", cidr="10.0.2.0/24").content.decode()

    assert "overlaps" in field_error(html, "cidr")
    assert 'value="10.0.2.0/24"' in html
    token = re.search(r'name="allocate-client_token" value="([^"]+)"', html)[1]
    assert token != "first"
    assert pool.allocations.count() == 2


def test_aws_unreachable_is_reported_and_the_same_request_may_go_again(changer, sim):
    pool = pool_named("us-east-1-prod")
    sim.faults.update({"unreachable": True})

    response = allocate(changer, pool, token="first", netmask_length=26)

    assert response.status_code == 200
    html = response.content.decode()
    assert "AWS" in top_errors(html)
    token = re.search(r'name="allocate-client_token" value="([^"]+)"', html)[1]
    assert token == "first"
    assert pool.allocations.count() == 2


def test_live_validation_reports_errors_as_you_type_and_nothing_premature(changer, sim):
    pool = pool_named("corporate")  # no default netmask: an empty form is incomplete
    calls = count_calls(sim)

    empty = allocate(changer, pool, "validate/").content.decode()
    wrong = allocate(changer, pool, "validate/", cidr="10.0.0.1/24").content.decode()

    assert 'id="id_allocate-netmask_length_error" aria-live="polite" hx-swap-oob' in empty
    assert "data-code" not in empty
    assert error_codes(wrong, "cidr") == ["cidr_host_bits_set"]
    assert "<form" not in wrong  # error regions only: inputs are never replaced
    assert calls == []


# --- release ----------------------------------------------------------------------------------


def release(client: Client, pool: IpamPool, allocation_id: str, **extra: str):
    return client.post(f"/pools/{pool.pool_id}/release/", {"allocation": allocation_id, **extra})


def test_release_a_custom_allocation(changer, sim):
    pool = pool_named("us-east-1-prod")
    allocation = pool.allocations.get(description="web VPC")

    response = release(changer, pool, allocation.allocation_id)

    assert response.status_code == 302
    allocation.refresh_from_db()
    assert not allocation.in_aws
    assert allocation.allocation_id not in aws_allocations(sim, pool)
    page = changer.get(response["Location"]).content.decode()
    assert f"Released {allocation.cidr}" in page
    assert f'id="allocation-{allocation.allocation_id}"' not in page


def test_releasing_twice_asks_aws_once(changer, sim):
    pool = pool_named("us-east-1-prod")
    allocation = pool.allocations.get(description="web VPC")
    release(changer, pool, allocation.allocation_id)
    calls = count_calls(sim)

    response = release(changer, pool, allocation.allocation_id)

    assert response.status_code == 302
    assert calls == []
    assert "already released" in changer.get(response["Location"]).content.decode()


def test_a_child_pools_allocation_is_not_released_here(changer, sim):
    pool = pool_named("us-east-1")
    allocation = pool.allocations.filter(resource_type="ipam-pool").first()
    calls = count_calls(sim)

    response = release(changer, pool, allocation.allocation_id)

    assert response.status_code == 200
    html = response.content.decode()
    row = html[html.index(f'id="allocation-{allocation.allocation_id}"') :]
    row = row[: row.index("</tr>")]
    assert "Only custom allocations can be released" in row
    assert "Release…" not in row  # no release offered for a child pool's space
    assert calls == []
    allocation.refresh_from_db()
    assert allocation.in_aws


def test_aws_refusal_of_a_release_is_shown_on_its_row(changer, sim):
    pool = pool_named("us-east-1-prod")
    allocation = pool.allocations.get(description="web VPC")
    sim.call(  # released outside the app: the mirror does not know yet
        "ReleaseIpamPoolAllocation",
        IpamPoolId=pool.pool_id,
        IpamPoolAllocationId=allocation.allocation_id,
        Cidr=str(allocation.cidr),
    )

    response = release(changer, pool, allocation.allocation_id)

    assert response.status_code == 200
    html = response.content.decode()
    row = html[html.index(f'id="allocation-{allocation.allocation_id}"') :]
    assert "No allocation found" in row[: row.index("</tr>")]
    assert '<details class="confirm" open>' in row[: row.index("</tr>")]


@pytest.mark.parametrize("value", ["", "ipam-pool-alloc-0000", "\x00", "x" * 300])
def test_release_of_an_allocation_the_pool_does_not_have(changer, sim, value):
    pool = pool_named("us-east-1-prod")
    other = pool_named("us-east-1-dev").allocations.first()
    calls = count_calls(sim)

    for wanted in (value, other.allocation_id):
        response = release(changer, pool, wanted)
        assert response.status_code == 200
        assert top_errors(response.content.decode(), "release-error")
    assert calls == []


# --- deprovision ------------------------------------------------------------------------------


def deprovision(client: Client, pool: IpamPool, cidr: str):
    return client.post(f"/pools/{pool.pool_id}/deprovision/", {"cidr": cidr})


def test_deprovision_a_cidr_and_follow_it_until_it_is_deprovisioned(changer, sim, worker):
    pool = new_top_pool(sim, "172.5.0.0/16")

    response = deprovision(changer, pool, "172.5.0.0/16")

    assert response.status_code == 302
    cidr = pool.cidrs.get()
    assert cidr.state == "pending-deprovision"
    page = changer.get(response["Location"]).content.decode()
    assert "badge cidr-pending-deprovision" in page
    assert "Updating by itself" in page
    worker()
    cidr.refresh_from_db()
    assert cidr.state == "deprovisioned"
    status = changer.get(f"/pools/{pool.pool_id}/status/", HTTP_HX_REQUEST="true").content.decode()
    deprovisioned = status[status.index('class="deprovisioned"') :]
    assert "172.5.0.0/16" in deprovisioned
    assert "cidr-deprovisioned" in deprovisioned
    assert "hx-trigger" not in status[: status.index(">")]  # settled: polling stops


def test_a_child_pools_cidr_deprovisioned_is_free_again_in_its_source(changer, sim, worker):
    source = pool_named("us-east-1")  # 10.0.0.0/12, two /14s given to its child pools
    made = sim.call(
        "CreateIpamPool",
        IpamScopeId=source.scope.scope_id,
        AddressFamily="ipv4",
        SourceIpamPoolId=source.pool_id,
        Locale="us-east-1",
    )
    child_id = made["IpamPool"]["IpamPoolId"]
    sim.call("ProvisionIpamPoolCidr", IpamPoolId=child_id, Cidr="10.8.0.0/14")
    sync_all()
    child = IpamPool.objects.get(pool_id=child_id)
    assert source.allocations.live().filter(resource_id=child_id).exists()

    assert deprovision(changer, child, "10.8.0.0/14").status_code == 302
    worker()

    assert child.cidrs.get().state == "deprovisioned"
    assert not source.allocations.live().filter(resource_id=child_id).exists()
    page = changer.get(f"/pools/{source.pool_id}/").content.decode()
    assert "50.0 %</strong>" in page  # the two demo children's /14s, not the third


def test_a_cidr_still_holding_allocations_is_refused_before_aws_is_asked(changer, sim):
    pool = pool_named("us-east-1-prod")
    cidr = pool.cidrs.get()
    calls = count_calls(sim)

    html = deprovision(changer, pool, str(cidr.cidr)).content.decode()

    row = html[html.index(f'id="cidr-{cidr.cidr_id}"') :]
    row = row[: row.index("</tr>")]
    assert "The CIDR has one or more allocations." in row
    assert calls == []
    cidr.refresh_from_db()
    assert cidr.state == "provisioned"


def test_a_failed_deprovision_shows_aws_reason(changer, sim, worker):
    """C7: AWS accepts the request, then the CIDR ends failed-deprovision with its reason."""
    pool = new_top_pool(sim, "172.6.0.0/16")
    sim.call("AllocateIpamPoolCidr", IpamPoolId=pool.pool_id, NetmaskLength=24)  # not mirrored

    assert deprovision(changer, pool, "172.6.0.0/16").status_code == 302
    worker()

    cidr = pool.cidrs.get()
    assert cidr.state == "failed-deprovision"
    page = changer.get(f"/pools/{pool.pool_id}/").content.decode()
    row = page[page.index(f'id="cidr-{cidr.cidr_id}"') :]
    row = row[: row.index("</tr>")]
    assert "badge cidr-failed-deprovision" in row
    assert "AWS: The CIDR has one or more allocations." in row
    assert "Deprovision…" in row  # it can be tried again once the allocations are gone


def test_deprovisioning_twice_is_refused_on_the_row(changer, sim):
    pool = new_top_pool(sim, "172.7.0.0/16")
    sim.config.create_delay = 60  # AWS takes its time
    deprovision(changer, pool, "172.7.0.0/16")
    calls = count_calls(sim)

    html = deprovision(changer, pool, "172.7.0.0/16").content.decode()

    assert "pending-deprovision" in html[html.index('id="deprovision-error"') :][:300]
    assert calls == []


@pytest.mark.parametrize("value", ["", "10.0.0.0/33", "\x00", "fd00::/8", "10.0.0.1/14", "²"])
def test_deprovision_of_what_is_no_cidr_of_the_pool(changer, sim, value):
    pool = pool_named("us-east-1-prod")
    calls = count_calls(sim)

    response = deprovision(changer, pool, value)

    assert response.status_code == 200
    assert 'id="deprovision-error"' in response.content.decode()
    assert calls == []


# --- provision, checked live ------------------------------------------------------------------


def test_provision_is_checked_as_you_type(changer, sim):
    pool = pool_named("us-west-2")
    calls = count_calls(sim)
    url = f"/pools/{pool.pool_id}/provision/validate/"

    empty = changer.post(url, {"provision-client_token": "t"}, HTTP_HX_REQUEST="true")
    wrong = changer.post(
        url,
        {"provision-client_token": "t", "provision-cidr": "192.168.0.0/16"},
        HTTP_HX_REQUEST="true",
    )

    assert "data-code" not in empty.content.decode()
    assert error_codes(wrong.content.decode(), "cidr", "provision") == ["cidr_outside_pool_space"]
    assert calls == []


def test_the_provision_form_posts_its_live_checks(changer):
    pool = pool_named("us-west-2")

    html = changer.get(f"/pools/{pool.pool_id}/").content.decode()

    assert f'hx-post="/pools/{pool.pool_id}/provision/validate/"' in html
    assert f'hx-post="/pools/{pool.pool_id}/allocate/validate/"' in html


# --- the page ---------------------------------------------------------------------------------


def test_the_page_shows_allocations_use_and_allocation_resource_tags(changer):
    pool = pool_named("us-east-1")  # 10.0.0.0/12 with two child pools of /14 each
    page = changer.get(f"/pools/{pool.pool_id}/").content.decode()

    for allocation in pool.allocations.all():
        row = page[page.index(f'id="allocation-{allocation.allocation_id}"') :]
        row = row[: row.index("</tr>")]
        assert str(allocation.cidr) in row
        assert f'href="/pools/{allocation.resource_id}/"' in row
        assert "Release" not in row
    assert '<meter id="pool-use-meter" min="0" max="100" value="50.0"' in page
    assert "50.0 %</strong> of the provisioned space" in page
    prod = changer.get(f"/pools/{pool_named('us-east-1-prod').pool_id}/").content.decode()
    assert "<code>environment</code>=prod" in prod


def test_allocations_are_in_address_order(changer, sim):
    pool = new_top_pool(sim, "172.8.0.0/16")
    for cidr in ("172.8.10.0/24", "172.8.9.0/24", "172.8.100.0/24"):
        sim.call("AllocateIpamPoolCidr", IpamPoolId=pool.pool_id, Cidr=cidr)
    sync_all()

    page = changer.get(f"/pools/{pool.pool_id}/").content.decode()

    shown = re.findall(r'<td class="mono">(172\.8\.[0-9.]+/24)</td>', page)
    assert shown == ["172.8.9.0/24", "172.8.10.0/24", "172.8.100.0/24"]


def test_a_viewer_sees_the_space_and_may_change_nothing(client_may, sim):
    viewer = client_may("view_ipampool")
    pool = pool_named("us-east-1-prod")
    allocation = pool.allocations.first()

    page = viewer.get(f"/pools/{pool.pool_id}/").content.decode()

    assert f'id="allocation-{allocation.allocation_id}"' in page
    for offered in ("Allocate a CIDR", "Release…", "Deprovision…"):
        assert offered not in page
    calls = count_calls(sim)
    for url, data in [
        (f"/pools/{pool.pool_id}/allocate/", {"allocate-netmask_length": "26"}),
        (f"/pools/{pool.pool_id}/allocate/preview/", {"allocate-netmask_length": "26"}),
        (f"/pools/{pool.pool_id}/allocate/validate/", {}),
        (f"/pools/{pool.pool_id}/provision/validate/", {}),
        (f"/pools/{pool.pool_id}/release/", {"allocation": allocation.allocation_id}),
        (f"/pools/{pool.pool_id}/deprovision/", {"cidr": "10.0.0.0/14"}),
    ]:
        assert viewer.post(url, data).status_code == 403, url
    assert calls == []


def test_many_allocations_are_capped_with_a_link_to_all(
    changer, sim, django_assert_max_num_queries
):
    from pools import selectors

    pool = new_top_pool(sim, "172.9.0.0/16")
    rows = [
        IpamPoolAllocation(
            allocation_id=f"ipam-pool-alloc-{n:033x}",
            pool=pool,
            cidr=str(IPNetwork(f"172.9.{n // 4}.{(n % 4) * 64}/26")),
            resource_type="custom",
            resource_owner="123456789012",
        )
        for n in range(selectors.ALLOCATIONS_SHOWN + 20)
    ]
    IpamPoolAllocation.objects.bulk_create(rows)

    page = changer.get(f"/pools/{pool.pool_id}/").content.decode()
    everything = changer.get(f"/pools/{pool.pool_id}/allocations/").content.decode()

    assert page.count('id="allocation-') == selectors.ALLOCATIONS_SHOWN
    assert f"Show all {len(rows)} allocations" in page
    assert everything.count('id="allocation-') == len(rows)


# session, user, permissions (2), the pool and its space (3), children (2), creation, the
# change log's calls and changes (2), the delete confirmation's counts (1), the ledger (1)
POOL_PAGE_QUERIES = 14


def test_the_pool_page_sends_as_many_queries_at_1000_allocations_as_at_2(
    changer, sim, django_assert_max_num_queries
):
    small = pool_named("us-east-1-prod")
    large = new_top_pool(sim, "172.10.0.0/16")
    IpamPoolAllocation.objects.bulk_create(
        IpamPoolAllocation(
            allocation_id=f"ipam-pool-alloc-{n:033x}",
            pool=large,
            cidr=str(IPNetwork(f"172.10.{n // 4}.{(n % 4) * 64}/26")),
            resource_type="custom",
        )
        for n in range(1000)
    )
    changer.get(f"/pools/{small.pool_id}/")  # the session and permissions, as for any page

    for pool in (small, large):
        with django_assert_max_num_queries(POOL_PAGE_QUERIES):
            assert changer.get(f"/pools/{pool.pool_id}/").status_code == 200
        with django_assert_max_num_queries(POOL_PAGE_QUERIES):
            assert changer.get(f"/pools/{pool.pool_id}/allocations/").status_code == 200
