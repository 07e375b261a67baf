"""The pool's page after creating it: its state section polls while the pool or its first CIDR
is settling, and stops polling once both are final."""

from __future__ import annotations

from typing import Any

from django.test import Client
from django.urls import reverse

from pools.models import IpamPool, IpamScope
from tests.integration.app.pool_form_support import (
    HX,
    Answer,
    Element,
    form_data,
)

MAX_POLLS = 5


def create(client: Client, scope: IpamScope, **values: Any) -> str:
    response = client.post(reverse("pool_new"), form_data(scope, **values))
    assert response.status_code == 302, response.content[:300]
    return response["Location"].rstrip("/").rsplit("/", 1)[1]


def status(client: Client, pool_id: str) -> Element:
    response = client.get(reverse("pool_status", args=[pool_id]), **HX)
    assert response.status_code == 200
    answer = Answer.of(response.content.decode())
    assert answer.by_id("main") is None, "only the status section is sent back"
    return answer["pool-status"]


def state_of(section: Element) -> str:
    return next(e.text for e in section.children if "badge" in e.attrs.get("class", "")).strip()


def polls(section: Element) -> bool:
    return "hx-trigger" in section.attrs and "hx-get" in section.attrs


def poll_until_final(client: Client, pool_id: str, worker: Any) -> list[Element]:
    """Poll as the page does, the task worker doing its work between polls."""
    seen = [status(client, pool_id)]
    while polls(seen[-1]):
        assert len(seen) < MAX_POLLS, "still polling"
        worker()
        seen.append(status(client, pool_id))
    return seen


def test_the_new_pool_page_polls_until_the_pool_and_its_cidr_are_ready(
    editor: Client, worker: Any, private_scope: IpamScope
) -> None:
    pool_id = create(editor, private_scope, first_cidr="172.16.0.0/16")
    page = Answer.of(editor.get(reverse("pool_detail", args=[pool_id])).content.decode())
    section = page["pool-status"]
    assert state_of(section) == "create-in-progress"
    assert polls(section)
    assert section.attrs["hx-get"] == reverse("pool_status", args=[pool_id])

    seen = poll_until_final(editor, pool_id, worker)
    final = seen[-1]
    assert state_of(final) == "create-complete"
    assert "172.16.0.0/16" in final.text
    assert "provisioned" in final.text
    assert IpamPool.objects.get(pool_id=pool_id).cidrs.get().state == "provisioned"


def test_a_pool_without_a_first_cidr_stops_polling_once_created(
    editor: Client, worker: Any, private_scope: IpamScope
) -> None:
    pool_id = create(editor, private_scope)
    final = poll_until_final(editor, pool_id, worker)[-1]
    assert state_of(final) == "create-complete"


def test_polling_continues_while_aws_is_still_creating(
    editor: Client, sim: Any, private_scope: IpamScope
) -> None:
    sim.config.create_delay = 3600
    pool_id = create(editor, private_scope, first_cidr="172.16.0.0/16")
    for _ in range(2):
        section = status(editor, pool_id)
        assert state_of(section) == "create-in-progress"
        assert polls(section)
    assert "172.16.0.0/16" in section.text, "the CIDR to come is announced"


def test_a_child_pool_gets_a_block_of_the_size_asked_for(
    editor: Client, worker: Any, private_scope: IpamScope
) -> None:
    parent = IpamPool.objects.select_related("scope").get(name="us-east-1-prod")
    pool_id = create(editor, private_scope, source=parent, first_netmask_length=20)
    final = poll_until_final(editor, pool_id, worker)[-1]
    assert state_of(final) == "create-complete"
    assert "10.0.16.0/20" in final.text


def test_create_failed_shows_the_state_message(
    editor: Client, worker: Any, sim: Any, private_scope: IpamScope
) -> None:
    sim.faults.update({"fail_next_creates": 1, "fail_message": "Quota of widgets exhausted."})
    pool_id = create(editor, private_scope, first_cidr="172.16.0.0/16")
    final = poll_until_final(editor, pool_id, worker)[-1]
    assert state_of(final) == "create-failed"
    (alert,) = [e for e in final.children if e.attrs.get("role") == "alert"]
    assert "Quota of widgets exhausted." in alert.text
    assert not IpamPool.objects.get(pool_id=pool_id).cidrs.exists()


def test_polling_survives_aws_being_unreachable(
    editor: Client, worker: Any, sim: Any, private_scope: IpamScope
) -> None:
    pool_id = create(editor, private_scope, first_cidr="172.16.0.0/16")
    sim.faults.update({"unreachable": True})
    worker(limit=3)
    section = status(editor, pool_id)
    assert polls(section), "it keeps trying"
    (alert,) = [e for e in section.children if e.attrs.get("role") == "alert"]
    assert "could not be reached" in alert.text
    sim.faults.update({"unreachable": False})
    assert state_of(poll_until_final(editor, pool_id, worker)[-1]) == "create-complete"


def test_polling_only_reads(editor: Client, sim: Any, private_scope: IpamScope) -> None:
    """GET never writes: the worker, not the poll, asks AWS and provisions the first CIDR."""
    pool_id = create(editor, private_scope, first_cidr="172.16.0.0/16")
    calls: list[Any] = []
    handle = sim.handle
    sim.handle = lambda *args: calls.append(args) or handle(*args)
    pool = IpamPool.objects.get(pool_id=pool_id)
    before = (pool.state, pool.last_synced_at, pool.cidrs.count())

    for _ in range(3):
        status(editor, pool_id)

    pool.refresh_from_db()
    assert (pool.state, pool.last_synced_at, pool.cidrs.count()) == before
    assert calls == []


def test_the_status_needs_a_login(client: Client, demo: Any) -> None:
    pool_id = IpamPool.objects.first().pool_id
    response = client.get(reverse("pool_status", args=[pool_id]), **HX)
    assert response.status_code == 302
