"""Leads, pipelines and opportunities, products and price books, quotes, orders and tasks."""

import secrets
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from customers.models import Channel, Contact, Customer, Direction
from tenancy.models import TenantModel

MONEY = {"max_digits": 14, "decimal_places": 2}


def _user_fk(verbose_name, **kwargs):
    return models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name=verbose_name,
        **kwargs,
    )


# --- Leads ----------------------------------------------------------------------------------


class LeadStatus(models.TextChoices):
    NEW = "new", _("New")
    CONTACTED = "contacted", _("Contacted")
    QUALIFIED = "qualified", _("Qualified")
    UNQUALIFIED = "unqualified", _("Unqualified")
    CONVERTED = "converted", _("Converted")


class LeadRating(models.TextChoices):
    HOT = "hot", _("Hot")
    WARM = "warm", _("Warm")
    COLD = "cold", _("Cold")


class LeadSource(models.TextChoices):
    WEB_FORM = "web_form", _("Web form")
    WEBSITE = "website", _("Website")
    REFERRAL = "referral", _("Referral")
    EVENT = "event", _("Event")
    PARTNER = "partner", _("Partner")
    ADVERTISING = "advertising", _("Advertising")
    COLD_CALL = "cold_call", _("Cold call")
    IMPORT = "import", _("Import")
    OTHER = "other", _("Other")


def _form_token() -> str:
    return secrets.token_urlsafe(24)


class WebForm(TenantModel):
    """A web-to-lead form an admin builds and pastes on the company website."""

    name = models.CharField(_("name"), max_length=120)
    token = models.CharField(max_length=48, default=_form_token, editable=False)
    fields = models.JSONField(_("fields"), default=list)  # lead field names shown on the form
    thank_you_message = models.CharField(_("thank-you message"), max_length=300, blank=True)
    redirect_url = models.URLField(_("redirect after submit"), blank=True)
    campaign_name = models.CharField(_("campaign"), max_length=120, blank=True)
    source = models.CharField(
        _("source"), max_length=20, choices=LeadSource.choices, default=LeadSource.WEB_FORM
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantModel.Meta):
        verbose_name = _("web form")
        verbose_name_plural = _("web forms")
        constraints = [
            models.UniqueConstraint(fields=["organization", "token"], name="webform_org_token_uniq")
        ]

    def __str__(self) -> str:
        return self.name


