"""Every page of a paginated AWS call."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from pools.aws.errors import call_aws


def pages(method: Callable[..., dict[str, Any]], key: str, **params: Any) -> Iterator[list[dict]]:
    token = None
    while True:
        response = call_aws(method, **params, **({"NextToken": token} if token else {}))
        yield response.get(key, [])
        token = response.get("NextToken")
        if not token:
            return
