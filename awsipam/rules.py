"""AWS VPC IPAM's rules: one function per request, judging it as AWS would.

Each ``check_*`` function takes the request as boto3 takes it (``CreateIpamPool``'s
parameters for :func:`check_create_ipam_pool`, and so on) and the facts it needs
(:mod:`awsipam.facts`), and returns every broken rule as a
:class:`~awsipam.catalog.Violation`, in the order AWS checks them. The local endpoint answers
with the first; the app's forms show each next to its field. Rule codes, AWS's answers and the
evidence for each live in :mod:`awsipam.catalog`.

Existence (an unknown scope or pool id) is the caller's to establish: it looks the facts up.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from netaddr import IPNetwork

from awsipam import addressing, constants
from awsipam.catalog import Violation, violation
from awsipam.choices import (
    USABLE_POOL_STATES,
    AllocationResourceType,
    PublicIpSource,
    ScopeType,
    Tier,
)
from awsipam.facts import IpamFacts, PoolFacts, Quotas, ScopeFacts

Request = Mapping[str, Any]
DEFAULT_QUOTAS = Quotas()

PUBLICLY_ADVERTISABLE_MESSAGE = (
    "The request can only contain PubliclyAdvertisable if the AddressFamily is IPv6 and "
    "PublicIpSource is byoip."
)
NETMASK_MEMBERS = (
    "AllocationMinNetmaskLength",
    "AllocationMaxNetmaskLength",
    "AllocationDefaultNetmaskLength",
)
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d+$")
_LOCAL_ZONE_GROUP = re.compile(r"^(?P<region>[a-z]{2}(-gov)?-[a-z]+-\d+)-[a-z0-9-]+$")
# A character outside XML 1.0's Char production (#x9 | #xA | #xD | [#x20-#xD7FF] |
# [#xE000-#xFFFD] | [#x10000-#x10FFFF]): AWS answers in XML, which cannot carry it.
XML_UNSAFE = re.compile(r"[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


# --- names and values ---------------------------------------------------------------------------


def is_region_name(name: str) -> bool:
    return bool(_REGION.match(name))


def local_zone_region(locale: str) -> str | None:
    """The parent Region of a Local Zone network border group (``us-west-2-lax-1``), else None."""
    if is_region_name(locale):
        return None
    match = _LOCAL_ZONE_GROUP.match(locale)
    return match["region"] if match else None


def locale_region(locale: str) -> str:
    """The Region a locale lies in: itself, or a Local Zone's parent Region."""
    return local_zone_region(locale) or locale


def normalise_locale(locale: str | None) -> str | None:
    """AWS shows the string ``"None"`` for a pool without a locale; we keep no locale."""
    return None if locale in (None, "", constants.NO_LOCALE) else locale


def netmask_limit(address_family: str) -> int:
    return constants.NETMASK_LIMITS[address_family]


def effective_netmask_range(
    address_family: str, minimum: int | None, maximum: int | None
) -> tuple[int, int]:
    """Omitted min and max come back from AWS as 0 and the family's limit (rule 6)."""
    return (
        0 if minimum is None else minimum,
        netmask_limit(address_family) if maximum is None else maximum,
    )


def child_depth(source: PoolFacts | None) -> int:
    """PoolDepth of a new pool: 1 at the top, its source's depth + 1 below it (rule 18)."""
    return 1 if source is None else source.depth + 1


def can_take_child(state: str, depth: int) -> bool:
    """Whether a pool may be the source of a new pool: usable, and not at the deepest level."""
    return state in USABLE_POOL_STATES and depth < constants.MAX_POOL_DEPTH


def allows_netmask(pool: PoolFacts, length: int) -> bool:
    """Whether ``pool`` hands out blocks of ``length`` (its allocation netmask rules)."""
    low, high = pool.netmask_range
    return low <= length <= high


def new_pool_locale(request: Request, source: PoolFacts | None) -> str | None:
    """The locale a created pool gets: a VPC's planned space takes its source pool's (rule 22)."""
    if request.get("SourceResource") and source is not None and source.locale is not None:
        return source.locale
    return normalise_locale(request.get("Locale"))


def publicly_advertisable_allowed(
    *, scope_type: str, address_family: str, public_ip_source: str | None
) -> bool:
    """Rule 19: only for byoip (the default) IPv6 pools in the public scope."""
    return (
        scope_type == ScopeType.PUBLIC
        and address_family == "ipv6"
        and public_ip_source in (None, PublicIpSource.BYOIP)
    )


def tag_pairs(tags: Iterable[Mapping[str, Any]] | None) -> list[tuple[str, str]]:
    return [(t.get("Key", ""), t.get("Value", "")) for t in tags or []]


# --- rules shared by several requests -------------------------------------------------------


def check_netmask_lengths(
    address_family: str,
    minimum: int | None,
    maximum: int | None,
    default: int | None,
) -> list[Violation]:
    """Rules 3-5: each length within the family's range; min <= max; min <= default <= max."""
    limit = netmask_limit(address_family)
    problems = [
        violation(
            "netmask_out_of_range",
            member,
            f"A netmask length for an {address_family} pool must be between 0 and {limit}; "
            f"{value} is not.",
        )
        for member, value in zip(NETMASK_MEMBERS, (minimum, maximum, default), strict=True)
        if value is not None and not 0 <= value <= limit
    ]
    if problems:
        return problems
    low, high = effective_netmask_range(address_family, minimum, maximum)
    if low > high:
        # AWS's text says "less than", but min == max is accepted (rule 4).
        return [
            violation(
                "netmask_min_gt_max",
                "AllocationMinNetmaskLength",
                f"The minimum netmask length (/{low}) cannot be longer than the maximum (/{high}).",
            )
        ]
    if default is not None and not low <= default <= high:
        return [
            violation(
                "netmask_default_outside_range",
                "AllocationDefaultNetmaskLength",
                f"The default netmask length (/{default}) must lie between the minimum (/{low}) "
                f"and the maximum (/{high}).",
            )
        ]
    return []


