"""The API asks for the same Django permissions as the pages do (and so the same groups)."""

from __future__ import annotations

from typing import Any

from rest_framework import permissions

# The permissions the pages check, by what they allow.
VIEW_POOLS = "pools.view_ipampool"
ADD_POOLS = "pools.add_ipampool"
CHANGE_POOLS = "pools.change_ipampool"
DELETE_POOLS = "pools.delete_ipampool"
SYNC = "pools.sync_ipam"
VIEW_PLANS = "planning.view_plan"
ADD_PLANS = "planning.add_plan"
CHANGE_PLANS = "planning.change_plan"
DELETE_PLANS = "planning.delete_plan"


class HasPermission(permissions.BasePermission):
    """A logged-in user (by session or token) with the permission the view names for the
    action: ``view.required`` maps an action (a viewset's, or the HTTP method) to it."""

    message = "You do not have the permission this needs."

    def has_permission(self, request: Any, view: Any) -> bool:
        user = request.user
        if not (user and user.is_authenticated):
            return False
        required: dict[str, str] = getattr(view, "required", {})
        action = getattr(view, "action", None) or request.method.lower()
        needed = required.get(action) or required.get(request.method.lower())
        if needed is None:  # what no entry names is refused, never allowed by default
            return False
        return user.has_perm(needed)
