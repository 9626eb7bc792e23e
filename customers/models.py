"""The customer record every role works from, and what hangs off it."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Concat, Lower, Replace
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenancy.models import TenantModel


class CustomerKind(models.TextChoices):
    COMPANY = "company", _("Company")
    INDIVIDUAL = "individual", _("Individual")


class LifecycleStage(models.TextChoices):
    PROSPECT = "prospect", _("Prospect")
    ACTIVE = "active", _("Active")
    AT_RISK = "at_risk", _("At risk")
    CHURNED = "churned", _("Churned")


class CompanySize(models.TextChoices):
    MICRO = "1-9", _("1–9 employees")
    SMALL = "10-49", _("10–49 employees")
    MEDIUM = "50-249", _("50–249 employees")
    LARGE = "250-999", _("250–999 employees")
    ENTERPRISE = "1000+", _("1,000+ employees")


class Gender(models.TextChoices):
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")
    OTHER = "other", _("Other")
    UNDISCLOSED = "undisclosed", _("Prefers not to say")


class IncomeBand(models.TextChoices):
    LOW = "low", _("Low")
    LOWER_MIDDLE = "lower_middle", _("Lower middle")
    MIDDLE = "middle", _("Middle")
    UPPER_MIDDLE = "upper_middle", _("Upper middle")
    HIGH = "high", _("High")


class Channel(models.TextChoices):
    PHONE = "phone", _("Phone")
    EMAIL = "email", _("Email")
    MEETING = "meeting", _("Meeting")
    CHAT = "chat", _("Chat")
    WEB = "web", _("Web")
    SOCIAL = "social", _("Social")
    CAMPAIGN = "campaign", _("Campaign")
    TICKET = "ticket", _("Ticket")


class PreferredChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    PHONE = "phone", _("Phone")
    SMS = "sms", _("SMS")
    MEETING = "meeting", _("In person")
    CHAT = "chat", _("Chat")


class ContactTime(models.TextChoices):
    MORNING = "morning", _("Morning")
    AFTERNOON = "afternoon", _("Afternoon")
    EVENING = "evening", _("Evening")
    ANY = "any", _("Any time")


class CreditRating(models.TextChoices):
    A = "A", _("A: excellent")
    B = "B", _("B: good")
    C = "C", _("C: fair")
    D = "D", _("D: poor")


class PaymentTerms(models.TextChoices):
    PREPAID = "prepaid", _("Prepaid")
    NET15 = "net15", _("Net 15")
    NET30 = "net30", _("Net 30")
    NET60 = "net60", _("Net 60")


class Source(models.TextChoices):
    WEB = "web", _("Website")
    REFERRAL = "referral", _("Referral")
    EVENT = "event", _("Event")
    PARTNER = "partner", _("Partner")
    ADVERTISING = "advertising", _("Advertising")
    OUTBOUND = "outbound", _("Outbound prospecting")
    IMPORT = "import", _("Import")
    OTHER = "other", _("Other")


class ConsentState(models.TextChoices):
    UNKNOWN = "unknown", _("Not asked")
    GRANTED = "granted", _("Granted")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class ConsentChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    PHONE = "phone", _("Phone")


class RfmSegment(models.TextChoices):
    CHAMPIONS = "champions", _("Champions")
    LOYAL = "loyal", _("Loyal Customers")
    POTENTIAL_LOYALISTS = "potential_loyalists", _("Potential Loyalists")
    NEW = "new", _("New Customers")
    PROMISING = "promising", _("Promising")
    NEED_ATTENTION = "need_attention", _("Need Attention")
    ABOUT_TO_SLEEP = "about_to_sleep", _("About to Sleep")
    AT_RISK = "at_risk", _("At Risk")
    CANT_LOSE = "cant_lose", _("Can't Lose Them")
    HIBERNATING = "hibernating", _("Hibernating")
    LOST = "lost", _("Lost")


class ValueQuadrant(models.TextChoices):
    BEST = "best", _("Best")
    SPENDERS = "spenders", _("Spenders")
    FREQUENT = "frequent", _("Frequent")
    UNCERTAIN = "uncertain", _("Uncertain")


class Tag(TenantModel):
    name = models.CharField(_("name"), max_length=50)
    color = models.CharField(_("colour"), max_length=20, default="secondary")

    class Meta(TenantModel.Meta):
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "name"], name="tag_org_name_uniq")
        ]

    def __str__(self) -> str:
        return self.name


class CustomFieldType(models.TextChoices):
    TEXT = "text", _("Text")
    NUMBER = "number", _("Number")
    DATE = "date", _("Date")
    CHOICE = "choice", _("Choice")
    BOOLEAN = "boolean", _("Yes/no")


class CustomFieldDefinition(TenantModel):
    """An organization's own customer field; values live in Customer.custom (JSON)."""

    # Looked up through the (organization, key) unique constraint; no index of its own.
    key = models.SlugField(_("key"), max_length=40, db_index=False)
    label = models.CharField(_("label"), max_length=80)
    field_type = models.CharField(_("type"), max_length=10, choices=CustomFieldType.choices)
    choices = models.JSONField(_("choices"), default=list, blank=True)
    required = models.BooleanField(_("required"), default=False)
    help_text = models.CharField(_("help text"), max_length=200, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)

    class Meta(TenantModel.Meta):
        verbose_name = _("custom field")
        verbose_name_plural = _("custom fields")
        ordering = ["position", "label"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="customfield_org_key_uniq")
        ]

    def __str__(self) -> str:
        return self.label


