from __future__ import annotations

import pytest

from pools import changelog
from pools.aws import aws_called


@pytest.fixture(autouse=True)
def no_change_log():
    """Unit tests have no database: the change log does not listen to their AWS calls."""
    aws_called.disconnect(changelog.record_call, dispatch_uid="pools.changelog.record_call")
    yield
    aws_called.connect(changelog.record_call, dispatch_uid="pools.changelog.record_call")