class Lead(TenantModel):
    first_name = models.CharField(_("first name"), max_length=80, blank=True)
    last_name = models.CharField(_("last name"), max_length=80)
    company = models.CharField(_("company"), max_length=200, blank=True)
    title = models.CharField(_("job title"), max_length=120, blank=True)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    phone_normalized = models.CharField(max_length=40, blank=True, editable=False)
    website = models.CharField(_("website"), max_length=200, blank=True)
    industry = models.CharField(_("industry"), max_length=80, blank=True)
    employees = models.PositiveIntegerField(_("employees"), null=True, blank=True)
    city = models.CharField(_("city"), max_length=80, blank=True)
    region = models.CharField(_("region"), max_length=80, blank=True)
    country = models.CharField(_("country"), max_length=2, blank=True)
    status = models.CharField(
        _("status"), max_length=12, choices=LeadStatus.choices, default=LeadStatus.NEW
    )
    source = models.CharField(_("source"), max_length=20, choices=LeadSource.choices, blank=True)
    rating = models.CharField(_("rating"), max_length=6, choices=LeadRating.choices, blank=True)
    owner = _user_fk(_("owner"))
    campaign_name = models.CharField(_("campaign"), max_length=120, blank=True)
    web_form = models.ForeignKey(
        WebForm, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    notes = models.TextField(_("notes"), blank=True)
    score = models.SmallIntegerField(_("score"), default=0, editable=False)
    score_reasons = models.JSONField(default=list, blank=True, editable=False)
    # The keys to customers and contacts are (organization_id, ...) in the database:
    # tenancy/foreign_keys.py.
    converted_customer = models.ForeignKey(
        Customer,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
        editable=False,
    )
    converted_contact = models.ForeignKey(
        Contact,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
        editable=False,
    )
    converted_opportunity = models.ForeignKey(
        "Opportunity",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        editable=False,
    )
    converted_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("lead")
        verbose_name_plural = _("leads")
        indexes = [
            models.Index(
                fields=["organization", "-created_at", "-id"], name="lead_org_created_idx"
            ),
            models.Index(
                fields=["organization", "status", "-created_at", "-id"], name="lead_org_status_idx"
            ),
            models.Index(
                fields=["organization", "owner", "status", "-created_at"], name="lead_org_owner_idx"
            ),
            models.Index(fields=["organization", "-score", "-id"], name="lead_org_score_idx"),
            models.Index(fields=["organization", "email"], name="lead_org_email_idx"),
            # Search (name and company prefixes), the converted-lead timeline entry and merges,
            # and deleting a web form (its leads' web_form set to NULL).
            models.Index(fields=["organization", "last_name"], name="lead_org_lastname_idx"),
            models.Index(fields=["organization", "first_name"], name="lead_org_firstname_idx"),
            models.Index(fields=["organization", "company"], name="lead_org_company_idx"),
            models.Index(
                fields=["organization", "converted_customer", "-converted_at"],
                name="lead_org_convcust_idx",
            ),
            models.Index(fields=["organization", "web_form"], name="lead_org_webform_idx"),
            # Deleting a contact: its tenant foreign key's check.
            models.Index(
                fields=["organization", "converted_contact"], name="lead_org_convcontact_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_absolute_url(self) -> str:
        return reverse(
            "sales:lead-detail", kwargs={"org_slug": self.organization.slug, "pk": self.pk}
        )


class LeadInteraction(TenantModel):
    """One touch with a lead (a call, an email...); copied to the customer's interactions when
    the lead is converted."""

    lead = models.ForeignKey(
        Lead, on_delete=models.CASCADE, related_name="interactions", db_index=False
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    direction = models.CharField(
        _("direction"), max_length=10, choices=Direction.choices, default=Direction.OUTBOUND
    )
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("notes"), blank=True)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    user = _user_fk(_("by"))
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta(TenantModel.Meta):
        verbose_name = _("lead interaction")
        verbose_name_plural = _("lead interactions")
        indexes = [
            models.Index(
                fields=["organization", "lead", "-occurred_at", "-id"],
                name="leadinteraction_org_lead_idx",
            ),
        ]

    def __str__(self) -> str:
        return self.subject


class LeadScoreRule(TenantModel):
    """One transparent scoring rule: when `field` `operator` `value`, add `points`."""

    class Kind(models.TextChoices):
        FIT = "fit", _("Fit")
        ENGAGEMENT = "engagement", _("Engagement")

    class Operator(models.TextChoices):
        EQUALS = "equals", _("is")
        CONTAINS = "contains", _("contains")
        GTE = "gte", _("is at least")
        PRESENT = "present", _("is filled in")

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.FIT)
    label = models.CharField(_("reason shown"), max_length=120)
    field = models.CharField(_("field"), max_length=40)
    operator = models.CharField(_("operator"), max_length=10, choices=Operator.choices)
    value = models.CharField(_("value"), max_length=120, blank=True)
    points = models.SmallIntegerField(_("points"))
    is_active = models.BooleanField(_("active"), default=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("lead score rule")
        verbose_name_plural = _("lead score rules")

    def __str__(self) -> str:
        return self.label


class AssignmentRule(TenantModel):
    """Who gets a new lead: the first active rule whose conditions match, round robin among its
    assignees (a rule without conditions is the catch-all)."""

    name = models.CharField(_("name"), max_length=120)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    match_source = models.CharField(
        _("when source is"), max_length=20, choices=LeadSource.choices, blank=True
    )
    match_region = models.CharField(_("when region or country is"), max_length=80, blank=True)
    assignees = models.JSONField(_("assignees"), default=list)  # user ids, in rotation order
    next_index = models.PositiveIntegerField(default=0, editable=False)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("assignment rule")
        verbose_name_plural = _("assignment rules")
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name


# --- Pipeline ---------------------------------------------------------------------------------


class Pipeline(TenantModel):
    name = models.CharField(_("name"), max_length=120)
    is_default = models.BooleanField(_("default"), default=False)

    class Meta(TenantModel.Meta):
        verbose_name = _("pipeline")
        verbose_name_plural = _("pipelines")

    def __str__(self) -> str:
        return self.name


class Stage(TenantModel):
    pipeline = models.ForeignKey(
        Pipeline, on_delete=models.CASCADE, related_name="stages", db_index=False
    )
    name = models.CharField(_("name"), max_length=80)
    position = models.PositiveSmallIntegerField(_("order"), default=0)
    probability = models.PositiveSmallIntegerField(_("win probability (%)"), default=10)
    is_won = models.BooleanField(_("won"), default=False)
    is_lost = models.BooleanField(_("lost"), default=False)

    class Meta(TenantModel.Meta):
        verbose_name = _("stage")
        verbose_name_plural = _("stages")
        ordering = ["position", "id"]
        indexes = [
            models.Index(
                fields=["organization", "pipeline", "position"], name="stage_org_pipeline_idx"
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_closed(self) -> bool:
        return self.is_won or self.is_lost


class Competitor(TenantModel):
    name = models.CharField(_("name"), max_length=120)
    website = models.CharField(_("website"), max_length=200, blank=True)
    strengths = models.TextField(_("strengths"), blank=True)
    weaknesses = models.TextField(_("weaknesses"), blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("competitor")
        verbose_name_plural = _("competitors")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "name"], name="competitor_org_name_uniq"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Partner(TenantModel):
    class Kind(models.TextChoices):
        RESELLER = "reseller", _("Reseller")
        REFERRER = "referrer", _("Referrer")

    name = models.CharField(_("name"), max_length=120)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.RESELLER)
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    commission_percent = models.DecimalField(
        _("commission (%)"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    notes = models.TextField(_("notes"), blank=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("partner")
        verbose_name_plural = _("partners")
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="partner_org_name_uniq")
        ]

    def __str__(self) -> str:
        return self.name


class ForecastCategory(models.TextChoices):
    PIPELINE = "pipeline", _("Pipeline")
    BEST_CASE = "best_case", _("Best case")
    COMMIT = "commit", _("Commit")
    CLOSED = "closed", _("Closed")
    OMITTED = "omitted", _("Omitted")


class Opportunity(TenantModel):
    name = models.CharField(_("name"), max_length=200)
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        related_name="opportunities",
        db_index=False,
        db_constraint=False,  # (organization_id, customer_id): tenancy/foreign_keys.py
        verbose_name=_("customer"),
    )
    contact = models.ForeignKey(
        Contact,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
        verbose_name=_("contact"),
    )
    pipeline = models.ForeignKey(
        Pipeline,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        verbose_name=_("pipeline"),
    )
    stage = models.ForeignKey(
        Stage, on_delete=models.PROTECT, related_name="+", db_index=False, verbose_name=_("stage")
    )
    amount = models.DecimalField(_("amount"), default=Decimal("0"), **MONEY)
    close_date = models.DateField(_("expected close"))
    probability = models.PositiveSmallIntegerField(_("probability (%)"), default=10)
    forecast_category = models.CharField(
        _("forecast category"),
        max_length=10,
        choices=ForecastCategory.choices,
        default=ForecastCategory.PIPELINE,
    )
    next_step = models.CharField(_("next step"), max_length=200, blank=True)
    owner = _user_fk(_("owner"))
    source_campaign = models.CharField(_("source campaign"), max_length=120, blank=True)
    partner = models.ForeignKey(
        Partner,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="opportunities",
        db_index=False,
        verbose_name=_("partner"),
    )
    lost_reason = models.CharField(_("lost reason"), max_length=200, blank=True)
    lead = models.ForeignKey(
        Lead,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        editable=False,
    )
    position = models.IntegerField(default=0, editable=False)  # order within its kanban column
    closed_at = models.DateTimeField(null=True, blank=True, editable=False)
    stage_entered_at = models.DateTimeField(default=timezone.now, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("opportunity")
        verbose_name_plural = _("opportunities")
        indexes = [
            models.Index(
                fields=["organization", "pipeline", "stage", "position", "id"],
                name="opp_org_board_idx",
            ),
            models.Index(
                fields=["organization", "customer", "-created_at"], name="opp_org_customer_idx"
            ),
            models.Index(fields=["organization", "owner", "close_date"], name="opp_org_owner_idx"),
            models.Index(fields=["organization", "close_date", "id"], name="opp_org_close_idx"),
            models.Index(fields=["organization", "-created_at", "-id"], name="opp_org_created_idx"),
            models.Index(fields=["organization", "partner"], name="opp_org_partner_idx"),
            models.Index(fields=["organization", "contact"], name="opp_org_contact_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse(
            "sales:opportunity-detail", kwargs={"org_slug": self.organization.slug, "pk": self.pk}
        )

    @property
    def weighted_amount(self) -> Decimal:
        return (self.amount * self.probability / Decimal(100)).quantize(Decimal("0.01"))


class OpportunityCompetitor(TenantModel):
    class Outcome(models.TextChoices):
        OPEN = "open", _("Open")
        WON = "won", _("We won")
        LOST = "lost", _("We lost")

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="competitors", db_index=False
    )
    competitor = models.ForeignKey(
        Competitor, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    outcome = models.CharField(
        _("outcome"), max_length=6, choices=Outcome.choices, default=Outcome.OPEN
    )
    notes = models.CharField(_("notes"), max_length=300, blank=True)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "opportunity", "competitor"],
                name="oppcomp_org_opp_comp_uniq",
            )
        ]
        indexes = [
            models.Index(
                fields=["organization", "competitor", "outcome"], name="oppcomp_org_comp_idx"
            )
        ]


class StageChange(TenantModel):
    """Every move of an opportunity between stages, for velocity and conversion analytics."""

    opportunity = models.ForeignKey(
        Opportunity, on_delete=models.CASCADE, related_name="stage_changes", db_index=False
    )
    from_stage = models.ForeignKey(
        Stage, on_delete=models.SET_NULL, null=True, related_name="+", db_index=False
    )
    to_stage = models.ForeignKey(
        Stage, on_delete=models.SET_NULL, null=True, related_name="+", db_index=False
    )
    changed_by = _user_fk(_("by"))
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantModel.Meta):
        indexes = [
            models.Index(
                fields=["organization", "opportunity", "changed_at"], name="stagechange_org_opp_idx"
            ),
            models.Index(fields=["organization", "changed_at"], name="stagechange_org_when_idx"),
        ]


# --- Products and price books ---------------------------------------------------------------


class Product(TenantModel):
    sku = models.CharField(_("SKU"), max_length=40)
    name = models.CharField(_("name"), max_length=200)
    category = models.CharField(_("category"), max_length=80, blank=True)
    description = models.TextField(_("description"), blank=True)
    list_price = models.DecimalField(_("list price"), **MONEY)
    unit_cost = models.DecimalField(_("unit cost"), null=True, blank=True, **MONEY)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("product")
        verbose_name_plural = _("products")
        constraints = [
            models.UniqueConstraint(fields=["organization", "sku"], name="product_org_sku_uniq")
        ]
        indexes = [
            models.Index(
                fields=["organization", "is_active", "name"], name="product_org_active_idx"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.sku})"


class PriceBook(TenantModel):
    """A set of prices for some customers: by explicit assignment, by tag or by RFM segment."""

    name = models.CharField(_("name"), max_length=120)
    description = models.CharField(_("description"), max_length=300, blank=True)
    is_default = models.BooleanField(_("default"), default=False)
    rfm_segment = models.CharField(_("for RFM segment"), max_length=20, blank=True)
    tag = models.ForeignKey(
        "customers.Tag",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name=_("for customers tagged"),
    )
    is_active = models.BooleanField(_("active"), default=True)

    class Meta(TenantModel.Meta):
        verbose_name = _("price book")
        verbose_name_plural = _("price books")

    def __str__(self) -> str:
        return self.name


class PriceBookEntry(TenantModel):
    price_book = models.ForeignKey(
        PriceBook, on_delete=models.CASCADE, related_name="entries", db_index=False
    )
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="+", db_index=False)
    unit_price = models.DecimalField(_("unit price"), **MONEY)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "price_book", "product"],
                name="pbentry_org_book_product_uniq",
            )
        ]


