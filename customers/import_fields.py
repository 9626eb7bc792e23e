"""What an import can fill in, how file columns are matched to it, and how each row is checked.

A `Target` is one thing a column can be imported into (a customer field, a custom field, the
owner by email, tags, the company of a contact). `guess_mapping` pairs the file's columns with
targets from a remembered mapping and from column names in English and Chinese. `RowCleaner`
turns one row of text cells into model values, with the models' own validation and choices, or
into the reason the row is rejected.
"""

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import lru_cache
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import translation
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from customers.forms import custom_form_field, custom_value_to_json
from customers.import_aliases import (
    ALIASES,
    CHOICE_SYNONYMS,
    CONSENT_WORDS,
    CONTACT_ALIASES,
    FALSE_WORDS,
    TRUE_WORDS,
)
from customers.matching import normalize_email, normalize_name, normalize_phone
from customers.models import (
    Contact,
    Customer,
    CustomFieldDefinition,
    CustomFieldType,
)

CUSTOMERS = "customers"
CONTACTS = "contacts"
KINDS = (CUSTOMERS, CONTACTS)

CUSTOMER_FIELDS = (
    "name",
    "kind",
    "email",
    "phone",
    "website",
    "industry",
    "company_size",
    "city",
    "region",
    "country",
    "lifecycle_stage",
    "source",
    "acquisition_channel",
    "birth_date",
    "gender",
    "income_band",
    "household_size",
    "interests",
    "needs",
    "preferred_channel",
    "preferred_contact_time",
    "credit_limit",
    "credit_rating",
    "payment_terms",
    "consent_email",
    "consent_sms",
    "consent_phone",
)
CONTACT_FIELDS = (
    "first_name",
    "last_name",
    "title",
    "decision_role",
    "email",
    "phone",
    "is_primary",
    "birthday",
    "family",
    "education",
    "career_history",
    "hobbies",
    "values",
    "notes",
)
CONSENT_FIELDS = ("consent_email", "consent_sms", "consent_phone")

DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%d.%m.%Y", "%Y年%m月%d日")
TAG_SEPARATORS = re.compile(r"[,;，；|]")


@dataclass(frozen=True)
class Target:
    key: str
    label: str
    required: bool = False


def _key(text: str) -> str:
    """Column names and choice words compared without case, spaces or punctuation."""
    text = unicodedata.normalize("NFKC", str(text)).lower()
    return "".join(ch for ch in text if ch.isalnum())


def _model(kind: str) -> type[models.Model]:
    return Contact if kind == CONTACTS else Customer


def import_targets(*, kind: str, custom_fields: Iterable[CustomFieldDefinition]) -> list[Target]:
    """Everything a column of a `kind` import ("customers" or "contacts") can go into."""
    if kind == CONTACTS:
        targets = [
            Target("company", _("Company (customer name)"), required=True),
            Target("full_name", _("Full name (split into first and last)")),
        ]
        targets += [_field_target(Contact, name) for name in CONTACT_FIELDS]
        return targets
    targets = [_field_target(Customer, name) for name in CUSTOMER_FIELDS]
    targets.insert(11, Target("owner", _("Owner (member's email)")))
    targets.insert(12, Target("tags", _("Tags (separated by commas)")))
    targets += [
        Target(f"cf_{d.key}", _("Custom field: %(label)s") % {"label": d.label})
        for d in custom_fields
    ]
    return targets


def _field_target(model: type[models.Model], name: str) -> Target:
    model_field = model._meta.get_field(name)
    label = capfirst(str(model_field.verbose_name))
    if name == "needs":
        label = _("Needs / notes")
    return Target(name, label, required=not model_field.blank and not model_field.has_default())


@lru_cache(maxsize=4)
def _alias_keys(kind: str) -> dict[str, frozenset[str]]:
    """For each field target: its name, its aliases and its label in every language."""
    from django.conf import settings

    model = _model(kind)
    names = CONTACT_FIELDS if kind == CONTACTS else CUSTOMER_FIELDS
    aliases = CONTACT_ALIASES if kind == CONTACTS else ALIASES
    keys: dict[str, set[str]] = {name: {_key(name)} for name in (*names, *aliases)}
    for name, words in aliases.items():
        keys[name].update(_key(word) for word in words)
    for name in names:
        for code, _language in settings.LANGUAGES:
            with translation.override(code):
                keys[name].add(_key(model._meta.get_field(name).verbose_name))
    return {name: frozenset(k for k in words if k) for name, words in keys.items()}


