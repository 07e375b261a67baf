"""DescribeIpamPools (filters, pagination), ModifyIpamPool, DeleteIpamPool."""

from __future__ import annotations

import pytest
from botocore.exceptions import ParamValidationError

from tests.integration.ipamsim.support import (
    ACCOUNT,
    HOME,
    api_error,
    cidrs_of,
    message,
    pool_state,
    raw_request,
    tag_spec,
)


@pytest.fixture
def garden(world):
    """Pools that the filter tests pick from, by name."""
    pools = {
        "corp": world.pool(
            Description="corporate space",
            Locale=HOME,
            TagSpecifications=tag_spec("ipam-pool", Name="corp", env="prod"),
        ),
        "west": world.pool(
            Description="west coast",
            Locale="us-west-2",
            TagSpecifications=tag_spec("ipam-pool", Name="west", env="dev"),
        ),
        "v6": world.pool(
            AddressFamily="ipv6",
            Description="ula space",
            TagSpecifications=tag_spec("ipam-pool", Name="v6"),
        ),
        "public": world.pool(world.public_scope, Description="public space", Locale=HOME),
    }
    pools["child"] = world.pool(
        SourceIpamPoolId=pools["corp"], Locale=HOME, Description="corporate child"
    )
    return pools


def names(ec2, garden, *filters):
    by_id = {pool_id: name for name, pool_id in garden.items()}
    found = ec2.describe_ipam_pools(Filters=list(filters))["IpamPools"]
    return sorted(by_id[p["IpamPoolId"]] for p in found)


def test_describe_without_filters_lists_every_pool_in_creation_order(ec2, garden):
    found = ec2.describe_ipam_pools()["IpamPools"]

    assert [p["IpamPoolId"] for p in found] == list(garden.values())


def test_describe_by_ids(ec2, garden):
    found = ec2.describe_ipam_pools(IpamPoolIds=[garden["v6"], garden["corp"]])["IpamPools"]

    assert {p["IpamPoolId"] for p in found} == {garden["v6"], garden["corp"]}


def test_describe_with_an_unknown_id_is_not_found(ec2, garden):
    with api_error("InvalidIpamPoolId.NotFound"):
        ec2.describe_ipam_pools(IpamPoolIds=[garden["corp"], "ipam-pool-0123456789abcdef0"])


@pytest.mark.parametrize(
    ("name", "values", "expected"),
    [
        ("owner-id", [ACCOUNT], ["child", "corp", "public", "v6", "west"]),
        ("owner-id", ["111111111111"], []),
        ("locale", ["us-west-2"], ["west"]),
        ("locale", ["None"], ["v6"]),
        ("locale", ["us-*"], ["child", "corp", "public", "west"]),
        ("address-family", ["ipv6"], ["v6"]),
        ("ipam-scope-type", ["public"], ["public"]),
        ("ipam-scope-type", ["private"], ["child", "corp", "v6", "west"]),
        ("description", ["corporate*"], ["child", "corp"]),
        ("description", ["*space"], ["corp", "public", "v6"]),
        ("description", ["*coast"], ["west"]),
        ("description", ["corporate spac?"], ["corp"]),
        ("description", ["CORPORATE*"], []),
        ("pool-depth", ["2"], ["child"]),
        ("tag:env", ["prod"], ["corp"]),
        ("tag:env", ["*"], ["corp", "west"]),
        ("tag:Name", ["corp", "v6"], ["corp", "v6"]),
        ("tag-key", ["env"], ["corp", "west"]),
    ],
)
def test_pool_filters(ec2, garden, name, values, expected):
    assert names(ec2, garden, {"Name": name, "Values": values}) == expected


def test_ipam_scope_id_filter(ec2, world, garden):
    private = {"Name": "ipam-scope-id", "Values": [world.private_scope]}
    public = {"Name": "ipam-scope-id", "Values": [world.public_scope]}

    assert names(ec2, garden, public) == ["public"]
    assert names(ec2, garden, private) == ["child", "corp", "v6", "west"]


def test_values_within_a_filter_are_ored(ec2, garden):
    either = {"Name": "locale", "Values": ["us-west-2", "None"]}

    assert names(ec2, garden, either) == ["v6", "west"]


def test_filters_are_anded(ec2, world, garden):
    assert names(
        ec2,
        garden,
        {"Name": "owner-id", "Values": [ACCOUNT]},
        {"Name": "ipam-scope-id", "Values": [world.private_scope]},
        {"Name": "description", "Values": ["corporate*"]},
        {"Name": "pool-depth", "Values": ["1"]},
    ) == ["corp"]