def check_netmask_length(length: int, address_family: str, member: str) -> list[Violation]:
    limit = netmask_limit(address_family)
    if 0 <= length <= limit:
        return []
    return [
        violation(
            "netmask_out_of_range",
            member,
            f"A netmask length for {address_family} is between 0 and {limit}; {length} is not.",
        )
    ]


def check_tags(tags: Sequence[tuple[str, str]], *, field: str) -> list[Violation]:
    """Rule 23: key 1-128 characters not starting with ``aws:``, value 0-256, at most 50 tags."""
    problems = []
    if len(tags) > constants.MAX_TAGS:
        problems.append(
            violation(
                "too_many_tags", field, f"A resource can have at most {constants.MAX_TAGS} tags."
            )
        )
    seen: set[str] = set()
    for key, value in tags:
        if not key:
            problems.append(violation("tag_key_empty", field, "A tag key cannot be empty."))
        elif len(key) > constants.MAX_TAG_KEY_LENGTH:
            problems.append(
                violation(
                    "tag_key_too_long",
                    field,
                    "Tag key exceeds the maximum length of "
                    f"{constants.MAX_TAG_KEY_LENGTH} characters",
                )
            )
        elif key.lower().startswith(constants.RESERVED_TAG_PREFIX):
            problems.append(
                violation(
                    "tag_key_reserved",
                    field,
                    "Tag keys starting with 'aws:' are reserved for internal use",
                )
            )
        elif key in seen:
            problems.append(
                violation(
                    "tag_key_duplicate", field, f"The tag key '{key}' is given more than once."
                )
            )
        seen.add(key)
        if value is not None and len(value) > constants.MAX_TAG_VALUE_LENGTH:
            problems.append(
                violation(
                    "tag_value_too_long",
                    field,
                    "Tag value exceeds the maximum length of "
                    f"{constants.MAX_TAG_VALUE_LENGTH} characters",
                )
            )
    return problems


def check_tag_specifications(request: Request, resource_type: str) -> list[Violation]:
    """``TagSpecifications``: each for ``resource_type``, and their tags within the tag rules."""
    specs = request.get("TagSpecifications") or []
    for spec in specs:
        if spec.get("ResourceType") != resource_type:
            return [
                violation(
                    "tag_resource_type_invalid",
                    "TagSpecifications",
                    f"'{spec.get('ResourceType')}' is not a valid taggable resource type "
                    f"for this operation; use '{resource_type}'.",
                )
            ]
    return check_tags(specification_tags(request), field="TagSpecifications")


def specification_tags(request: Request) -> list[tuple[str, str]]:
    return [
        pair
        for spec in request.get("TagSpecifications") or []
        for pair in tag_pairs(spec.get("Tags"))
    ]


def check_client_token(request: Request) -> list[Violation]:
    """Rule 25: at most 64 ASCII characters."""
    token = request.get("ClientToken")
    if token is not None and (
        len(token) > constants.MAX_CLIENT_TOKEN_LENGTH or not token.isascii()
    ):
        return [
            violation(
                "client_token_invalid",
                "ClientToken",
                "The client token must be at most "
                f"{constants.MAX_CLIENT_TOKEN_LENGTH} ASCII characters.",
            )
        ]
    return []


def check_text(request: Request) -> list[Violation]:
    """Every string of a request, however deep (Description, tag keys and values,
    SourceResource...), holds only characters XML 1.0 can carry; the first that does not is
    reported by its member path, as boto3 names it (``TagSpecifications[0].Tags[1].Value``),
    with its position counted from 1. Every request's check starts here: an answer in XML could
    not even quote the rest."""
    if not _any_unsafe(request):
        return []
    for path, text in _strings(request, ""):
        found = XML_UNSAFE.search(text)
        if found is not None:
            return [
                violation(
                    "text_not_xml_safe",
                    re.split(r"[.\[]", path, maxsplit=1)[0],
                    f"{path} contains a character AWS cannot carry "
                    f"(U+{ord(found[0]):04X} at position {found.start() + 1}).",
                )
            ]
    return []


def _any_unsafe(value: Any) -> bool:
    """Whether any string of a request is unsafe: the quick answer for the common case, which
    builds no member paths."""
    if isinstance(value, str):
        return XML_UNSAFE.search(value) is not None
    if isinstance(value, Mapping):
        return any(_any_unsafe(item) for item in value.values())
    if isinstance(value, list | tuple):
        return any(_any_unsafe(item) for item in value)
    return False