def guess_mapping(
    *,
    kind: str,
    headers: list[str],
    targets: list[Target],
    remembered: dict[str, str] | None = None,
    custom_fields: Iterable[CustomFieldDefinition] = (),
) -> dict[str, str]:
    """{column: target key or ""}: the remembered choice for a column of the same name first,
    then a target whose name, label or alias matches the column's name. Each target once."""
    valid = {t.key for t in targets}
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for header in headers:
        target = (remembered or {}).get(header)
        if target is not None and (target == "" or (target in valid and target not in used)):
            mapping[header] = target
            used.add(target)
    aliases = dict(_alias_keys(kind))
    for definition in custom_fields:
        aliases[f"cf_{definition.key}"] = frozenset({_key(definition.key), _key(definition.label)})
    for header in headers:
        if header in mapping:
            continue
        key = _key(header)
        mapping[header] = next(
            (t.key for t in targets if t.key not in used and key in aliases.get(t.key, ())), ""
        )
        used.add(mapping[header])
    return mapping


def check_mapping(*, kind: str, mapping: dict[str, str], targets: list[Target]) -> list[str]:
    """What is wrong with a mapping, as messages (an empty list when it can be used)."""
    by_key = {t.key: t for t in targets}
    chosen = [t for t in mapping.values() if t]
    errors = []
    unknown = sorted({t for t in chosen if t not in by_key})
    if unknown:
        errors.append(_("Unknown fields: %(fields)s.") % {"fields": ", ".join(unknown)})
    twice = sorted({by_key[t].label for t in chosen if t in by_key and chosen.count(t) > 1})
    if twice:
        errors.append(
            _("Each field can take one column only: %(fields)s.") % {"fields": ", ".join(twice)}
        )
    if kind == CONTACTS:
        if "company" not in chosen:
            errors.append(_("Choose the column with the contact's company."))
        if "first_name" not in chosen and "full_name" not in chosen:
            errors.append(_("Choose the column with the contact's first name or full name."))
    elif "name" not in chosen:
        errors.append(_("Choose the column with the customer's name."))
    return errors


# --- Row validation -----------------------------------------------------------------------


@dataclass
class CleanRow:
    """One valid row: model values (only the cells that had something), and matching keys."""

    number: int
    values: dict[str, Any]
    custom: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    company: str = ""
    email_key: str = ""
    phone_key: str = ""
    name_key: str = ""
    company_key: str = ""


Cleaner = Callable[[str], Any]


class RowCleaner:
    """Checks rows of one file against one mapping, reusing the models' validation."""

    def __init__(
        self,
        *,
        kind: str,
        headers: list[str],
        mapping: dict[str, str],
        custom_fields: Iterable[CustomFieldDefinition],
        members: dict[str, int],
    ) -> None:
        self.kind = kind
        self.members = members
        custom = {f"cf_{d.key}": d for d in custom_fields}
        model = _model(kind)
        self.columns: list[tuple[int, str, str, Cleaner]] = []
        for index, header in enumerate(headers):
            target = mapping.get(header, "")
            if not target:
                continue
            if target in custom:
                cleaner = _custom_cleaner(custom[target])
            elif target in ("owner", "tags", "company", "full_name"):
                cleaner = getattr(self, f"_clean_{target}")
            else:
                cleaner = _field_cleaner(model._meta.get_field(target))
            self.columns.append((index, header, target, cleaner))
        self.required = [
            (header, target)
            for _index, header, target, _cleaner in self.columns
            if target in ("name", "first_name", "company")
        ]
        self.required_custom = {
            target for target, d in custom.items() if d.required and target in mapping.values()
        }

    def clean(self, number: int, cells: list[str]) -> CleanRow | str:
        """The row's values, or the reason it cannot be imported."""
        row = CleanRow(number=number, values={})
        errors = []
        for index, header, target, cleaner in self.columns:
            raw = cells[index]
            if raw == "":
                if target in self.required_custom:
                    errors.append(f"{header}: {_('This field is required.')}")
                continue
            try:
                value = cleaner(raw)
            except ValidationError as error:
                errors.append(f"{header}: {' '.join(error.messages)}")
                continue
            if target.startswith("cf_"):
                row.custom[target[3:]] = value
            elif target == "tags":
                row.tags = value
            elif target == "company":
                row.company = value
            elif target == "full_name":
                first, last = value
                row.values.setdefault("first_name", first)
                row.values.setdefault("last_name", last)
            elif target == "owner":
                row.values["owner_id"] = value
            else:
                row.values[target] = value
        for header, target in self.required:
            if not (row.company if target == "company" else row.values.get(target)):
                errors.append(f"{header}: {_('This field cannot be blank.')}")
        if self.kind == CONTACTS and not row.values.get("first_name") and not errors:
            errors.append(_("The contact needs a first name."))
        if errors:
            return "; ".join(errors)
        values = row.values
        row.email_key = normalize_email(values.get("email", ""))
        row.phone_key = normalize_phone(values.get("phone", ""))
        if self.kind == CONTACTS:
            full = f"{values.get('first_name', '')} {values.get('last_name', '')}"
            row.name_key = normalize_name(full)
            row.company_key = normalize_name(row.company)
        else:
            row.name_key = normalize_name(values.get("name", ""))
        return row

    def key_row(self, number: int, cells: list[str]) -> CleanRow:
        """Only the matching keys of a row, from its raw cells (cheap: no validation)."""
        raw = {target: cells[index] for index, _header, target, _cleaner in self.columns}
        row = CleanRow(number=number, values={})
        row.email_key = normalize_email(raw.get("email", ""))
        row.phone_key = normalize_phone(raw.get("phone", ""))
        if self.kind == CONTACTS:
            first, last = raw.get("first_name", ""), raw.get("last_name", "")
            if not first and raw.get("full_name"):
                first, last = raw["full_name"], ""
            row.name_key = normalize_name(f"{first} {last}")
            row.company_key = normalize_name(raw.get("company", ""))
        else:
            row.name_key = normalize_name(raw.get("name", ""))
        return row

    # Targets that are not a model field.

    def _clean_owner(self, raw: str) -> int:
        user_id = self.members.get(normalize_email(raw))
        if user_id is None:
            raise ValidationError(
                _("No member of this organization has the email address %(email)s.")
                % {"email": raw}
            )
        return user_id

    def _clean_tags(self, raw: str) -> list[str]:
        tags: dict[str, str] = {}
        for part in TAG_SEPARATORS.split(raw):
            name = part.strip()
            if len(name) > 50:
                raise ValidationError(_("A tag can have at most 50 characters."))
            if name:
                tags.setdefault(name.lower(), name)
        return list(tags.values())

    def _clean_company(self, raw: str) -> str:
        if len(raw) > 200:
            raise ValidationError(_("A company name can have at most 200 characters."))
        return raw

    def _clean_full_name(self, raw: str) -> tuple[str, str]:
        parts = raw.split()
        first, last = (" ".join(parts[:-1]), parts[-1]) if len(parts) > 1 else (raw, "")
        if len(first) > 80 or len(last) > 80:
            raise ValidationError(_("The name is too long."))
        return first, last


