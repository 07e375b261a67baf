"""What the pages show of a task: read from the task backend, nothing more."""

from __future__ import annotations

from typing import Any

try:  # Django 6
    from django.tasks import default_task_backend
except ImportError:  # Django 5.2: the backport
    from django_tasks import default_task_backend


def task_state(task_id: str) -> dict[str, Any] | None:
    """What the pages show of a task: its status, and why it failed, if it did."""
    if not task_id:
        return None
    backend = default_task_backend
    if not backend.supports_get_result:
        return None
    try:
        result = backend.get_result(task_id)
    except Exception:  # pruned, or of another backend: nothing to show
        return None
    errors = [error.exception_class_path.rsplit(".", 1)[-1] for error in result.errors]
    return {"status": str(result.status), "errors": errors, "finished_at": result.finished_at}