def _strings(value: Any, path: str) -> Iterable[tuple[str, str]]:
    """``(member path, string)`` for every string in a request, in the request's order."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}[{index}]")


def check_usable(pool: PoolFacts, *, field: str = "IpamPoolId") -> list[Violation]:
    if pool.state in USABLE_POOL_STATES:
        return []
    return [
        violation(
            "pool_not_usable",
            field,
            f"The pool {pool.pool_id} is in the state {pool.state}; "
            "it must be create-complete or modify-complete.",
        )
    ]


def _parsed(text: str, family: str, field: str) -> tuple[IPNetwork | None, list[Violation]]:
    parsed = addressing.parse_cidr(text, family, field=field)
    return parsed.network, [parsed.violation] if parsed.violation else []


def _parsed_list(
    texts: Iterable[str], family: str, field: str
) -> tuple[list[IPNetwork], list[Violation]]:
    networks, problems = [], []
    for text in texts:
        network, wrong = _parsed(text, family, field)
        problems += wrong
        if network is not None:
            networks.append(network)
    return networks, problems


# --- CreateIpamPool -------------------------------------------------------------------------


def check_locale(
    locale: str | None,
    *,
    operating_regions: Iterable[str],
    address_family: str,
    scope_type: str,
    source: PoolFacts | None = None,
) -> list[Violation]:
    """Rules 9, 10 and 12: the locale is an operating Region and agrees with the source pool."""
    regions = set(operating_regions)
    if locale is not None:
        zone_region = local_zone_region(locale)
        if zone_region is not None:
            if not (address_family == "ipv4" and scope_type == ScopeType.PUBLIC):
                return [
                    violation(
                        "locale_local_zone_not_allowed",
                        "Locale",
                        f"The locale '{locale}' is a Local Zone network border group; those are "
                        "allowed only for IPv4 pools in the public scope.",
                    )
                ]
        elif not is_region_name(locale):
            return [
                violation(
                    "locale_invalid", "Locale", f"The locale '{locale}' is not a Region name."
                )
            ]
        if locale_region(locale) not in regions:
            return [
                violation(
                    "locale_not_operating",
                    "Locale",
                    f"The locale '{locale}' is not an operating Region of the IPAM "
                    f"(it operates in {', '.join(sorted(regions))}).",
                )
            ]
    if source is not None and source.locale is not None and locale != source.locale:
        return [
            violation(
                "locale_differs_from_source",
                "Locale",
                f"The source pool {source.pool_id} has the locale '{source.locale}'; "
                f"a child pool must have the same locale.",
            )
        ]
    return []


def check_depth(depth: int) -> list[Violation]:
    if depth <= constants.MAX_POOL_DEPTH:
        return []
    return [
        violation(
            "pool_depth_exceeded",
            "SourceIpamPoolId",
            f"The new pool would be at depth {depth}: "
            f"pool depth quota ({constants.MAX_POOL_DEPTH}) exceeded.",
        )
    ]


def check_source_pool(source: PoolFacts, *, scope_id: str, address_family: str) -> list[Violation]:
    """Rules 15, 16 and 18: same scope and family, a usable state, and room for one more level."""
    field = "SourceIpamPoolId"
    if source.scope_id != scope_id:
        return [
            violation(
                "source_pool_other_scope",
                field,
                f"The source pool {source.pool_id} is in another scope ({source.scope_id}).",
            )
        ]
    if source.address_family != address_family:
        return [
            violation(
                "source_pool_other_family",
                field,
                f"The source pool {source.pool_id} is an {source.address_family} pool; "
                f"it cannot be the source of an {address_family} pool.",
            )
        ]
    if source.state not in USABLE_POOL_STATES:
        return [
            violation(
                "source_pool_not_usable",
                field,
                f"The source pool {source.pool_id} is in the state {source.state}; "
                "it must be create-complete or modify-complete.",
            )
        ]
    return check_depth(child_depth(source))


def check_public_members(request: Request, *, scope_type: str) -> list[Violation]:
    """Rules 19 and 20: members that belong to public-scope pools only."""
    problems = []
    if scope_type != ScopeType.PUBLIC:
        problems += [
            violation(
                "public_member_in_private_scope",
                member,
                f"{member} applies only to pools in the public scope.",
            )
            for member in ("PublicIpSource", "AwsService")
            if request.get(member) is not None
        ]
    if request.get("PubliclyAdvertisable") is not None and not publicly_advertisable_allowed(
        scope_type=scope_type,
        address_family=request.get("AddressFamily", ""),
        public_ip_source=request.get("PublicIpSource"),
    ):
        problems.append(
            violation(
                "publicly_advertisable_not_allowed",
                "PubliclyAdvertisable",
                PUBLICLY_ADVERTISABLE_MESSAGE,
            )
        )
    return problems


def check_source_resource(request: Request, *, source: PoolFacts | None) -> list[Violation]:
    """Rule 22: a VPC planned inside a source pool, in the source pool's locale."""
    resource = request.get("SourceResource")
    if not resource:
        return []
    field = "SourceResource"  # its ResourceType is an enum of one, vpc [model]
    if source is None:
        return [
            violation(
                "source_resource_without_source_pool",
                field,
                "A SourceResource needs a SourceIpamPoolId.",
            )
        ]
    region = resource.get("ResourceRegion")
    if source.locale is None or region != source.locale:
        return [
            violation(
                "source_resource_region_mismatch",
                field,
                f"The resource Region ({region}) must equal the source pool's locale "
                f"({source.locale or constants.NO_LOCALE}).",
            )
        ]
    return []