class CustomerPriceBook(TenantModel):
    """An explicit price book for one customer (one-to-one pricing)."""

    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    price_book = models.ForeignKey(
        PriceBook, on_delete=models.CASCADE, related_name="+", db_index=False
    )

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "customer"], name="custpricebook_org_customer_uniq"
            )
        ]


# --- Quotes -----------------------------------------------------------------------------------


class QuoteStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SENT = "sent", _("Sent")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    EXPIRED = "expired", _("Expired")


class Quote(TenantModel):
    number = models.CharField(_("number"), max_length=30)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    previous_version = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        editable=False,
    )
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        related_name="quotes",
        db_index=False,
        db_constraint=False,  # (organization_id, customer_id): tenancy/foreign_keys.py
        verbose_name=_("customer"),
    )
    contact = models.ForeignKey(
        Contact,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,
        verbose_name=_("contact"),
    )
    opportunity = models.ForeignKey(
        Opportunity,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="quotes",
        db_index=False,
        verbose_name=_("opportunity"),
    )
    price_book = models.ForeignKey(
        PriceBook,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name=_("price book"),
    )
    status = models.CharField(
        _("status"), max_length=10, choices=QuoteStatus.choices, default=QuoteStatus.DRAFT
    )
    valid_until = models.DateField(_("valid until"))
    discount_percent = models.DecimalField(
        _("overall discount (%)"), max_digits=5, decimal_places=2, default=Decimal("0")
    )
    tax_percent = models.DecimalField(
        _("tax (%)"), max_digits=5, decimal_places=2, default=Decimal("0")
    )
    notes = models.TextField(_("notes"), blank=True)
    subtotal = models.DecimalField(default=Decimal("0"), editable=False, **MONEY)
    discount_total = models.DecimalField(default=Decimal("0"), editable=False, **MONEY)
    tax_total = models.DecimalField(default=Decimal("0"), editable=False, **MONEY)
    total = models.DecimalField(default=Decimal("0"), editable=False, **MONEY)
    created_by = _user_fk(_("created by"))
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    decided_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta(TenantModel.Meta):
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "number", "version"], name="quote_org_number_version_uniq"
            )
        ]
        indexes = [
            models.Index(
                fields=["organization", "customer", "-created_at"], name="quote_org_customer_idx"
            ),
            models.Index(fields=["organization", "opportunity"], name="quote_org_opp_idx"),
            models.Index(fields=["organization", "contact"], name="quote_org_contact_idx"),
            models.Index(
                fields=["organization", "status", "-created_at"], name="quote_org_status_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} v{self.version}"

    def get_absolute_url(self) -> str:
        return reverse(
            "sales:quote-detail", kwargs={"org_slug": self.organization.slug, "pk": self.pk}
        )


class QuoteLine(TenantModel):
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines", db_index=False)
    position = models.PositiveSmallIntegerField(default=0)
    product = models.ForeignKey(
        Product,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name=_("product"),
    )
    description = models.CharField(_("description"), max_length=300)
    quantity = models.DecimalField(
        _("quantity"), max_digits=12, decimal_places=3, default=Decimal("1")
    )
    unit_price = models.DecimalField(_("unit price"), **MONEY)
    unit_cost = models.DecimalField(_("unit cost"), null=True, blank=True, **MONEY)
    discount_percent = models.DecimalField(
        _("discount (%)"), max_digits=5, decimal_places=2, default=Decimal("0")
    )
    line_total = models.DecimalField(default=Decimal("0"), editable=False, **MONEY)

    class Meta(TenantModel.Meta):
        ordering = ["position", "id"]
        indexes = [
            models.Index(
                fields=["organization", "quote", "position"], name="quoteline_org_quote_idx"
            )
        ]


# --- Orders -----------------------------------------------------------------------------------


class OrderStatus(models.TextChoices):
    COMPLETED = "completed", _("Completed")
    CANCELLED = "cancelled", _("Cancelled")
    RETURNED = "returned", _("Returned")


class OrderChannel(models.TextChoices):
    WEB = "web", _("Web shop")
    STORE = "store", _("Store")
    PHONE = "phone", _("Phone")
    SALES = "sales", _("Sales rep")
    PARTNER = "partner", _("Partner")
    MARKETPLACE = "marketplace", _("Marketplace")


class Order(TenantModel):
    """A purchase: the record the analytics engine learns from (amount and cost per order)."""

    number = models.CharField(_("number"), max_length=40)
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        related_name="orders",
        db_index=False,
        db_constraint=False,  # (organization_id, customer_id): tenancy/foreign_keys.py
        verbose_name=_("customer"),
    )
    ordered_at = models.DateTimeField(_("ordered"), default=timezone.now)
    status = models.CharField(
        _("status"), max_length=10, choices=OrderStatus.choices, default=OrderStatus.COMPLETED
    )
    channel = models.CharField(
        _("channel"), max_length=12, choices=OrderChannel.choices, default=OrderChannel.SALES
    )
    is_gift = models.BooleanField(_("gift"), default=False)
    subtotal = models.DecimalField(_("subtotal"), default=Decimal("0"), **MONEY)
    discount = models.DecimalField(_("discount"), default=Decimal("0"), **MONEY)
    total = models.DecimalField(_("total"), default=Decimal("0"), **MONEY)
    cost_total = models.DecimalField(_("cost"), null=True, blank=True, **MONEY)
    quote = models.ForeignKey(
        Quote,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        editable=False,
    )
    opportunity = models.ForeignKey(
        Opportunity,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="orders",
        db_index=False,
        editable=False,
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta(TenantModel.Meta):
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.UniqueConstraint(fields=["organization", "number"], name="order_org_number_uniq")
        ]
        indexes = [
            models.Index(
                fields=["organization", "customer", "-ordered_at", "-id"],
                name="order_org_customer_idx",
            ),
            models.Index(
                fields=["organization", "-ordered_at", "-id"], name="order_org_ordered_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.number

    def get_absolute_url(self) -> str:
        return reverse(
            "sales:order-detail", kwargs={"org_slug": self.organization.slug, "pk": self.pk}
        )


class OrderLine(TenantModel):
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", db_index=False)
    product = models.ForeignKey(
        Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="+", db_index=False
    )
    description = models.CharField(_("description"), max_length=300)
    quantity = models.DecimalField(
        _("quantity"), max_digits=12, decimal_places=3, default=Decimal("1")
    )
    unit_price = models.DecimalField(_("unit price"), **MONEY)
    unit_cost = models.DecimalField(_("unit cost"), null=True, blank=True, **MONEY)
    discount = models.DecimalField(_("discount"), default=Decimal("0"), **MONEY)
    line_total = models.DecimalField(_("line total"), **MONEY)

    class Meta(TenantModel.Meta):
        indexes = [models.Index(fields=["organization", "order"], name="orderline_org_order_idx")]


# --- Activities ---------------------------------------------------------------------------------


class TaskPriority(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")


class Task(TenantModel):
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    due_at = models.DateTimeField(_("due"))
    priority = models.CharField(
        _("priority"), max_length=6, choices=TaskPriority.choices, default=TaskPriority.NORMAL
    )
    assignee = _user_fk(_("assignee"))
    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,  # (organization_id, customer_id): tenancy/foreign_keys.py
        verbose_name=_("customer"),
    )
    opportunity = models.ForeignKey(
        Opportunity,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="tasks",
        db_index=False,
        verbose_name=_("opportunity"),
    )
    lead = models.ForeignKey(
        Lead,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="tasks",
        db_index=False,
        verbose_name=_("lead"),
    )
    remind_at = models.DateTimeField(_("remind me at"), null=True, blank=True)
    reminded_at = models.DateTimeField(null=True, blank=True, editable=False)
    completed_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = _user_fk(_("created by"))
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta(TenantModel.Meta):
        verbose_name = _("task")
        verbose_name_plural = _("tasks")
        indexes = [
            models.Index(
                fields=["organization", "assignee", "completed_at", "due_at"],
                name="task_org_assignee_idx",
            ),
            # The team's open tasks by due date, and done tasks by completion (managers' lists).
            models.Index(
                fields=["organization", "completed_at", "due_at"], name="task_org_open_idx"
            ),
            models.Index(fields=["organization", "remind_at"], name="task_org_remind_idx"),
            models.Index(fields=["organization", "customer"], name="task_org_customer_idx"),
            models.Index(fields=["organization", "opportunity"], name="task_org_opp_idx"),
            models.Index(fields=["organization", "lead"], name="task_org_lead_idx"),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse(
            "sales:task-detail", kwargs={"org_slug": self.organization.slug, "pk": self.pk}
        )
