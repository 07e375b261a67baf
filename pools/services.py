"""Business operations on IPAM pools: every change goes to AWS first, then into the mirror.

AWS is always called outside any database transaction; what it answers is then saved in one
transaction. Errors come out as :mod:`pools.aws.errors` domain errors.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, transaction
from netaddr import IPNetwork

from awsipam.rules import normalise_locale
from pools import mirror, preflight
from pools.aws import (
    AwsError,
    AwsNotAuthorised,
    AwsRefused,
    AwsUnavailable,
    call_aws,
    ec2_client,
    pages,
)
from pools.aws.errors import POOL_NOT_FOUND_CODES
from pools.models import (
    IpamPool,
    IpamPoolAllocation,
    IpamPoolCidr,
    IpamScope,
    PoolCreation,
    State,
)

log = logging.getLogger(__name__)
DESCRIBE_BATCH = 100  # pool ids per DescribeIpamPools call


def new_client_token() -> str:
    return str(uuid.uuid4())


@dataclass(frozen=True)
class PoolSpec:
    """Typed input for CreateIpamPool."""

    scope: IpamScope
    address_family: str
    source_pool: IpamPool | None = None
    locale: str = ""
    description: str = ""
    auto_import: bool = False
    allocation_min_netmask_length: int | None = None
    allocation_max_netmask_length: int | None = None
    allocation_default_netmask_length: int | None = None
    allocation_resource_tags: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    public_ip_source: str = ""
    aws_service: str = ""
    publicly_advertisable: bool | None = None
    source_resource: dict[str, str] | None = None

    def request(self) -> dict[str, Any]:
        """The CreateIpamPool parameters; members left empty are omitted, as AWS prefers."""
        params: dict[str, Any] = {
            "IpamScopeId": self.scope.scope_id,
            "AddressFamily": self.address_family,
        }
        optional = {
            "SourceIpamPoolId": self.source_pool.pool_id if self.source_pool else None,
            "Locale": normalise_locale(self.locale),
            "Description": self.description or None,
            "AutoImport": self.auto_import or None,
            "AllocationMinNetmaskLength": self.allocation_min_netmask_length,
            "AllocationMaxNetmaskLength": self.allocation_max_netmask_length,
            "AllocationDefaultNetmaskLength": self.allocation_default_netmask_length,
            "PublicIpSource": self.public_ip_source or None,
            "AwsService": self.aws_service or None,
            "PubliclyAdvertisable": self.publicly_advertisable,
            "SourceResource": self.source_resource or None,
        }
        params.update({k: v for k, v in optional.items() if v is not None})
        if self.allocation_resource_tags:
            params["AllocationResourceTags"] = tag_list(self.allocation_resource_tags)
        if self.tags:
            params["TagSpecifications"] = [
                {"ResourceType": "ipam-pool", "Tags": tag_list(self.tags)}
            ]
        return params


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    """Tags as AWS takes them: ``[{"Key": ..., "Value": ...}]``."""
    return [{"Key": k, "Value": v} for k, v in tags.items()]


@dataclass(frozen=True)
class FirstCidr:
    """The first CIDR to provision into a new pool: a CIDR, or a netmask length for a child."""

    cidr: str = ""
    netmask_length: int | None = None

    def __bool__(self) -> bool:
        return bool(self.cidr) or self.netmask_length is not None

    def request(self, pool_id: str) -> dict[str, Any]:
        """The ProvisionIpamPoolCidr parameters (both members, if both were given)."""
        params: dict[str, Any] = {"IpamPoolId": pool_id}
        if self.cidr:
            params["Cidr"] = self.cidr
        if self.netmask_length is not None:
            params["NetmaskLength"] = self.netmask_length
        return params


def pool_check_permissions(*, spec: PoolSpec) -> bool:
    """DryRun: True when AWS says the call would succeed; raises AwsNotAuthorised if not.

    DryRun checks permissions only; it validates nothing else.
    """
    try:
        call_aws(ec2_client().create_ipam_pool, DryRun=True, **spec.request())
    except AwsRefused as err:
        if err.code != "DryRunOperation":
            raise
    return True


def pool_create(
    *,
    spec: PoolSpec,
    client_token: str,
    first_cidr: FirstCidr | None = None,
    user: Any = None,
) -> IpamPool:
    """Create a pool in AWS and mirror it; the same ``client_token`` never makes two pools.

    The token is recorded before AWS is called. A second call with it (a double click, a
    retry after a timeout) returns the pool of the first, asking AWS again if the first has
    not finished: AWS answers a replayed token with the original pool.
    """
    request = spec.request()
    creation = _claim_token(client_token, request, first_cidr, user)
    if creation.pool_id is not None:
        if creation.request != request:  # as AWS answers a replayed token with new parameters
            raise AwsRefused(
                f"The client token '{client_token}' was already used with other parameters.",
                code="IdempotentParameterMismatch",
            )
        return creation.pool
    try:
        response = call_aws(ec2_client().create_ipam_pool, ClientToken=client_token, **request)
    except AwsError as err:
        status = (
            PoolCreation.Status.UNREACHABLE
            if isinstance(err, AwsUnavailable)
            else PoolCreation.Status.REFUSED
        )
        PoolCreation.objects.filter(pk=creation.pk, pool__isnull=True).update(
            status=status, error_code=err.code, error_message=err.message
        )
        raise
    data = response["IpamPool"]
    with transaction.atomic():
        # A concurrent submit with the same token got the same answer from AWS: whichever
        # saves second waits for the first here and returns its pool.
        creation = PoolCreation.objects.select_for_update().get(pk=creation.pk)
        if creation.pool_id is not None:
            return creation.pool
        pool = mirror.save_pool(
            data, client_token=client_token, created_by_id=user.pk if _is_user(user) else None
        )
        PoolCreation.objects.filter(pk=creation.pk).update(
            status=PoolCreation.Status.CREATED, pool=pool, error_code="", error_message=""
        )
    return pool


def _is_user(user: Any) -> bool:
    return user is not None and getattr(user, "is_authenticated", False)


def _claim_token(
    client_token: str, request: dict[str, Any], first_cidr: FirstCidr | None, user: Any
) -> PoolCreation:
    defaults = {
        "request": request,
        "first_cidr": first_cidr.cidr if first_cidr else "",
        "first_netmask_length": first_cidr.netmask_length if first_cidr else None,
        "created_by": user if _is_user(user) else None,
    }
    try:
        creation, created = PoolCreation.objects.get_or_create(
            client_token=client_token, defaults=defaults
        )
    except IntegrityError:  # a concurrent submit claimed it first
        creation, created = PoolCreation.objects.get(client_token=client_token), False
    if not created and creation.pool_id is None:
        # A retry, perhaps with the form changed after a refusal: AWS made no pool with this
        # token yet, so the attempt is recorded afresh, pending, with its parameters.
        creation.request = request
        creation.first_cidr = defaults["first_cidr"]
        creation.first_netmask_length = defaults["first_netmask_length"]
        creation.status = PoolCreation.Status.PENDING
        creation.error_code = creation.error_message = ""
        creation.save(
            update_fields=[
                "request",
                "first_cidr",
                "first_netmask_length",
                "status",
                "error_code",
                "error_message",
                "updated_at",
            ]
        )
    return creation


def pool_provision_first_cidr(*, pool: IpamPool) -> None:
    """Provision the CIDR asked for at creation, once the pool is usable. Idempotent.

    If the block asked for was taken in AWS since the form checked it (someone else pressed
    "Use it" on the same suggestion), a pool with a source pool gets the next free block of
    that size instead (AWS picks it atomically when asked by netmask length), and the
    creation says so. Any other refusal is recorded on the creation, so the pool page shows
    it and nothing retries it.
    """
    creation = PoolCreation.objects.filter(pool=pool).first()
    if creation is None or not (creation.first_cidr or creation.first_netmask_length is not None):
        return
    if creation.error_code or pool.cidrs.exists() or not pool.is_usable:
        return
    token = f"{creation.client_token[:48]}-cidr"
    try:
        try:
            pool_provision_cidr(
                pool=pool,
                cidr=creation.first_cidr,
                netmask_length=creation.first_netmask_length,
                client_token=token,
            )
        except AwsRefused:
            if not (creation.first_cidr and pool.source_pool and _taken_meanwhile(pool, creation)):
                raise
            length = IPNetwork(creation.first_cidr).prefixlen
            cidr = pool_provision_cidr(pool=pool, netmask_length=length, client_token=f"{token}-2")
            PoolCreation.objects.filter(pk=creation.pk).update(
                first_cidr_note=f"{creation.first_cidr} was taken meanwhile; AWS gave the next "
                f"free /{length}{f', {cidr.cidr}' if cidr.cidr else ''}, instead."
            )
    except AwsRefused as err:
        PoolCreation.objects.filter(pk=creation.pk).update(
            error_code=err.code, error_message=err.message
        )
        raise


def _taken_meanwhile(pool: IpamPool, creation: PoolCreation) -> bool:
    """Whether the first CIDR AWS refused is allocated in the source pool now: read the source
    pool's space again and ask the rules (AWS's wording of the refusal is not to be parsed)."""
    pool_refresh_space(pool=pool.source_pool)
    request = FirstCidr(cidr=creation.first_cidr).request(pool.pool_id)
    source = IpamPool.objects.get(pk=pool.source_pool_id)
    return any(
        v.code == "cidr_overlaps_allocation"
        for v in preflight.provision(request, pool=pool, source=source)
    )


def pool_refresh(*, pool: IpamPool) -> IpamPool:
    """Read the pool, its CIDRs and its allocations from AWS again.

    A pool AWS no longer has (not found, or ``delete-complete``) is marked gone with its
    descendants and their space (:func:`mirror.forget_pools`); not found raises.
    """
    client = ec2_client()
    try:
        response = call_aws(client.describe_ipam_pools, IpamPoolIds=[pool.pool_id])
        if not response["IpamPools"]:
            raise AwsRefused(f"AWS no longer has {pool.pool_id}.", code="NotFound")
    except AwsRefused as err:
        if err.code in POOL_NOT_FOUND_CODES and pool.pk is not None:
            mirror.forget_pools([pool.pk])
        raise
    pool = mirror.save_pool(response["IpamPools"][0])
    if pool.state == State.CREATE_FAILED:
        # AWS made the pool and then failed it: the creation did not succeed after all.
        PoolCreation.objects.filter(pool=pool, status=PoolCreation.Status.CREATED).update(
            status=PoolCreation.Status.FAILED,
            error_code=State.CREATE_FAILED,
            error_message=pool.state_message,
        )
    if pool.in_aws:  # a deleted pool's space is gone with it
        pool_refresh_space(pool=pool)
    return pool


def read_pool_space(client: Any, pool_id: str) -> tuple[list[dict], list[dict]]:
    """A pool's CIDRs and allocations as AWS has them (every page of each).

    A pool with no CIDR has no allocation: space is allocated only from provisioned CIDRs, so
    GetIpamPoolAllocations is not asked.
    """
    cidrs = [
        c
        for page in pages(
            client.get_ipam_pool_cidrs, "IpamPoolCidrs", IpamPoolId=pool_id, MaxResults=1000
        )
        for c in page
    ]
    if not cidrs:
        return [], []
    allocations = [
        a
        for page in pages(
            client.get_ipam_pool_allocations,
            "IpamPoolAllocations",
            IpamPoolId=pool_id,
            MaxResults=1000,
        )
        for a in page
    ]
    return cidrs, allocations


def pool_refresh_space(*, pool: IpamPool) -> None:
    cidrs, allocations = read_pool_space(ec2_client(), pool.pool_id)
    with transaction.atomic():
        mirror.save_cidrs((pool, c) for c in cidrs)
        mirror.save_allocations((pool, a) for a in allocations)
        mirror.mark_missing(pool.cidrs.exclude(cidr_id__in=[c["IpamPoolCidrId"] for c in cidrs]))
        mirror.mark_missing(
            pool.allocations.exclude(
                allocation_id__in=[a["IpamPoolAllocationId"] for a in allocations]
            )
        )


def pool_refresh_allocations(*, pool: IpamPool) -> None:
    """Read the pool's allocations from AWS again (after child pools took or gave back
    space: its CIDRs are as they were)."""
    allocations = [
        a
        for page in pages(
            ec2_client().get_ipam_pool_allocations,
            "IpamPoolAllocations",
            IpamPoolId=pool.pool_id,
            MaxResults=1000,
        )
        for a in page
    ]
    with transaction.atomic():
        mirror.save_allocations((pool, a) for a in allocations)
        mirror.mark_missing(
            pool.allocations.exclude(
                allocation_id__in=[a["IpamPoolAllocationId"] for a in allocations]
            )
        )


def pool_provision_cidr(
    *,
    pool: IpamPool,
    cidr: str = "",
    netmask_length: int | None = None,
    client_token: str | None = None,
) -> IpamPoolCidr:
    """Provision a CIDR (or a block of ``netmask_length`` from the source pool) into ``pool``.

    In a pool with a source pool the CIDR becomes an allocation of the source pool, which
    the task that follows the pool reads back (:func:`pools.tasks.follow`).
    """
    params = _space_request(pool, cidr, netmask_length)
    if client_token:
        params["ClientToken"] = client_token
    response = call_aws(ec2_client().provision_ipam_pool_cidr, **params)
    data = response["IpamPoolCidr"]
    return IpamPoolCidr.objects.get(pk=mirror.save_cidrs([(pool, data)])[data["IpamPoolCidrId"]])


def _space_request(pool: IpamPool, cidr: str, netmask_length: int | None) -> dict[str, Any]:
    """Space asked of a pool: a CIDR, or else a netmask length (or neither: AWS decides)."""
    params: dict[str, Any] = {"IpamPoolId": pool.pool_id}
    if cidr:
        params["Cidr"] = cidr
    elif netmask_length is not None:
        params["NetmaskLength"] = netmask_length
    return params


def pool_allocate(
    *,
    pool: IpamPool,
    cidr: str = "",
    netmask_length: int | None = None,
    description: str = "",
    spec: AllocationSpec | None = None,
    client_token: str | None = None,
) -> IpamPoolAllocation:
    """Allocate a custom block from ``pool`` (``spec``, or the CIDR or netmask length given)
    and mirror it; the same ``client_token`` allocates once (AWS answers a replay with the
    first allocation)."""
    spec = spec or AllocationSpec(cidr=cidr, netmask_length=netmask_length, description=description)
    params = spec.request(pool.pool_id) | {"ClientToken": client_token or new_client_token()}
    response = call_aws(ec2_client().allocate_ipam_pool_cidr, **params)
    data = response["IpamPoolAllocation"]
    pks = mirror.save_allocations([(pool, data)])
    return IpamPoolAllocation.objects.get(pk=pks[data["IpamPoolAllocationId"]])


def pool_preview_allocation(*, pool: IpamPool, spec: AllocationSpec) -> IPNetwork | None:
    """The block AWS would allocate for ``spec`` now (``PreviewNextCidr``: nothing is
    allocated, nothing is saved)."""
    params = spec.request(pool.pool_id) | {"PreviewNextCidr": True}
    response = call_aws(ec2_client().allocate_ipam_pool_cidr, **params)
    cidr = response.get("IpamPoolAllocation", {}).get("Cidr")
    return IPNetwork(cidr) if cidr else None


def allocation_release(*, allocation: IpamPoolAllocation) -> None:
    """Release a custom allocation; the mirror stops counting it at once."""
    call_aws(
        ec2_client().release_ipam_pool_allocation,
        IpamPoolId=allocation.pool.pool_id,
        IpamPoolAllocationId=allocation.allocation_id,
        Cidr=str(allocation.cidr),
    )
    mirror.mark_missing(IpamPoolAllocation.objects.filter(pk=allocation.pk))


def pool_delete(*, pool: IpamPool, cascade: bool = False) -> IpamPool:
    """Delete a pool; with ``cascade`` AWS also deletes its child pools, CIDRs and allocations
    (the task that follows the pool reads them back: :func:`refresh_descendants`)."""
    response = call_aws(ec2_client().delete_ipam_pool, IpamPoolId=pool.pool_id, Cascade=cascade)
    return mirror.save_pool(response["IpamPool"])


def refresh_descendants(pool: IpamPool) -> None:
    """Read the pool's descendants from AWS again (a cascade deletes them with it)."""
    ids: list[str] = []
    level = [pool.pk]
    while level:
        children = list(
            IpamPool.objects.live().filter(source_pool__in=level).values_list("pk", "pool_id")
        )
        ids += [pool_id for _, pool_id in children]
        level = [pk for pk, _ in children]
    client = ec2_client()
    for start in range(0, len(ids), DESCRIBE_BATCH):
        try:
            response = call_aws(
                client.describe_ipam_pools, IpamPoolIds=ids[start : start + DESCRIBE_BATCH]
            )
        except AwsError as err:
            log.warning("Could not read the child pools of %s: %s", pool.pool_id, err.code)
            continue
        mirror.save_pools(response["IpamPools"])


