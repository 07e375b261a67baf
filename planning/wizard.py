"""The template wizard: a few levels, top down, each a dimension (Regions, business units,
environments, a count of VPCs) with a name pattern, a size rule and spare slots, expanded into
a plan's nodes.

Pure: no Django. :func:`check` says what is wrong with a template, field by field;
:func:`expand` makes the nodes (keys from :func:`planning.spec.new_key`, names from the
patterns, so the same template always names its nodes alike); :func:`merge` lays a new
expansion over a plan made from an earlier one, so that adding a Region re-packs nothing that
is placed; :func:`preview` packs an expansion with :func:`planning.packer.pack` for the wizard
to show the CIDRs and the total before anything is created.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace

from netaddr import IPNetwork

from awsipam import rules
from awsipam.constants import FAMILY_VERSION, MAX_POOL_DEPTH, MAX_TAG_VALUE_LENGTH, NETMASK_LIMITS
from planning import packer
from planning.findings import Finding
from planning.spec import (
    MAX_GROWTH_PERCENT,
    MAX_HOSTS,
    MAX_NEED_COUNT,
    Intent,
    Need,
    NodeSpec,
    PlanSpec,
    Tree,
    length_for,
    new_key,
)

# The wizard's own bounds (not AWS's): a template makes at most this many nodes, a level has at
# most this many values, a node keeps at most this many spare slots.
MAX_NODES = 1000
MAX_VALUES = 100
MAX_SPARE_SLOTS = 64

# What a level repeats over; each dimension is a placeholder of the name patterns.
ONE, REGION, UNIT, ENV, NUMBER = "one", "region", "unit", "env", "n"
DIMENSIONS = (
    (ONE, "one node"),
    (REGION, "each Region"),
    (UNIT, "each business unit"),
    (ENV, "each environment"),
    (NUMBER, "a count of nodes"),
)
PLACEHOLDER = {REGION: "region", UNIT: "unit", ENV: "env", NUMBER: "n"}

# How a level's nodes are sized.
FIT, LENGTH, BLOCKS, HOSTS = "fit", "length", "blocks", "hosts"
SIZE_KINDS = (
    (FIT, "fit the children"),
    (LENGTH, "a prefix length"),
    (BLOCKS, "N blocks of /L"),
    (HOSTS, "a number of addresses"),
)

_TOKEN = re.compile(r"\{([^{}]*)\}")


@dataclass(frozen=True)
class Size:
    """A level's size rule: its children's total (``FIT``), a prefix length, ``count`` blocks
    of ``/length``, or ``hosts`` addresses; a need grows by ``growth`` percent."""

    kind: str = FIT
    length: int | None = None
    count: int = 1
    hosts: int | None = None
    growth: int = 0

    def need(self) -> Need | None:
        if self.kind == BLOCKS:
            return Need(count=self.count, length=self.length, growth=self.growth)
        if self.kind == HOSTS:
            return Need(hosts=self.hosts, growth=self.growth)
        return None

    def describe(self) -> str:
        if self.kind == FIT:
            return "fits its children"
        if self.kind == LENGTH:
            return f"/{self.length}"
        need = self.need()
        return need.describe() if need else ""


@dataclass(frozen=True)
class Level:
    pattern: str
    dimension: str = ONE
    count: int = 1  # NUMBER: how many nodes under each parent
    size: Size = field(default_factory=Size)
    spare_slots: int = 0  # blocks the size of the largest child, kept free in each node


@dataclass(frozen=True)
class Template:
    levels: tuple[Level, ...]
    family: str = "ipv4"
    regions: tuple[str, ...] = ()
    units: tuple[str, ...] = ()
    environments: tuple[str, ...] = ()

    def values(self, level: Level) -> tuple[str, ...]:
        """What the level repeats over (a single empty value: one node)."""
        if level.dimension == REGION:
            return self.regions
        if level.dimension == UNIT:
            return self.units
        if level.dimension == ENV:
            return self.environments
        if level.dimension == NUMBER:
            width = len(str(level.count)) if level.count >= 10 else 1
            return tuple(str(n).zfill(width) for n in range(1, level.count + 1))
        return ("",)


@dataclass(frozen=True)
class Problem:
    """What is wrong with a template: ``level`` (None: the template's own fields) and the
    field it concerns, as the wizard's form names them."""

    level: int | None
    field: str
    code: str
    message: str


class TemplateError(ValueError):
    def __init__(self, problems: Sequence[Problem]) -> None:
        super().__init__("; ".join(p.message for p in problems))
        self.problems = list(problems)


# --- checking ------------------------------------------------------------------------------


def node_count(template: Template) -> int:
    """How many nodes the template makes (counted, not made; capped past ``MAX_NODES``)."""
    total, row = 0, 1
    for level in template.levels:
        row *= len(template.values(level))
        total += row
        if total > MAX_NODES:
            return MAX_NODES + 1
    return total


def check(template: Template) -> list[Problem]:
    """Every problem of the template, each on the field that fixes it."""
    found = _check_values(template)
    levels = template.levels
    if not levels:
        found.append(Problem(None, "levels", "no_levels", "Add at least one level."))
    if len(levels) > MAX_POOL_DEPTH:
        found.append(
            Problem(
                None,
                "levels",
                "too_many_levels",
                f"A template has at most {MAX_POOL_DEPTH} levels: AWS allows pools "
                f"{MAX_POOL_DEPTH} deep.",
            )
        )
        return found
    seen: set[str] = set()
    for index, level in enumerate(levels):
        found += _check_level(template, index, level, seen)
        if level.dimension != ONE:
            seen.add(level.dimension)
    if found:
        return found
    if node_count(template) > MAX_NODES:
        found.append(
            Problem(
                None,
                "levels",
                "too_many_nodes",
                f"This template makes more than {MAX_NODES:,} nodes; use fewer values or "
                "fewer levels.",
            )
        )
        return found
    found += _check_sizes(template)
    found += _check_names(template)
    return found


def _check_values(template: Template) -> list[Problem]:
    found = []
    for name, values, what in (
        ("regions", template.regions, "Region"),
        ("units", template.units, "business unit"),
        ("environments", template.environments, "environment"),
    ):
        if len(values) > MAX_VALUES:
            found.append(
                Problem(
                    None, name, "too_many_values", f"At most {MAX_VALUES} values, one per {what}."
                )
            )
        if len({v.casefold() for v in values}) < len(values):
            found.append(
                Problem(None, name, "value_repeated", f"Each {what} may be named once only.")
            )
        if any(not v.strip() for v in values):
            found.append(Problem(None, name, "value_empty", f"A {what} needs a name."))
    return found


def _check_level(template: Template, index: int, level: Level, seen: set[str]) -> list[Problem]:
    found: list[Problem] = []
    labels = dict(DIMENSIONS)
    if level.dimension not in labels:
        return [Problem(index, "dimension", "dimension_unknown", "Choose what this level repeats.")]
    if level.dimension in seen:
        found.append(
            Problem(
                index,
                "dimension",
                "dimension_repeated",
                f"A level above already repeats {labels[level.dimension]}.",
            )
        )
    if level.dimension == NUMBER and not 1 <= level.count <= MAX_VALUES:
        found.append(
            Problem(index, "count", "count_out_of_range", f"Between 1 and {MAX_VALUES} nodes.")
        )
    elif level.dimension not in (ONE, NUMBER) and not template.values(level):
        what = {REGION: "Region", UNIT: "business unit", ENV: "environment"}[level.dimension]
        found.append(
            Problem(
                index,
                "dimension",
                "dimension_without_values",
                f"Give at least one {what} above, or let this level repeat something else.",
            )
        )
    known = {PLACEHOLDER[d] for d in (*seen, level.dimension) if d in PLACEHOLDER}
    if not level.pattern.strip():
        found.append(Problem(index, "pattern", "pattern_empty", "Give the level a name pattern."))
    for token in _TOKEN.findall(level.pattern):
        if token not in known:
            offered = ", ".join(f"{{{k}}}" for k in sorted(known)) or "none here"
            found.append(
                Problem(
                    index,
                    "pattern",
                    "pattern_placeholder_unknown",
                    f"{{{token}}} is not a dimension of this level or one above "
                    f"(placeholders: {offered}).",
                )
            )
            break
    if level.dimension in PLACEHOLDER and f"{{{PLACEHOLDER[level.dimension]}}}" not in (
        level.pattern
    ):
        found.append(
            Problem(
                index,
                "pattern",
                "pattern_without_dimension",
                f"Put {{{PLACEHOLDER[level.dimension]}}} in the pattern, or every node of "
                "this level gets the same name.",
            )
        )
    if not 0 <= level.spare_slots <= MAX_SPARE_SLOTS:
        found.append(
            Problem(
                index,
                "spare_slots",
                "spare_slots_out_of_range",
                f"Between 0 and {MAX_SPARE_SLOTS} spare slots.",
            )
        )
    found += _check_size(template.family, index, level.size, last=index == len(template.levels) - 1)
    return found


def _check_size(family: str, index: int, size: Size, *, last: bool) -> list[Problem]:
    bits = NETMASK_LIMITS[family]
    kinds = dict(SIZE_KINDS)
    if size.kind not in kinds:
        return [Problem(index, "size", "size_unknown", "Choose how this level is sized.")]
    if size.kind == FIT and last:
        return [
            Problem(
                index,
                "size",
                "fit_without_children",
                "The last level has no children to fit: give it a prefix length or a need.",
            )
        ]
    found = []
    if size.kind in (LENGTH, BLOCKS) and (size.length is None or not 0 <= size.length <= bits):
        found.append(
            Problem(index, "length", "length_out_of_range", f"A prefix length from /0 to /{bits}.")
        )
    if size.kind == BLOCKS and not 1 <= size.count <= MAX_NEED_COUNT:
        found.append(
            Problem(
                index,
                "block_count",
                "block_count_out_of_range",
                f"Between 1 and {MAX_NEED_COUNT:,} blocks.",
            )
        )
    if size.kind == HOSTS and (size.hosts is None or not 1 <= size.hosts <= MAX_HOSTS):
        found.append(
            Problem(index, "hosts", "hosts_out_of_range", f"Between 1 and {MAX_HOSTS:,} addresses.")
        )
    if size.kind in (BLOCKS, HOSTS) and not 0 <= size.growth <= MAX_GROWTH_PERCENT:
        found.append(
            Problem(index, "growth", "growth_out_of_range", f"Between 0 and {MAX_GROWTH_PERCENT}%.")
        )
    return found


def _rounded(length: int | None, family: str) -> int | None:
    """IPv6 sizes step on nibble boundaries: the nibble block that holds ``length``."""
    if length is None or family != "ipv6":
        return length
    return packer.nibble_length(length)


def level_lengths(template: Template) -> list[int | None]:
    """The prefix length each level's nodes get, worked out bottom up (a ``FIT`` level holds
    its children and its spare slots); None where it cannot be worked out."""
    family = template.family
    lengths: list[int | None] = [None] * len(template.levels)
    below: int | None = None
    for index in range(len(template.levels) - 1, -1, -1):
        level = template.levels[index]
        size = level.size
        if size.kind == FIT:
            if below is None or index + 1 >= len(template.levels):
                length = None
            else:
                children = len(template.values(template.levels[index + 1]))
                length = packer.parent_size_for([below] * children, level.spare_slots, family)
        elif size.kind == LENGTH:
            length = size.length
        else:
            need = size.need()
            length = length_for(need.addresses(family), family) if need else None
        lengths[index] = _rounded(length, family)
        below = lengths[index]
    return lengths


def _check_sizes(template: Template) -> list[Problem]:
    """A level too small for its children (and spares), or larger than the family allows."""
    found = []
    family = template.family
    lengths = level_lengths(template)
    for index, level in enumerate(template.levels):
        length = lengths[index]
        if length is None:
            below = lengths[index + 1] if index + 1 < len(lengths) else None
            if level.size.kind == FIT and below is None:
                continue  # the level below is too large already: said there
            found.append(
                Problem(
                    index,
                    "size",
                    "size_too_large",
                    f"This level needs more addresses than {family} has.",
                )
            )
            continue
        if index + 1 < len(template.levels) and lengths[index + 1] is not None:
            children = len(template.values(template.levels[index + 1]))
            needed = packer.parent_size_for(
                [lengths[index + 1]] * children, level.spare_slots, family
            )
            needed = _rounded(needed, family)
            if needed is None or needed < length:
                spares = f" and {level.spare_slots} spare slots" if level.spare_slots else ""
                found.append(
                    Problem(
                        index,
                        "length" if level.size.kind in (LENGTH, BLOCKS) else "size",
                        "level_too_small",
                        f"A /{length} cannot hold its {children} children of "
                        f"/{lengths[index + 1]}{spares}"
                        + (f": it needs a /{needed}." if needed is not None else "."),
                    )
                )
    return found


def _check_names(template: Template) -> list[Problem]:
    """Names are the pools' Name tags: unique in the plan, as long as AWS allows, and made of
    characters AWS can carry."""
    found: list[Problem] = []
    seen: dict[str, int] = {}
    flagged: set[int] = set()
    for index, name in _names(template):
        if index in flagged:
            continue
        problem = None
        if len(name) > MAX_TAG_VALUE_LENGTH:
            problem = Problem(
                index,
                "pattern",
                "name_too_long",
                f"Names become Name tags, at most {MAX_TAG_VALUE_LENGTH} characters; "
                f"this pattern makes one of {len(name):,}.",
            )
        elif rules.check_text({"Value": name}):
            problem = Problem(
                index,
                "pattern",
                "text_not_xml_safe",
                rules.check_text({"Value": name})[0].message.replace("Value", "A name", 1),
            )
        elif not name.strip():
            problem = Problem(index, "pattern", "name_empty", "This pattern makes an empty name.")
        elif name.casefold() in seen:
            problem = Problem(
                index,
                "pattern",
                "names_not_unique",
                f"This pattern makes {name!r} more than once: add a placeholder of a level "
                "above, such as {region}.",
            )
        if problem is not None:
            found.append(problem)
            flagged.add(index)
        seen.setdefault(name.casefold(), index)
    return found


def render(pattern: str, values: Mapping[str, str]) -> str:
    """The pattern with its placeholders filled in (one pass: a value is never expanded)."""
    return _TOKEN.sub(lambda m: values.get(m[1], m[0]), pattern)


def _names(template: Template) -> Iterable[tuple[int, str]]:
    """(level index, name) for every node the template makes, top down."""
    for _parent, index, context in _walk(template):
        yield index, render(template.levels[index].pattern, context)


def _walk(template: Template) -> Iterable[tuple[int | None, int, dict[str, str]]]:
    """(parent's position, level index, placeholders) for each node, parents first."""
    contexts: list[dict[str, str]] = [{}]
    parents: list[int | None] = [None]
    position = 0
    for index, level in enumerate(template.levels):
        next_contexts, next_parents = [], []
        for parent, context in zip(parents, contexts, strict=True):
            for value in template.values(level):
                here = dict(context)
                if level.dimension in PLACEHOLDER:
                    here[PLACEHOLDER[level.dimension]] = value
                yield parent, index, here
                next_contexts.append(here)
                next_parents.append(position)
                position += 1
        contexts, parents = next_contexts, next_parents


# --- expanding -----------------------------------------------------------------------------


def expand(template: Template) -> list[NodeSpec]:
    """The template's nodes, parents first; raises :class:`TemplateError` if it has problems.

    A Regional level sets its nodes' locale; the levels below inherit it. IPv6 nodes are sized
    by a prefix length on a nibble boundary (a need is rounded up to one).
    """
    problems = check(template)
    if problems:
        raise TemplateError(problems)
    family = template.family
    lengths = level_lengths(template)
    keys: list[str] = []
    nodes: list[NodeSpec] = []
    for parent, index, context in _walk(template):
        level = template.levels[index]
        key = new_key()
        keys.append(key)
        need = level.size.need()
        sized: dict = {"intent": Intent.LENGTH, "prefix_length": lengths[index]}
        if need is not None and family == "ipv4":
            sized = {"intent": Intent.NEED, "need": need}
        nodes.append(
            NodeSpec(
                key=key,
                name=render(level.pattern, context),
                parent=keys[parent] if parent is not None else None,
                locale=context["region"] if level.dimension == REGION else None,
                spare_slots=level.spare_slots,
                **sized,
            )
        )
    return nodes


def merge(expanded: Sequence[NodeSpec], existing: Sequence[NodeSpec]) -> list[NodeSpec]:
    """A new expansion of a template laid over the nodes of a plan made from it.

    A node the plan already has (by name: names are unique in a plan) keeps its key, its CIDR,
    its binding and whatever was set on it since (description, tags, rules), and takes the
    template's size; new nodes come without a CIDR, for the packer to place in free space.
    Nodes the template no longer makes stay as they are: edits made after the wizard are the
    plan's own. So packing the result moves nothing that was placed (a node sized to fit its
    children grows in place).
    """
    by_name = {n.name.casefold(): n for n in existing}
    key_of: dict[str, str] = {}
    merged: list[NodeSpec] = []
    used: set[str] = set()
    for node in expanded:
        old = by_name.get(node.name.casefold())
        parent = key_of.get(node.parent, node.parent) if node.parent else None
        if old is None:
            key_of[node.key] = node.key
            merged.append(replace(node, parent=parent))
            continue
        key_of[node.key] = old.key
        used.add(old.key)
        merged.append(
            replace(
                old,
                parent=parent,
                intent=old.intent if old.fixed else node.intent,
                prefix_length=old.prefix_length if old.fixed else node.prefix_length,
                need=old.need if old.fixed else node.need,
                spare_slots=node.spare_slots,
            )
        )
    merged += [n for n in existing if n.key not in used]
    return merged


# --- previewing ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PreviewRow:
    key: str
    name: str
    depth: int
    cidr: IPNetwork | None
    length: int | None  # the size asked for
    size: str  # how it is sized, in words
    locale: str | None  # its own or inherited
    own_locale: bool = False  # set on this node, not inherited
    spares: tuple[IPNetwork, ...] = ()


@dataclass(frozen=True)
class Preview:
    rows: tuple[PreviewRow, ...]
    node_count: int
    total_addresses: int  # what the top-level nodes ask for
    space_addresses: int  # the plan's space (0: none given, or a parent pool's)
    findings: tuple[Finding, ...] = ()
    lengths: tuple[int | None, ...] = ()  # per level of the template

    @property
    def placed(self) -> int:
        return sum(1 for r in self.rows if r.cidr is not None)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.is_error]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if not f.is_error]

    @property
    def total_label(self) -> str:
        """What the top-level nodes take: addresses, or for IPv6 /64 subnets (an address count
        of 27 digits says nothing)."""
        subnets = self.total_addresses >> 64
        if subnets:
            return f"{subnets:,} /64 subnet{'s' if subnets > 1 else ''}"
        return f"{self.total_addresses:,} address{'es' if self.total_addresses != 1 else ''}"

    @property
    def percent_of_space(self) -> float | None:
        if not self.space_addresses:
            return None
        return round(100 * self.total_addresses / self.space_addresses, 2)

    @property
    def percent_label(self) -> str:
        percent = self.percent_of_space
        if percent is None:
            return ""
        return "under 0.01%" if self.total_addresses and percent < 0.01 else f"{percent:g}%"


