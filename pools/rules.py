"""AWS VPC IPAM rules, in one place.

Pure functions over plain values: no Django, no boto3. The forms, the live validation and the
local IPAM endpoint (``ipamsim``) all ask this module, so a rule corrected here is corrected
everywhere. Each broken rule is reported as a :class:`Violation` carrying a stable ``code`` that
tests assert on, the CreateIpamPool member it concerns, and the error code AWS answers with.

Rules marked ``[choice]`` in the comments are not confirmed anywhere public; they are this
project's chosen behaviour (see ``ipam-rules.md``) and live here so they can be corrected.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

MAX_POOL_DEPTH = 10
NETMASK_LIMITS = {"ipv4": 32, "ipv6": 128}
USABLE_POOL_STATES = frozenset({"create-complete", "modify-complete"})
MAX_TAGS = 50  # [choice]
MAX_TAG_KEY_LENGTH = 128
MAX_TAG_VALUE_LENGTH = 256
MAX_CLIENT_TOKEN_LENGTH = 64
NO_LOCALE = "None"  # what AWS shows for a pool without a locale

INVALID_VALUE = "InvalidParameterValue"
INVALID_COMBINATION = "InvalidParameterCombination"
INCORRECT_STATE = "IncorrectState"

PUBLICLY_ADVERTISABLE_MESSAGE = (
    "The request can only contain PubliclyAdvertisable if the AddressFamily is IPv6 and "
    "PublicIpSource is byoip."
)

_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d+$")
_LOCAL_ZONE_GROUP = re.compile(r"^(?P<region>[a-z]{2}(-gov)?-[a-z]+-\d+)-[a-z0-9-]+$")


@dataclass(frozen=True)
class Violation:
    """One broken rule: ``code`` is stable, ``field`` is the CreateIpamPool member it concerns."""

    code: str
    field: str | None
    message: str
    aws_code: str = INVALID_VALUE


@dataclass(frozen=True)
class SourcePoolFacts:
    """What the rules need to know about a source pool."""

    pool_id: str
    scope_id: str
    address_family: str
    state: str
    pool_depth: int
    locale: str | None


def is_region_name(name: str) -> bool:
    return bool(_REGION.match(name))


def local_zone_region(locale: str) -> str | None:
    """The parent Region of a Local Zone network border group (``us-west-2-lax-1``), else None."""
    if is_region_name(locale):
        return None
    match = _LOCAL_ZONE_GROUP.match(locale)
    return match["region"] if match else None


def normalise_locale(locale: str | None) -> str | None:
    """AWS shows the string ``"None"`` for a pool without a locale; we store no locale."""
    return None if locale in (None, "", NO_LOCALE) else locale


def netmask_limit(address_family: str) -> int:
    return NETMASK_LIMITS[address_family]


def effective_netmask_range(
    address_family: str, minimum: int | None, maximum: int | None
) -> tuple[int, int]:
    """Omitted min and max come back from AWS as 0 and the family's limit (rule 6)."""
    return (
        0 if minimum is None else minimum,
        netmask_limit(address_family) if maximum is None else maximum,
    )


def check_netmask_lengths(
    address_family: str,
    minimum: int | None,
    maximum: int | None,
    default: int | None,
) -> list[Violation]:
    """Rules 3-5: each length within the family's range; min <= max; min <= default <= max."""
    limit = netmask_limit(address_family)
    problems = []
    for field, value in (
        ("AllocationMinNetmaskLength", minimum),
        ("AllocationMaxNetmaskLength", maximum),
        ("AllocationDefaultNetmaskLength", default),
    ):
        if value is not None and not 0 <= value <= limit:
            problems.append(
                Violation(
                    "netmask_out_of_range",
                    field,
                    f"A netmask length for an {address_family} pool must be between 0 and {limit}; "
                    f"{value} is not.",
                )
            )
    if problems:
        return problems
    low, high = effective_netmask_range(address_family, minimum, maximum)
    if low > high:
        # AWS's text says "less than", but min == max is accepted (rule 4).
        return [
            Violation(
                "netmask_min_gt_max",
                "AllocationMinNetmaskLength",
                f"The minimum netmask length (/{low}) cannot be longer than the maximum (/{high}).",
            )
        ]
    if default is not None and not low <= default <= high:
        return [
            Violation(
                "netmask_default_outside_range",
                "AllocationDefaultNetmaskLength",
                f"The default netmask length (/{default}) must lie between the minimum (/{low}) "
                f"and the maximum (/{high}).",
            )
        ]
    return []


