"""Global search providers for customers and contacts (see crm_site/search.py).

On PostgreSQL each provider runs one query: its candidates come from a UNION of small index
scans, each with a LIMIT, so the cost does not grow with the number of matches; the outer query
loads those few hundred rows through the tenant-scoped manager (merged customers excluded, as
everywhere), scores them and keeps the best. Every index is led by organization_id (through
btree_gin for the GIN ones) and row-level security applies on top.

Which indexes the candidates can use depends on the database (crm_site.search.
text_search_indexes_usable): under row-level security PostgreSQL uses an index for a condition
only if the condition's functions are LEAKPROOF, and LIKE, ILIKE, lower(), ||, pg_trgm's and
full-text's operators are not, out of the box. When a superuser has marked them (docs/
performance.md, "Search under row-level security"):

- names starting with the text: the lower(name) text_pattern_ops btree of the
  global_search_indexes migration, walked in name order;
- three characters or more: a substring (ILIKE) of the name or the email, digits inside the
  phone number (the trigram GIN indexes of migration 0002) and, for more than one word, a
  full-text match of every word (websearch_to_tsquery over to_tsvector('simple', name || ' '
  || email), the GIN index of the global_search_indexes migration);
- exact email and phone matches (btree);
- and only when those are fewer than the hits wanted, fuzzy matches of the name (`<%`,
  pg_trgm's word similarity: typos), the costliest scan.

Otherwise only comparisons of plain columns are indexable, and the candidates are the names,
emails and phone numbers that *start with* the text (range scans of the (organization_id,
column) btrees, for the usual capitalizations of the text). Substring and fuzzy matching would
need a scan of the whole tenant, which at a million rows takes seconds.

On SQLite (the demo) a plain icontains search stands in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Case, FloatField, Q, QuerySet, Value, When
from django.db.models.expressions import RawSQL
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _

from crm_site.search import SearchHit, register_provider, text_search_indexes_usable
from customers.models import Contact, Customer
from customers.selectors import customer_base
from tenancy.models import Organization

PREFIX_CANDIDATES = 50
FUZZY_CANDIDATES = 100
EXACT_CANDIDATES = 20
# pg_trgm's word similarity threshold (default 0.6), set per transaction. At 0.5 a typo near
# the end of a word still matches ("garcis": 0.71 to "Garcia", "müler": 0.63 to "Müller");
# 0.4 would also forgive one in the middle ("garsia": 0.43) but makes the index scan three to
# four times slower at a million names (about 60 ms instead of 15), as far more names qualify.
WORD_SIMILARITY_THRESHOLD = "0.5"

_ALNUM_RUN = re.compile(r"\w{3,}")
_ONE_WORD = re.compile(r"[^\W_]+")
_PHONE_LIKE = re.compile(r"^[\d\s()+./-]+$")


@dataclass(frozen=True)
class Terms:
    """One query, prepared for every condition that uses it."""

    text: str  # as typed (normalized by crm_site.search)
    lower: str
    prefix: str  # LIKE pattern: starts with the text
    word_prefix: str  # LIKE pattern: a later word starts with the text
    contains: str  # LIKE pattern: contains the text
    digits: str  # the digits of a phone-like query (three or more), else ""

    @property
    def short(self) -> bool:
        """No trigram to look up (no three letters or digits in a row): names that start with
        the text instead."""
        return _ALNUM_RUN.search(self.text) is None

    @property
    def one_word(self) -> bool:
        """Letters and digits only: one word for the full-text parser too."""
        return _ONE_WORD.fullmatch(self.text) is not None

    @property
    def fuzzy(self) -> bool:
        """Worth a fuzzy look at the names (a misspelt name): not for a text with a digit or an
        "@", an email address, a phone number or a code, which no misspelt name is like. For
        such a text the fuzzy scan found nothing and cost 15 ms a table at a million (a
        customer's email "elena.bernard525125" among the contacts' names)."""
        return "@" not in self.text and not any(c.isdigit() for c in self.text)

    def capitalizations(self) -> list[str]:
        """The text as names are usually written: as typed, lower, Capitalized, UPPER."""
        variants = [self.text, self.lower, self.lower[:1].upper() + self.lower[1:]]
        variants += [self.text.title(), self.text.upper()]
        return list(dict.fromkeys(variants))[:4]


def terms(query: str) -> Terms:
    lower = query.lower()
    escaped = lower.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    digits = re.sub(r"\D", "", query) if _PHONE_LIKE.match(query) else ""
    digits = digits[2:] if digits.startswith("00") else digits  # "0044 20..." is "+44 20..."
    return Terms(
        text=query,
        lower=lower,
        prefix=f"{escaped}%",
        word_prefix=f"% {escaped}%",
        contains=f"%{escaped}%",
        digits=digits if len(digits) >= 3 else "",
    )


def _after_prefix(prefix: str) -> str:
    """The smallest string greater than every string starting with `prefix` (byte order)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


