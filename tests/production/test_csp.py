"""The Content Security Policy: every page carries it, it allows no eval and nothing inline, and
no template needs either."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

TEMPLATES = sorted((Path(settings.BASE_DIR) / "templates").rglob("*.html"))

# What a policy without 'unsafe-inline' or 'unsafe-eval' would block in a template.
INLINE = {
    "inline script": re.compile(r"<script(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE),
    "event handler attribute": re.compile(r"\son[a-z]+\s*=", re.IGNORECASE),
    "style attribute": re.compile(r"\sstyle\s*=", re.IGNORECASE),
    "style element": re.compile(r"<style\b", re.IGNORECASE),
    "hx-on attribute (evaluated)": re.compile(r"\shx-on", re.IGNORECASE),
    "js: value (evaluated)": re.compile(r"""hx-(vals|vars|headers)\s*=\s*['"]\s*js:"""),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
}


def policy(response) -> dict[str, list[str]]:
    directives = [d.strip().split() for d in response["Content-Security-Policy"].split(";")]
    return {d[0]: d[1:] for d in directives if d}


def test_there_are_templates_to_check() -> None:
    assert len(TEMPLATES) >= 10


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.name)
def test_no_template_needs_inline_code_or_styles(template: Path) -> None:
    text = template.read_text()

    found = {name: pattern.findall(text) for name, pattern in INLINE.items()}

    assert not {name: hits for name, hits in found.items() if hits}


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/accounts/login/", "/admin/login/", "/health/"])
def test_every_answer_carries_the_policy(client: Client, url: str) -> None:
    directives = policy(client.get(url))

    assert directives["default-src"] == ["'self'"]
    assert directives["script-src"] == ["'self'"]
    assert directives["style-src"] == ["'self'"]
    assert directives["object-src"] == ["'none'"]
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["base-uri"] == ["'none'"]
    assert directives["form-action"] == ["'self'"]


@pytest.mark.django_db
def test_no_directive_allows_eval_or_inline_code(admin_client: Client, demo) -> None:
    for url in (reverse("home"), reverse("pool_new"), "/admin/pools/ipampool/"):
        header = admin_client.get(url)["Content-Security-Policy"]

        assert "unsafe-eval" not in header
        assert "unsafe-inline" not in header
        assert "unsafe-hashes" not in header


@pytest.mark.django_db
def test_htmx_is_told_to_eval_nothing_and_inject_no_styles(client: Client) -> None:
    page = client.get(reverse("login")).content.decode()

    config = re.search(r"""<meta name="htmx-config" content='([^']*)'>""", page)
    assert config, "no htmx-config meta"
    assert '"includeIndicatorStyles": false' in config[1]
    assert '"allowEval": false' in config[1]
    assert page.index('name="htmx-config"') < page.index("htmx-2.min.js")
