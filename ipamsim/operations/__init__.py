"""The IPAM operations, one module per kind of object; importing them registers them."""

from __future__ import annotations

from ipamsim.context import OPERATIONS
from ipamsim.operations import allocations, cidrs, ipams, pools, scopes, tags

__all__ = ["OPERATIONS", "allocations", "cidrs", "ipams", "pools", "scopes", "tags"]