# --- space: allocate, release, deprovision ------------------------------------------------


@dataclass(frozen=True)
class AllocationSpec:
    """Typed input for AllocateIpamPoolCidr: a CIDR, or a netmask length (with the blocks it
    may and may not come from), or neither when the pool has a default netmask length."""

    cidr: str = ""
    netmask_length: int | None = None
    allowed_cidrs: tuple[str, ...] = ()
    disallowed_cidrs: tuple[str, ...] = ()
    description: str = ""

    def request(self, pool_id: str) -> dict[str, Any]:
        """The parameters, as given (both a CIDR and a length too: the rules judge that)."""
        params: dict[str, Any] = {"IpamPoolId": pool_id}
        if self.cidr:
            params["Cidr"] = self.cidr
        if self.netmask_length is not None:
            params["NetmaskLength"] = self.netmask_length
        if self.allowed_cidrs:
            params["AllowedCidrs"] = list(self.allowed_cidrs)
        if self.disallowed_cidrs:
            params["DisallowedCidrs"] = list(self.disallowed_cidrs)
        if self.description:
            params["Description"] = self.description
        return params


def pool_deprovision_cidr(*, pool: IpamPool, cidr: str) -> IpamPoolCidr:
    """Start deprovisioning one of the pool's CIDRs; AWS answers ``pending-deprovision`` and
    settles later (to ``deprovisioned``, or ``failed-deprovision`` with its reason), which
    the task that follows the pool reads back (:func:`pools.tasks.follow`)."""
    response = call_aws(ec2_client().deprovision_ipam_pool_cidr, IpamPoolId=pool.pool_id, Cidr=cidr)
    data = response["IpamPoolCidr"]
    return IpamPoolCidr.objects.get(pk=mirror.save_cidrs([(pool, data)])[data["IpamPoolCidrId"]])


