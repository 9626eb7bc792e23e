"""English and Simplified Chinese are both first-class.

The catalog is complete and compiled, switching the language switches the pages, and no template
shows text that bypasses the translation tags. After adding or changing strings, run `make
messages` (makemessages for zh_Hans, then compilemessages), translate what it adds, and compile
again.
"""

import gettext
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

LOCALE_DIR = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES"
PO_FILE = LOCALE_DIR / "django.po"
MO_FILE = LOCALE_DIR / "django.mo"

# --- A tiny .po reader ------------------------------------------------------------------------

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\"}


def _unquote(text: str) -> str:
    text = text.strip()
    assert text.startswith('"') and text.endswith('"'), f"not a quoted PO string: {text!r}"
    return re.sub(r"\\(.)", lambda m: _ESCAPES.get(m[1], "\\" + m[1]), text[1:-1])


def read_po(path: Path) -> list[dict]:
    """The entries of a .po file, obsolete (#~) ones left out. Each entry is a dict with `flags`
    (a set), `line`, `msgctxt`, `msgid`, `msgid_plural` and `msgstr` (a list: one item, or one
    per plural form)."""
    entries: list[dict] = []
    entry: dict = {}
    flags: set[str] = set()
    field = ""  # where a continuation line ("...") goes: "msgctxt", "msgid", ... or "msgstr"

    for line_no, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#~"):
            continue
        if line.startswith("#,"):
            flags.update(flag.strip() for flag in line[2:].split(","))
            continue
        if line.startswith("#"):
            continue
        if line.startswith('"'):
            assert entry, f"{path.name}:{line_no}: a string outside an entry"
            if field == "msgstr":
                entry["msgstr"][-1] += _unquote(line)
            else:
                entry[field] += _unquote(line)
            continue
        keyword, _, rest = line.partition(" ")
        starts_entry = keyword == "msgctxt" or (
            keyword == "msgid" and (not entry or entry["msgid"] is not None)
        )
        if starts_entry:
            entry = {"flags": flags, "line": line_no, "msgctxt": None, "msgid": None}
            entry.update(msgid_plural=None, msgstr=[])
            entries.append(entry)
            flags = set()
        if keyword in ("msgctxt", "msgid", "msgid_plural"):
            entry[keyword] = _unquote(rest)
            field = keyword
        elif keyword == "msgstr" or re.fullmatch(r"msgstr\[\d+\]", keyword):
            entry["msgstr"].append(_unquote(rest))
            field = "msgstr"
        else:
            raise AssertionError(f"{path.name}:{line_no}: cannot read {raw!r}")
    return entries


def _catalog_from_po(entries: list[dict]) -> dict:
    """The same mapping as gettext.GNUTranslations builds from the compiled file."""
    catalog: dict = {}
    for entry in entries:
        if entry["msgid"] == "" or "fuzzy" in entry["flags"]:
            continue  # the header, and what msgfmt leaves out
        msgid = entry["msgid"]
        if entry["msgctxt"] is not None:
            msgid = f"{entry['msgctxt']}\x04{msgid}"
        if entry["msgid_plural"] is None:
            catalog[msgid] = entry["msgstr"][0]
        else:
            for index, text in enumerate(entry["msgstr"]):
                catalog[(msgid, index)] = text
    return catalog


def _catalog_from_mo(path: Path) -> dict:
    with path.open("rb") as fp:
        catalog = dict(gettext.GNUTranslations(fp)._catalog)
    catalog.pop("", None)  # the header: its dates change with every makemessages run
    return catalog


def _where(entry: dict) -> str:
    return f"django.po:{entry['line']}: {entry['msgid']!r}"


# --- (a) and (b): the catalog is complete, and compiled ---------------------------------------


def test_the_chinese_catalog_is_complete():
    entries = read_po(PO_FILE)
    header = [entry for entry in entries if entry["msgid"] == ""]
    assert len(header) == 1, "the .po file needs exactly one header entry"
    assert "Plural-Forms: nplurals=1; plural=0;" in header[0]["msgstr"][0]
    assert len(entries) > 100, "the catalog looks truncated"

    fuzzy = [_where(entry) for entry in entries if "fuzzy" in entry["flags"]]
    untranslated = [
        _where(entry)
        for entry in entries
        if entry["msgid"] != "" and (not entry["msgstr"] or not all(entry["msgstr"]))
    ]
    assert not fuzzy, "fuzzy entries: check, fix and remove the flag:\n" + "\n".join(fuzzy)
    assert not untranslated, "untranslated entries:\n" + "\n".join(untranslated)


PLACEHOLDER = re.compile(r"%\([A-Za-z_]\w*\)[sdifr]|\{\{\s*\w+\s*\}\}|</?[a-z][^>]*>")