def check_locale(
    locale: str | None,
    *,
    operating_regions: Iterable[str],
    address_family: str,
    scope_type: str,
    source: SourcePoolFacts | None = None,
) -> list[Violation]:
    """Rules 9, 10 and 12: the locale is an operating Region and agrees with the source pool."""
    regions = set(operating_regions)
    if locale is not None:
        zone_region = local_zone_region(locale)
        if zone_region is not None:
            if not (address_family == "ipv4" and scope_type == "public"):
                return [
                    Violation(
                        "locale_local_zone_not_allowed",
                        "Locale",
                        f"The locale '{locale}' is a Local Zone network border group; those are "
                        "allowed only for IPv4 pools in the public scope.",
                    )
                ]
            region = zone_region
        elif not is_region_name(locale):
            return [
                Violation(
                    "locale_invalid",
                    "Locale",
                    f"The locale '{locale}' is not a Region name.",
                )
            ]
        else:
            region = locale
        if region not in regions:
            return [
                Violation(
                    "locale_not_operating",
                    "Locale",
                    f"The locale '{locale}' is not an operating Region of the IPAM "
                    f"(it operates in {', '.join(sorted(regions))}).",
                )
            ]
    if source is not None and source.locale is not None and locale != source.locale:
        return [
            Violation(
                "locale_differs_from_source",
                "Locale",
                f"The source pool {source.pool_id} has the locale '{source.locale}'; "
                f"a child pool must have the same locale.",
                INVALID_COMBINATION,
            )
        ]
    return []


def check_source_pool(
    source: SourcePoolFacts, *, scope_id: str, address_family: str
) -> list[Violation]:
    """Rules 15, 16 and 18: same scope and family, a usable state, and room for one more level."""
    field = "SourceIpamPoolId"
    if source.scope_id != scope_id:
        return [
            Violation(
                "source_pool_other_scope",
                field,
                f"The source pool {source.pool_id} is in another scope ({source.scope_id}).",
                INVALID_COMBINATION,
            )
        ]
    if source.address_family != address_family:
        return [
            Violation(
                "source_pool_other_family",
                field,
                f"The source pool {source.pool_id} is an {source.address_family} pool; "
                f"it cannot be the source of an {address_family} pool.",
                INVALID_COMBINATION,
            )
        ]
    if source.state not in USABLE_POOL_STATES:
        return [
            Violation(
                "source_pool_not_usable",
                field,
                f"The source pool {source.pool_id} is in the state {source.state}; "
                "it must be create-complete or modify-complete.",
                INCORRECT_STATE,
            )
        ]
    return check_depth(child_depth(source))


def child_depth(source: SourcePoolFacts | None) -> int:
    """PoolDepth of a new pool: 1 at the top, its source's depth + 1 below it (rule 18)."""
    return 1 if source is None else source.pool_depth + 1


def check_depth(depth: int) -> list[Violation]:
    if depth > MAX_POOL_DEPTH:
        return [
            Violation(
                "pool_depth_exceeded",
                "SourceIpamPoolId",
                f"The new pool would be at depth {depth}: "
                f"pool depth quota ({MAX_POOL_DEPTH}) exceeded.",
            )
        ]
    return []


def publicly_advertisable_allowed(
    *, scope_type: str, address_family: str, public_ip_source: str | None
) -> bool:
    """Rule 19: only for byoip (the default) IPv6 pools in the public scope."""
    return (
        scope_type == "public" and address_family == "ipv6" and public_ip_source in (None, "byoip")
    )


def check_public_members(
    *,
    scope_type: str,
    address_family: str,
    publicly_advertisable: bool | None,
    public_ip_source: str | None,
    aws_service: str | None,
) -> list[Violation]:
    """Rules 19 and 20: members that belong to public-scope pools only."""
    problems = []
    if scope_type != "public":
        for field, value in (("PublicIpSource", public_ip_source), ("AwsService", aws_service)):
            if value is not None:
                problems.append(
                    Violation(
                        "public_member_in_private_scope",
                        field,
                        f"{field} applies only to pools in the public scope.",
                        INVALID_COMBINATION,
                    )
                )
    if publicly_advertisable is not None and not publicly_advertisable_allowed(
        scope_type=scope_type, address_family=address_family, public_ip_source=public_ip_source
    ):
        problems.append(
            Violation(
                "publicly_advertisable_not_allowed",
                "PubliclyAdvertisable",
                PUBLICLY_ADVERTISABLE_MESSAGE,
                INVALID_COMBINATION,
            )
        )
    return problems