@dataclass(frozen=True)
class Searchable:
    """The SQL of one searchable table: its columns and the expressions its indexes use."""

    table: str
    live: str  # extra condition of rows that may be found ("" for none)
    name: str  # the display name, as an SQL expression
    name_key: str  # lower(name): text_pattern_ops btree (global_search_indexes migration)
    name_column: str  # a plain column with an (organization_id, column, ...) btree
    document: str  # the tsvector of the full-text GIN index (global_search_indexes migration)

    def column(self, name: str) -> str:
        return f"{self.table}.{name}"

    @property
    def tenant_rows(self) -> str:
        """The condition of the rows one search may find: the organization's (its id the
        first parameter), and live."""
        return f"{self.table}.organization_id = %s" + (f" AND {self.live}" if self.live else "")


CUSTOMERS = Searchable(
    table="customers_customer",
    live="customers_customer.merged_into_id IS NULL",
    name="customers_customer.name",
    name_key="lower(customers_customer.name)",
    name_column="name",  # customer_org_name_idx
    document="to_tsvector('simple'::regconfig, "
    "customers_customer.name || ' ' || customers_customer.email)",
)
CONTACTS = Searchable(
    table="customers_contact",
    live="",
    name="(customers_contact.first_name || ' ' || customers_contact.last_name)",
    name_key="lower(customers_contact.first_name || ' ' || customers_contact.last_name)",
    name_column="last_name",  # contact_org_name_idx
    document="to_tsvector('simple'::regconfig, customers_contact.first_name || ' ' || "
    "customers_contact.last_name || ' ' || customers_contact.email)",
)


def _select(s: Searchable, condition: str, *, order: str = "", limit: int) -> str:
    order_by = f" ORDER BY {order}" if order else ""
    return (
        f"(SELECT {s.table}.id FROM {s.table} WHERE {s.tenant_rows} AND {condition}{order_by} "
        f"LIMIT {limit})"
    )