def test_filters_combine_with_ids(ec2, garden):
    found = ec2.describe_ipam_pools(
        IpamPoolIds=[garden["corp"], garden["west"]],
        Filters=[{"Name": "locale", "Values": ["us-west-2"]}],
    )["IpamPools"]

    assert [p["IpamPoolId"] for p in found] == [garden["west"]]


def test_an_unknown_filter_is_refused(ec2, garden):
    with api_error("InvalidParameterValue"):
        ec2.describe_ipam_pools(Filters=[{"Name": "colour", "Values": ["blue"]}])


# --- pagination ---------------------------------------------------------------------------------


@pytest.fixture
def twelve_pools(world):
    return [world.pool(Description=f"pool {n}") for n in range(12)]


def test_max_results_pages_with_next_token(ec2, twelve_pools):
    seen, token, pages = [], None, []
    while True:
        params = {"MaxResults": 5} | ({"NextToken": token} if token else {})
        answer = ec2.describe_ipam_pools(**params)
        pages.append(len(answer["IpamPools"]))
        seen += [p["IpamPoolId"] for p in answer["IpamPools"]]
        token = answer.get("NextToken")
        if not token:
            break

    assert pages == [5, 5, 2]
    assert seen == twelve_pools


def test_no_next_token_on_the_last_full_page(ec2, world):
    for _ in range(5):
        world.pool()

    answer = ec2.describe_ipam_pools(MaxResults=5)

    assert len(answer["IpamPools"]) == 5
    assert "NextToken" not in answer


def test_the_botocore_paginator_walks_every_page(ec2, twelve_pools):
    paginator = ec2.get_paginator("describe_ipam_pools")
    pages = list(paginator.paginate(PaginationConfig={"PageSize": 5}))

    assert [len(page["IpamPools"]) for page in pages] == [5, 5, 2]
    found = [p["IpamPoolId"] for page in pages for p in page["IpamPools"]]
    assert found == twelve_pools


def test_pagination_with_a_filter(ec2, world, twelve_pools):
    for _ in range(3):
        world.pool(AddressFamily="ipv6")
    paginator = ec2.get_paginator("describe_ipam_pools")
    pages = paginator.paginate(
        Filters=[{"Name": "address-family", "Values": ["ipv4"]}],
        PaginationConfig={"PageSize": 5},
    )

    assert [p["IpamPoolId"] for p in pages.build_full_result()["IpamPools"]] == twelve_pools


def test_describe_ipams_paginates(ec2, world):
    for _ in range(6):
        world.sim.call("CreateIpam")

    pages = list(ec2.get_paginator("describe_ipams").paginate(PaginationConfig={"PageSize": 5}))

    assert [len(page["Ipams"]) for page in pages] == [5, 2]
    assert pages[0]["Ipams"][0]["IpamId"] == world.ipam_id


def test_describe_ipam_scopes_paginates(ec2, world):
    world.scope()
    for _ in range(2):
        world.sim.call("CreateIpam")

    pages = list(
        ec2.get_paginator("describe_ipam_scopes").paginate(PaginationConfig={"PageSize": 5})
    )

    assert [len(page["IpamScopes"]) for page in pages] == [5, 2]
    ids = [s["IpamScopeId"] for page in pages for s in page["IpamScopes"]]
    assert len(set(ids)) == 7


def test_max_results_of_a_thousand_is_accepted(ec2, twelve_pools):
    assert len(ec2.describe_ipam_pools(MaxResults=1000)["IpamPools"]) == 12


def test_max_results_over_a_thousand_is_refused(ec2, twelve_pools):
    with api_error("InvalidParameterValue"):
        ec2.describe_ipam_pools(MaxResults=1001)


def test_max_results_below_five_never_leaves_botocore(ec2, twelve_pools):
    with pytest.raises(ParamValidationError):
        ec2.describe_ipam_pools(MaxResults=4)


def test_max_results_below_five_over_raw_http(shared_server, twelve_pools):
    status, root = raw_request(
        shared_server.url,
        {"Action": "DescribeIpamPools", "Version": "2016-11-15", "MaxResults": "4"},
    )

    assert status == 400
    assert root.findtext("Errors/Error/Code") == "InvalidParameterValue"


def test_a_forged_next_token_is_refused(ec2, twelve_pools):
    with api_error("InvalidParameterValue"):
        ec2.describe_ipam_pools(NextToken="not-a-token")


# --- ModifyIpamPool -----------------------------------------------------------------------------


