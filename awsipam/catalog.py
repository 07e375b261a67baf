"""Every rule this project knows AWS to apply: its stable code, AWS's answer, its evidence.

A rule's code is what tests and forms match on; ``aws_code`` is the ``Error.Code`` AWS answers
a request that breaks it, or, for a rule AWS judges only after accepting the request
(``failure_code`` set), the state the CIDR then ends in. ``evidence`` says how sure we are, as in
``ipam-rules.md``: [aws] seen on real AWS, [model] botocore's model says so, [choice] this
project's guess. To correct a [choice], change it here.
"""

from __future__ import annotations

from dataclasses import dataclass

INVALID_VALUE = "InvalidParameterValue"
INVALID_COMBINATION = "InvalidParameterCombination"
INCORRECT_STATE = "IncorrectState"
DEPENDENCY_VIOLATION = "DependencyViolation"
LIMIT_EXCEEDED = "LimitExceeded"
FAILED_PROVISION = "failed-provision"
FAILED_DEPROVISION = "failed-deprovision"


@dataclass(frozen=True)
class Rule:
    code: str
    aws_code: str
    evidence: str
    # AWS accepts the request; the CIDR ends in the state ``aws_code`` with a FailureReason
    # of this code (one of the model's IpamPoolCidrFailureCode values).
    failure_code: str = ""

    @property
    def fails_later(self) -> bool:
        return bool(self.failure_code)


@dataclass(frozen=True)
class Violation:
    """One broken rule: ``field`` is the request member it concerns (None: the whole request)."""

    code: str
    field: str | None
    message: str

    @property
    def rule(self) -> Rule:
        return RULES[self.code]

    @property
    def aws_code(self) -> str:
        return RULES[self.code].aws_code

    @property
    def fails_later(self) -> bool:
        return RULES[self.code].fails_later


def _rules(*rules: Rule) -> dict[str, Rule]:
    table = {rule.code: rule for rule in rules}
    assert len(table) == len(rules), "a rule code is defined twice"
    return table


