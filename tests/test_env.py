"""crm_site.env: settings from environment variables, refusing values it cannot parse."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from crm_site.env import env_bool, env_int, env_list, env_str

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("raw", ["1", "true", "TRUE", "yes", "on", " On "])
def test_env_bool_reads_true(monkeypatch, raw):
    monkeypatch.setenv("CLIENTELE_FLAG", raw)
    assert env_bool("CLIENTELE_FLAG", False) is True


@pytest.mark.parametrize("raw", ["0", "false", "no", "off", ""])
def test_env_bool_reads_false(monkeypatch, raw):
    monkeypatch.setenv("CLIENTELE_FLAG", raw)
    assert env_bool("CLIENTELE_FLAG", True) is False


def test_env_bool_falls_back_to_the_default(monkeypatch):
    monkeypatch.delenv("CLIENTELE_FLAG", raising=False)
    assert env_bool("CLIENTELE_FLAG", True) is True


def test_env_bool_refuses_a_typo(monkeypatch):
    monkeypatch.setenv("CLIENTELE_FLAG", "ture")
    with pytest.raises(ImproperlyConfigured, match="CLIENTELE_FLAG"):
        env_bool("CLIENTELE_FLAG", False)


def test_env_int_reads_an_integer_or_refuses(monkeypatch):
    monkeypatch.setenv("CLIENTELE_NUMBER", "42")
    assert env_int("CLIENTELE_NUMBER", 1) == 42
    monkeypatch.setenv("CLIENTELE_NUMBER", "forty-two")
    with pytest.raises(ImproperlyConfigured, match="CLIENTELE_NUMBER"):
        env_int("CLIENTELE_NUMBER", 1)
    monkeypatch.delenv("CLIENTELE_NUMBER")
    assert env_int("CLIENTELE_NUMBER", 7) == 7


def test_env_list_splits_on_commas_and_drops_blanks(monkeypatch):
    monkeypatch.setenv("CLIENTELE_HOSTS", " a.example, b.example ,,")
    assert env_list("CLIENTELE_HOSTS", []) == ["a.example", "b.example"]
    monkeypatch.delenv("CLIENTELE_HOSTS")
    assert env_list("CLIENTELE_HOSTS", ["x"]) == ["x"]


def test_env_str_requires_a_value_without_a_default(monkeypatch):
    monkeypatch.delenv("CLIENTELE_SECRET", raising=False)
    with pytest.raises(ImproperlyConfigured, match="CLIENTELE_SECRET is required"):
        env_str("CLIENTELE_SECRET")
    assert env_str("CLIENTELE_SECRET", "fallback") == "fallback"


def _load_settings(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DEBUG", "SECRET_KEY"))}
    clean.pop("DATABASE_URL", None)
    code = (
        "import crm_site.settings as s; "
        "print(s.DEBUG, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE, s.SECURE_SSL_REDIRECT, "
        "s.SECURE_HSTS_SECONDS, s.ALLOWED_HOSTS)"
    )
    return subprocess.run(  # noqa: S603 (our own interpreter, a fixed script)
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_settings_refuse_to_start_without_a_secret_key():
    result = _load_settings()

    assert result.returncode != 0
    assert "SECRET_KEY is required" in result.stderr


def test_production_settings_are_secure_by_default():
    result = _load_settings(SECRET_KEY="x" * 50)

    assert result.returncode == 0, result.stderr
    assert result.stdout.split(maxsplit=5) == ["False", "True", "True", "True", "31536000", "[]\n"]


def test_debug_settings_work_without_a_secret_key():
    result = _load_settings(DEBUG="1")

    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("True False False False 0")


def test_a_malformed_setting_stops_the_start():
    result = _load_settings(SECRET_KEY="x" * 50, AXES_FAILURE_LIMIT="five")

    assert result.returncode != 0
    assert "AXES_FAILURE_LIMIT must be an integer" in result.stderr
