"""The reverse of a plan: the calls that take away what applying it made."""

from __future__ import annotations

from planning.diff import Diff
from planning.spec import PlanSpec
from planning.world import World


def reverse(spec: PlanSpec, world: World, *, cascade: bool = False) -> Diff:
    """The teardown of ``spec``'s bound nodes, children first."""
    raise NotImplementedError