def create_ipam_pool_syntax(request: Request) -> list[Violation]:
    """The CreateIpamPool rules that need no facts, which AWS checks before anything else."""
    if unsafe := check_text(request):
        return unsafe
    problems = check_netmask_lengths(
        request.get("AddressFamily", "ipv4"), *(request.get(m) for m in NETMASK_MEMBERS)
    )
    if request.get("Locale") == "":
        problems.append(violation("locale_empty", "Locale", "The locale '' is not valid."))
    problems += check_tag_specifications(request, "ipam-pool")
    problems += check_tags(
        tag_pairs(request.get("AllocationResourceTags")), field="AllocationResourceTags"
    )
    return problems + check_client_token(request)


def check_create_ipam_pool(
    request: Request,
    *,
    scope: ScopeFacts,
    source: PoolFacts | None = None,
    quotas: Quotas = DEFAULT_QUOTAS,
) -> list[Violation]:
    """Every CreateIpamPool rule, in AWS's order of checking."""
    if unsafe := check_text(request):
        return unsafe
    family = request["AddressFamily"]
    problems = create_ipam_pool_syntax(request)
    problems += check_public_members(request, scope_type=scope.scope_type)
    if source is not None:
        problems += check_source_pool(source, scope_id=scope.scope_id, address_family=family)
    problems += check_source_resource(request, source=source)
    problems += check_locale(
        new_pool_locale(request, source),
        operating_regions=scope.operating_regions,
        address_family=family,
        scope_type=scope.scope_type,
        source=source,
    )
    if scope.pool_count >= quotas.pools_per_scope:
        problems.append(
            violation(
                "pools_per_scope_exceeded",
                "IpamScopeId",
                f"The scope {scope.scope_id} already has the maximum of "
                f"{quotas.pools_per_scope} pools.",
            )
        )
    return problems


def new_pool_facts(request: Request, *, scope: ScopeFacts, source: PoolFacts | None) -> PoolFacts:
    """The pool a valid CreateIpamPool request makes, as soon as it is create-complete."""
    family = request["AddressFamily"]
    low, high = effective_netmask_range(
        family, request.get("AllocationMinNetmaskLength"), request.get("AllocationMaxNetmaskLength")
    )
    public_source = request.get("PublicIpSource", PublicIpSource.BYOIP)
    return PoolFacts(
        pool_id="(new pool)",
        scope_id=scope.scope_id,
        scope_type=scope.scope_type,
        address_family=family,
        state="create-complete",
        depth=child_depth(source),
        locale=new_pool_locale(request, source),
        min_netmask=low,
        max_netmask=high,
        default_netmask=request.get("AllocationDefaultNetmaskLength"),
        source_pool_id=source.pool_id if source else None,
        public_ip_source=public_source if scope.scope_type == ScopeType.PUBLIC else None,
        has_source_resource=bool(request.get("SourceResource")),
    )


# --- ProvisionIpamPoolCidr ------------------------------------------------------------------


def is_amazon_ipv6(pool: PoolFacts) -> bool:
    return pool.address_family == "ipv6" and pool.public_ip_source == PublicIpSource.AMAZON


def amazon_provided_space(pool: PoolFacts) -> IPNetwork | None:
    """Where a top-level pool given only a netmask length takes its space from, if it can:
    an Amazon-provided public IPv6 pool, or a private-scope IPv6 pool with a locale (C4)."""
    if pool.source_pool_id is not None or pool.address_family != "ipv6":
        return None
    if is_amazon_ipv6(pool):
        return constants.AMAZON_PUBLIC_IPV6_SPACE
    if pool.scope_type == ScopeType.PRIVATE and pool.locale is not None:
        return constants.AMAZON_PRIVATE_IPV6_SPACE
    return None


def provision_syntax(
    request: Request, address_family: str
) -> tuple[IPNetwork | None, list[Violation]]:
    """Exactly one of Cidr and NetmaskLength, each well formed; the parsed CIDR if given."""
    has_cidr, has_length = "Cidr" in request, "NetmaskLength" in request
    if has_cidr and has_length:
        return None, [
            violation(
                "cidr_and_netmask_given",
                "NetmaskLength",
                "Give a CIDR or a netmask length, not both.",
            )
        ]
    if not (has_cidr or has_length):
        return None, [
            violation(
                "cidr_or_netmask_missing",
                "Cidr",
                "The request must contain exactly one of Cidr and NetmaskLength.",
            )
        ]
    if has_cidr:
        return _parsed(request["Cidr"], address_family, "Cidr")
    return None, check_netmask_length(request["NetmaskLength"], address_family, "NetmaskLength")


def next_provision_cidr(
    request: Request, *, pool: PoolFacts, source: PoolFacts | None, scope: ScopeFacts
) -> IPNetwork | None:
    """The block AWS gives for a ProvisionIpamPoolCidr by NetmaskLength (lowest free one)."""
    length = request["NetmaskLength"]
    if source is not None:
        return addressing.lowest_free_block(source.space, source.used, length)
    space = amazon_provided_space(pool)
    if space is None:
        return None
    taken = [cidr for _, cidr in scope.top_level_cidrs]
    return addressing.lowest_free_block([space], taken, length)


