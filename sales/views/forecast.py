"""The sales forecast page (managers and admins)."""

from django.shortcuts import render

from sales.selectors import forecast as forecast_selectors
from sales.selectors import opportunities as selectors
from sales.services import opportunities as services
from tenancy.permissions import Capability, require_capability


@require_capability(Capability.VIEW_DASHBOARDS)
@require_capability(Capability.WORK_SALES)
def forecast(request, org_slug: str):
    org = request.organization
    pipelines = selectors.pipeline_list(org=org) or [services.pipeline_ensure_default(org)]
    pipeline = selectors.pipeline_pick(pipelines=pipelines, wanted=request.GET.get("pipeline"))
    periods = dict(forecast_selectors.Period.choices)
    period = request.GET.get("period", "")
    period = period if period in periods else forecast_selectors.Period.DEFAULT
    result = forecast_selectors.forecast(org=org, pipeline=pipeline, period=period)
    context = {
        "forecast": result,
        "pipelines": pipelines,
        "pipeline": pipeline,
        "periods": forecast_selectors.Period.choices,
        "period": period,
        "chart": result.chart_data(),
    }
    return render(request, "sales/opportunities/forecast.html", context)
