"""The values AWS uses for IPAM objects, and the sets of states that mean something.

As NetBox keeps its ``choices.py``: each value once, labels beside it, state sets derived here
so no module spells a state out again.
"""

from __future__ import annotations

from enum import StrEnum


class PoolState(StrEnum):
    """The states of an IPAM, a scope or a pool [model]."""

    CREATE_IN_PROGRESS = "create-in-progress"
    CREATE_COMPLETE = "create-complete"
    CREATE_FAILED = "create-failed"
    MODIFY_IN_PROGRESS = "modify-in-progress"
    MODIFY_COMPLETE = "modify-complete"
    MODIFY_FAILED = "modify-failed"
    DELETE_IN_PROGRESS = "delete-in-progress"
    DELETE_COMPLETE = "delete-complete"
    DELETE_FAILED = "delete-failed"
    ISOLATE_IN_PROGRESS = "isolate-in-progress"
    ISOLATE_COMPLETE = "isolate-complete"
    RESTORE_IN_PROGRESS = "restore-in-progress"


class CidrState(StrEnum):
    """The states of a pool CIDR [model]."""

    PENDING_PROVISION = "pending-provision"
    PROVISIONED = "provisioned"
    FAILED_PROVISION = "failed-provision"
    PENDING_DEPROVISION = "pending-deprovision"
    DEPROVISIONED = "deprovisioned"
    FAILED_DEPROVISION = "failed-deprovision"
    FAILED_IMPORT = "failed-import"


class AddressFamily(StrEnum):
    IPV4 = "ipv4"
    IPV6 = "ipv6"


class ScopeType(StrEnum):
    PUBLIC = "public"
    PRIVATE = "private"


class AwsService(StrEnum):
    EC2 = "ec2"
    GLOBAL_SERVICES = "global-services"


class PublicIpSource(StrEnum):
    AMAZON = "amazon"
    BYOIP = "byoip"


class Tier(StrEnum):
    FREE = "free"
    ADVANCED = "advanced"


class AllocationResourceType(StrEnum):
    """What an allocation belongs to (the ones this project meets) [model]."""

    IPAM_POOL = "ipam-pool"
    VPC = "vpc"
    CUSTOM = "custom"


LABELS: dict[StrEnum, str] = {
    AddressFamily.IPV4: "IPv4",
    AddressFamily.IPV6: "IPv6",
    AwsService.EC2: "EC2",
    AwsService.GLOBAL_SERVICES: "Global services",
    PublicIpSource.AMAZON: "Amazon-provided",
    PublicIpSource.BYOIP: "Bring your own IP (BYOIP)",
}

# A pool in one of these states can take children, CIDRs and allocations.
USABLE_POOL_STATES = frozenset({PoolState.CREATE_COMPLETE, PoolState.MODIFY_COMPLETE})
# Being deleted or deleted: AWS lists a deleted object for a while.
DELETED_STATES = frozenset({PoolState.DELETE_IN_PROGRESS, PoolState.DELETE_COMPLETE})
# Deleted: AWS still lists the object for a while, but it holds nothing and never comes back.
GONE_STATES = frozenset({PoolState.DELETE_COMPLETE})
# AWS is still working on the object.
IN_PROGRESS_STATES = frozenset(s for s in PoolState if s.endswith("-in-progress"))
# A pool in one of these states will never take a child or a CIDR.
ENDED_POOL_STATES = frozenset({PoolState.CREATE_FAILED, *DELETED_STATES})

# CIDRs whose space the pool has and can hand out (a failed deprovision leaves it there, C7).
SPACE_CIDR_STATES = frozenset({CidrState.PROVISIONED, CidrState.FAILED_DEPROVISION})
# CIDRs that hold space: those, and those on their way to it.
LIVE_CIDR_STATES = frozenset({CidrState.PENDING_PROVISION, *SPACE_CIDR_STATES})
# CIDRs AWS gave up on, with a FailureReason.
FAILED_CIDR_STATES = frozenset({CidrState.FAILED_PROVISION, CidrState.FAILED_DEPROVISION})
# CIDRs AWS is still working on.
SETTLING_CIDR_STATES = frozenset({CidrState.PENDING_PROVISION, CidrState.PENDING_DEPROVISION})

# A change AWS carries out later, by the state it ends in: the states it passes through on its
# way there [model]. Any other state means it will not get there (create-failed, a pool deleted
# meanwhile, a CIDR failed or deprovisioned).
ON_THE_WAY: dict[str, frozenset[str]] = {
    PoolState.CREATE_COMPLETE: frozenset({PoolState.CREATE_IN_PROGRESS}),
    PoolState.MODIFY_COMPLETE: frozenset({PoolState.MODIFY_IN_PROGRESS}),
    PoolState.DELETE_COMPLETE: frozenset({PoolState.DELETE_IN_PROGRESS}),
    CidrState.PROVISIONED: frozenset({CidrState.PENDING_PROVISION}),
    CidrState.DEPROVISIONED: frozenset({CidrState.PENDING_DEPROVISION}),
}