RULES: dict[str, Rule] = _rules(
    # --- request syntax, any operation ---------------------------------------------------
    Rule("client_token_invalid", INVALID_VALUE, "[aws] 64 ASCII characters; code [choice]"),
    Rule("text_not_xml_safe", INVALID_VALUE, "[choice] XML 1.0 cannot carry them"),
    Rule("netmask_out_of_range", INVALID_VALUE, "[model] 0-32 / 0-128; code [choice]"),
    Rule("cidr_invalid", INVALID_VALUE, "[aws]"),
    Rule("cidr_wrong_family", INVALID_VALUE, "[aws] rule; code [choice]"),
    Rule("cidr_host_bits_set", INVALID_VALUE, "[aws] rule; code [choice]"),
    Rule("cidr_and_netmask_given", INVALID_COMBINATION, "[model] exactly one; code [choice]"),
    # --- tags -------------------------------------------------------------------------------
    Rule("tag_resource_type_invalid", INVALID_VALUE, "[model] enum; code [choice]"),
    Rule("too_many_tags", INVALID_VALUE, "[choice] 50 tags"),
    Rule("tag_key_empty", INVALID_VALUE, "[aws] keys 1-128; code [choice]"),
    Rule("tag_key_too_long", INVALID_VALUE, "[aws] text"),
    Rule("tag_key_reserved", INVALID_VALUE, "[aws] text"),
    Rule("tag_key_duplicate", INVALID_VALUE, "[choice]"),
    Rule("tag_value_too_long", INVALID_VALUE, "[aws] text"),
    # --- CreateIpamPool ---------------------------------------------------------------------
    Rule("netmask_min_gt_max", INVALID_VALUE, "[aws] min == max accepted; code [choice]"),
    Rule("netmask_default_outside_range", INVALID_VALUE, "[choice]"),
    Rule("locale_empty", INVALID_VALUE, "[choice]"),
    Rule("locale_invalid", INVALID_VALUE, "[choice]"),
    Rule("locale_not_operating", INVALID_VALUE, "[aws] refused; code and text [choice]"),
    Rule("locale_local_zone_not_allowed", INVALID_VALUE, "[model]; code [choice]"),
    Rule("locale_differs_from_source", INVALID_COMBINATION, "[aws] rule; code [choice]"),
    Rule("source_pool_other_scope", INVALID_COMBINATION, "[choice]"),
    Rule("source_pool_other_family", INVALID_COMBINATION, "[choice]"),
    Rule("source_pool_not_usable", INCORRECT_STATE, "[choice]"),
    Rule("pool_depth_exceeded", INVALID_VALUE, "[aws] limit 10; code [choice]"),
    Rule("publicly_advertisable_not_allowed", INVALID_COMBINATION, "[aws] text"),
    Rule("public_member_in_private_scope", INVALID_COMBINATION, "[choice]"),
    Rule("source_resource_without_source_pool", INVALID_VALUE, "[aws] rule; code [choice]"),
    Rule("source_resource_region_mismatch", INVALID_VALUE, "[aws] rule; code [choice]"),
    Rule("pools_per_scope_exceeded", LIMIT_EXCEEDED, "[choice] quota 50 and code"),
    # --- ProvisionIpamPoolCidr --------------------------------------------------------------
    Rule("cidr_or_netmask_missing", INVALID_COMBINATION, "[model] exactly one; code [choice]"),
    Rule("pool_not_usable", INCORRECT_STATE, "[choice]"),
    Rule("cidrs_per_pool_exceeded", LIMIT_EXCEEDED, "[choice] quota 50 and code"),
    Rule("amazon_pool_cidr_limit", LIMIT_EXCEEDED, "[model] C5; code [choice]"),
    Rule("cidr_authorization_context_required", INVALID_COMBINATION, "[aws] C6"),
    Rule("netmask_needs_source", INVALID_COMBINATION, "[aws] rule; code [choice]"),
    Rule("cidr_overlaps_top_level", INVALID_VALUE, "[aws] rule; code [choice]"),
    Rule("cidr_netmask_outside_pool_rules", INVALID_VALUE, "[aws] rule; code [choice]"),
    Rule("cidr_outside_pool_space", INVALID_VALUE, "[aws] rule; code [choice]"),
    Rule("cidr_overlaps_allocation", INVALID_VALUE, "[aws] rule; code [choice]"),
    Rule("cidr_not_available", FAILED_PROVISION, "[model]", failure_code="cidr-not-available"),
    # --- AllocateIpamPoolCidr / ReleaseIpamPoolAllocation -----------------------------------
    Rule("allowed_cidrs_need_netmask", INVALID_COMBINATION, "[aws] rule; code [choice]"),
    Rule("allocation_size_missing", INVALID_COMBINATION, "[aws] C8 text"),
    Rule("allocation_cidr_outside_pool", INVALID_VALUE, "[choice] rule and code"),
    Rule("allocation_not_available", "InsufficientCidrBlocks", "[choice] code"),
    Rule("allocation_not_found", INVALID_COMBINATION, "[aws] 'No allocation found'"),
    Rule("allocation_not_custom", INVALID_COMBINATION, "[aws] rule; code [choice]"),
    # --- DeprovisionIpamPoolCidr ------------------------------------------------------------
    Rule("cidr_required", "MissingParameter", "[choice]"),
    Rule("cidr_not_provisioned", INVALID_VALUE, "[choice]"),
    Rule("cidr_not_live", INCORRECT_STATE, "[aws]"),
    Rule(
        "cidr_has_allocations",
        FAILED_DEPROVISION,
        "[aws] C7 state and text; FailureReason code [choice]",
        failure_code="cidr-not-available",
    ),
    # --- ModifyIpamPool ---------------------------------------------------------------------
    Rule("no_modification", INVALID_COMBINATION, "[aws] text"),
    Rule("default_set_and_cleared", INVALID_COMBINATION, "[choice]"),
    # --- DeleteIpamPool ---------------------------------------------------------------------
    Rule("cascade_not_allowed", INVALID_COMBINATION, "[model] rule; code [choice]"),
    Rule("pool_has_cidrs", DEPENDENCY_VIOLATION, "[aws] C2"),
    Rule("pool_has_children", DEPENDENCY_VIOLATION, "[choice] C3, by analogy with C2"),
    # --- CreateTags / DeleteTags ----------------------------------------------------------
    Rule("resource_id_invalid", "InvalidID", "[aws] EC2's code for an id it cannot place"),
    Rule(
        "tag_limit_exceeded",
        "TagLimitExceeded",
        "[aws] code and 50 tags per resource (CreateTags reference); text [choice]",
    ),
    # --- IPAMs and scopes -------------------------------------------------------------------
    Rule("region_invalid", INVALID_VALUE, "[choice]"),
    Rule("free_tier_regions", INVALID_COMBINATION, "[aws] rule; code [choice]"),
    Rule("ipams_per_region_exceeded", "ResourceLimitExceeded", "[aws] C1 text"),
    Rule("home_region_removed", INVALID_COMBINATION, "[choice]"),
    Rule("operating_region_in_use", INVALID_COMBINATION, "[choice]"),
    Rule("ipam_public_scope_has_pools", INCORRECT_STATE, "[model] C10; code [choice]"),
    Rule("ipam_has_content", INCORRECT_STATE, "[choice] C11"),
    Rule("scopes_per_ipam_exceeded", "MaxIpamScopeLimitExceeded", "[aws] 5 scopes; code [choice]"),
    Rule("default_scope_not_deletable", INVALID_COMBINATION, "[aws] rule; code [choice]"),
    Rule("scope_has_pools", INCORRECT_STATE, "[choice]"),
)


def violation(code: str, field: str | None, message: str) -> Violation:
    """A :class:`Violation` of a rule of :data:`RULES` (an unknown code fails at once)."""
    if code not in RULES:
        raise KeyError(f"no rule {code!r} in the catalog")
    return Violation(code, field, message)
