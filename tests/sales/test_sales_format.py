"""The display filters of the board and the lists, and the URLs they build without reverse()."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.contrib.humanize.templatetags.humanize import intcomma
from django.template.defaultfilters import date as date_filter
from django.template.defaultfilters import floatformat
from django.urls import reverse
from django.utils import translation

from crm_site.object_urls import object_url
from sales.templatetags.sales_format import (
    lead_status_tone,
    month_day,
    score_tone,
    short_date,
    whole_amount,
)


@pytest.mark.parametrize(
    "value",
    [Decimal("1234.5"), Decimal("0.49"), Decimal("-1234.5"), Decimal("999999999.50"), 7, "12.5"],
)
def test_whole_amount_reads_as_floatformat_0_then_intcomma(value):
    assert whole_amount(value) == intcomma(floatformat(value, 0))


@pytest.mark.parametrize("value", [None, "", "lots", Decimal("Infinity"), object()])
def test_whole_amount_of_no_number_is_empty(value):
    assert whole_amount(value) == ""


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_dates_read_as_the_date_filter_in_each_language(language):
    day = date(2026, 3, 4)
    with translation.override(language):
        assert month_day(day) == date_filter(day, "M j")
        assert short_date(day) == date_filter(day, "SHORT_DATE_FORMAT")
        assert short_date(datetime(2026, 3, 4, 23, 0, tzinfo=UTC)) == date_filter(
            day, "SHORT_DATE_FORMAT"
        )


def test_dates_of_no_date_are_empty():
    assert (month_day(None), month_day("2026-03-04"), short_date("")) == ("", "", "")


def test_badge_tones():
    assert [lead_status_tone(s) for s in ("new", "qualified", "unqualified", "odd")] == [
        "info",
        "success",
        "secondary",
        "info",
    ]
    assert [score_tone(s) for s in (75, 50, 20, 0, -5, None)] == [
        "success",
        "success",
        "warning",
        "secondary",
        "danger",
        "secondary",
    ]


def test_object_url_matches_reverse():
    detail = object_url("sales:opportunity-detail", org_slug="acme")

    assert detail(7) == reverse("sales:opportunity-detail", kwargs={"org_slug": "acme", "pk": 7})
    assert detail(123456789) == reverse(
        "sales:opportunity-detail", kwargs={"org_slug": "acme", "pk": 123456789}
    )