def _candidates(
    s: Searchable, org: Organization, t: Terms, *, indexed: bool, wanted: int
) -> tuple[str, list]:
    """SQL of the ids worth scoring (a UNION of bounded index scans), and its parameters.

    With the full strategy, fuzzy matches (pg_trgm's `<%`, the costliest scan) are looked up
    only when the direct ones (prefix, substring, full text, exact) are fewer than `wanted`:
    the condition on the CTE is a one-time filter, so the scan does not run otherwise.
    """
    parts: list[tuple[str, list]] = []
    substring: tuple[str, list] | None = None
    email, phone = s.column("email"), s.column("phone_normalized")
    if indexed:
        # USING ~<~: the order of the text_pattern_ops index, which it then walks.
        parts.append(
            (
                _select(
                    s,
                    f"{s.name_key} LIKE %s",
                    order=f"{s.name_key} USING ~<~",
                    limit=PREFIX_CANDIDATES,
                ),
                [org.pk, t.prefix],
            )
        )
        if not t.short:
            direct = [f"{s.name} ILIKE %s", f"{email} ILIKE %s"]
            params = [t.contains, t.contains]
            if not t.one_word:
                # Every word, in any order ("smith anna"). One word is a substring of the name
                # or the email whenever it is a word of either: the full-text index would only
                # add a third bitmap of the same rows (15 ms for a word 79,000 customers have).
                direct.append(f"{s.document} @@ websearch_to_tsquery('simple'::regconfig, %s)")
                params.append(t.text)
            if t.digits:
                direct.append(f"{phone} LIKE %s")
                params.append(f"%{t.digits}%")
            # In a MATERIALIZED CTE, planned for all its rows but read only as far as the LIMIT
            # below: with the LIMIT inside, the planner, which cannot estimate a substring's
            # matches, took a sequential scan "until 100 are found", which for a text that
            # matches nothing (a phone number searched among names) read every contact of the
            # tenant, 6-9 s at a million; planned for all rows, it ORs the GIN indexes (10-30 ms)
            # and still stops after 100 rows when the text is common.
            substring = (
                f"SELECT {s.table}.id FROM {s.table} WHERE {s.tenant_rows} "
                f"AND ({' OR '.join(direct)})",
                [org.pk, *params],
            )
            parts.append((f"(SELECT id FROM substring_matches LIMIT {FUZZY_CANDIDATES})", []))
    else:
        column = s.column(s.name_column)
        for variant in t.capitalizations():
            parts.append(
                (
                    _select(
                        s,
                        f"{column} >= %s AND {column} < %s AND starts_with({column}, %s)",
                        order=column,
                        limit=PREFIX_CANDIDATES,
                    ),
                    [org.pk, variant, _after_prefix(variant), variant],
                )
            )
        if not t.short:
            parts.append(
                (
                    _select(
                        s,
                        f"{email} >= %s AND {email} < %s",
                        order=email,
                        limit=PREFIX_CANDIDATES,
                    ),
                    [org.pk, t.lower, _after_prefix(t.lower)],
                )
            )
        if t.digits:
            parts.append(
                (
                    _select(
                        s, f"{phone} >= %s AND {phone} < %s", order=phone, limit=PREFIX_CANDIDATES
                    ),
                    [org.pk, t.digits, _after_prefix(t.digits)],
                )
            )
    if "@" in t.text:
        parts.append((_select(s, f"{email} = %s", limit=EXACT_CANDIDATES), [org.pk, t.lower]))
    if len(t.digits) >= 6:
        parts.append((_select(s, f"{phone} = %s", limit=EXACT_CANDIDATES), [org.pk, t.digits]))
    sql = " UNION ".join(sql for sql, _p in parts)
    params = [p for _sql, part_params in parts for p in part_params]
    if not indexed or t.short:
        return sql, params
    ctes, cte_params = "", []
    if substring:
        ctes, cte_params = f"substring_matches AS MATERIALIZED ({substring[0]}), ", substring[1]
    if not t.fuzzy:
        return f"WITH {ctes}direct AS ({sql}) SELECT id FROM direct", [*cte_params, *params]
    # Fuzzy matches in a MATERIALIZED CTE too, for the same reason as the substrings: with
    # the LIMIT inside, the planner expected one contact in a hundred to be like any text and
    # scanned the contacts "until 100 are found"; for an email address, like no one's name,
    # that read all of them (0.8 s at a million). Planned for all rows it uses the trigram
    # index. The condition on `direct` is a one-time filter: no scan when it is false.
    fuzzy = (
        f"fuzzy_matches AS MATERIALIZED (SELECT {s.table}.id FROM {s.table} "
        f"WHERE {s.tenant_rows} "
        f"AND %s <%% {s.name} AND (SELECT count(*) FROM direct) < %s)"
    )
    return (
        f"WITH {ctes}direct AS ({sql}), {fuzzy} SELECT id FROM direct "
        f"UNION ALL (SELECT id FROM fuzzy_matches LIMIT {FUZZY_CANDIDATES})",
        [*cte_params, *params, org.pk, t.text, wanted],
    )


