"""The leads area: the list and the lead pages, conversion, import, and the settings of lead
capture (assignment rules, score rules, web forms). The public web form endpoint is in
crm_site/urls.py, outside /o/<org_slug>/."""

from django.urls import path

from sales.views import lead_imports, lead_rules, lead_web_forms, leads

urlpatterns = [
    path("leads/", leads.lead_list, name="lead-list"),
    path("leads/new/", leads.lead_create, name="lead-create"),
    path("leads/<int:pk>/", leads.lead_detail, name="lead-detail"),
    path("leads/<int:pk>/edit/", leads.lead_edit, name="lead-edit"),
    path("leads/<int:pk>/status/", leads.lead_status, name="lead-status"),
    path(
        "leads/<int:pk>/interactions/",
        leads.lead_interaction_create,
        name="lead-interaction-create",
    ),
    path("leads/<int:pk>/convert/", leads.lead_convert, name="lead-convert"),
    path("leads/import/", lead_imports.lead_import, name="lead-import"),
    path("leads/import/map/", lead_imports.lead_import_map, name="lead-import-map"),
    path(
        "leads/assignment-rules/",
        lead_rules.assignment_rule_list,
        name="assignment-rule-list",
    ),
    path(
        "leads/assignment-rules/<int:pk>/",
        lead_rules.assignment_rule_edit,
        name="assignment-rule-edit",
    ),
    path(
        "leads/assignment-rules/<int:pk>/delete/",
        lead_rules.assignment_rule_delete,
        name="assignment-rule-delete",
    ),
    path("leads/score-rules/", lead_rules.score_rule_list, name="score-rule-list"),
    path("leads/score-rules/<int:pk>/", lead_rules.score_rule_edit, name="score-rule-edit"),
    path(
        "leads/score-rules/<int:pk>/delete/",
        lead_rules.score_rule_delete,
        name="score-rule-delete",
    ),
    path(
        "leads/score-rules/recalculate/",
        lead_rules.score_recalculate,
        name="score-recalculate",
    ),
    path("leads/web-forms/", lead_web_forms.web_form_list, name="web-form-list"),
    path("leads/web-forms/new/", lead_web_forms.web_form_create, name="web-form-create"),
    path("leads/web-forms/<int:pk>/", lead_web_forms.web_form_edit, name="web-form-edit"),
    path(
        "leads/web-forms/<int:pk>/delete/",
        lead_web_forms.web_form_delete,
        name="web-form-delete",
    ),
]