def check_provision_ipam_pool_cidr(
    request: Request,
    *,
    pool: PoolFacts,
    source: PoolFacts | None,
    scope: ScopeFacts,
    quotas: Quotas = DEFAULT_QUOTAS,
) -> list[Violation]:
    """Every ProvisionIpamPoolCidr rule, in AWS's order of checking.

    A block asked by netmask length that is not free is accepted by AWS, and the CIDR then
    ends ``failed-provision`` (``cidr_not_available``, a rule that fails later).
    """
    if unsafe := check_text(request):
        return unsafe
    network, problems = provision_syntax(request, pool.address_family)
    problems += check_client_token(request)
    if problems:
        return problems
    problems = check_usable(pool)
    if len(pool.live_cidrs) >= quotas.cidrs_per_pool:
        problems.append(
            violation(
                "cidrs_per_pool_exceeded",
                "IpamPoolId",
                f"The pool {pool.pool_id} already has the maximum of "
                f"{quotas.cidrs_per_pool} CIDRs.",
            )
        )
    elif is_amazon_ipv6(pool) and len(pool.live_cidrs) >= constants.AMAZON_IPV6_CIDRS_PER_POOL:
        problems.append(
            violation(
                "amazon_pool_cidr_limit",
                "IpamPoolId",
                f"The Amazon-provided IPv6 pool {pool.pool_id} already has "
                f"{constants.AMAZON_IPV6_CIDRS_PER_POOL} CIDR, the most it can have.",
            )
        )
    if problems:
        return problems
    if source is not None:
        return _check_from_source(request, network, source)
    if network is None:
        if amazon_provided_space(pool) is None:
            return [
                violation(
                    "netmask_needs_source",
                    "NetmaskLength",
                    "A netmask length needs a source pool to take the space from (or an "
                    "Amazon-provided IPv6 pool); give a CIDR.",
                )
            ]
        if next_provision_cidr(request, pool=pool, source=None, scope=scope) is None:
            return [_not_available(request["NetmaskLength"], "Amazon-provided space")]
        return []
    if (
        pool.scope_type == ScopeType.PUBLIC
        and pool.public_ip_source in (None, PublicIpSource.BYOIP)  # byoip is the default
        and not request.get("CidrAuthorizationContext")
    ):
        return [
            violation(
                "cidr_authorization_context_required",
                "CidrAuthorizationContext",
                "The request must contain a CIDR Authorization Context to provision a BYOIP "
                "CIDR to a public pool.",
            )
        ]
    clashes = [
        (pool_id, cidr)
        for pool_id, cidr in scope.top_level_cidrs
        if addressing.overlapping(network, [cidr])
    ]
    if clashes:
        other, cidr = clashes[0]
        return [
            violation(
                "cidr_overlaps_top_level",
                "Cidr",
                f"{network} overlaps {cidr}, provisioned to {other} in this scope.",
            )
        ]
    return []


def check_taken_from(
    pool: PoolFacts,
    network: IPNetwork | None,
    length: int | None,
    *,
    label: str,
    next_free: IPNetwork | None,
    none_free: Violation,
) -> list[Violation]:
    """A block taken from ``pool`` (its allocation rules, its space, what is free in it): a
    given ``network``, or the ``next_free`` block of ``length`` (``none_free`` if none is)."""
    low, high = pool.netmask_range
    if network is not None:
        found = addressing.check_in_free_space(
            network,
            space=pool.space,
            used=pool.used,
            min_netmask=low,
            max_netmask=high,
            pool_label=label,
        )
        return [found] if found else []
    if not allows_netmask(pool, length):
        return [
            violation(
                "cidr_netmask_outside_pool_rules",
                "NetmaskLength",
                f"{label[0].upper()}{label[1:]} allows netmask lengths /{low} to /{high}; "
                f"/{length} is outside them.",
            )
        ]
    return [] if next_free is not None else [none_free]


def _check_from_source(
    request: Request, network: IPNetwork | None, source: PoolFacts
) -> list[Violation]:
    length = request.get("NetmaskLength")
    label = f"the source pool {source.pool_id}"
    free = None if network else addressing.lowest_free_block(source.space, source.used, length)
    return check_taken_from(
        source,
        network,
        length,
        label=label,
        next_free=free,
        none_free=_not_available(length, label),
    )


def _not_available(length: int, where: str) -> Violation:
    return violation(
        "cidr_not_available", "NetmaskLength", f"No free /{length} is left in {where}."
    )


# --- AllocateIpamPoolCidr and ReleaseIpamPoolAllocation -------------------------------------


def allocation_length(request: Request, pool: PoolFacts) -> int | None:
    """The netmask length an allocation asks for (the pool's default when it names none)."""
    if "Cidr" in request:
        return None
    return request.get("NetmaskLength", pool.default_netmask)


def next_allocation_cidr(request: Request, *, pool: PoolFacts) -> IPNetwork | None:
    """The block AWS allocates for a request by netmask length: the lowest free one allowed."""
    length = allocation_length(request, pool)
    if length is None:
        return None
    family = pool.address_family
    allowed, _ = _parsed_list(request.get("AllowedCidrs") or [], family, "AllowedCidrs")
    disallowed, _ = _parsed_list(request.get("DisallowedCidrs") or [], family, "DisallowedCidrs")
    return addressing.lowest_free_block(
        pool.space, pool.used, length, allowed=allowed, disallowed=disallowed
    )