def _score(s: Searchable, t: Terms) -> tuple[str, list]:
    """Best of: fuzzy word similarity of the name (0 to 1); exact, prefix, word-prefix or
    substring of the name (3, 2, 1.6, 1.2), of the email (3, 1.5, 1) and of the phone digits
    (3, 1.5, 1); plus 0.5 when the full text matches every word. Computed on the candidates
    only, after row-level security."""
    email, phone, key = s.column("email"), s.column("phone_normalized"), s.name_key
    sql = f"""
        GREATEST(
            word_similarity(%s, {s.name}),
            CASE WHEN {key} = %s THEN 3 WHEN {key} LIKE %s THEN 2
                 WHEN {key} LIKE %s THEN 1.6 WHEN {key} LIKE %s THEN 1.2 ELSE 0 END,
            CASE WHEN lower({email}) = %s THEN 3 WHEN lower({email}) LIKE %s THEN 1.5
                 WHEN lower({email}) LIKE %s THEN 1 ELSE 0 END,
            CASE WHEN %s = '' THEN 0 WHEN {phone} = %s THEN 3 WHEN {phone} LIKE %s THEN 1.5
                 WHEN {phone} LIKE %s THEN 1 ELSE 0 END
        )
        + CASE WHEN {s.document} @@ websearch_to_tsquery('simple'::regconfig, %s)
               THEN 0.5 ELSE 0 END
    """
    params = [t.text, t.lower, t.prefix, t.word_prefix, t.contains, t.lower, t.prefix]
    params += [t.contains, t.digits, t.digits, f"{t.digits}%", f"%{t.digits}%", t.text]
    return sql, params


def _ranked(
    queryset: QuerySet, s: Searchable, org: Organization, t: Terms, *, wanted: int
) -> QuerySet:
    """`queryset` narrowed to the candidates and annotated with `search_score` (PostgreSQL)."""
    indexed = text_search_indexes_usable()
    if indexed:
        with connection.cursor() as cursor:  # SET LOCAL: until the end of the transaction
            cursor.execute(
                "SELECT set_config('pg_trgm.word_similarity_threshold', %s, true)",
                [WORD_SIMILARITY_THRESHOLD],
            )
    # The SQL is built from constants; the text typed goes in as parameters only.
    sql, params = _candidates(s, org, t, indexed=indexed, wanted=wanted)
    # MATERIALIZED: the candidates are looked up once whatever the plan around them. Where the
    # planner takes the tenant for a few rows (a new organization whose table autovacuum has
    # not analyzed yet) it would run them again for each of its rows, in a nested loop: 230 ms
    # instead of 2 for 300 customers.
    candidates = RawSQL(  # noqa: S611
        f"WITH candidates AS MATERIALIZED ({sql}) SELECT id FROM candidates", params
    )
    score = RawSQL(*_score(s, t), output_field=FloatField())  # noqa: S611
    return queryset.filter(pk__in=candidates).annotate(search_score=score)


def _postgres() -> bool:
    return connection.vendor == "postgresql"


# --- Customers ----------------------------------------------------------------------------


def _customer_fallback(queryset: QuerySet, t: Terms) -> QuerySet:
    """icontains, for SQLite: fine at demo sizes, not indexed."""
    if t.short:
        condition = Q(name__istartswith=t.text)
    else:
        condition = Q(name__icontains=t.text) | Q(email__icontains=t.text)
        if t.digits:
            condition |= Q(phone_normalized__contains=t.digits)
    return queryset.filter(condition).annotate(
        search_score=Case(
            When(Q(name__iexact=t.text) | Q(email__iexact=t.text), then=Value(3.0)),
            When(name__istartswith=t.text, then=Value(2.0)),
            default=Value(1.0),
            output_field=FloatField(),
        )
    )


