"""Every rule of awsipam, judged the same way by the local endpoint and by the app.

Each case is a request (as boto3 takes it) against one small world. It goes through the local
endpoint with boto3, in-process, and, for the requests the app makes, through the app's
pre-flight check (:func:`pools.preflight.check`) over the mirror of that world. Both must name
the same rule and the same answer: AWS's error code, or for a request AWS accepts and then
fails, the state the CIDR ends in. Every code of :data:`awsipam.catalog.RULES` is in the table.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError

import ipamsim
from awsipam.catalog import RULES
from ipamsim.simulator import RULE_HEADER
from pools import preflight
from pools.sync import sync_all

HOME, WEST = "us-east-1", "us-west-2"


def tags(resource_type: str, *pairs: tuple[str, str]) -> list[dict[str, Any]]:
    return [{"ResourceType": resource_type, "Tags": [{"Key": k, "Value": v} for k, v in pairs]}]


@dataclass
class World:
    """The objects a case names as ``{name}``: ids of IPAMs, scopes, pools and allocations."""

    sim: ipamsim.Simulator
    ids: dict[str, str] = field(default_factory=dict)

    def call(self, action: str, region: str = HOME, **params: Any) -> dict[str, Any]:
        return self.sim.call(action, region=region, **params)

    def pool(self, name: str, scope: str = "private", cidr: str | None = None, **params: Any):
        params.setdefault("AddressFamily", "ipv4")
        made = self.call("CreateIpamPool", IpamScopeId=self.ids[scope], **params)
        self.ids[name] = pool_id = made["IpamPool"]["IpamPoolId"]
        if cidr is not None:
            self.call("ProvisionIpamPoolCidr", IpamPoolId=pool_id, Cidr=cidr)
        return pool_id


def build_world(sim: ipamsim.Simulator) -> World:
    world = World(sim)
    ipam = world.call("CreateIpam", OperatingRegions=[{"RegionName": HOME}, {"RegionName": WEST}])[
        "Ipam"
    ]
    world.ids |= {
        "ipam": ipam["IpamId"],
        "private": ipam["PrivateDefaultScopeId"],
        "public": ipam["PublicDefaultScopeId"],
    }
    other = world.call("CreateIpamScope", IpamId=ipam["IpamId"])["IpamScope"]
    world.ids["other"] = other["IpamScopeId"]
    world.pool("other_pool", "other")

    top = world.pool(
        "top", cidr="10.0.0.0/8", AllocationMinNetmaskLength=12, AllocationMaxNetmaskLength=28
    )
    regional = world.pool(
        "regional",
        cidr="10.0.0.0/12",
        SourceIpamPoolId=top,
        Locale=HOME,
        AllocationMinNetmaskLength=16,
        AllocationMaxNetmaskLength=28,
        AllocationDefaultNetmaskLength=24,
    )
    world.ids["custom"] = world.call(
        "AllocateIpamPoolCidr", IpamPoolId=regional, Cidr="10.0.0.0/24", Description="a VPC"
    )["IpamPoolAllocation"]["IpamPoolAllocationId"]
    world.pool("leaf", cidr="10.1.0.0/16", SourceIpamPoolId=regional, Locale=HOME)
    world.ids["leaf_allocation"] = next(
        a["IpamPoolAllocationId"]
        for a in world.call("GetIpamPoolAllocations", IpamPoolId=regional)["IpamPoolAllocations"]
        if a["ResourceType"] == "ipam-pool"
    )
    world.pool("empty_child", SourceIpamPoolId=regional, Locale=HOME)
    world.pool("west_pool", SourceIpamPoolId=top, Locale=WEST)
    world.pool("nodefault", cidr="192.168.0.0/16")
    small = world.pool(
        "small", cidr="172.16.0.0/28", AllocationMinNetmaskLength=28, AllocationMaxNetmaskLength=28
    )
    world.pool("small_child", cidr="172.16.0.0/28", SourceIpamPoolId=small)
    world.pool("small_child2", SourceIpamPoolId=small)
    gone = world.pool("gone", cidr="172.31.0.0/16")
    world.call("DeprovisionIpamPoolCidr", IpamPoolId=gone, Cidr="172.31.0.0/16")
    parent = top
    for depth in range(2, 11):
        parent = world.pool(f"depth{depth}", SourceIpamPoolId=parent)
    sim.faults.update({"fail_next_creates": 1})
    world.pool("failed")
    world.pool("ipv6", AddressFamily="ipv6")
    world.pool("tagged", TagSpecifications=tags("ipam-pool", *((f"k{n}", "") for n in range(49))))
    amazon = world.pool(
        "amazon6", "public", AddressFamily="ipv6", PublicIpSource="amazon", Locale=HOME
    )
    world.call("ProvisionIpamPoolCidr", IpamPoolId=amazon, NetmaskLength=52)
    world.pool("byoip6", "public", AddressFamily="ipv6", Locale=HOME)
    west = world.call("CreateIpam", region=WEST)["Ipam"]
    world.ids["west_ipam"] = west["IpamId"]
    world.call(
        "CreateIpamPool",
        region=WEST,
        IpamScopeId=west["PrivateDefaultScopeId"],
        AddressFamily="ipv4",
    )
    world.call("DescribeIpams")  # settles every state
    return world


@dataclass(frozen=True)
class Case:
    rule: str
    action: str
    request: dict[str, Any]
    quotas: dict[str, int] = field(default_factory=dict)
    region: str = HOME

    def resolved(self, world: World) -> dict[str, Any]:
        return _resolve(self.request, world.ids)


def _resolve(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    if isinstance(value, dict):
        return {k: _resolve(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolve(v, ids) for v in value]
    return value


def create(**params: Any) -> dict[str, Any]:
    return {"IpamScopeId": "{private}", "AddressFamily": "ipv4", **params}


def child(**params: Any) -> dict[str, Any]:
    return create(**{"SourceIpamPoolId": "{regional}", "Locale": HOME, **params})


CP, PR, AL = "CreateIpamPool", "ProvisionIpamPoolCidr", "AllocateIpamPoolCidr"
CASES = [
    # --- request syntax
    Case("client_token_invalid", CP, create(ClientToken="x" * 65)),
    Case("text_not_xml_safe", CP, create(Description="bad\x01text")),
    Case("netmask_out_of_range", CP, create(AllocationMinNetmaskLength=33)),
    Case("cidr_invalid", PR, {"IpamPoolId": "{empty_child}", "Cidr": "10.0.0/16"}),
    Case("cidr_wrong_family", PR, {"IpamPoolId": "{empty_child}", "Cidr": "fd00::/8"}),
    Case("cidr_host_bits_set", PR, {"IpamPoolId": "{empty_child}", "Cidr": "10.2.0.1/16"}),
    Case(
        "cidr_and_netmask_given",
        PR,
        {"IpamPoolId": "{empty_child}", "Cidr": "10.2.0.0/16", "NetmaskLength": 16},
    ),
    # --- tags
    Case("tag_resource_type_invalid", CP, create(TagSpecifications=tags("vpc", ("a", "b")))),
    Case(
        "too_many_tags",
        CP,
        create(TagSpecifications=tags("ipam-pool", *((f"k{n}", "") for n in range(51)))),
    ),
    Case("tag_key_empty", CP, create(TagSpecifications=tags("ipam-pool", ("", "v")))),
    Case("tag_key_too_long", CP, create(TagSpecifications=tags("ipam-pool", ("k" * 129, "")))),
    Case("tag_key_reserved", CP, create(TagSpecifications=tags("ipam-pool", ("aws:x", "")))),
    Case(
        "tag_key_duplicate",
        CP,
        create(TagSpecifications=tags("ipam-pool", ("a", "1"), ("a", "2"))),
    ),
    Case("tag_value_too_long", CP, create(TagSpecifications=tags("ipam-pool", ("k", "v" * 257)))),
    # --- CreateIpamPool
    Case(
        "netmask_min_gt_max",
        CP,
        create(AllocationMinNetmaskLength=24, AllocationMaxNetmaskLength=16),
    ),
    Case(
        "netmask_default_outside_range",
        CP,
        create(AllocationMinNetmaskLength=16, AllocationDefaultNetmaskLength=8),
    ),
    Case("locale_empty", CP, create(Locale="")),
    Case("locale_invalid", CP, create(Locale="the-moon")),
    Case("locale_not_operating", CP, create(Locale="eu-west-1")),
    Case("locale_local_zone_not_allowed", CP, create(Locale="us-west-2-lax-1")),
    Case("locale_differs_from_source", CP, child(Locale=WEST)),
    Case("source_pool_other_scope", CP, create(IpamScopeId="{other}", SourceIpamPoolId="{top}")),
    Case("source_pool_other_family", CP, create(AddressFamily="ipv6", SourceIpamPoolId="{top}")),
    Case("source_pool_not_usable", CP, create(SourceIpamPoolId="{failed}")),
    Case("pool_depth_exceeded", CP, create(SourceIpamPoolId="{depth10}")),
    Case("publicly_advertisable_not_allowed", CP, create(PubliclyAdvertisable=True)),
    Case("public_member_in_private_scope", CP, create(AwsService="ec2")),
    Case(
        "source_resource_without_source_pool",
        CP,
        create(SourceResource={"ResourceId": "vpc-1", "ResourceType": "vpc"}),
    ),
    Case(
        "source_resource_region_mismatch",
        CP,
        child(
            SourceResource={"ResourceId": "vpc-1", "ResourceType": "vpc", "ResourceRegion": WEST}
        ),
    ),
    Case("pools_per_scope_exceeded", CP, create(), quotas={"pools_per_scope": 5}),
    # --- ProvisionIpamPoolCidr
    Case("cidr_or_netmask_missing", PR, {"IpamPoolId": "{empty_child}"}),
    Case("pool_not_usable", PR, {"IpamPoolId": "{failed}", "Cidr": "172.20.0.0/16"}),
    Case(
        "cidrs_per_pool_exceeded",
        PR,
        {"IpamPoolId": "{nodefault}", "Cidr": "192.169.0.0/16"},
        quotas={"cidrs_per_pool": 1},
    ),
    Case("amazon_pool_cidr_limit", PR, {"IpamPoolId": "{amazon6}", "NetmaskLength": 52}),
    Case(
        "cidr_authorization_context_required",
        PR,
        {"IpamPoolId": "{byoip6}", "Cidr": "2001:db8::/48"},
    ),
    Case("netmask_needs_source", PR, {"IpamPoolId": "{nodefault}", "NetmaskLength": 24}),
    Case("cidr_overlaps_top_level", PR, {"IpamPoolId": "{nodefault}", "Cidr": "10.128.0.0/9"}),
    Case(
        "cidr_netmask_outside_pool_rules",
        PR,
        {"IpamPoolId": "{empty_child}", "Cidr": "10.4.0.0/14"},
    ),
    Case("cidr_outside_pool_space", PR, {"IpamPoolId": "{empty_child}", "Cidr": "10.16.0.0/16"}),
    Case("cidr_overlaps_allocation", PR, {"IpamPoolId": "{empty_child}", "Cidr": "10.1.0.0/16"}),
    Case("cidr_not_available", PR, {"IpamPoolId": "{small_child2}", "NetmaskLength": 28}),
    # --- AllocateIpamPoolCidr, ReleaseIpamPoolAllocation
    Case(
        "allowed_cidrs_need_netmask",
        AL,
        {"IpamPoolId": "{regional}", "Cidr": "10.2.0.0/24", "AllowedCidrs": ["10.2.0.0/16"]},
    ),
    Case("allocation_size_missing", AL, {"IpamPoolId": "{nodefault}"}),
    Case(
        "allocation_cidr_outside_pool",
        AL,
        {"IpamPoolId": "{regional}", "NetmaskLength": 24, "DisallowedCidrs": ["10.128.0.0/16"]},
    ),
    Case("allocation_not_available", AL, {"IpamPoolId": "{small}", "NetmaskLength": 28}),
    Case(
        "allocation_not_found",
        "ReleaseIpamPoolAllocation",
        {"IpamPoolId": "{regional}", "IpamPoolAllocationId": "{custom}", "Cidr": "10.0.1.0/24"},
    ),
    Case(
        "allocation_not_custom",
        "ReleaseIpamPoolAllocation",
        {
            "IpamPoolId": "{regional}",
            "IpamPoolAllocationId": "{leaf_allocation}",
            "Cidr": "10.1.0.0/16",
        },
    ),
    # --- DeprovisionIpamPoolCidr
    Case("cidr_required", "DeprovisionIpamPoolCidr", {"IpamPoolId": "{leaf}"}),
    Case(
        "cidr_not_provisioned",
        "DeprovisionIpamPoolCidr",
        {"IpamPoolId": "{leaf}", "Cidr": "10.9.0.0/16"},
    ),
    Case(
        "cidr_not_live",
        "DeprovisionIpamPoolCidr",
        {"IpamPoolId": "{gone}", "Cidr": "172.31.0.0/16"},
    ),
    Case(
        "cidr_has_allocations",
        "DeprovisionIpamPoolCidr",
        {"IpamPoolId": "{regional}", "Cidr": "10.0.0.0/12"},
    ),
    # --- ModifyIpamPool
    Case("no_modification", "ModifyIpamPool", {"IpamPoolId": "{regional}"}),
    Case(
        "default_set_and_cleared",
        "ModifyIpamPool",
        {
            "IpamPoolId": "{regional}",
            "AllocationDefaultNetmaskLength": 20,
            "ClearAllocationDefaultNetmaskLength": True,
        },
    ),
    # --- DeleteIpamPool
    Case("cascade_not_allowed", "DeleteIpamPool", {"IpamPoolId": "{byoip6}", "Cascade": True}),
    Case("pool_has_cidrs", "DeleteIpamPool", {"IpamPoolId": "{nodefault}"}),
    Case("pool_has_children", "DeleteIpamPool", {"IpamPoolId": "{small}"}),
    # --- CreateTags / DeleteTags
    Case("resource_id_invalid", "CreateTags", {"Resources": ["vpc-0abc"], "Tags": [{"Key": "a"}]}),
    Case(
        "tag_limit_exceeded",
        "CreateTags",
        {
            "Resources": ["{tagged}"],
            "Tags": [{"Key": "k1", "Value": "x"}, {"Key": "a"}, {"Key": "b"}],
        },
    ),
    # --- IPAMs and scopes (the app makes none of these requests: the endpoint alone)
    Case("region_invalid", "CreateIpam", {"OperatingRegions": [{"RegionName": "moon-1x"}]}),
    Case(
        "free_tier_regions",
        "CreateIpam",
        {"Tier": "free", "OperatingRegions": [{"RegionName": WEST}]},
    ),
    Case("ipams_per_region_exceeded", "CreateIpam", {}, quotas={"ipams_per_region": 1}),
    Case(
        "home_region_removed",
        "ModifyIpam",
        {"IpamId": "{ipam}", "RemoveOperatingRegions": [{"RegionName": HOME}]},
    ),
    Case(
        "operating_region_in_use",
        "ModifyIpam",
        {"IpamId": "{ipam}", "RemoveOperatingRegions": [{"RegionName": WEST}]},
    ),
    Case("ipam_public_scope_has_pools", "DeleteIpam", {"IpamId": "{ipam}", "Cascade": True}),
    Case("ipam_has_content", "DeleteIpam", {"IpamId": "{west_ipam}"}, region=WEST),
    Case(
        "scopes_per_ipam_exceeded",
        "CreateIpamScope",
        {"IpamId": "{ipam}"},
        quotas={"scopes_per_ipam": 3},
    ),
    Case("default_scope_not_deletable", "DeleteIpamScope", {"IpamScopeId": "{private}"}),
    Case("scope_has_pools", "DeleteIpamScope", {"IpamScopeId": "{other}"}),
]


def snake(action: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in action).lstrip("_")


def endpoint_answer(world: World, case: Case, request: dict[str, Any]) -> tuple[str, str]:
    """(rule, answer) as the endpoint gives them through boto3."""
    ec2 = ipamsim.client(world.sim, region=case.region)
    try:
        response = getattr(ec2, snake(case.action))(**request)
    except ClientError as err:
        headers = err.response["ResponseMetadata"]["HTTPHeaders"]
        return headers.get(RULE_HEADER, ""), err.response["Error"]["Code"]
    rule = response["ResponseMetadata"]["HTTPHeaders"].get(RULE_HEADER, "")
    assert rule, "the endpoint accepted the request and named no rule"
    pool_id = request["IpamPoolId"]
    wanted = response["IpamPoolCidr"]["IpamPoolCidrId"]
    cidrs = ec2.get_ipam_pool_cidrs(IpamPoolId=pool_id)["IpamPoolCidrs"]
    (found,) = [c for c in cidrs if c["IpamPoolCidrId"] == wanted]
    assert found["FailureReason"]["Code"] == RULES[rule].failure_code
    return rule, found["State"]


def app_answer(request: dict[str, Any], case: Case) -> tuple[str, str]:
    """(rule, answer) of the first violation the app's pre-flight check finds."""
    violations = preflight.check(case.action, request)
    assert violations, "the app found nothing wrong"
    refused = [v for v in violations if not v.fails_later] or violations
    return refused[0].code, refused[0].aws_code


