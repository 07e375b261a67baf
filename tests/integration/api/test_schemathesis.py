"""Schemathesis over the whole OpenAPI schema: every operation, with values generated from its
schema (valid and invalid), as an IPAM administrator (so creations run too) against the demo
IPAM in the in-process local endpoint. Each answer must be no 5xx, have a status code the
operation documents, the content type it documents for that status, and a body of its schema.

The schema is the one the app serves, generated in process; requests go to the app's WSGI
application, in this thread, on the test's database. Bounded by the Hypothesis profile of
tests/conftest.py ("ci": a few derandomized examples per operation; ``HYPOTHESIS_PROFILE=fuzz``
for many, new ones each run).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.renderers import OpenApiJsonRenderer
from hypothesis import settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
CI_EXAMPLES = 12  # per operation, in the normal run
FUZZ_EXAMPLES = 300  # per operation, under HYPOTHESIS_PROFILE=fuzz (make fuzz)


def openapi() -> dict[str, Any]:
    """The schema ``/api/schema/`` serves, as JSON."""
    document = SchemaGenerator().get_schema(request=None, public=True)
    return json.loads(OpenApiJsonRenderer().render(document, renderer_context={}))


DOCUMENT = openapi()
schema = schemathesis.openapi.from_dict(DOCUMENT)
schema.app = get_wsgi_application()
schema.config.generation.update(
    modes=[schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE]
)
EXAMPLES = FUZZ_EXAMPLES if os.environ.get("HYPOTHESIS_PROFILE") == "fuzz" else CI_EXAMPLES


@pytest.fixture
def in_this_transaction(settings: Any) -> Iterator[None]:
    """A request through the WSGI handler closes the database connection when it ends, as a
    server's must; here that would end the test's transaction. The test client does the same."""
    settings.ALLOWED_HOSTS = ["localhost"]
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=EXAMPLES)
def test_the_api_answers_as_its_schema_says(case: Any, admin: Any, in_this_transaction) -> None:
    # Identity: the WSGI transport does not undo the gzip the app answers a gzip-able call with.
    headers = {"Authorization": f"Bearer {admin.token}", "Accept-Encoding": "identity"}
    case.validate_response(case.call(headers=headers), checks=CHECKS)
