"""User-facing strings of Django that its own Simplified Chinese catalog lacks.

`makemessages` extracts them from here into locale/zh_Hans, and Django reads the catalogs of
LOCALE_PATHS after (so over) its own, so they show translated. Nothing imports this module.
"""

from django.utils.translation import gettext_noop

DJANGO_STRINGS = [
    # django.db.models.fields.BLANK_CHOICE_LABEL (new in Django 6.1): the empty option of the
    # select of a model field with choices and blank=True.
    gettext_noop("- Select an option -"),
]
