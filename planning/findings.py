"""What whole-plan validation and the packer report: one finding per broken rule and node.

AWS's own rules keep their codes from :mod:`awsipam.catalog` (a planned pool breaks them as a
request would); the rules that span nodes, which only a plan has, are listed here with their
severity. Each finding says how to fix what it finds.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from planning.spec import Tree

ERROR = "error"
WARNING = "warning"

# The rules across nodes: code -> severity. AWS rule codes (awsipam.catalog) are errors.
PLAN_RULES = {
    "node_outside_parent": ERROR,
    "node_overlaps_sibling": ERROR,
    "node_overlaps_live": ERROR,
    "node_overlaps_reservation": ERROR,
    "node_overlaps_plan": ERROR,
    "node_outside_space": ERROR,
    "node_size_unknown": ERROR,
    "node_size_too_large": ERROR,
    "node_intent_invalid": ERROR,
    "node_cidr_family": ERROR,
    "node_no_room": ERROR,
    "renumbering_needed": ERROR,
    "parent_not_placed": ERROR,
    "children_exceed_rules": ERROR,
    "name_not_unique": ERROR,
    "name_missing": ERROR,
    "plan_cycle": ERROR,
    "bound_pool_missing": ERROR,
    "bound_pool_moved": ERROR,
    "pools_per_scope_exceeded": ERROR,
    "cidrs_per_pool_exceeded": ERROR,
    "plan_no_space": ERROR,
    "name_used_by_live_pool": WARNING,
    "region_not_summarised": WARNING,
    "ipv6_not_nibble": WARNING,
    "spare_slots_short": WARNING,
    "node_smaller_than_need": WARNING,
    "children_leave_no_headroom": WARNING,
}


@dataclass(frozen=True)
class Finding:
    node: str | None  # the node's key (None: the plan as a whole)
    code: str
    message: str
    fix: str = ""
    severity: str = ERROR
    field: str | None = None  # the node's field it concerns, if one

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Finding:
        return cls(**{k: data.get(k) for k in cls.__dataclass_fields__ if k in data})

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR


def finding(
    node: str | None, code: str, message: str, fix: str = "", *, field: str | None = None
) -> Finding:
    return Finding(node, code, message, fix, PLAN_RULES.get(code, ERROR), field)


def ordered(findings: Iterable[Finding], tree: Tree) -> list[Finding]:
    """Each finding once: errors first, the plan's own first, then in tree order."""
    order = {n.key: i for i, n in enumerate(tree.walk())}
    unique = {(f.node, f.code, f.message): f for f in findings}
    return sorted(
        unique.values(),
        key=lambda f: (not f.is_error, -1 if f.node is None else order.get(f.node, 1 << 30)),
    )
