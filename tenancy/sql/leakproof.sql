-- Let PostgreSQL use indexes for text search and decimal ranges under row-level security.
--
-- Run as a superuser in each database, and in template1 so that new databases (test ones
-- included) inherit it. `.ci/db-setup` (so `make db` and CI) does both; docker-compose.yml's
-- PostgreSQL init does it for its database; elsewhere:
--   psql -h 127.0.0.1 -U postgres -d clientele -f tenancy/sql/leakproof.sql
--
-- Why: for a table with row-level security, PostgreSQL applies the tenant policy before any
-- condition whose functions are not LEAKPROOF (such a function could reveal a hidden row, in
-- an error message say), so such a condition can never be an index condition: it filters every
-- row of the tenant. Out of the box, LIKE, ILIKE, lower(), ||, full-text matching, pg_trgm's
-- operators, JSON containment (the custom-field filters) and even comparisons of numeric
-- (decimal) values are not leakproof. Then a search, a custom-field filter or a keyset page
-- sorted by a decimal column scans the whole tenant: seconds at a million rows.
--
-- What the marking vouches for: these functions raise no error that depends on the row's data
-- (LIKE's errors depend on the pattern only, which the application writes; numeric
-- comparisons, pg_trgm's similarity and JSON containment never fail on valid values).
-- Clientele runs no user-written SQL, and the policy still decides which rows a query returns.
-- Without the marking everything works, only slower; crm_site/search.py checks it at run time.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gin;
ALTER FUNCTION textlike(text, text) LEAKPROOF;
ALTER FUNCTION texticlike(text, text) LEAKPROOF;
ALTER FUNCTION lower(text) LEAKPROOF;
ALTER FUNCTION textcat(text, text) LEAKPROOF;
ALTER FUNCTION to_tsvector(regconfig, text) LEAKPROOF;
ALTER FUNCTION ts_match_vq(tsvector, tsquery) LEAKPROOF;
ALTER FUNCTION similarity_op(text, text) LEAKPROOF;
ALTER FUNCTION word_similarity_op(text, text) LEAKPROOF;
ALTER FUNCTION numeric_eq(numeric, numeric) LEAKPROOF;
ALTER FUNCTION numeric_ne(numeric, numeric) LEAKPROOF;
ALTER FUNCTION numeric_lt(numeric, numeric) LEAKPROOF;
ALTER FUNCTION numeric_le(numeric, numeric) LEAKPROOF;
ALTER FUNCTION numeric_gt(numeric, numeric) LEAKPROOF;
ALTER FUNCTION numeric_ge(numeric, numeric) LEAKPROOF;
ALTER FUNCTION jsonb_contains(jsonb, jsonb) LEAKPROOF;
