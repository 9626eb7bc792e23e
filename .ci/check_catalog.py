"""The Chinese catalog covers every string in the code: no string is missing or fuzzy.

    .venv/bin/python .ci/check_catalog.py

tests/test_i18n.py checks that the committed django.po is complete and compiled; this checks that it
is also current. It runs `makemessages -l zh_Hans` (which adds the code's new strings to the .po
file, empty, and marks changed ones fuzzy), reports what is untranslated or fuzzy, and puts the
committed file back. Fix: `make messages`, translate, `make messages` again.
"""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
IGNORE = [".venv", "staticfiles", "node_modules", "bench", "tmp"]


def entries(text: str):
    """(flags, msgid, msgstrs) for each non-obsolete entry of a .po file."""
    blocks = [block for block in text.split("\n\n") if block.strip()]
    for block in blocks:
        lines = [line for line in block.splitlines() if not line.startswith("#~")]
        flags = {f.strip() for line in lines if line.startswith("#,") for f in line[2:].split(",")}
        msgid, msgstrs, field = "", [], None
        for line in lines:
            if line.startswith("msgid "):
                field, msgid = "msgid", line[6:].strip().strip('"')
            elif line.startswith("msgstr"):
                field = "msgstr"
                msgstrs.append(line.split(" ", 1)[1].strip().strip('"'))
            elif line.startswith('"') and field == "msgid":
                msgid += line.strip().strip('"')
            elif line.startswith('"') and field == "msgstr":
                msgstrs[-1] += line.strip().strip('"')
            elif line.startswith(("msgid_plural", "msgctxt")):
                field = None
        if field is not None or msgstrs:
            yield flags, msgid, msgstrs


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        backup = Path(tmp) / "django.po"
        shutil.copy2(PO, backup)
        try:
            args = [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "-v", "0"]
            args += [f"--ignore={name}" for name in IGNORE]
            subprocess.run(args, cwd=ROOT, check=True, env={**os.environ, "DEBUG": "1"})  # noqa: S603
            current = PO.read_text(encoding="utf-8")
        finally:
            shutil.copy2(backup, PO)
    problems = [
        ("fuzzy" if "fuzzy" in flags else "untranslated", msgid)
        for flags, msgid, msgstrs in entries(current)
        if msgid and ("fuzzy" in flags or not all(msgstrs))
    ]
    for kind, msgid in problems:
        print(f"django.po: {kind}: {msgid!r}", file=sys.stderr)
    if problems:
        print(
            f"{len(problems)} strings of the code lack a Chinese translation: run"
            " `make messages`, translate them, then `make messages` again.",
            file=sys.stderr,
        )
        return 1
    print("locale/zh_Hans: every string in the code is translated: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