def _field_cleaner(model_field: models.Field) -> Cleaner:
    if model_field.name in CONSENT_FIELDS:
        return _choice_cleaner(model_field.choices, CONSENT_WORDS)
    if model_field.choices:
        return _choice_cleaner(model_field.choices, CHOICE_SYNONYMS.get(model_field.name, {}))
    if isinstance(model_field, models.BooleanField):
        return parse_bool
    if isinstance(model_field, models.DateField):
        return parse_date_text
    if isinstance(model_field, models.EmailField):
        return lambda raw: model_field.clean(normalize_email(raw), None)
    if isinstance(model_field, models.DecimalField):
        return lambda raw: model_field.clean(_number_text(raw), None)
    if model_field.name == "country":
        return lambda raw: model_field.clean(raw.upper(), None)
    return lambda raw: model_field.clean(raw, None)


def _choice_cleaner(choices, synonyms: dict[str, str]) -> Cleaner:
    lookup = _choice_lookup(tuple(choices))
    lookup.update({_key(word): value for word, value in synonyms.items()})
    labels = ", ".join(str(label) for _value, label in choices)

    def clean(raw: str) -> str:
        try:
            return lookup[_key(raw)]
        except KeyError:
            raise ValidationError(
                _("“%(value)s” is not one of: %(choices)s.") % {"value": raw, "choices": labels}
            ) from None

    return clean


def _choice_lookup(choices: tuple) -> dict[str, str]:
    from django.conf import settings

    lookup: dict[str, str] = {}
    for value, label in choices:
        lookup[_key(value)] = value
        for code, _language in settings.LANGUAGES:
            with translation.override(code):
                lookup.setdefault(_key(str(label)), value)
    return lookup


def _number_text(raw: str) -> str:
    # "1,250.00", "1 250", "$1,250" -> "1250.00"
    return re.sub(r"[\s,$€£¥]", "", raw)


def parse_bool(raw: str) -> bool:
    word = _key(raw) or raw.strip()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValidationError(_("“%(value)s” is not yes or no.") % {"value": raw})


def parse_date_text(raw: str) -> date:
    text = raw.strip()
    if len(text) >= 10 and text[4] == "-":
        text = text[:10]  # "2024-03-01 00:00:00" from a spreadsheet
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValidationError(_("“%(value)s” is not a date; use YYYY-MM-DD.") % {"value": raw})


def _custom_cleaner(definition: CustomFieldDefinition) -> Cleaner:
    if definition.field_type == CustomFieldType.BOOLEAN:
        return parse_bool
    if definition.field_type == CustomFieldType.DATE:
        return lambda raw: parse_date_text(raw).isoformat()
    if definition.field_type == CustomFieldType.CHOICE:
        return _choice_cleaner([(c, c) for c in definition.choices], {})
    form_field: forms.Field = custom_form_field(definition)
    if definition.field_type == CustomFieldType.NUMBER:
        return lambda raw: custom_value_to_json(form_field.clean(_number_text(raw)))
    return lambda raw: form_field.clean(raw)