def check_allocate_ipam_pool_cidr(request: Request, *, pool: PoolFacts) -> list[Violation]:
    """Every AllocateIpamPoolCidr rule. A pool with no locale may allocate (C9)."""
    if unsafe := check_text(request):
        return unsafe
    family = pool.address_family
    if "Cidr" in request and "NetmaskLength" in request:
        return [
            violation(
                "cidr_and_netmask_given",
                "NetmaskLength",
                "The request can contain Cidr or NetmaskLength, not both.",
            )
        ]
    if "Cidr" in request and (request.get("AllowedCidrs") or request.get("DisallowedCidrs")):
        return [
            violation(
                "allowed_cidrs_need_netmask",
                "AllowedCidrs" if request.get("AllowedCidrs") else "DisallowedCidrs",
                "AllowedCidrs and DisallowedCidrs can only be used with NetmaskLength.",
            )
        ]
    network, problems = (None, [])
    if "Cidr" in request:
        network, problems = _parsed(request["Cidr"], family, "Cidr")
    for member in ("AllowedCidrs", "DisallowedCidrs"):
        problems += _parsed_list(request.get(member) or [], family, member)[1]
    if "NetmaskLength" in request:
        problems += check_netmask_length(request["NetmaskLength"], family, "NetmaskLength")
    problems += check_tag_specifications(request, "ipam-pool-allocation")
    problems += check_client_token(request)
    if problems:
        return problems
    problems = _check_cidr_lists_in_pool(request, pool)
    if problems:
        return problems
    length = allocation_length(request, pool)
    if network is None and length is None:
        return [
            violation(
                "allocation_size_missing",
                "NetmaskLength",
                "The request cannot contain empty CIDR and Netmask Length for a pool with no "
                "default allocation netmask length set. Exactly one of them should be provided.",
            )
        ]
    problems = check_usable(pool)
    if problems:
        return problems
    return check_taken_from(
        pool,
        network,
        length,
        label="the pool",
        next_free=None if network else next_allocation_cidr(request, pool=pool),
        none_free=violation(
            "allocation_not_available",
            "NetmaskLength",
            f"The pool {pool.pool_id} has no free /{length} where the request allows it.",
        ),
    )


def _check_cidr_lists_in_pool(request: Request, pool: PoolFacts) -> list[Violation]:
    """Each of AllowedCidrs and DisallowedCidrs shares space with the pool's provisioned
    CIDRs (one that shares none could never matter: a mistake, most likely)."""
    space = pool.space
    if not space:
        return []  # nothing can be allocated anyway: allocation_not_available says so
    for member in ("AllowedCidrs", "DisallowedCidrs"):
        networks, _ = _parsed_list(request.get(member) or [], pool.address_family, member)
        for network in networks:
            if not addressing.overlapping(network, space):
                return [
                    violation(
                        "allocation_cidr_outside_pool",
                        member,
                        f"{member}: {network} shares no address with the pool's provisioned "
                        f"CIDRs ({', '.join(str(c) for c in space)}).",
                    )
                ]
    return []


def check_release_ipam_pool_allocation(request: Request, *, pool: PoolFacts) -> list[Violation]:
    """ReleaseIpamPoolAllocation: an allocation of this pool with this CIDR, a custom one."""
    if unsafe := check_text(request):
        return unsafe
    wanted = request["IpamPoolAllocationId"]
    network = addressing.parse_cidr(request["Cidr"]).network
    found = [a for a in pool.allocations if a.allocation_id == wanted]
    if not found or network is None or found[0].cidr != network:
        return [
            violation(
                "allocation_not_found",
                "IpamPoolAllocationId",
                f"No allocation found for {wanted} with CIDR {request['Cidr']} in the pool "
                f"{pool.pool_id}.",
            )
        ]
    if found[0].resource_type != AllocationResourceType.CUSTOM:
        return [
            violation(
                "allocation_not_custom",
                "IpamPoolAllocationId",
                "Only custom allocations can be released; this one belongs to "
                f"{found[0].resource_id or found[0].resource_type}.",
            )
        ]
    return []


# --- DeprovisionIpamPoolCidr ----------------------------------------------------------------


CIDR_HAS_ALLOCATIONS = "The CIDR has one or more allocations."


def check_deprovision_ipam_pool_cidr(request: Request, *, pool: PoolFacts) -> list[Violation]:
    """DeprovisionIpamPoolCidr: a live CIDR of the pool. One still holding allocations is
    accepted, then ends ``failed-deprovision`` (C7)."""
    if unsafe := check_text(request):
        return unsafe
    if request.get("Cidr") is None:
        return [violation("cidr_required", "Cidr", "The request must contain the parameter Cidr")]
    network, problems = _parsed(request["Cidr"], pool.address_family, "Cidr")
    if problems:
        return problems
    records = [c for c in pool.cidrs if c.cidr == network]
    if not records:
        return [
            violation(
                "cidr_not_provisioned",
                "Cidr",
                f"The CIDR {network} is not provisioned to the pool {pool.pool_id}.",
            )
        ]
    if not any(c in pool.live_cidrs for c in records):
        return [
            violation(
                "cidr_not_live",
                "Cidr",
                f"The CIDR {network} is {records[-1].state} in the pool {pool.pool_id}.",
            )
        ]
    if addressing.overlapping(network, pool.used):
        return [violation("cidr_has_allocations", "Cidr", CIDR_HAS_ALLOCATIONS)]
    return []


# --- ModifyIpamPool -------------------------------------------------------------------------

MODIFIABLE_POOL_MEMBERS = (
    "Description",
    "AutoImport",
    *NETMASK_MEMBERS,
    "ClearAllocationDefaultNetmaskLength",
    "AddAllocationResourceTags",
    "RemoveAllocationResourceTags",
)


def _modifies(member: str, value: Any) -> bool:
    """Whether a ModifyIpamPool member asks for a change (``Clear...=false`` and ``[]`` do not)."""
    if member == "ClearAllocationDefaultNetmaskLength":
        return value is True
    return value != []


