"""Searching a scope's pools, as an engineer writes a search.

What a query means:

- an IPv4 or IPv6 address (``10.4.1.5``): the pools whose CIDRs (provisioned, or on their
  way to it) contain it;
- a CIDR (``10.4.0.0/16``; host bits are ignored): the pools whose CIDRs overlap it,
  either containing it or lying inside it (each match says which);
- ``key=value``: the pools with that tag (the key as written, the value in any case), as the
  pool page writes tags; ``key=`` finds every pool with the key;
- anything else: the pools whose name, description, pool ID, a tag's key or value, or (for
  the start of an address, ``10.16.``) a CIDR has the text, in any case.

Each kind is answered by queries that indexes serve (on PostgreSQL, trigram indexes for the
text searches, see migration 0007; the CIDR column is indexed on both databases), so a search
costs about the same in a scope of 100 pools and of 10,000, except for the part of a CIDR
query that lists the CIDRs inside it.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower
from netaddr import IPNetwork

from pools.models import IpamPool, IpamPoolCidr, IpamScope, PoolTag

ADDRESS_START = re.compile(r"[0-9a-fA-F]{1,4}[.:][0-9a-fA-F.:]*")


@dataclass(frozen=True)
class Query:
    """A search, parsed: its kind and what it looks for."""

    kind: str  # "address", "cidr", "tag" or "text"
    text: str
    network: IPNetwork | None = None
    key: str = ""
    value: str = ""


def parse(text: str) -> Query:
    text = text.strip()
    if "/" in text:
        try:
            found = ipaddress.ip_network(text, strict=False)
        except ValueError:
            pass
        else:
            return Query("cidr", text, IPNetwork(str(found)))
    else:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            pass
        else:
            bits = address.max_prefixlen
            return Query("address", text, IPNetwork((int(address), bits), version=address.version))
    key, equals, value = text.partition("=")
    if equals and key.strip():
        return Query("tag", text, key=key.strip(), value=value.strip())
    return Query("text", text)


@dataclass(frozen=True)
class Match:
    pk: int
    depth: int
    note: str = ""  # for address and CIDR searches: how the pool's CIDR meets the query


def matches(scope: IpamScope, text: str, limit: int) -> list[Match]:
    """The first ``limit`` pools of ``scope`` matching ``text``, shallowest first.

    Each query starts from what is searched for (the CIDR index, the tag index, the text
    indexes) and only then narrows to the scope's live pools, so that no database walks the
    scope's pools to test each one.
    """
    query = parse(text)
    pools = IpamPool.objects.live().filter(scope=scope)
    found: dict[int, Match] = {}

    def take(rows: Iterable[tuple[int, int]]) -> None:
        for pk, depth in rows:
            found.setdefault(pk, Match(pk, depth))

    if query.kind in ("address", "cidr"):
        assert query.network is not None
        label = "contains" if query.kind == "address" else "contains it"
        containing = IpamPoolCidr.objects.holding_space().filter(
            cidr__in=[str(n) for n in supernets(query.network)]
        )
        for pk, depth, cidr in _of_scope(scope, containing):
            found.setdefault(pk, Match(pk, depth, f"{cidr} {label}"))
        if query.kind == "cidr":
            for pk, depth, cidr in _inside(scope, query.network):
                found.setdefault(pk, Match(pk, depth, f"{cidr} inside it"))
    elif query.kind == "tag":
        tags = PoolTag.objects.filter(key=query.key)
        if query.value:  # the value in any case, by an index of (key, lower(value))
            tags = tags.alias(lowered=Lower("value")).filter(lowered=query.value.lower())
        take(_first(pools.filter(id__in=tags.values("pool_id")), limit))
    else:
        term = query.text
        named = Q(name__icontains=term) | Q(description__icontains=term)
        take(_first(pools.filter(named | Q(pool_id__icontains=term)), limit))
        tags = PoolTag.objects.filter(Q(value__icontains=term) | Q(key__icontains=term))
        take(_first(pools.filter(id__in=tags.values("pool_id")), limit))
        if ADDRESS_START.fullmatch(term):
            cidrs = _starting(IpamPoolCidr.objects.holding_space(), term.lower())
            take(_first(pools.filter(id__in=cidrs.values("pool_id")), limit))
    return sorted(found.values(), key=lambda m: (m.depth, m.pk))[:limit]


def _first(pools: QuerySet, limit: int) -> list[tuple[int, int]]:
    return list(pools.order_by("depth", "id").values_list("id", "depth")[:limit])


def _of_scope(scope: IpamScope, cidrs: QuerySet) -> list[tuple[int, int, IPNetwork]]:
    """(pool, depth, CIDR) of ``cidrs`` (a few, found by their index) held by live pools of
    ``scope``: read with their pools' scope and kept here, so the CIDR index leads."""
    rows = cidrs.values_list(
        "pool_id", "pool__depth", "cidr", "pool__scope_id", "pool__missing_since"
    )
    found = [
        (pk, depth, cidr)
        for pk, depth, cidr, scope_pk, missing in rows
        if scope_pk == scope.pk and missing is None
    ]
    return sorted(found, key=lambda row: (row[1], row[0]))