def check_tags(
    tags: Sequence[tuple[str, str]], *, field: str = "TagSpecifications"
) -> list[Violation]:
    """Rule 23: key 1-128 characters not starting with ``aws:``, value 0-256, at most 50 tags."""
    problems = []
    if len(tags) > MAX_TAGS:
        problems.append(
            Violation(
                "too_many_tags",
                field,
                f"A resource can have at most {MAX_TAGS} tags.",
            )
        )
    seen: set[str] = set()
    for key, value in tags:
        if not key:
            problems.append(Violation("tag_key_empty", field, "A tag key cannot be empty."))
        elif len(key) > MAX_TAG_KEY_LENGTH:
            problems.append(
                Violation(
                    "tag_key_too_long",
                    field,
                    f"Tag key exceeds the maximum length of {MAX_TAG_KEY_LENGTH} characters",
                )
            )
        elif key.lower().startswith("aws:"):
            problems.append(
                Violation(
                    "tag_key_reserved",
                    field,
                    "Tag keys starting with 'aws:' are reserved for internal use",
                )
            )
        elif key in seen:
            problems.append(
                Violation(  # [choice]
                    "tag_key_duplicate",
                    field,
                    f"The tag key '{key}' is given more than once.",
                )
            )
        seen.add(key)
        if value is not None and len(value) > MAX_TAG_VALUE_LENGTH:
            problems.append(
                Violation(
                    "tag_value_too_long",
                    field,
                    f"Tag value exceeds the maximum length of {MAX_TAG_VALUE_LENGTH} characters",
                )
            )
    return problems


def check_client_token(token: str | None) -> list[Violation]:
    """Rule 25: at most 64 ASCII characters."""
    if token is not None and (len(token) > MAX_CLIENT_TOKEN_LENGTH or not token.isascii()):
        return [
            Violation(
                "client_token_invalid",
                "ClientToken",
                f"The client token must be at most {MAX_CLIENT_TOKEN_LENGTH} ASCII characters.",
            )
        ]
    return []


def check_source_resource(
    source_resource: dict | None, *, source: SourcePoolFacts | None
) -> list[Violation]:
    """Rule 22: a VPC planned inside a source pool, in the source pool's locale."""
    if not source_resource:
        return []
    field = "SourceResource"
    if source is None:
        return [
            Violation(
                "source_resource_without_source_pool",
                field,
                "A SourceResource needs a SourceIpamPoolId.",
            )
        ]
    region = source_resource.get("ResourceRegion")
    if source.locale is None or region != source.locale:
        return [
            Violation(
                "source_resource_region_mismatch",
                field,
                f"The resource Region ({region}) must equal the source pool's locale "
                f"({source.locale or NO_LOCALE}).",
            )
        ]
    return []


def check_create_pool(
    *,
    scope_id: str,
    scope_type: str,
    operating_regions: Iterable[str],
    address_family: str,
    locale: str | None = None,
    source: SourcePoolFacts | None = None,
    min_netmask: int | None = None,
    max_netmask: int | None = None,
    default_netmask: int | None = None,
    publicly_advertisable: bool | None = None,
    public_ip_source: str | None = None,
    aws_service: str | None = None,
    tags: Sequence[tuple[str, str]] = (),
    source_resource: dict | None = None,
) -> list[Violation]:
    """Every CreateIpamPool rule that needs no AWS call, in AWS's order of checking."""
    problems = check_netmask_lengths(address_family, min_netmask, max_netmask, default_netmask)
    problems += check_tags(tags)
    problems += check_public_members(
        scope_type=scope_type,
        address_family=address_family,
        publicly_advertisable=publicly_advertisable,
        public_ip_source=public_ip_source,
        aws_service=aws_service,
    )
    if source is not None:
        problems += check_source_pool(source, scope_id=scope_id, address_family=address_family)
    if source_resource:
        problems += check_source_resource(source_resource, source=source)
        if source is not None and source.locale is not None:
            locale = source.locale  # the new pool's locale becomes the resource's Region
    problems += check_locale(
        locale,
        operating_regions=operating_regions,
        address_family=address_family,
        scope_type=scope_type,
        source=source,
    )
    return problems
