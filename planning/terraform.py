"""A plan as Terraform: an ``aws_vpc_ipam_pool`` and an ``aws_vpc_ipam_pool_cidr`` per node,
with explicit CIDRs, and ``import`` blocks (Terraform 1.5+) for the nodes whose pools exist.

Pure: no Django. The pool's arguments come from the CreateIpamPool request the node stands for
(:func:`planning.requests.create_pool_request`), so Terraform creates what the planner's own
apply would. Resource names are HCL identifiers made of the node's name and its key: unique,
and the same in every export of the plan.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from planning.requests import create_pool_request
from planning.spec import NodeSpec, PlanSpec, Tree

POOL = "aws_vpc_ipam_pool"
POOL_CIDR = "aws_vpc_ipam_pool_cidr"
REQUIRED_TERRAFORM = ">= 1.5.0"  # import blocks
# CreateIpamPool member -> the resource's argument, in the order they are written.
ARGUMENTS = (
    ("AddressFamily", "address_family"),
    ("IpamScopeId", "ipam_scope_id"),
    ("SourceIpamPoolId", "source_ipam_pool_id"),
    ("Locale", "locale"),
    ("Description", "description"),
    ("AllocationMinNetmaskLength", "allocation_min_netmask_length"),
    ("AllocationMaxNetmaskLength", "allocation_max_netmask_length"),
    ("AllocationDefaultNetmaskLength", "allocation_default_netmask_length"),
)
_SLUG = re.compile(r"[^a-z0-9]+")
_KEY = re.compile(r"[^A-Za-z0-9_-]")
MAX_SLUG = 40


class Expression(str):
    """HCL written as it is (a reference), not as a quoted string."""


def hcl_string(text: str) -> str:
    """``text`` as an HCL quoted string: quotes, backslashes and control characters escaped,
    and ``${`` / ``%{`` doubled so Terraform reads no template in them."""
    out = []
    for char in text:
        if char == "\\":
            out.append("\\\\")
        elif char == '"':
            out.append('\\"')
        elif char == "\n":
            out.append("\\n")
        elif char == "\r":
            out.append("\\r")
        elif char == "\t":
            out.append("\\t")
        elif ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0 or char in "\u2028\u2029":
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out).replace("${", "$${").replace("%{", "%%{") + '"'


def _value(value: Any) -> str:
    if isinstance(value, Expression):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return hcl_string(value)
    raise TypeError(f"no HCL for {type(value).__name__}")


def identifiers(nodes: Iterable[NodeSpec]) -> dict[str, str]:
    """Each node's resource name: ``<name>_<key>``, an HCL identifier (a letter first; letters,
    digits, ``_`` and ``-``), unique in the plan (a clash, which only odd keys can make, gets
    a number, in key order)."""
    names: dict[str, str] = {}
    taken: set[str] = set()
    for node in sorted(nodes, key=lambda n: n.key):
        slug = _SLUG.sub("_", node.name.lower()).strip("_")[:MAX_SLUG].rstrip("_")
        if not slug or not slug[0].isalpha():
            slug = "pool_" + slug if slug else "pool"
        name = f"{slug}_{_KEY.sub('_', node.key)}"
        candidate, number = name, 2
        while candidate in taken:
            candidate, number = f"{name}_{number}", number + 1
        taken.add(candidate)
        names[node.key] = candidate
    return names


class _Writer:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def comment(self, text: str) -> None:
        for line in text.splitlines() or [""]:
            self.lines.append(f"# {line}".rstrip())

    def block(self, head: str, items: Sequence[tuple[str, Any]], indent: int = 0) -> None:
        pad = "  " * indent
        self.lines.append(f"{pad}{head} {{")
        self.attributes(items, indent + 1)
        self.lines.append(f"{pad}}}")

    def attributes(self, items: Sequence[tuple[str, Any]], indent: int) -> None:
        """``name = value`` lines, their ``=`` aligned as ``terraform fmt`` aligns them; a
        mapping is written over several lines, a list of references on one."""
        pad = "  " * indent
        width = max((len(k) for k, v in items if not isinstance(v, dict | Block)), default=0)
        for key, value in items:
            if isinstance(value, Block):
                self.block(key, value.items, indent)
            elif isinstance(value, dict):
                if not value:
                    self.lines.append(f"{pad}{key} = {{}}")
                    continue
                self.lines.append(f"{pad}{key} = {{")
                inner = max(len(hcl_string(k)) for k in value)
                for k, v in value.items():
                    self.lines.append(f"{pad}  {hcl_string(k).ljust(inner)} = {_value(v)}")
                self.lines.append(f"{pad}}}")
            elif isinstance(value, list):
                self.lines.append(f"{pad}{key.ljust(width)} = [{', '.join(map(_value, value))}]")
            else:
                self.lines.append(f"{pad}{key.ljust(width)} = {_value(value)}")

    def blank(self) -> None:
        self.lines.append("")

    def text(self) -> str:
        return "\n".join(self.lines).rstrip() + "\n"


class Block:
    """A nested block (``required_providers { ... }``)."""

    def __init__(self, items: Sequence[tuple[str, Any]]) -> None:
        self.items = items


def to_terraform(
    spec: PlanSpec, *, scope_id: str | None = None, parent_pool_id: str | None = None
) -> str:
    """The plan as Terraform configuration (the plan's scope and parent pool unless given)."""
    scope_id = spec.scope_id if scope_id is None else scope_id
    parent_pool_id = spec.parent_pool_id if parent_pool_id is None else parent_pool_id
    tree = Tree.of(spec.nodes)
    walked = list(tree.walk())
    names = identifiers(spec.nodes)
    out = _Writer()
    out.comment(
        f"Plan {spec.name} ({spec.address_family}): {len(walked)} pool"
        f"{'' if len(walked) == 1 else 's'}, each with its explicit CIDR.\n"
        "Pools that exist already are imported (import blocks need Terraform 1.5 or later)."
    )
    out.block(
        "terraform",
        [
            ("required_version", REQUIRED_TERRAFORM),
            (
                "required_providers",
                Block([("aws", {"source": "hashicorp/aws"})]),
            ),
        ],
    )
    out.blank()
    local_items: list[tuple[str, Any]] = [("ipam_scope_id", scope_id)]
    if parent_pool_id:
        local_items.append(("parent_pool_id", parent_pool_id))
    out.block("locals", local_items)
    skipped = sorted(set(tree.nodes) - {n.key for n in walked})
    for key in skipped:
        out.blank()
        out.comment(f"Left out: {tree.nodes[key].name or key} ({key}) is its own ancestor.")
    imports: list[tuple[str, str]] = []
    for node in walked:
        parent = tree.parent_of(node.key)
        name = names[node.key]
        if parent is not None:
            source: Expression | None = Expression(f"{POOL}.{names[parent.key]}.id")
        else:
            source = Expression("local.parent_pool_id") if parent_pool_id else None
        request = create_pool_request(
            node, plan=spec, tree=tree, scope_id=scope_id, source_pool_id=None
        )
        request["IpamScopeId"] = Expression("local.ipam_scope_id")
        if source is not None:
            request["SourceIpamPoolId"] = source
        items: list[tuple[str, Any]] = [
            (argument, request[member]) for member, argument in ARGUMENTS if member in request
        ]
        resource_tags = {t["Key"]: t["Value"] for t in request.get("AllocationResourceTags", [])}
        if resource_tags:
            items.append(("allocation_resource_tags", resource_tags))
        tags = {
            t["Key"]: t["Value"]
            for spec_ in request.get("TagSpecifications", [])
            for t in spec_["Tags"]
        }
        if tags:
            items.append(("tags", tags))
        out.blank()
        out.comment(f"{node.name or '(no name)'} ({node.key}): {node.describe_intent()}")
        out.block(f'resource "{POOL}" "{name}"', items)
        if node.pool_id:
            imports.append((f"{POOL}.{name}", node.pool_id))
        if node.cidr is None:
            out.comment("No CIDR yet: the plan has not placed this node.")
            continue
        cidr_items: list[tuple[str, Any]] = [
            ("ipam_pool_id", Expression(f"{POOL}.{name}.id")),
            ("cidr", str(node.cidr)),
        ]
        waits_for = _placed_ancestor(tree, node)
        if waits_for is not None:
            cidr_items.append(("depends_on", [Expression(f"{POOL_CIDR}.{names[waits_for.key]}")]))
        out.blank()
        out.block(f'resource "{POOL_CIDR}" "{name}"', cidr_items)
        if node.pool_id:
            imports.append((f"{POOL_CIDR}.{name}", f"{node.cidr}_{node.pool_id}"))
    if imports:
        out.blank()
        out.comment("The pools that exist already, and their CIDRs.")
    for number, (target, import_id) in enumerate(imports):
        if number:
            out.blank()
        out.block("import", [("to", Expression(target)), ("id", import_id)])
    return out.text()


def _placed_ancestor(tree: Tree, node: NodeSpec) -> NodeSpec | None:
    """The nearest ancestor with a CIDR: a CIDR is provisioned from its parent pool's, so the
    child's waits for it."""
    parent, seen = tree.parent_of(node.key), {node.key}
    while parent is not None and parent.key not in seen:
        if parent.cidr is not None:
            return parent
        seen.add(parent.key)
        parent = tree.parent_of(parent.key)
    return None