def search_text_expression() -> Concat:
    """What the customer list's search box looks in: the name and the email in lower case and
    the phone's digits, one per line (a search text has no line break, so a match never spans
    two of them)."""
    line = models.Value("\n")
    return Concat(
        Lower("name"),
        line,
        Lower("email"),
        line,
        "phone_normalized",
        output_field=models.TextField(),
    )


def name_key_expression(field: str) -> models.Func:
    """lower(name) without spaces and common punctuation, on SQLite and PostgreSQL alike."""
    expression = Lower(field)
    for character in " ,.-'&/()":
        expression = Replace(expression, models.Value(character), models.Value(""))
    return expression


# Neither merged into another customer nor erased: may still be matched and merged.
LIVE_CUSTOMER = models.Q(merged_into__isnull=True, erased_at__isnull=True)
# Not merged away: what every list shows (customers.selectors.customer_base).
NOT_MERGED = models.Q(merged_into__isnull=True)


class Customer(TenantModel):
    """A company or an individual the organization sells to or serves."""

    kind = models.CharField(
        _("kind"), max_length=12, choices=CustomerKind.choices, default=CustomerKind.COMPANY
    )
    name = models.CharField(_("name"), max_length=200)
    # The name in lower case without spaces or punctuation: duplicate detection walks customers
    # in this order, so that "ACME Corp." sorts next to "Acme Corporation" (customers.merge).
    name_key = models.GeneratedField(
        expression=name_key_expression("name"),
        output_field=models.CharField(max_length=200),
        db_persist=True,
    )
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    # Digits only, for matching and search ("+1 (555) 010-2000" -> "15550102000").
    phone_normalized = models.CharField(max_length=40, blank=True, editable=False)
    # The list's search: one trigram index finds and counts the matches, and a covering index
    # of the list's order walks the newest customers without reading the table (both made by
    # migration 0011; see customers.selectors._text_search_rows).
    search_text = models.GeneratedField(
        expression=search_text_expression(), output_field=models.TextField(), db_persist=True
    )
    website = models.CharField(_("website"), max_length=200, blank=True)

    # Companies
    industry = models.CharField(_("industry"), max_length=80, blank=True)
    company_size = models.CharField(
        _("company size"), max_length=10, choices=CompanySize.choices, blank=True
    )
    # Individuals: demographics
    birth_date = models.DateField(_("birth date"), null=True, blank=True)
    gender = models.CharField(_("gender"), max_length=12, choices=Gender.choices, blank=True)
    income_band = models.CharField(
        _("income band"), max_length=14, choices=IncomeBand.choices, blank=True
    )
    household_size = models.PositiveSmallIntegerField(_("household size"), null=True, blank=True)
    # Address
    city = models.CharField(_("city"), max_length=80, blank=True)
    region = models.CharField(_("region"), max_length=80, blank=True)
    country = models.CharField(
        _("country"), max_length=2, blank=True, help_text=_("ISO code, e.g. US")
    )

    # Needs and preferences
    interests = models.CharField(_("interests"), max_length=300, blank=True)
    needs = models.TextField(_("needs"), blank=True)
    preferred_channel = models.CharField(
        _("preferred channel"), max_length=10, choices=PreferredChannel.choices, blank=True
    )
    preferred_contact_time = models.CharField(
        _("preferred contact time"), max_length=10, choices=ContactTime.choices, blank=True
    )
    tags = models.ManyToManyField(Tag, through="CustomerTag", related_name="customers", blank=True)

    # Credit
    credit_limit = models.DecimalField(
        _("credit limit"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    credit_rating = models.CharField(
        _("credit rating"), max_length=1, choices=CreditRating.choices, blank=True
    )
    payment_terms = models.CharField(
        _("payment terms"), max_length=10, choices=PaymentTerms.choices, blank=True
    )

    # Lifecycle and ownership
    lifecycle_stage = models.CharField(
        _("lifecycle stage"),
        max_length=10,
        choices=LifecycleStage.choices,
        default=LifecycleStage.PROSPECT,
    )
    stage_changed_at = models.DateTimeField(_("stage changed"), default=timezone.now)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name=_("owner"),
    )
    source = models.CharField(_("source"), max_length=12, choices=Source.choices, blank=True)
    acquisition_channel = models.CharField(_("acquisition channel"), max_length=80, blank=True)

    # Marketing consent, current state per channel (ConsentEvent keeps the full record)
    consent_email = models.CharField(
        _("email consent"),
        max_length=10,
        choices=ConsentState.choices,
        default=ConsentState.UNKNOWN,
    )
    consent_email_at = models.DateTimeField(null=True, blank=True)
    consent_email_source = models.CharField(max_length=80, blank=True)
    consent_sms = models.CharField(
        _("SMS consent"), max_length=10, choices=ConsentState.choices, default=ConsentState.UNKNOWN
    )
    consent_sms_at = models.DateTimeField(null=True, blank=True)
    consent_sms_source = models.CharField(max_length=80, blank=True)
    consent_phone = models.CharField(
        _("phone consent"),
        max_length=10,
        choices=ConsentState.choices,
        default=ConsentState.UNKNOWN,
    )
    consent_phone_at = models.DateTimeField(null=True, blank=True)
    consent_phone_source = models.CharField(max_length=80, blank=True)

    custom = models.JSONField(_("custom fields"), default=dict, blank=True)

    # Analytics scores (RFM segment, cluster, lifetime value, churn risk, ...) live in
    # analytics.CustomerScore (`customer.scores`), rewritten by the nightly job.

    # Bookkeeping
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        editable=False,
    )
    import_batch = models.ForeignKey(
        "ImportBatch",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        editable=False,
    )
    # A merged-away duplicate stays (hidden) so the merge can be undone.
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        db_constraint=False,  # (organization_id, merged_into_id): tenancy/foreign_keys.py
        editable=False,
    )
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta(TenantModel.Meta):
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        # What the foreign keys to customers point at: (organization_id, id), so that deleting
        # a customer checks each referencing table through its (organization_id, customer_id)
        # index (tenancy/foreign_keys.py).
        constraints = [
            models.UniqueConstraint(fields=["organization", "id"], name="customer_org_id_uniq")
        ]
        indexes = [
            models.Index(
                fields=["organization", "-created_at", "-id"], name="customer_org_created_idx"
            ),
            models.Index(fields=["organization", "name", "id"], name="customer_org_name_idx"),
            models.Index(
                fields=["organization", "-updated_at", "-id"], name="customer_org_updated_idx"
            ),
            models.Index(
                fields=["organization", "owner", "-created_at", "-id"],
                name="customer_org_owner_idx",
            ),
            models.Index(
                fields=["organization", "lifecycle_stage", "-created_at", "-id"],
                name="customer_org_stage_idx",
            ),
            models.Index(fields=["organization", "email"], name="customer_org_email_idx"),
            models.Index(
                fields=["organization", "phone_normalized"], name="customer_org_phone_idx"
            ),
            models.Index(fields=["organization", "import_batch"], name="customer_org_import_idx"),
            models.Index(fields=["organization", "merged_into"], name="customer_org_merged_idx"),
            # The list's capped counts ("10,000+ results") read up to 10,001 matches: over the
            # customers that are not merged away only, these two let PostgreSQL count from the
            # index alone (index-only scans) instead of visiting a table row per match. The
            # first drives semi-joins such as the tag filter (a merge join in id order); the
            # second serves "owner and stage", the list's most common pair of filters.
            models.Index(
                fields=["organization", "id"], name="customer_org_live_idx", condition=NOT_MERGED
            ),
            models.Index(
                fields=["organization", "owner", "lifecycle_stage", "-created_at", "-id"],
                name="customer_org_owner_stage_idx",
                condition=NOT_MERGED,
            ),
            # Duplicate detection: live customers only, so that walking them in key order needs
            # no table lookups (index-only scans).
            models.Index(
                fields=["organization", "name_key", "id"],
                name="customer_org_namekey_idx",
                condition=LIVE_CUSTOMER,
            ),
            models.Index(
                fields=["organization", "email"],
                name="customer_org_dupemail_idx",
                condition=LIVE_CUSTOMER & ~models.Q(email=""),
            ),
            models.Index(
                fields=["organization", "phone_normalized"],
                name="customer_org_dupphone_idx",
                condition=LIVE_CUSTOMER & ~models.Q(phone_normalized=""),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse(
            "customers:customer-detail",
            kwargs={"org_slug": self.organization.slug, "pk": self.pk},
        )

    @property
    def is_company(self) -> bool:
        return self.kind == CustomerKind.COMPANY


class CustomerTag(TenantModel):
    customer = models.ForeignKey(
        Customer, on_delete=models.CASCADE, db_index=False, db_constraint=False
    )
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, db_index=False)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "customer", "tag"], name="customertag_org_customer_tag_uniq"
            )
        ]
        indexes = [
            models.Index(fields=["organization", "tag", "customer"], name="customertag_org_tag_idx")
        ]


