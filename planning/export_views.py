"""A plan's formats: export (YAML, JSON, Terraform, CSV), the published schema, and uploads
(a new plan from a document, or a document into a plan)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import permission_required
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from django.views.decorators.http import require_GET, require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from awsipam.constants import MAX_POOL_DEPTH
from planning import formats, selectors, services, terraform
from planning.models import Plan
from planning.upload_forms import DocumentForm, PlanImportForm, PlanUploadForm

VIEW = "planning.view_plan"
CHANGE = "planning.change_plan"
ADD = "planning.add_plan"

# fmt -> (file extension, content type)
EXPORTS = {
    "yaml": ("yaml", "application/yaml; charset=utf-8"),
    "json": ("json", "application/json"),
    "tf": ("tf", "text/plain; charset=utf-8"),
    "csv": ("csv", "text/csv; charset=utf-8"),
}


def _plan(plan_id: int) -> Plan:
    return get_object_or_404(
        Plan.objects.select_related("ipam", "scope", "parent_pool"), pk=plan_id
    )


def export_meta(request: HttpRequest, plan: Plan) -> dict[str, Any]:
    """Where an exported document came from: the plan, its version, its page's address."""
    return {
        "plan_id": plan.pk,
        "version": plan.version,
        "url": request.build_absolute_uri(reverse("plan_detail", args=[plan.pk])),
    }


def export_filename(plan: Plan, extension: str) -> str:
    """``<plan name>-plan-<id>.<ext>``, in ASCII letters, digits and dashes only."""
    stem = slugify(plan.name)[:60].strip("-") or "plan"
    return f"{stem}-plan-{plan.pk}.{extension}"


@permission_required(VIEW, raise_exception=True)
@require_GET
def plan_export(request: HttpRequest, plan_id: int, fmt: str) -> HttpResponse:
    """The plan as a download: its own YAML or JSON (lossless), Terraform, or CSV."""
    if fmt not in EXPORTS:
        raise Http404("No such format.")
    plan = _plan(plan_id)
    spec = selectors.plan_spec(plan)
    schema_url = request.build_absolute_uri(reverse("plan_schema", args=[formats.SCHEMA_VERSION]))
    if fmt == "yaml":
        body = formats.to_yaml(spec, meta=export_meta(request, plan), schema_url=schema_url)
    elif fmt == "json":
        body = formats.to_json(spec, meta=export_meta(request, plan), schema_url=schema_url)
    elif fmt == "tf":
        body = terraform.to_terraform(spec)
    else:
        body = formats.to_csv(spec)
    extension, content_type = EXPORTS[fmt]
    response = HttpResponse(body.encode("utf-8"), content_type=content_type)
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=True, filename=export_filename(plan, extension)
    )
    return response


@require_GET
def plan_schema(request: HttpRequest, version: int) -> HttpResponse:
    """The published JSON Schema of the plan document (for any logged-in user)."""
    if version != formats.SCHEMA_VERSION:
        raise Http404("No such schema version.")
    response = HttpResponse(formats.schema_text(), content_type="application/schema+json")
    response["Cache-Control"] = "private, max-age=3600"
    return response


def _upload_page(
    request: HttpRequest, form: DocumentForm, *, plan: Plan | None = None, status: int = 200
) -> HttpResponse:
    checked = request.method == "POST" and form.is_bound and form.is_valid()
    context = {
        "form": form,
        "plan": plan,
        "preview": form.preview() if checked else None,
        "action": reverse("plan_import", args=[plan.pk]) if plan else reverse("plan_upload"),
        "schema_url": reverse("plan_schema", args=[formats.SCHEMA_VERSION]),
        "schema_version": formats.SCHEMA_VERSION,
        "max_nodes": formats.MAX_NODES,
        "max_megabytes": formats.MAX_DOCUMENT_BYTES // (1024 * 1024),
        "paste_megabytes": round((settings.DATA_UPLOAD_MAX_MEMORY_SIZE or 0) / (1024 * 1024), 1),
        "max_depth": MAX_POOL_DEPTH,
        "csv_columns": formats.CSV_COLUMNS,
    }
    template = "planning/plan_upload.html"
    if request.htmx:
        template += "#upload-form"
    return render(request, template, context, status=status)


def _done(request: HttpRequest, plan: Plan) -> HttpResponse:
    url = reverse("plan_detail", args=[plan.pk])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


def _summary(outcome: services.Outcome) -> str:
    errors = sum(1 for f in outcome.findings if f.is_error)
    warnings = len(outcome.findings) - errors
    return f"{errors} error{'s' * (errors != 1)}, {warnings} warning{'s' * (warnings != 1)}"


@permission_required(ADD, raise_exception=True)
@require_http_methods(["GET", "POST"])
def plan_upload(request: HttpRequest) -> HttpResponse:
    """A new plan from a document. ``check`` reads it and shows what it holds, creating
    nothing; otherwise a readable document becomes a plan (packed and judged)."""
    if request.method == "GET":
        return _upload_page(request, PlanUploadForm())
    form = PlanUploadForm(request.POST, request.FILES)
    if form.is_valid() and not request.POST.get("check"):
        try:
            outcome = services.plan_create(**form.create_kwargs(), user=request.user)
        except services.PlanError as err:
            field = err.field if err.field in form.fields else None
            form.add_error(field, ValidationError(str(err), code=err.code))
        except IntegrityError:  # a plan of that name was made meanwhile
            form.add_error(
                "name",
                ValidationError(
                    "This IPAM already has a plan of this name.", code="plan_name_taken"
                ),
            )
        else:
            messages.success(
                request,
                f"Created the plan {outcome.plan.name} with {len(form.nodes)} nodes: "
                f"{_summary(outcome)}.",
            )
            return _done(request, outcome.plan)
    return _upload_page(request, form)


@permission_required(CHANGE, raise_exception=True)
@require_http_methods(["GET", "POST"])
def plan_import(request: HttpRequest, plan_id: int) -> HttpResponse:
    """A document into the plan: its nodes replace the plan's (a kept id updates its node in
    place); the plan keeps its name, scope and space."""
    plan = _plan(plan_id)
    if request.method == "GET":
        return _upload_page(request, PlanImportForm(plan=plan), plan=plan)
    form = PlanImportForm(request.POST, request.FILES, plan=plan)
    if form.is_valid() and not request.POST.get("check"):
        try:
            outcome = services.plan_replace_nodes(plan, form.nodes)
        except services.PlanError as err:
            form.add_error(None, ValidationError(str(err), code=err.code))
        else:
            messages.success(
                request,
                f"The plan now has the {len(form.nodes)} nodes of the upload: {_summary(outcome)}.",
            )
            return _done(request, outcome.plan)
    return _upload_page(request, form, plan=plan)