BOTH = [case for case in CASES if case.action in preflight.ACTIONS]
ENDPOINT_ONLY = [case for case in CASES if case.action not in preflight.ACTIONS]


def judged(case: Case, sim: Any, settings: Any) -> tuple[World, dict[str, Any], tuple[str, str]]:
    """The world built and mirrored, the case's quotas in force on both sides, its request."""
    world = build_world(sim)
    sync_all()
    for name, value in case.quotas.items():
        setattr(sim.config, f"max_{name}", value)
    settings.IPAM_QUOTAS = {**settings.IPAM_QUOTAS, **case.quotas}
    return world, case.resolved(world), (case.rule, RULES[case.rule].aws_code)


@pytest.mark.parametrize("case", BOTH, ids=[case.rule for case in BOTH])
def test_the_endpoint_and_the_app_name_the_same_rule(case, sim, settings, db):
    world, request, expected = judged(case, sim, settings)

    assert endpoint_answer(world, case, request) == expected
    assert app_answer(request, case) == expected


@pytest.mark.parametrize("case", ENDPOINT_ONLY, ids=[case.rule for case in ENDPOINT_ONLY])
def test_the_endpoint_names_the_rule_of_requests_the_app_never_makes(case, sim, settings, db):
    world, request, expected = judged(case, sim, settings)

    assert endpoint_answer(world, case, request) == expected


def test_every_rule_is_in_the_table():
    assert sorted(RULES) == sorted(case.rule for case in CASES)