class DecisionRole(models.TextChoices):
    DECISION_MAKER = "decision_maker", _("Decision maker")
    INFLUENCER = "influencer", _("Influencer")
    USER = "user", _("User")
    GATEKEEPER = "gatekeeper", _("Gatekeeper")


class Contact(TenantModel):
    """A person at a company customer, with the background a salesperson keeps."""

    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="contacts",
        db_index=False,
        db_constraint=False,
        verbose_name=_("customer"),
    )
    first_name = models.CharField(_("first name"), max_length=80)
    last_name = models.CharField(_("last name"), max_length=80, blank=True)
    title = models.CharField(_("job title"), max_length=120, blank=True)
    decision_role = models.CharField(
        _("decision role"), max_length=16, choices=DecisionRole.choices, blank=True
    )
    email = models.EmailField(_("email"), blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
    phone_normalized = models.CharField(max_length=40, blank=True, editable=False)
    is_primary = models.BooleanField(_("primary contact"), default=False)
    # Background
    birthday = models.DateField(_("birthday"), null=True, blank=True)
    family = models.TextField(_("family"), blank=True)
    education = models.TextField(_("education"), blank=True)
    career_history = models.TextField(_("career history"), blank=True)
    hobbies = models.TextField(_("hobbies"), blank=True)
    values = models.TextField(_("what they value"), blank=True)
    notes = models.TextField(_("notes"), blank=True)

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    import_batch = models.ForeignKey(
        "ImportBatch",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        editable=False,
    )
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta(TenantModel.Meta):
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")
        constraints = [
            models.UniqueConstraint(fields=["organization", "id"], name="contact_org_id_uniq")
        ]
        indexes = [
            models.Index(
                fields=["organization", "customer", "last_name"], name="contact_org_customer_idx"
            ),
            models.Index(fields=["organization", "email"], name="contact_org_email_idx"),
            models.Index(fields=["organization", "phone_normalized"], name="contact_org_phone_idx"),
            models.Index(
                fields=["organization", "last_name", "first_name"], name="contact_org_name_idx"
            ),
            models.Index(fields=["organization", "import_batch"], name="contact_org_import_idx"),
        ]

    def __str__(self) -> str:
        return self.full_name

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_absolute_url(self) -> str:
        return reverse(
            "customers:contact-detail", kwargs={"org_slug": self.organization.slug, "pk": self.pk}
        )


class Direction(models.TextChoices):
    INBOUND = "inbound", _("Inbound")
    OUTBOUND = "outbound", _("Outbound")


class Interaction(TenantModel):
    """One touch on one channel with a customer (optionally a contact)."""

    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="interactions",
        db_index=False,
        db_constraint=False,
    )
    contact = models.ForeignKey(
        Contact,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="interactions",
        db_index=False,
        db_constraint=False,
        verbose_name=_("contact"),
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    direction = models.CharField(
        _("direction"), max_length=10, choices=Direction.choices, default=Direction.OUTBOUND
    )
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("notes"), blank=True)
    occurred_at = models.DateTimeField(_("when"), default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
        verbose_name=_("by"),
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta(TenantModel.Meta):
        verbose_name = _("interaction")
        verbose_name_plural = _("interactions")
        indexes = [
            models.Index(
                fields=["organization", "customer", "-occurred_at", "-id"],
                name="interaction_org_customer_idx",
            ),
            models.Index(
                fields=["organization", "contact", "-occurred_at"],
                name="interaction_org_contact_idx",
            ),
            models.Index(
                fields=["organization", "user", "-occurred_at"], name="interaction_org_user_idx"
            ),
        ]

    def __str__(self) -> str:
        return self.subject


class ConsentEvent(TenantModel):
    """Every grant or withdrawal of marketing consent: when, how and by whom it was recorded."""

    customer = models.ForeignKey(
        Customer,
        on_delete=models.CASCADE,
        related_name="consent_events",
        db_index=False,
        db_constraint=False,
    )
    channel = models.CharField(max_length=10, choices=ConsentChannel.choices)
    state = models.CharField(max_length=10, choices=ConsentState.choices)
    source = models.CharField(_("source"), max_length=80, blank=True)
    recorded_at = models.DateTimeField(default=timezone.now)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_index=False,
    )

    class Meta(TenantModel.Meta):
        indexes = [
            models.Index(
                fields=["organization", "customer", "-recorded_at"], name="consent_org_customer_idx"
            )
        ]


