"""The node views of the plan page: add a child, edit, move and delete a subtree, each checked
live by a dry run and saved through the services."""

from __future__ import annotations

import pytest

from planning import services
from planning.models import PlanNode

from .conftest import node


def test_adding_a_node_whose_key_the_plan_has_is_refused_and_changes_nothing(make_plan):
    plan = make_plan(nodes=[node("a", prefix_length=16)])

    with pytest.raises(services.PlanError) as refused:
        services.node_add(plan, node("a", name="other", prefix_length=20))

    assert refused.value.code == "node_key_exists"
    assert list(PlanNode.objects.values_list("key", "name", "prefix_length")) == [("a", "a", 16)]