def test_translations_keep_their_placeholders_and_markup():
    broken = []
    for entry in read_po(PO_FILE):
        if entry["msgid"] == "":
            continue
        wanted = sorted(PLACEHOLDER.findall(entry["msgid"] + (entry["msgid_plural"] or "")))
        for text in entry["msgstr"]:
            if sorted(set(PLACEHOLDER.findall(text))) != sorted(set(wanted)):
                broken.append(f"{_where(entry)} -> {text!r}")
    assert not broken, "placeholders or markup differ:\n" + "\n".join(broken)


def test_the_compiled_catalog_matches_the_po_file():
    assert MO_FILE.exists(), "run `manage.py compilemessages --ignore=.venv` (or `make messages`)"
    expected = _catalog_from_po(read_po(PO_FILE))
    compiled = _catalog_from_mo(MO_FILE)
    stale = sorted(str(key) for key in expected.keys() ^ compiled.keys())
    stale += sorted(
        str(key) for key in expected.keys() & compiled.keys() if expected[key] != compiled[key]
    )
    assert not stale, (
        "django.mo is out of date with django.po; run `manage.py compilemessages --ignore=.venv`:\n"
        + "\n".join(stale[:20])
    )


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext's msgfmt is not installed")
def test_msgfmt_accepts_the_po_file(tmp_path):
    result = subprocess.run(  # noqa: S603 (fixed arguments)
        ["msgfmt", "--check", "-o", str(tmp_path / "django.mo"), str(PO_FILE)],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert _catalog_from_mo(tmp_path / "django.mo") == _catalog_from_mo(MO_FILE)


# --- (c): switching the language switches the pages -------------------------------------------


def _switch_to_chinese(client) -> None:
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/"})
    assert response.status_code == 302


@pytest.mark.django_db
def test_the_sign_in_page_follows_the_chosen_language(client):
    english = client.get("/accounts/login/").content.decode()
    assert '<html lang="en">' in english
    assert "Welcome back. Use the email address you work with." in english

    _switch_to_chinese(client)
    page = client.get("/accounts/login/").content.decode()
    assert '<html lang="zh-hans">' in page
    for text in ("登录", "欢迎回来。请使用您的工作邮箱登录。", "邮箱地址", "忘记密码？", "语言"):
        assert text in page, text
    assert "Welcome back" not in page
    assert "Forgot your password?" not in page


def test_a_member_page_follows_the_chosen_language(client_for, alice, org_a):
    client = client_for(alice)
    english = client.get(f"/o/{org_a.slug}/").content.decode()
    assert "Team activity" in english

    _switch_to_chinese(client)
    response = client.get(f"/o/{org_a.slug}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert '<html lang="zh-hans">' in page
    for text in ("您好，Alice", "我的近期动态", "团队动态", "首页", "退出登录", "经理"):
        assert text in page, text
    for text in ("Team activity", "My recent activity", "Sign out"):
        assert text not in page, text


# --- (d): no visible text bypasses the translation tags ---------------------------------------

# Words that are the same in every language.
ALLOWED_WORDS = {"Clientele"}
# Pages rendered without the template engine's i18n; they carry both languages statically.
STATIC_BILINGUAL = {"500.html"}
# Attributes whose values people read (or hear, with a screen reader), as regular expressions:
# data-confirm* holds the questions app.js asks before submitting.
VISIBLE_ATTRIBUTES = (
    "placeholder",
    "title",
    "aria-label",
    "aria-description",
    "alt",
    r"data-confirm[\w-]*",
)

_TEMPLATE_SUFFIXES = {".html", ".txt", ".xml"}
_BLOCKTRANSLATE = re.compile(
    r"{%-?\s*blocktrans(?:late)?\b.*?%}.*?{%-?\s*endblocktrans(?:late)?\s*-?%}", re.S
)
_COMMENT = re.compile(r"{%\s*comment\b.*?%}.*?{%\s*endcomment\s*%}|{#.*?#}|<!--.*?-->", re.S)
# Blocks that fill in an attribute (`{% block body_class %}app-shell{% endblock %}`), not text.
_ATTRIBUTE_BLOCK = re.compile(
    r"{%\s*block\s+\w*(?:class|classes|_id|_attrs)\s*%}.*?{%\s*endblock\b.*?%}", re.S
)
_TEMPLATE_CODE = re.compile(r"{%.*?%}|{{.*?}}", re.S)
_RAW_ELEMENTS = re.compile(r"<(script|style|svg)\b.*?</\1\s*>", re.S | re.I)
_TAG = re.compile(r"<[^>]*>")
_ATTRIBUTE = re.compile(
    rf"(?<![\w-])({'|'.join(VISIBLE_ATTRIBUTES)})\s*=\s*(?:\"([^\"]*)\"|'([^']*)')", re.I
)
_ENTITY = re.compile(r"&(?:[A-Za-z]+|#\d+|#x[0-9A-Fa-f]+);")
_LETTERS = re.compile(r"[A-Za-z]")


def _blank(match: re.Match, keep: str = "") -> str:
    """Replace a match by `keep`, keeping its line breaks (for line numbers)."""
    return keep + "\n" * match[0].count("\n")


def _has_words(text: str) -> bool:
    text = _ENTITY.sub(" ", text)
    return any(
        _LETTERS.search(word) and word.strip(".,:;!?()[]") not in ALLOWED_WORDS
        for word in text.split()
    )


def untranslated_text(source: str) -> list[tuple[int, str]]:
    """(line, text) of each piece of visible text that no translation tag covers."""
    # Translated and invisible parts go first; each template tag or variable becomes a space,
    # so attribute values made of them pass and the HTML tags around them stay intact.
    source = _COMMENT.sub(_blank, source)
    source = _ATTRIBUTE_BLOCK.sub(lambda m: _blank(m, " "), source)
    source = _BLOCKTRANSLATE.sub(lambda m: _blank(m, " "), source)
    source = _TEMPLATE_CODE.sub(lambda m: _blank(m, " "), source)
    source = _RAW_ELEMENTS.sub(_blank, source)
    found = []
    position = 0
    for tag in _TAG.finditer(source):
        line = source.count("\n", 0, tag.start()) + 1
        text = source[position : tag.start()]
        if _has_words(text):
            found.append((source.count("\n", 0, position) + 1 + _leading_lines(text), text))
        for attribute in _ATTRIBUTE.finditer(tag[0]):
            value = attribute[2] if attribute[2] is not None else attribute[3]
            if _has_words(value):
                found.append((line, f'{attribute[1]}="{value}"'))
        position = tag.end()
    tail = source[position:]
    if _has_words(tail):
        found.append((source.count("\n", 0, position) + 1 + _leading_lines(tail), tail))
    return [(line, " ".join(text.split())) for line, text in found]


def _leading_lines(text: str) -> int:
    """Line breaks before the first visible character of `text`."""
    return text[: len(text) - len(text.lstrip())].count("\n")


def _template_files() -> list[Path]:
    base = Path(settings.BASE_DIR)
    roots = [Path(directory) for directory in settings.TEMPLATES[0]["DIRS"]]
    # App templates too, for apps that keep theirs beside their code.
    roots += [path.parent / "templates" for path in base.glob("*/apps.py")]
    return sorted(
        path
        for root in roots
        if root.is_dir()
        for path in root.rglob("*")
        if path.suffix in _TEMPLATE_SUFFIXES and path.is_file()
    )


def test_the_checker_finds_untranslated_text():
    source = (
        '{% load i18n %}<h1>{% translate "Fine" %}</h1>\n'
        "<p>Forgot this</p>\n"
        '<input placeholder="Search">\n'
        "<button aria-label=\"{% translate 'Close' %}\">&times;</button>\n"
        "{% blocktranslate %}Hello {{ name }}{% endblocktranslate %} · Clientele\n"
        "<script>var x = 'not text';</script>{# a note #}<a title=\"{{ when }}\">&larr;</a>\n"
        "{% comment %}Notes for developers{% endcomment %}{% block body_class %}x y{% endblock %}\n"
        '<img alt="Logo"><form data-confirm-all="Sure?" data-testid="bulk-form">'
    )
    assert untranslated_text(source) == [
        (2, "Forgot this"),
        (3, 'placeholder="Search"'),
        (8, 'alt="Logo"'),
        (8, 'data-confirm-all="Sure?"'),
    ]


def test_templates_show_no_untranslated_text():
    files = _template_files()
    assert any(path.name == "login.html" for path in files), "no templates found"
    problems = []
    for path in files:
        source = path.read_text(encoding="utf-8")
        if path.name in STATIC_BILINGUAL:
            continue
        for line, text in untranslated_text(source):
            problems.append(f"{path.relative_to(settings.BASE_DIR)}:{line}: {text}")
    assert not problems, (
        "Text outside {% translate %} / {% blocktranslate %} (wrap it, then run `make messages`):\n"
        + "\n".join(problems)
    )


@pytest.mark.parametrize("name", sorted(STATIC_BILINGUAL))
def test_static_pages_carry_both_languages(name):
    source = (Path(settings.BASE_DIR) / "templates" / name).read_text(encoding="utf-8")
    assert "{%" not in source and "{{" not in source, f"{name} must not need the template engine"
    assert re.search(r"[\u4e00-\u9fff]", source), f"{name} needs its Chinese text"
    assert _LETTERS.search(_TAG.sub(" ", source)), f"{name} needs its English text"