def modified_netmasks(request: Request, pool: PoolFacts) -> tuple[int, int, int | None]:
    """The pool's (min, max, default) netmask lengths once the request is applied."""
    low, high = pool.netmask_range
    default = (
        None
        if request.get("ClearAllocationDefaultNetmaskLength")
        else request.get("AllocationDefaultNetmaskLength", pool.default_netmask)
    )
    return (
        request.get("AllocationMinNetmaskLength", low),
        request.get("AllocationMaxNetmaskLength", high),
        default,
    )


def check_modify_ipam_pool(request: Request, *, pool: PoolFacts) -> list[Violation]:
    if unsafe := check_text(request):
        return unsafe
    if not any(_modifies(m, request[m]) for m in MODIFIABLE_POOL_MEMBERS if m in request):
        return [
            violation(
                "no_modification",
                None,
                "The request must contain a modification to the ipam pool",
            )
        ]
    if request.get("ClearAllocationDefaultNetmaskLength") and (
        "AllocationDefaultNetmaskLength" in request
    ):
        return [
            violation(
                "default_set_and_cleared",
                "AllocationDefaultNetmaskLength",
                "AllocationDefaultNetmaskLength cannot be set and cleared at once.",
            )
        ]
    problems = check_usable(pool)
    problems += check_netmask_lengths(pool.address_family, *modified_netmasks(request, pool))
    problems += check_tags(
        tag_pairs(request.get("AddAllocationResourceTags")), field="AddAllocationResourceTags"
    )
    return problems


# --- DeleteIpamPool -------------------------------------------------------------------------


def check_delete_ipam_pool(request: Request, *, pool: PoolFacts) -> list[Violation]:
    """DeleteIpamPool: without Cascade, no child pool and no CIDR may be left in the pool
    (C2, C3; allocations lie in CIDRs, so a pool with allocations has a CIDR)."""
    if unsafe := check_text(request):
        return unsafe
    if request.get("Cascade"):
        if pool.scope_type == ScopeType.PUBLIC and not pool.has_source_resource:
            return [
                violation(
                    "cascade_not_allowed",
                    "Cascade",
                    "Cascade is allowed only for private-scope pools and pools with a source "
                    "resource.",
                )
            ]
        return []
    prefix = f"The pool {pool.pool_id} cannot be deleted."
    if pool.child_count:
        return [
            violation(
                "pool_has_children",
                "Cascade",
                f"{prefix} There are one or more child pools in the pool; delete them first "
                "or use Cascade.",
            )
        ]
    if pool.live_cidrs:
        return [
            violation(
                "pool_has_cidrs",
                "Cascade",
                f"{prefix} There are one or more pool cidrs provisioned in the pool.",
            )
        ]
    return []


# --- IPAMs and scopes -----------------------------------------------------------------------


def check_regions(regions: Iterable[str], member: str) -> list[Violation]:
    return [
        violation("region_invalid", member, f"The Region '{region}' is not valid.")
        for region in regions
        if not is_region_name(region)
    ][:1]


def check_tier(tier: str, regions: Iterable[str], home: str) -> list[Violation]:
    if tier == Tier.FREE and set(regions) - {home}:
        return [
            violation(
                "free_tier_regions",
                "OperatingRegions",
                "The Free tier allows only the home Region as operating Region.",
            )
        ]
    return []


def check_create_ipam(
    request: Request, *, region: str, ipams_in_region: int, quotas: Quotas = DEFAULT_QUOTAS
) -> list[Violation]:
    """CreateIpam: valid Regions, the Free tier's single Region, and the quota per Region (C1)."""
    if unsafe := check_text(request):
        return unsafe
    requested = [r["RegionName"] for r in request.get("OperatingRegions") or []]
    problems = check_regions(requested, "OperatingRegions")
    problems += check_tag_specifications(request, "ipam") + check_client_token(request)
    if problems:
        return problems
    problems = check_tier(request.get("Tier", Tier.ADVANCED), [*requested, region], region)
    if ipams_in_region >= quotas.ipams_per_region:
        problems.append(
            violation(
                "ipams_per_region_exceeded",
                None,
                f"You've reached the limit for ipams. You have created {ipams_in_region} ipams "
                f"and you are limited to {quotas.ipams_per_region}.",
            )
        )
    return problems


def check_modify_ipam(request: Request, *, ipam: IpamFacts) -> list[Violation]:
    if unsafe := check_text(request):
        return unsafe
    added = [r["RegionName"] for r in request.get("AddOperatingRegions") or []]
    removed = [r["RegionName"] for r in request.get("RemoveOperatingRegions") or []]
    problems = check_regions(added, "AddOperatingRegions")
    problems += check_regions(removed, "RemoveOperatingRegions")
    if problems:
        return problems
    if ipam.home_region in removed:
        return [
            violation(
                "home_region_removed",
                "RemoveOperatingRegions",
                f"The home Region ({ipam.home_region}) cannot be removed from the operating "
                "Regions.",
            )
        ]
    problems = check_tier(
        request.get("Tier", ipam.tier), modified_regions(request, ipam), ipam.home_region
    )
    in_use = [r for r in removed if r in ipam.pool_locales]
    if in_use:
        problems.append(
            violation(
                "operating_region_in_use",
                "RemoveOperatingRegions",
                f"The operating Region {in_use[0]} is the locale of a pool.",
            )
        )
    return problems


