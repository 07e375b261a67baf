"""Demo data: an IPAM with a believable pool hierarchy, so a newcomer sees something real."""

from __future__ import annotations

from typing import Any

from ipamsim.simulator import Simulator

HOME = "us-east-1"
REGIONS = (
    ("us-east-1", "10.0.0.0/12"),
    ("us-west-2", "10.16.0.0/12"),
    ("eu-west-1", "10.32.0.0/12"),
)
ENVIRONMENTS = ("prod", "dev")


def _tags(resource_type: str, **tags: str) -> list[dict[str, Any]]:
    return [
        {"ResourceType": resource_type, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}
    ]


def seed_demo(sim: Simulator, *, showcase: bool = True) -> bool:
    """Create the demo IPAM unless the state already has an IPAM; True if it created it.

    ``showcase`` adds what shows the rest of the app (see :func:`_showcase`); without it, the
    smaller world the app's tests are written against.
    """
    if any(True for _ in sim.store.all("ipam")):
        return False
    config = sim.config
    delays = config.create_delay, config.provision_delay
    config.create_delay = config.provision_delay = 0.0
    try:
        _build(sim, showcase=showcase)
    finally:
        config.create_delay, config.provision_delay = delays
    return True


def _pool(sim: Simulator, scope_id: str, name: str, **params: Any) -> str:
    pool = sim.call(
        "CreateIpamPool",
        IpamScopeId=scope_id,
        AddressFamily="ipv4",
        TagSpecifications=_tags("ipam-pool", Name=name),
        **params,
    )
    return pool["IpamPool"]["IpamPoolId"]


def _build(sim: Simulator, *, showcase: bool) -> None:
    ipam = sim.call(
        "CreateIpam",
        Description="Demo IPAM",
        OperatingRegions=[{"RegionName": r} for r, _ in REGIONS],
        TagSpecifications=_tags("ipam", Name="demo"),
    )["Ipam"]
    scope = ipam["PrivateDefaultScopeId"]
    top = _pool(
        sim,
        scope,
        "corporate",
        Description="All private IPv4 space",
        AllocationMinNetmaskLength=12,
        AllocationMaxNetmaskLength=16,
    )
    sim.call("ProvisionIpamPoolCidr", IpamPoolId=top, Cidr="10.0.0.0/8")
    for region, cidr in REGIONS:
        regional = _pool(
            sim,
            scope,
            region,
            Description=f"{region} regional pool",
            Locale=region,
            SourceIpamPoolId=top,
            AllocationMinNetmaskLength=14,
            AllocationMaxNetmaskLength=20,
        )
        sim.call("ProvisionIpamPoolCidr", IpamPoolId=regional, Cidr=cidr)
        for env in ENVIRONMENTS:
            env_pool = _pool(
                sim,
                scope,
                f"{region}-{env}",
                Description=f"{region} {env}",
                Locale=region,
                SourceIpamPoolId=regional,
                AllocationMinNetmaskLength=16,
                AllocationMaxNetmaskLength=28,
                AllocationDefaultNetmaskLength=24,
                AllocationResourceTags=[{"Key": "environment", "Value": env}],
            )
            sim.call("ProvisionIpamPoolCidr", IpamPoolId=env_pool, NetmaskLength=14)
            for app in ("web", "data"):
                sim.call(
                    "AllocateIpamPoolCidr",
                    IpamPoolId=env_pool,
                    NetmaskLength=24,
                    Description=f"{app} VPC",
                )
    v6 = sim.call(
        "CreateIpamPool",
        IpamScopeId=scope,
        AddressFamily="ipv6",
        Description="Unique local IPv6 space",
        AllocationMinNetmaskLength=48,
        AllocationMaxNetmaskLength=64,
        TagSpecifications=_tags("ipam-pool", Name="ula-v6"),
    )["IpamPool"]["IpamPoolId"]
    sim.call("ProvisionIpamPoolCidr", IpamPoolId=v6, Cidr="fd00:ec2::/32")
    if showcase:
        _showcase(sim, scope, top, v6)


def _showcase(sim: Simulator, scope: str, top: str, v6: str) -> None:
    """What the rest of the app shows: an IPv6 hierarchy with a VPC-sized allocation, a
    deprovisioned CIDR, tagged custom allocations and a pool AWS failed to create."""
    for region, _ in REGIONS[:2]:
        regional = sim.call(
            "CreateIpamPool",
            IpamScopeId=scope,
            AddressFamily="ipv6",
            Locale=region,
            SourceIpamPoolId=v6,
            Description=f"{region} unique local IPv6",
            AllocationMinNetmaskLength=56,
            AllocationMaxNetmaskLength=64,
            AllocationDefaultNetmaskLength=56,
            TagSpecifications=_tags("ipam-pool", Name=f"ula-v6-{region}", team="netops"),
        )["IpamPool"]["IpamPoolId"]
        sim.call("ProvisionIpamPoolCidr", IpamPoolId=regional, NetmaskLength=48)
        sim.call("AllocateIpamPoolCidr", IpamPoolId=regional, Description="shared-services VPC")
    # Space added to the top pool and given back: its CIDR ends deprovisioned.
    sim.call("ProvisionIpamPoolCidr", IpamPoolId=top, Cidr="172.16.0.0/12")
    sim.call("DeprovisionIpamPoolCidr", IpamPoolId=top, Cidr="172.16.0.0/12")
    # Ranges held for on-premises networks, as custom allocations in a regional pool.
    onprem = sim.call(
        "DescribeIpamPools",
        Filters=[{"Name": "tag:Name", "Values": [REGIONS[0][0]]}],
    )["IpamPools"][0]["IpamPoolId"]
    for cidr, site in (("10.15.0.0/16", "datacenter-ashburn"), ("10.14.0.0/16", "office-nyc")):
        sim.call(
            "AllocateIpamPoolCidr", IpamPoolId=onprem, Cidr=cidr, Description=f"on-premises {site}"
        )
    faults = sim.faults
    fails, message = faults.fail_next_creates, faults.fail_message
    faults.fail_next_creates = 1
    faults.fail_message = "The pool could not be created: the account's IPAM role is missing."
    try:
        _pool(sim, scope, "sandbox", Description="Created while AWS was misconfigured")
    finally:
        faults.fail_next_creates, faults.fail_message = fails, message
