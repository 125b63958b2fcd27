//! What belongs to a database rather than to its tables, and so is not in a dump: its owner,
//! `ALTER DATABASE … SET` and `ALTER ROLE … IN DATABASE … SET` (`pg_db_role_setting`), its
//! connection limit, its comment and its ACL (`REVOKE CONNECT … FROM PUBLIC`, `GRANT CONNECT`).
//! The swap carries them from the live database to the new one, in its transaction. What the
//! database is made of (its encoding, collation, character classes and locale provider) is
//! fixed when it is created, so the new database is created with the live one's.

use super::sql::{ident, literal};

/// Each line the swap prints for a property it carries over starts with this.
pub const MARK: &str = "carry over: ";

/// GUCs whose value is a list (`pg_dump`'s `GUC_LIST_QUOTE` set): stored as `a, "b"`, they are
/// given back as one literal per element, or the whole list would become one name.
const LIST_GUCS: &str = "'search_path', 'temp_tablespaces', 'session_preload_libraries', \
     'local_preload_libraries', 'shared_preload_libraries', 'dynamic_library_path'";

/// One query that lists, as SQL statements aimed at `new`, the properties of database `live`
/// (nothing when `live` does not exist).
#[must_use]
pub fn statements_query(live: &str, new: &str) -> String {
    let (l, n) = (literal(live), literal(&ident(new)));
    format!(
        "WITH d AS (SELECT oid, datdba, datconnlimit, datacl, \
         shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = {l}), \
         s AS (SELECT r.setrole, split_part(c, '=', 1) AS k, substr(c, strpos(c, '=') + 1) AS v \
         FROM d JOIN pg_db_role_setting r ON r.setdatabase = d.oid, unnest(r.setconfig) c) \
         SELECT q FROM (\
         SELECT 1 AS o, format('ALTER DATABASE %s OWNER TO %I', {n}, pg_get_userbyid(datdba)) AS q FROM d \
         UNION ALL SELECT 2, format('ALTER DATABASE %s CONNECTION LIMIT %s', {n}, datconnlimit) \
         FROM d WHERE datconnlimit <> -1 \
         UNION ALL SELECT 3, format('COMMENT ON DATABASE %s IS %L', {n}, comment) FROM d \
         WHERE comment IS NOT NULL \
         UNION ALL SELECT 4, CASE WHEN setrole = 0 THEN format('ALTER DATABASE %s SET %I = %s', {n}, k, val) \
         ELSE format('ALTER ROLE %I IN DATABASE %s SET %I = %s', pg_get_userbyid(setrole), {n}, k, val) END \
         FROM (SELECT setrole, k, CASE WHEN k IN ({LIST_GUCS}) THEN (SELECT string_agg(quote_literal(\
         CASE WHEN e ~ '^\".*\"$' THEN replace(substr(e, 2, length(e) - 2), '\"\"', '\"') ELSE e END), ', ') \
         FROM unnest(string_to_array(v, ', ')) e) ELSE quote_literal(v) END AS val FROM s) sv \
         UNION ALL SELECT 5, format('REVOKE ALL ON DATABASE %s FROM PUBLIC, %I', {n}, pg_get_userbyid(datdba)) \
         FROM d WHERE datacl IS NOT NULL \
         UNION ALL SELECT 6, format('GRANT %s ON DATABASE %s TO %s%s', a.privilege_type, {n}, \
         CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END, \
         CASE WHEN a.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END) \
         FROM d, aclexplode(d.datacl) a WHERE d.datacl IS NOT NULL) x ORDER BY o, q"
    )
}

/// One query giving `l`, the options of `CREATE DATABASE` that make a database of the live
/// one's encoding and locale (` ENCODING … LC_COLLATE … LC_CTYPE …`, and the locale provider
/// where the server has one: `datlocprovider` since 15, `daticulocale` in 15 and 16, `datlocale`
/// since 17), or no row when `live` does not exist. The row is read through `to_jsonb`, so the
/// columns a server lacks are NULL rather than an error.
#[must_use]
pub fn locale_query(live: &str) -> String {
    format!(
        "SELECT format(' ENCODING %L LC_COLLATE %L LC_CTYPE %L', \
         pg_encoding_to_char((j->>'encoding')::int), j->>'datcollate', j->>'datctype') || \
         CASE j->>'datlocprovider' \
         WHEN 'c' THEN ' LOCALE_PROVIDER libc' \
         WHEN 'i' THEN ' LOCALE_PROVIDER icu ICU_LOCALE ' || \
         quote_literal(coalesce(j->>'daticulocale', j->>'datlocale')) || \
         coalesce(' ICU_RULES ' || quote_literal(j->>'daticurules'), '') \
         WHEN 'b' THEN ' LOCALE_PROVIDER builtin BUILTIN_LOCALE ' || quote_literal(j->>'datlocale') \
         ELSE '' END AS l \
         FROM (SELECT to_jsonb(d) AS j FROM pg_database d WHERE datname = {}) x",
        literal(live)
    )
}

/// Create database `new` (owned by `owner` when given) from `template0` with the encoding and
/// locale of `live` ([`locale_query`]), printing them first as a [`MARK`] line (shown with
/// `-v`); with no `live` database (a first push), the server's defaults.
#[must_use]
pub fn create(live: &str, new: &str, owner: Option<&str>) -> String {
    let owner = owner
        .map(|u| format!(" OWNER {}", ident(u)))
        .unwrap_or_default();
    let q = locale_query(live);
    format!(
        "SELECT {mark} || ltrim(l) FROM ({q}) p;\n\
         SELECT {create} || coalesce(({q}), '') \\gexec\n",
        mark = literal(MARK),
        create = literal(&format!(
            "CREATE DATABASE {}{owner} TEMPLATE template0",
            ident(new)
        )),
    )
}

/// The swap's part that carries them: print each statement (shown with `-v`), then run each.
#[must_use]
pub fn carry_over(live: &str, new: &str) -> String {
    let q = statements_query(live, new);
    format!(
        "SELECT {mark} || q FROM ({q}) p \\g\n\
         SELECT q FROM ({q}) p \\gexec\n",
        mark = literal(MARK)
    )
}

/// How many properties a swap carried (its `carry over:` lines), the owner left out.
#[must_use]
pub fn carried(out: &str) -> Vec<String> {
    out.lines()
        .filter_map(|l| l.trim().strip_prefix(MARK))
        .filter(|l| !l.contains(" OWNER TO "))
        .map(String::from)
        .collect()
}