def test_modify_ipam_pool(ec2, world):
    pool_id = world.pool(
        AllocationMinNetmaskLength=16,
        AllocationMaxNetmaskLength=26,
        AllocationDefaultNetmaskLength=24,
        AllocationResourceTags=[{"Key": "Environment", "Value": "Preprod"}],
    )

    modified = ec2.modify_ipam_pool(
        IpamPoolId=pool_id,
        Description="changed",
        AutoImport=True,
        AllocationMinNetmaskLength=14,
        ClearAllocationDefaultNetmaskLength=True,
        AddAllocationResourceTags=[{"Key": "Owner", "Value": "Build Team"}],
    )["IpamPool"]

    assert modified["State"] == "modify-complete"
    assert modified["Description"] == "changed"
    assert modified["AutoImport"] is True
    assert modified["AllocationMinNetmaskLength"] == 14
    assert modified["AllocationMaxNetmaskLength"] == 26
    assert "AllocationDefaultNetmaskLength" not in modified
    assert modified["AllocationResourceTags"] == [
        {"Key": "Environment", "Value": "Preprod"},
        {"Key": "Owner", "Value": "Build Team"},
    ]
    assert ec2.describe_ipam_pools(IpamPoolIds=[pool_id])["IpamPools"][0] == modified


def test_modify_removes_allocation_resource_tags(ec2, world):
    pool_id = world.pool(
        AllocationResourceTags=[{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]
    )

    modified = ec2.modify_ipam_pool(
        IpamPoolId=pool_id, RemoveAllocationResourceTags=[{"Key": "a", "Value": "1"}]
    )["IpamPool"]

    assert modified["AllocationResourceTags"] == [{"Key": "b", "Value": "2"}]


def test_modify_sets_a_default_netmask(ec2, world):
    pool_id = world.pool(AllocationMinNetmaskLength=16, AllocationMaxNetmaskLength=28)

    modified = ec2.modify_ipam_pool(IpamPoolId=pool_id, AllocationDefaultNetmaskLength=20)

    assert modified["IpamPool"]["AllocationDefaultNetmaskLength"] == 20


def test_modify_accepts_min_equal_to_max(ec2, world):
    pool_id = world.pool()

    modified = ec2.modify_ipam_pool(
        IpamPoolId=pool_id,
        AllocationMinNetmaskLength=32,
        AllocationMaxNetmaskLength=32,
        AllocationDefaultNetmaskLength=32,
    )["IpamPool"]

    assert modified["AllocationMinNetmaskLength"] == modified["AllocationMaxNetmaskLength"] == 32


@pytest.mark.parametrize(
    "params",
    [
        {"AllocationMinNetmaskLength": 20, "AllocationMaxNetmaskLength": 16},
        {"AllocationMinNetmaskLength": 27},
        {"AllocationMaxNetmaskLength": 33},
        {"AllocationDefaultNetmaskLength": 30},
    ],
)
def test_modify_checks_the_netmask_rules_against_the_pool(ec2, world, params):
    pool_id = world.pool(AllocationMinNetmaskLength=16, AllocationMaxNetmaskLength=26)

    with api_error("InvalidParameterValue"):
        ec2.modify_ipam_pool(IpamPoolId=pool_id, **params)


def test_modify_cannot_set_and_clear_the_default(ec2, world):
    pool_id = world.pool()

    with api_error("InvalidParameterCombination"):
        ec2.modify_ipam_pool(
            IpamPoolId=pool_id,
            AllocationDefaultNetmaskLength=24,
            ClearAllocationDefaultNetmaskLength=True,
        )


@pytest.mark.parametrize(
    "params",
    [{}, {"ClearAllocationDefaultNetmaskLength": False}],
    ids=["nothing", "clear-false"],
)
def test_modify_without_a_modification_is_refused(ec2, world, params):
    pool_id = world.pool()

    with api_error("InvalidParameterCombination") as info:
        ec2.modify_ipam_pool(IpamPoolId=pool_id, **params)
    assert message(info) == "The request must contain a modification to the ipam pool"


def test_modify_unknown_pool_is_not_found(ec2, world):
    with api_error("InvalidIpamPoolId.NotFound"):
        ec2.modify_ipam_pool(IpamPoolId="ipam-pool-0123456789abcdef0", Description="x")


def test_modify_a_deleted_pool_is_not_found(ec2, world):
    pool_id = world.pool()
    ec2.delete_ipam_pool(IpamPoolId=pool_id)

    with api_error("InvalidIpamPoolId.NotFound"):
        ec2.modify_ipam_pool(IpamPoolId=pool_id, Description="x")


# --- DeleteIpamPool -----------------------------------------------------------------------------


def test_delete_ipam_pool(ec2, world):
    pool_id = world.pool(Description="example")

    deleted = ec2.delete_ipam_pool(IpamPoolId=pool_id)["IpamPool"]

    assert deleted["State"] == "delete-in-progress"
    assert deleted["IpamPoolId"] == pool_id
    assert pool_state(ec2, pool_id) == "delete-complete"
    scope = ec2.describe_ipam_scopes(IpamScopeIds=[world.private_scope])["IpamScopes"][0]
    assert scope["PoolCount"] == 0


def test_delete_unknown_pool_is_not_found(ec2, world):
    with api_error("InvalidIpamPoolId.NotFound"):
        ec2.delete_ipam_pool(IpamPoolId="ipam-pool-0123456789abcdef0")


def test_delete_twice_is_not_found(ec2, world):
    pool_id = world.pool()
    ec2.delete_ipam_pool(IpamPoolId=pool_id)

    with api_error("InvalidIpamPoolId.NotFound"):
        ec2.delete_ipam_pool(IpamPoolId=pool_id)


def test_a_pool_with_a_cidr_needs_cascade(ec2, world):
    """C2: AWS's DependencyViolation, in its words."""
    pool_id = world.provisioned_pool("10.0.0.0/16")

    with api_error("DependencyViolation") as refused:
        ec2.delete_ipam_pool(IpamPoolId=pool_id)
    assert refused.value.response["Error"]["Message"].endswith(
        "There are one or more pool cidrs provisioned in the pool."
    )
    assert cidrs_of(ec2, pool_id) == {"10.0.0.0/16": "provisioned"}


def test_a_pool_with_allocations_needs_cascade(ec2, world):
    pool_id = world.provisioned_pool("10.0.0.0/16", Locale=HOME)
    ec2.allocate_ipam_pool_cidr(IpamPoolId=pool_id, NetmaskLength=24)

    with api_error("DependencyViolation"):
        ec2.delete_ipam_pool(IpamPoolId=pool_id)


def test_a_pool_with_children_needs_cascade(ec2, world):
    parent = world.pool()
    world.pool(SourceIpamPoolId=parent)

    with api_error("DependencyViolation"):  # C3
        ec2.delete_ipam_pool(IpamPoolId=parent)


def test_cascade_removes_cidrs_allocations_and_children(ec2, world):
    top = world.provisioned_pool("10.0.0.0/8", Locale=HOME)
    child = world.pool(SourceIpamPoolId=top, Locale=HOME)
    ec2.provision_ipam_pool_cidr(IpamPoolId=child, Cidr="10.1.0.0/16")
    grandchild = world.pool(SourceIpamPoolId=child, Locale=HOME)
    ec2.provision_ipam_pool_cidr(IpamPoolId=grandchild, Cidr="10.1.2.0/24")
    ec2.allocate_ipam_pool_cidr(IpamPoolId=grandchild, NetmaskLength=28)
    ec2.allocate_ipam_pool_cidr(IpamPoolId=top, NetmaskLength=16)

    deleted = ec2.delete_ipam_pool(IpamPoolId=top, Cascade=True)["IpamPool"]

    assert deleted["State"] == "delete-in-progress"
    pools = ec2.describe_ipam_pools(IpamPoolIds=[top, child, grandchild])["IpamPools"]
    assert {p["State"] for p in pools} == {"delete-complete"}
    for pool_id in (top, child, grandchild):
        assert set(cidrs_of(ec2, pool_id).values()) == {"deprovisioned"}
        assert ec2.get_ipam_pool_allocations(IpamPoolId=pool_id)["IpamPoolAllocations"] == []
    again = world.provisioned_pool("10.0.0.0/8")
    assert cidrs_of(ec2, again) == {"10.0.0.0/8": "provisioned"}


def test_cascade_deletes_a_child_and_frees_its_space_in_the_source(ec2, world):
    top = world.provisioned_pool("10.0.0.0/8")
    child = world.pool(SourceIpamPoolId=top)
    ec2.provision_ipam_pool_cidr(IpamPoolId=child, Cidr="10.1.0.0/16")

    ec2.delete_ipam_pool(IpamPoolId=child, Cascade=True)

    assert ec2.get_ipam_pool_allocations(IpamPoolId=top)["IpamPoolAllocations"] == []
    assert pool_state(ec2, top) == "create-complete"


def test_cascade_is_refused_for_a_public_pool_without_a_source_resource(ec2, world):
    pool_id = world.pool(world.public_scope)

    with api_error("InvalidParameterCombination"):
        ec2.delete_ipam_pool(IpamPoolId=pool_id, Cascade=True)
    ec2.delete_ipam_pool(IpamPoolId=pool_id)


@pytest.mark.parametrize(
    "params", [{"AutoImport": False}, {"AllocationMinNetmaskLength": 0}, {"Description": ""}]
)
def test_modify_to_false_or_zero_is_a_modification(ec2, world, params):
    pool_id = world.pool(AutoImport=True, AllocationMinNetmaskLength=8, Description="d")

    modified = ec2.modify_ipam_pool(IpamPoolId=pool_id, **params)["IpamPool"]

    key, value = next(iter(params.items()))
    assert modified.get(key, "") == value