def _starting(cidrs: QuerySet, prefix: str) -> QuerySet:
    """The CIDRs whose text starts with ``prefix``: a LIKE on PostgreSQL (its pattern index),
    a range in SQLite (whose LIKE ignores case and so no index serves it)."""
    if connection.vendor == "postgresql":
        return cidrs.filter(cidr__startswith=prefix)
    return cidrs.filter(cidr__gte=prefix, cidr__lt=prefix + "\U0010ffff")


def supernets(network: IPNetwork) -> list[IPNetwork]:
    """Every CIDR that contains ``network`` (itself included), as AWS writes CIDRs."""
    return [network.supernet(length)[0] for length in range(network.prefixlen)] + [network.cidr]


def _inside(scope: IpamScope, network: IPNetwork) -> list[tuple[int, int, IPNetwork]]:
    """The pools of ``scope`` whose CIDRs lie inside ``network`` (and are smaller than it).

    CIDRs are kept as text, so this reads the CIDRs that can be inside (for IPv4, those that
    start with the network's whole leading octets) and compares them here.
    """
    cidrs = IpamPoolCidr.objects.holding_space().filter(
        pool__scope=scope, pool__missing_since__isnull=True
    )
    if network.version == 4:
        octets = str(network.network).split(".")[: network.prefixlen // 8]
        if octets:
            cidrs = _starting(cidrs, ".".join(octets) + ".")
    else:
        cidrs = cidrs.filter(cidr__contains=":")
    inside = []
    for pk, depth, cidr in cidrs.values_list("pool_id", "pool__depth", "cidr").iterator():
        if (
            cidr is not None
            and cidr.version == network.version
            and cidr.prefixlen > network.prefixlen
            and network.first <= cidr.first
            and cidr.last <= network.last
        ):
            inside.append((pk, depth, cidr))
    return inside


def with_ancestors(pks: Collection[int]) -> RawSQL | list[int]:
    """``pks`` and every pool above them, for ``id__in``: one recursive query up the
    source-pool links (PostgreSQL and SQLite both run ``WITH RECURSIVE``)."""
    if not pks:
        return []
    table = connection.ops.quote_name(IpamPool._meta.db_table)
    marks = ", ".join(["%s"] * len(pks))
    sql = (
        f"WITH RECURSIVE up(id, parent) AS ("
        f"SELECT id, source_pool_id FROM {table} WHERE id IN ({marks}) "
        f"UNION SELECT p.id, p.source_pool_id FROM {table} p JOIN up ON p.id = up.parent"
        f") SELECT id FROM up"
    )
    return RawSQL(sql, tuple(pks))
