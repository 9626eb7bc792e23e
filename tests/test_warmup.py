"""The web worker's warm-up (crm_site.warmup, called by gunicorn.conf.py's post_worker_init)."""

import gc
import runpy
import time
from pathlib import Path

import pytest

from crm_site.warmup import SHELL_TEMPLATES, warm_up

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def unfreeze():
    yield
    gc.unfreeze()  # back to the usual generations, for the tests that follow


def _full_collection_ms() -> float:
    started = time.perf_counter()
    gc.collect()
    return (time.perf_counter() - started) * 1000


def test_the_gunicorn_worker_freezes_what_it_has_loaded(unfreeze):
    gc.unfreeze()
    before = _full_collection_ms()

    runpy.run_path(str(ROOT / "gunicorn.conf.py"))["post_worker_init"](None)

    assert gc.get_freeze_count() > 10_000  # Django, the URL patterns, the shell's templates
    # What a full collection still walks is what requests make, not the application itself.
    assert _full_collection_ms() < before / 4


def test_the_warm_up_loads_the_urls_and_the_shell_templates(unfreeze):
    from django.template import engines
    from django.urls import get_resolver

    frozen = warm_up()

    # (The count falls again as frozen objects that were garbage after all are freed.)
    assert frozen > 10_000 and gc.get_freeze_count() > 0
    assert get_resolver()._populated
    loader = engines["django"].engine.template_loaders[0]  # the cached loader
    assert all(name in str(list(loader.get_template_cache)) for name in SHELL_TEMPLATES)
