"""A scope with more pools than a select can carry: the source pool is a search box."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from pools import forms, selectors
from pools.models import IpamPool, IpamScope
from pools.sync import sync_all
from tests.integration.app.pool_form_support import HX, form_data, live

pytestmark = pytest.mark.django_db

SEARCH = "/pools/new/source-pools/"


@pytest.fixture(autouse=True)
def small_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    """The demo's private scope (10 IPv4 pools) counts as a big one."""
    monkeypatch.setattr(forms, "SOURCE_SELECT_LIMIT", 3)


def suggestions(client: Client, **params: str) -> list[tuple[str, str]]:
    response = client.get(SEARCH, params, **HX)
    assert response.status_code == 200
    return re.findall(r'<option value="([^"]+)">([^<]+)</option>', response.content.decode())


def test_the_form_offers_a_search_box_instead_of_a_select(editor, private_scope):
    html = editor.get(f"/pools/new/?scope={private_scope.scope_id}").content.decode()

    assert '<select name="source_pool"' not in html
    assert re.search(r'<input type="text" name="source_pool"[^>]*list="source-pool-options"', html)
    assert '<datalist id="source-pool-options"></datalist>' in html
    assert "Type part of a pool" in html


def test_a_small_scope_keeps_its_select(editor, demo, monkeypatch):
    monkeypatch.setattr(forms, "SOURCE_SELECT_LIMIT", 300)
    scope = IpamScope.objects.get(scope_type="private", is_default=True)

    html = editor.get(f"/pools/new/?scope={scope.scope_id}").content.decode()

    assert '<select name="source_pool"' in html


def test_suggestions_match_id_name_or_description(editor, private_scope):
    prod = {p.pool_id for p in IpamPool.objects.filter(name__endswith="-prod")}
    some = IpamPool.objects.get(name="us-east-1")

    by_name = suggestions(editor, scope=private_scope.scope_id, source_pool="PROD")
    by_id = suggestions(editor, scope=private_scope.scope_id, source_pool=some.pool_id[-6:])

    assert {value for value, _ in by_name} == prod
    assert all("depth 3" in label for _, label in by_name)
    assert [value for value, _ in by_id] == [some.pool_id]


def test_suggestions_stay_in_the_scope_and_family_and_are_few(editor, private_scope, sim):
    ipv4 = suggestions(editor, scope=private_scope.scope_id, address_family="ipv4")
    ipv6 = suggestions(editor, scope=private_scope.scope_id, address_family="ipv6")

    assert len(ipv4) == 10
    assert [label.split(" (")[0] for _, label in ipv6] == ["ula-v6"]
    assert suggestions(editor, scope="ipam-scope-unknown") == []
    assert suggestions(editor, scope=private_scope.scope_id, source_pool="no such pool") == []
    for n in range(selectors.SOURCE_SUGGESTIONS):
        sim.call(
            "CreateIpamPool",
            IpamScopeId=private_scope.scope_id,
            AddressFamily="ipv4",
            Description=f"extra {n}",
        )
    sync_all(include_space=False)
    assert len(suggestions(editor, scope=private_scope.scope_id)) == selectors.SOURCE_SUGGESTIONS


def test_suggestions_need_the_right_to_create_pools(client, django_user_model, private_scope):
    assert client.get(SEARCH).status_code == 302
    client.force_login(django_user_model.objects.create_user("viewer"))
    assert client.get(SEARCH, {"scope": private_scope.scope_id}).status_code == 403


def test_a_typed_id_that_is_no_pool_is_reported_next_to_the_field(editor, private_scope):
    data = form_data(private_scope, source_pool="us-east")

    # Half-typed while searching is not an error yet; once the user moves on, it is.
    assert live(editor, data, "source_pool").field_codes("source_pool") == []
    assert live(editor, data, "description").field_codes("source_pool") == ["invalid_choice"]
    response = editor.post("/pools/new/", data)
    html = response.content.decode()
    assert "choose one of the suggestions" in html
    assert 'value="us-east"' in html  # the input is kept


def test_a_chosen_suggestion_makes_a_child_pool(editor, private_scope):
    source = IpamPool.objects.get(name="us-east-1")

    response = editor.post("/pools/new/", form_data(source=source, description="by search"))

    assert response.status_code == 302
    assert IpamPool.objects.get(description="by search").source_pool == source


def test_a_link_from_a_pool_fills_the_search_box(editor, private_scope):
    source = IpamPool.objects.get(name="us-east-1")

    html = editor.get(f"/pools/new/?source={source.pool_id}").content.decode()

    assert re.search(rf'<input type="text" name="source_pool" value="{source.pool_id}"', html)