def preview(
    spec: PlanSpec,
    packing: packer.Packing | None = None,
    *,
    findings: Sequence[Finding] | None = None,
    template: Template | None = None,
    space: Sequence[IPNetwork] | None = None,
    limit: int | None = None,
) -> Preview:
    """The packed tree as the wizard shows it, parents first (the first ``limit`` rows).

    ``packing`` is the plan packed against the world (the view packs it with the live pools
    and the ledger); without one the spec is packed alone, purely. ``findings`` are those to
    show (by default the packer's); ``space`` what the total is compared with (by default the
    plan's space).
    """
    packing = packing if packing is not None else packer.pack(spec)
    family, bits = spec.address_family, NETMASK_LIMITS[spec.address_family]
    tree = Tree.of(packing.nodes)
    rows: list[PreviewRow] = []
    total = 0
    for node in tree.walk():
        depth = tree.depth(node.key)
        length = node.wanted_length(family)
        if depth == 1 and length is not None and 0 <= length <= bits:
            total += 1 << (bits - length)
        if limit is None or len(rows) < limit:
            rows.append(
                PreviewRow(
                    key=node.key,
                    name=node.name,
                    depth=depth,
                    cidr=node.cidr,
                    length=length,
                    size=node.describe_intent(),
                    locale=tree.locale(node.key),
                    own_locale=node.locale is not None,
                    spares=tuple(packing.spares.get(node.key, ())),
                )
            )
    version = FAMILY_VERSION[family]
    space_size = sum(
        s.size for s in (spec.space if space is None else space) if s.version == version
    )
    return Preview(
        rows=tuple(rows),
        node_count=len(tree.nodes),
        total_addresses=total,
        space_addresses=space_size,
        findings=tuple(packing.findings if findings is None else findings),
        lengths=tuple(level_lengths(template)) if template is not None else (),
    )


