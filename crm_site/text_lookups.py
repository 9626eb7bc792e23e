"""Case-insensitive "contains" that PostgreSQL can answer from a pg_trgm index.

Django's icontains compiles to `UPPER(column::text) LIKE UPPER('%text%')` on PostgreSQL, and no
index on the column serves UPPER(column). `column ILIKE '%text%'` is what a gin_trgm_ops index
answers (under row-level security, once the functions are LEAKPROOF: crm_site.search.
text_search_indexes_usable and docs/performance.md).
"""

from django.db.models import Lookup, Value
from django.db.models.expressions import Expression


def like_escape(text: str) -> str:
    """`text` with LIKE's wildcards escaped (backslash is the default escape character)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class IContains(Lookup):
    """`IContains(F("name"), "garc")`: the column contains the text, whatever the case.

    Used as an expression (`queryset.filter(IContains(...) | IContains(...))`), not registered
    as a field lookup, so `name__icontains` keeps Django's meaning everywhere else.
    """

    lookup_name = "ilike_contains"
    prepare_rhs = False

    def __init__(self, lhs: Expression, text: str) -> None:
        super().__init__(lhs, Value(f"%{like_escape(text)}%"))

    def as_sql(self, compiler, connection):
        lhs, lhs_params = compiler.compile(self.lhs)
        rhs, rhs_params = compiler.compile(self.rhs)
        if connection.vendor == "postgresql":
            return f"{lhs} ILIKE {rhs}", [*lhs_params, *rhs_params]
        if connection.vendor == "sqlite":  # LIKE ignores ASCII case there
            return f"{lhs} LIKE {rhs} ESCAPE '\\'", [*lhs_params, *rhs_params]
        return f"UPPER({lhs}) LIKE UPPER({rhs})", [*lhs_params, *rhs_params]
