"""Every environment variable the settings read is documented in .env.example.

python .ci/check_env_example.py
"""

import re
import sys
from pathlib import Path

SOURCES = [Path("crm_site/settings.py"), Path("gunicorn.conf.py")]
READ = re.compile(
    r"""(?:env_(?:str|bool|int|list)|os\.environ\.get|getenv)\(\s*["']([A-Z0-9_]+)["']"""
)
DOCUMENTED = re.compile(r"^#?\s*([A-Z0-9_]+)=", re.MULTILINE)
NOT_SETTINGS = {"DJANGO_SETTINGS_MODULE"}


def main() -> int:
    read = {
        name: source
        for source in SOURCES
        if source.exists()
        for name in READ.findall(source.read_text())
        if name not in NOT_SETTINGS
    }
    documented = set(DOCUMENTED.findall(Path(".env.example").read_text()))
    missing = sorted(set(read) - documented)
    for name in missing:
        print(f".env.example: {name} (read in {read[name]}) is not documented", file=sys.stderr)
    if missing:
        return 1
    print(f".env.example documents all {len(read)} variables the settings read: ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