# --- editing a pool: ModifyIpamPool, its tags ----------------------------------------------


def pool_modify(*, pool: IpamPool, changes: dict[str, Any]) -> IpamPool:
    """ModifyIpamPool with ``changes`` (its members as boto3 takes them, only those that
    change); the mirror takes the pool AWS answers with. ModifyIpamPool takes no ClientToken:
    sending the same changes twice changes nothing more."""
    response = call_aws(ec2_client().modify_ipam_pool, IpamPoolId=pool.pool_id, **changes)
    return mirror.save_pool(response["IpamPool"])


def pool_set_tags(*, pool: IpamPool, tags: dict[str, str]) -> IpamPool:
    """Give the pool exactly ``tags``: CreateTags for the new and changed ones, DeleteTags for
    the keys that go (only the calls needed), then the pool read back from AWS into the mirror
    (its tags, its name, its searchable tag rows). If the second call fails the first has
    still happened: the pool is read back before the error is raised."""
    added = {k: v for k, v in tags.items() if pool.tags.get(k) != v}
    removed = [k for k in pool.tags if k not in tags]
    client = ec2_client()
    done = False
    try:
        if added:
            call_aws(client.create_tags, Resources=[pool.pool_id], Tags=tag_list(added))
            done = True
        if removed:
            call_aws(
                client.delete_tags,
                Resources=[pool.pool_id],
                Tags=[{"Key": key} for key in removed],
            )
            done = True
    except AwsError:
        if done:
            try:
                _read_back(client, pool)
            except AwsError as err:  # the refusal matters more; the next sync mends the rest
                log.warning("Could not read %s back: %s", pool.pool_id, err.code)
        raise
    return _read_back(client, pool) if done else pool


def _read_back(client: Any, pool: IpamPool) -> IpamPool:
    """The pool as AWS has it now, into the mirror (tags, name and tag rows with it)."""
    response = call_aws(client.describe_ipam_pools, IpamPoolIds=[pool.pool_id])
    return mirror.save_pool(response["IpamPools"][0]) if response["IpamPools"] else pool


__all__ = [
    "AllocationSpec",
    "AwsError",
    "AwsNotAuthorised",
    "FirstCidr",
    "PoolSpec",
    "allocation_release",
    "new_client_token",
    "pool_allocate",
    "pool_check_permissions",
    "pool_create",
    "pool_delete",
    "pool_deprovision_cidr",
    "pool_modify",
    "pool_preview_allocation",
    "pool_provision_cidr",
    "pool_provision_first_cidr",
    "pool_refresh",
    "pool_refresh_allocations",
    "pool_refresh_space",
    "pool_set_tags",
]