def modified_regions(request: Request, ipam: IpamFacts) -> list[str]:
    """The IPAM's operating Regions once a ModifyIpam request is applied."""
    added = [r["RegionName"] for r in request.get("AddOperatingRegions") or []]
    removed = {r["RegionName"] for r in request.get("RemoveOperatingRegions") or []}
    regions = [r for r in ipam.operating_regions if r not in removed]
    return regions + [r for r in dict.fromkeys(added) if r not in regions]


def check_delete_ipam(request: Request, *, ipam: IpamFacts) -> list[Violation]:
    """DeleteIpam: Cascade clears private-scope content only (C10); without it, nothing but
    the default scopes may be left (C11)."""
    if unsafe := check_text(request):
        return unsafe
    if ipam.public_pool_count:
        return [
            violation(
                "ipam_public_scope_has_pools",
                "Cascade",
                f"The IPAM {ipam.ipam_id} has pools in its public scope; delete them first "
                "(Cascade removes private-scope content only).",
            )
        ]
    if not request.get("Cascade") and (ipam.private_pool_count or ipam.custom_scope_count):
        return [
            violation(
                "ipam_has_content",
                "Cascade",
                f"The IPAM {ipam.ipam_id} still has pools or custom scopes; delete them or use "
                "Cascade.",
            )
        ]
    return []


def check_create_ipam_scope(
    request: Request, *, scope_count: int, quotas: Quotas = DEFAULT_QUOTAS
) -> list[Violation]:
    if unsafe := check_text(request):
        return unsafe
    problems = check_tag_specifications(request, "ipam-scope") + check_client_token(request)
    if scope_count >= quotas.scopes_per_ipam:
        problems.append(
            violation(
                "scopes_per_ipam_exceeded",
                "IpamId",
                f"An IPAM can have at most {quotas.scopes_per_ipam} scopes.",
            )
        )
    return problems


def check_delete_ipam_scope(request: Request, *, scope: ScopeFacts) -> list[Violation]:
    if unsafe := check_text(request):
        return unsafe
    if scope.is_default:
        return [
            violation(
                "default_scope_not_deletable", "IpamScopeId", "A default scope cannot be deleted."
            )
        ]
    if scope.pool_count:
        return [
            violation(
                "scope_has_pools", "IpamScopeId", f"The scope {scope.scope_id} still has pools."
            )
        ]
    return []


# --- CreateTags / DeleteTags ----------------------------------------------------------------

# The resources the project tags: IPAM pools. [aws] "ipam-pool-" and 17 hexadecimal digits.
_TAGGABLE_ID = re.compile(r"^ipam-pool-[0-9a-f]{17}$")


def check_tag_resources(request: Request) -> list[Violation]:
    """Each id of ``Resources`` names an IPAM pool: the only resources this project tags.

    [aws] EC2 answers ``InvalidID`` for an id that names no kind of resource it knows; an id
    of another kind (``vpc-...``) is not one the endpoint can hold, so it gets the same answer
    [choice] (AWS would look it up and answer that kind's ``...NotFound``).
    """
    if unsafe := check_text(request):
        return unsafe
    for resource_id in request.get("Resources") or []:
        if not _TAGGABLE_ID.fullmatch(resource_id):
            return [
                violation(
                    "resource_id_invalid",
                    "Resources",
                    f"The ID '{resource_id}' is not valid",
                )
            ]
    return []


def check_create_tags(
    request: Request, *, current: Mapping[str, Mapping[str, str]]
) -> list[Violation]:
    """CreateTags: the tags within the tag rules, and no resource left with more than
    ``MAX_TAGS`` tags once they are added (``current``: each resource's tags now; a key it
    has already is overwritten, not added)."""
    if problems := check_tag_resources(request):
        return problems
    pairs = tag_pairs(request.get("Tags"))
    if problems := check_tags(pairs, field="Tags"):
        return problems
    added = dict(pairs)
    for resource_id in request.get("Resources") or []:
        tags = {**current.get(resource_id, {}), **added}
        if len(tags) > constants.MAX_TAGS:
            return [
                violation(
                    "tag_limit_exceeded",
                    "Tags",
                    f"The resource {resource_id} would have {len(tags)} tags; a resource can "
                    f"have at most {constants.MAX_TAGS}.",
                )
            ]
    return []


def check_delete_tags(request: Request) -> list[Violation]:
    """DeleteTags: reserved ``aws:`` keys cannot be deleted (nor named)."""
    if problems := check_tag_resources(request):
        return problems
    for key, _ in tag_pairs(request.get("Tags")):
        if key.lower().startswith(constants.RESERVED_TAG_PREFIX):
            return [
                violation(
                    "tag_key_reserved",
                    "Tags",
                    "Tag keys starting with 'aws:' are reserved for internal use",
                )
            ]
    return []


def tags_after_delete(tags: Mapping[str, str], request: Request) -> dict[str, str]:
    """A resource's tags once DeleteTags is applied. [aws] without ``Tags``, every tag but the
    ``aws:`` ones goes; a tag given with a value goes only if its value is that one (an empty
    value too); a tag given without one goes whatever its value."""
    wanted = request.get("Tags")
    if wanted is None:
        return {
            k: v for k, v in tags.items() if k.lower().startswith(constants.RESERVED_TAG_PREFIX)
        }
    kept = dict(tags)
    for tag in wanted:
        key = tag.get("Key", "")
        if key in kept and ("Value" not in tag or tag["Value"] == kept[key]):
            del kept[key]
    return kept
