"""Lead settings for managers and admins: assignment rules and score rules."""

from functools import partial

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from sales.forms.lead_settings import AssignmentRuleForm, LeadScoreRuleForm
from sales.selectors import leads as selectors
from sales.services import leads as services
from sales.services.lead_scoring import FIT_FIELDS, engagement_metric_choices, leads_rescore_all
from sales.tasks import leads_rescore_all_task
from tenancy.permissions import Capability, require_capability


def _rule_form(request, instance=None) -> AssignmentRuleForm:
    members = selectors.sales_member_choices(org=request.organization)
    return AssignmentRuleForm(request.POST or None, instance=instance, members=members)


@require_capability(Capability.CONFIGURE_SALES)
def assignment_rule_list(request, org_slug: str):
    org = request.organization
    form = _rule_form(request)
    if request.method == "POST" and form.is_valid():
        services.assignment_rule_save(org=org, data=form.cleaned_data)
        messages.success(request, _("Assignment rule added."))
        return redirect("sales:assignment-rule-list", org_slug=org_slug)
    members = {choice[0]: choice[1] for choice in form.fields["assignees"].choices}
    rules = [
        (rule, [members[pk] for pk in rule.assignees if pk in members])
        for rule in selectors.assignment_rule_list(org=org)
    ]
    context = {"rules": rules, "form": form}
    return render(
        request, "sales/leads/assignment_rules.html", context, status=400 if form.errors else 200
    )


@require_capability(Capability.CONFIGURE_SALES)
def assignment_rule_edit(request, org_slug: str, pk: int):
    rule = selectors.assignment_rule_get(org=request.organization, pk=pk)
    form = _rule_form(request, instance=rule)
    if request.method == "POST" and form.is_valid():
        services.assignment_rule_save(org=request.organization, data=form.cleaned_data, rule=rule)
        messages.success(request, _("Assignment rule saved."))
        return redirect("sales:assignment-rule-list", org_slug=org_slug)
    context = {"form": form, "rule": rule}
    return render(
        request,
        "sales/leads/assignment_rule_form.html",
        context,
        status=400 if form.errors else 200,
    )


@require_POST
@require_capability(Capability.CONFIGURE_SALES)
def assignment_rule_delete(request, org_slug: str, pk: int):
    rule = selectors.assignment_rule_get(org=request.organization, pk=pk)
    services.assignment_rule_delete(rule=rule)
    messages.success(request, _("Assignment rule deleted."))
    return redirect("sales:assignment-rule-list", org_slug=org_slug)


def _field_labels() -> dict[str, str]:
    return {**{k: str(v) for k, v in FIT_FIELDS.items()}, **dict(engagement_metric_choices())}


@require_capability(Capability.CONFIGURE_SALES)
def score_rule_list(request, org_slug: str):
    org = request.organization
    form = LeadScoreRuleForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.score_rule_save(org=org, data=form.service_data())
        messages.success(
            request, _("Scoring rule added. Recalculate the scores when you are done tuning.")
        )
        return redirect("sales:score-rule-list", org_slug=org_slug)
    labels = _field_labels()
    rules = [
        (rule, labels.get(rule.field, rule.field)) for rule in selectors.score_rule_list(org=org)
    ]
    context = {"rules": rules, "form": form}
    return render(
        request, "sales/leads/score_rules.html", context, status=400 if form.errors else 200
    )


@require_capability(Capability.CONFIGURE_SALES)
def score_rule_edit(request, org_slug: str, pk: int):
    rule = selectors.score_rule_get(org=request.organization, pk=pk)
    form = LeadScoreRuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        services.score_rule_save(org=request.organization, data=form.service_data(), rule=rule)
        messages.success(request, _("Scoring rule saved."))
        return redirect("sales:score-rule-list", org_slug=org_slug)
    context = {"form": form, "rule": rule}
    return render(
        request, "sales/leads/score_rule_form.html", context, status=400 if form.errors else 200
    )


@require_POST
@require_capability(Capability.CONFIGURE_SALES)
def score_rule_delete(request, org_slug: str, pk: int):
    rule = selectors.score_rule_get(org=request.organization, pk=pk)
    services.score_rule_delete(rule=rule)
    messages.success(request, _("Scoring rule deleted."))
    return redirect("sales:score-rule-list", org_slug=org_slug)


@require_POST
@require_capability(Capability.CONFIGURE_SALES)
def score_recalculate(request, org_slug: str):
    org = request.organization
    if not settings.CELERY_TASK_ALWAYS_EAGER:  # a worker does it, after this request commits
        transaction.on_commit(partial(leads_rescore_all_task.delay, org.pk))
        messages.info(request, _("The scores are being recalculated; this takes a moment."))
        return redirect("sales:score-rule-list", org_slug=org_slug)
    changed = leads_rescore_all(org=org)
    messages.success(
        request,
        ngettext(
            "Scores recalculated: %(count)s lead changed.",
            "Scores recalculated: %(count)s leads changed.",
            changed,
        )
        % {"count": f"{changed:,}"},
    )
    return redirect("sales:score-rule-list", org_slug=org_slug)