class ChangeAction(models.TextChoices):
    CREATE = "create", _("created")
    UPDATE = "update", _("updated")
    MERGE = "merge", _("merged")
    IMPORT = "import", _("imported")
    ERASE = "erase", _("erased")
    UNDO = "undo", _("undid")
    EXPORT = "export", _("exported")


class FieldChange(TenantModel):
    """One field of one record changed: who, from what, to what, when."""

    entity = models.CharField(max_length=20)  # "customer" or "contact"
    entity_id = models.BigIntegerField()
    batch = models.UUIDField(default=uuid.uuid4)  # the fields changed by one save share it
    action = models.CharField(max_length=10, choices=ChangeAction.choices)
    field = models.CharField(max_length=80, blank=True)
    old_value = models.TextField(blank=True)
    new_value = models.TextField(blank=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_index=False,
    )
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantModel.Meta):
        indexes = [
            models.Index(
                fields=["organization", "entity", "entity_id", "-changed_at", "-id"],
                name="fieldchange_org_entity_idx",
            )
        ]


class ImportStatus(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded")
    MAPPED = "mapped", _("Ready to run")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    UNDONE = "undone", _("Undone")


class ImportBatch(TenantModel):
    """One upload of customers or contacts, its column mapping, progress and outcome."""

    kind = models.CharField(max_length=12, default="customers")
    file_name = models.CharField(max_length=255)
    file_path = models.CharField(max_length=500, blank=True)
    status = models.CharField(
        max_length=10, choices=ImportStatus.choices, default=ImportStatus.UPLOADED
    )
    mapping = models.JSONField(default=dict, blank=True)
    on_match = models.CharField(max_length=10, default="skip")  # skip | update | create
    skip_bad_rows = models.BooleanField(default=True)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    skipped_count = models.PositiveIntegerField(default=0)
    rejected_count = models.PositiveIntegerField(default=0)
    rejected_report = models.TextField(blank=True)  # CSV of rejected rows with their reason
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes = [
            models.Index(fields=["organization", "-created_at"], name="import_org_created_idx")
        ]

    def __str__(self) -> str:
        return self.file_name


class ImportRowChange(TenantModel):
    """What one import did to one record, so the whole import can be undone."""

    batch = models.ForeignKey(
        ImportBatch, on_delete=models.CASCADE, related_name="row_changes", db_index=False
    )
    entity = models.CharField(max_length=20)  # "customer" or "contact"
    entity_id = models.BigIntegerField()
    created = models.BooleanField()  # True: the import created it; False: it updated it
    previous = models.JSONField(default=dict, blank=True)  # field values before an update

    class Meta(TenantModel.Meta):
        indexes = [
            models.Index(fields=["organization", "batch", "entity"], name="importrow_org_batch_idx")
        ]


class CustomerMerge(TenantModel):
    """A merge of a duplicate into a survivor, with what is needed to undo it."""

    survivor = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    merged = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    survivor_before = models.JSONField(default=dict)  # the survivor's fields before the merge
    moved = models.JSONField(default=dict)  # {"contacts": [ids], "interactions": [ids], ...}
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_index=False,
    )
    merged_at = models.DateTimeField(default=timezone.now)
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta(TenantModel.Meta):
        indexes = [
            models.Index(
                fields=["organization", "survivor", "-merged_at"], name="merge_org_survivor_idx"
            ),
            models.Index(fields=["organization", "merged"], name="merge_org_merged_idx"),
        ]


class DuplicateDismissal(TenantModel):
    """A pair of customers someone marked as "not a duplicate", so detection stops offering it.

    The pair is stored once, lower id first.
    """

    customer_a = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    customer_b = models.ForeignKey(
        Customer, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        related_name="+",
        db_index=False,
    )
    dismissed_at = models.DateTimeField(default=timezone.now)

    class Meta(TenantModel.Meta):
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "customer_a", "customer_b"],
                name="dupdismissal_org_pair_uniq",
            ),
            models.CheckConstraint(
                condition=models.Q(customer_a__lt=models.F("customer_b")),
                name="dupdismissal_ordered_pair",
            ),
        ]
        indexes = [
            models.Index(fields=["organization", "customer_b"], name="dupdismissal_org_b_idx")
        ]
