"""AWS's limits, each defined once. Quotas AWS lets an account raise are defaults only.

Evidence: [model] botocore's EC2 model, [aws] observed on real AWS, [choice] this project's.
"""

from __future__ import annotations

from netaddr import IPNetwork

MAX_POOL_DEPTH = 10  # [aws] PoolDepth 1 at the top, 10 the deepest
NETMASK_LIMITS = {"ipv4": 32, "ipv6": 128}  # [model] netmask lengths 0-32 and 0-128
FAMILY_VERSION = {"ipv4": 4, "ipv6": 6}

MAX_TAGS = 50  # [choice]
MAX_TAG_KEY_LENGTH = 128  # [aws]
MAX_TAG_VALUE_LENGTH = 256  # [aws]
RESERVED_TAG_PREFIX = "aws:"  # [aws]
MAX_CLIENT_TOKEN_LENGTH = 64  # [aws]
MAX_OPERATING_REGIONS = 50  # [model]

NO_LOCALE = "None"  # [aws] what AWS shows for a pool without a locale

# Adjustable quotas, as AWS sets them for a new account (the app and the endpoint take theirs
# from settings).
DEFAULT_IPAMS_PER_REGION = 1  # [aws] rebuy-de/aws-nuke#834
DEFAULT_SCOPES_PER_IPAM = 5  # [aws]
DEFAULT_POOLS_PER_SCOPE = 50  # [choice] recalled from AWS's quota page, unconfirmed
DEFAULT_CIDRS_PER_POOL = 50  # [choice] recalled from AWS's quota page, unconfirmed
AMAZON_IPV6_CIDRS_PER_POOL = 1  # [model] CreateIpamPool PublicIpSource documentation

# Where Amazon-provided IPv6 space comes from: [choice] (AWS assigns it; any block will do).
AMAZON_PUBLIC_IPV6_SPACE = IPNetwork("2600:1f00::/24")
AMAZON_PRIVATE_IPV6_SPACE = IPNetwork("fd00::/8")  # [choice] ULA space, for C4

# The characters of an AWS resource id (``ipam-pool-0123abcd...``); ``_`` too, which no id
# has but URL templates use as placeholders. [aws]
AWS_ID_PATTERN = "[A-Za-z0-9_-]{1,128}"