# --- presets -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Preset:
    key: str
    label: str
    template: Template
    space: str = ""  # a suggestion for the plan's space


PRESETS: dict[str, Preset] = {
    p.key: p
    for p in (
        Preset(
            "regions-envs-vpcs",
            "Regions \N{RIGHTWARDS ARROW} environments \N{RIGHTWARDS ARROW} VPCs",
            Template(
                levels=(
                    Level("global", ONE, size=Size(FIT), spare_slots=1),
                    Level("{region}", REGION, size=Size(FIT), spare_slots=1),
                    Level("{region}-{env}", ENV, size=Size(FIT), spare_slots=1),
                    Level("{region}-{env}-vpc{n}", NUMBER, count=4, size=Size(LENGTH, length=20)),
                ),
                environments=("prod", "staging", "dev"),
            ),
            space="10.0.0.0/8",
        ),
        Preset(
            "regions-units-envs",
            "Regions \N{RIGHTWARDS ARROW} business units \N{RIGHTWARDS ARROW} environments",
            Template(
                levels=(
                    Level("global", ONE, size=Size(FIT), spare_slots=1),
                    Level("{region}", REGION, size=Size(FIT), spare_slots=1),
                    Level("{region}-{unit}", UNIT, size=Size(FIT), spare_slots=1),
                    Level(
                        "{region}-{unit}-{env}",
                        ENV,
                        size=Size(BLOCKS, length=20, count=4, growth=0),
                    ),
                ),
                units=("retail", "payments"),
                environments=("prod", "dev"),
            ),
            space="10.0.0.0/8",
        ),
        Preset(
            "ipv6-regions-vpcs",
            "IPv6: Regions \N{RIGHTWARDS ARROW} VPCs (nibble-aligned)",
            Template(
                family="ipv6",
                levels=(
                    Level("{region}-v6", REGION, size=Size(FIT), spare_slots=1),
                    Level("{region}-v6-vpc{n}", NUMBER, count=4, size=Size(LENGTH, length=56)),
                ),
            ),
            space="fd00:10::/32",
        ),
    )
}
DEFAULT_PRESET = "regions-envs-vpcs"