def customer_search(*, org: Organization, query: str, limit: int) -> list[Customer]:
    """The `limit` live customers of `org` that best match `query`, best first."""
    t = terms(query)
    queryset = customer_base(org=org).only(
        "id", "organization_id", "name", "email", "phone", "city", "kind", "lifecycle_stage"
    )
    order = ("-search_score", "name", "id")
    if _postgres():
        # Joins the request's transaction (no savepoint): the threshold is SET LOCAL.
        with transaction.atomic(savepoint=False):
            return list(_ranked(queryset, CUSTOMERS, org, t, wanted=limit).order_by(*order)[:limit])
    return list(_customer_fallback(queryset, t).order_by(*order)[:limit])


def _customers_url(org: Organization, query: str) -> str:
    url = reverse("customers:customer-list", kwargs={"org_slug": org.slug})
    return f"{url}?{urlencode({'q': query})}"


@register_provider("customer", _("Customers"), order=10, see_all=_customers_url)
def search_customers(org: Organization, query: str, limit: int) -> list[SearchHit]:
    label = str(_("Customer"))
    return [
        SearchHit(
            kind="customer",
            label=label,
            url=reverse("customers:customer-detail", kwargs={"org_slug": org.slug, "pk": c.pk}),
            title=c.name,
            subtitle=" · ".join(part for part in (c.email or c.phone, c.city) if part),
            score=float(c.search_score),
            extra={"stage": c.lifecycle_stage, "stage_label": c.get_lifecycle_stage_display()},
        )
        for c in customer_search(org=org, query=query, limit=limit)
    ]


# --- Contacts -----------------------------------------------------------------------------


def _contact_fallback(queryset: QuerySet, t: Terms) -> QuerySet:
    if t.short:
        condition = Q(first_name__istartswith=t.text)  # the full name starts with it
    else:
        name = Q()
        for word in t.text.split():
            name &= Q(first_name__icontains=word) | Q(last_name__icontains=word)
        condition = name | Q(email__icontains=t.text)
        if t.digits:
            condition |= Q(phone_normalized__contains=t.digits)
    return queryset.filter(condition).annotate(
        search_score=Case(
            When(email__iexact=t.text, then=Value(3.0)),
            When(
                Q(first_name__istartswith=t.text) | Q(last_name__istartswith=t.text),
                then=Value(2.0),
            ),
            default=Value(1.0),
            output_field=FloatField(),
        )
    )


def contact_search(*, org: Organization, query: str, limit: int) -> list[Contact]:
    """The `limit` contacts of `org`'s live customers that best match `query`, best first."""
    t = terms(query)
    queryset = (
        Contact.objects.filter(customer__merged_into__isnull=True)
        .select_related("customer")
        .only(
            "id",
            "organization_id",
            "first_name",
            "last_name",
            "title",
            "email",
            "phone",
            "customer__id",
            "customer__organization_id",
            "customer__name",
        )
    )
    order = ("-search_score", "last_name", "first_name", "id")
    if _postgres():
        with transaction.atomic(savepoint=False):
            return list(_ranked(queryset, CONTACTS, org, t, wanted=limit).order_by(*order)[:limit])
    return list(_contact_fallback(queryset, t).order_by(*order)[:limit])


@register_provider("contact", _("Contacts"), order=20)
def search_contacts(org: Organization, query: str, limit: int) -> list[SearchHit]:
    label = str(_("Contact"))
    return [
        SearchHit(
            kind="contact",
            label=label,
            url=reverse("customers:contact-detail", kwargs={"org_slug": org.slug, "pk": c.pk}),
            title=c.full_name,
            subtitle=" · ".join(part for part in (c.customer.name, c.title, c.email) if part),
            score=float(c.search_score),
        )
        for c in contact_search(org=org, query=query, limit=limit)
    ]
