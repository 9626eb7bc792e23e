"""The opportunities area: board, list and detail, pipelines and stages, competitors, partners
and the forecast."""

from django.urls import path

from sales.views import competitors, forecast, opportunities, pipelines

urlpatterns = [
    path("pipeline/", opportunities.opportunity_board, name="opportunity-board"),
    path(
        "pipeline/stages/<int:pk>/cards/",
        opportunities.opportunity_board_column,
        name="opportunity-board-column",
    ),
    path("opportunities/", opportunities.opportunity_list, name="opportunity-list"),
    path("opportunities/new/", opportunities.opportunity_create, name="opportunity-create"),
    path(
        "opportunities/customer-options/",
        opportunities.customer_options,
        name="opportunity-customer-options",
    ),
    path(
        "opportunities/contact-options/",
        opportunities.contact_options,
        name="opportunity-contact-options",
    ),
    path("opportunities/<int:pk>/", opportunities.opportunity_detail, name="opportunity-detail"),
    path("opportunities/<int:pk>/edit/", opportunities.opportunity_edit, name="opportunity-edit"),
    path("opportunities/<int:pk>/move/", opportunities.opportunity_move, name="opportunity-move"),
    path(
        "opportunities/<int:pk>/delete/",
        opportunities.opportunity_delete,
        name="opportunity-delete",
    ),
    path(
        "opportunities/<int:pk>/competitors/",
        competitors.opportunity_competitor_add,
        name="opportunity-competitor-add",
    ),
    path(
        "opportunity-competitors/<int:pk>/",
        competitors.opportunity_competitor_edit,
        name="opportunity-competitor-edit",
    ),
    path(
        "opportunity-competitors/<int:pk>/remove/",
        competitors.opportunity_competitor_remove,
        name="opportunity-competitor-remove",
    ),
    path("forecast/", forecast.forecast, name="forecast"),
    # Pipelines and stages
    path("pipelines/", pipelines.pipeline_list, name="pipeline-list"),
    path("pipelines/new/", pipelines.pipeline_create, name="pipeline-create"),
    path("pipelines/<int:pk>/", pipelines.pipeline_edit, name="pipeline-edit"),
    path("pipelines/<int:pk>/delete/", pipelines.pipeline_delete, name="pipeline-delete"),
    path("pipelines/<int:pk>/stages/new/", pipelines.stage_create, name="stage-create"),
    path("pipelines/<int:pk>/stages/order/", pipelines.stage_reorder, name="stage-reorder"),
    path("stages/<int:pk>/", pipelines.stage_edit, name="stage-edit"),
    path("stages/<int:pk>/shift/", pipelines.stage_shift, name="stage-shift"),
    path("stages/<int:pk>/delete/", pipelines.stage_delete, name="stage-delete"),
    # Competitors and partners
    path("competitors/", competitors.competitor_list, name="competitor-list"),
    path("competitors/new/", competitors.competitor_create, name="competitor-create"),
    path("competitors/<int:pk>/", competitors.competitor_detail, name="competitor-detail"),
    path("competitors/<int:pk>/edit/", competitors.competitor_edit, name="competitor-edit"),
    path("competitors/<int:pk>/delete/", competitors.competitor_delete, name="competitor-delete"),
    path("partners/", competitors.partner_list, name="partner-list"),
    path("partners/new/", competitors.partner_create, name="partner-create"),
    path("partners/<int:pk>/", competitors.partner_detail, name="partner-detail"),
    path("partners/<int:pk>/edit/", competitors.partner_edit, name="partner-edit"),
    path("partners/<int:pk>/delete/", competitors.partner_delete, name="partner-delete"),
]
