"""Ready a web worker before its first request (gunicorn.conf.py's post_worker_init)."""

import gc

from django.template import engines
from django.urls import get_resolver

# The app shell every signed-in page renders; the pages' own templates load on first use.
SHELL_TEMPLATES = ("app_base.html", "components/sidebar_nav.html", "components/messages.html")


def warm_up() -> int:
    """Load the URL patterns and the shell's templates, then freeze every object that exists
    so that the garbage collector's full collections skip them. Returns how many were frozen.

    Only long-lived objects are made at this point (modules, classes, URL patterns, compiled
    templates); freezing one that later becomes garbage only keeps it in memory.
    """
    resolver = get_resolver()
    resolver.url_patterns  # noqa: B018 (imports every view module)
    resolver.reverse_dict  # noqa: B018 (what {% url %} and reverse() look names up in)
    for name in SHELL_TEMPLATES:
        engines["django"].get_template(name)
    gc.collect()  # what import left behind, so that it is not frozen
    gc.freeze()
    return gc.get_freeze_count()
