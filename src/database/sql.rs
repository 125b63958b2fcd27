//! The SQL and shell text of the database tasks: quoting, the per-table row counts, the
//! snapshot-consistent dump script and the swap.

use crate::transport::cmd::quote;

use super::target::{DbTarget, Role};

/// A quoted SQL identifier.
#[must_use]
pub fn ident(s: &str) -> String {
    format!("\"{}\"", s.replace('"', "\"\""))
}

/// A quoted SQL string literal.
#[must_use]
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// One query whose `\gexec` prints `schema.table|rows` for every user table.
pub const COUNTS: &str = "SELECT string_agg(format('SELECT %L, count(*) FROM %I.%I', \
     schemaname || '.' || tablename, schemaname, tablename), ' UNION ALL ') \
     FROM pg_tables WHERE schemaname NOT IN ('pg_catalog', 'information_schema') \\gexec";

/// Lines a dump script writes to stderr for dfab to read (prefix, tab, value).
pub const MARK_VERSION: &str = "dfab-server-version";
/// See [`MARK_VERSION`]: `dfab-count<TAB>schema.table|rows`.
pub const MARK_COUNT: &str = "dfab-count";

/// The dump, as one script on the database host: a REPEATABLE READ transaction exports its
/// snapshot, reads the server version and every table's row count in it, and `pg_dump
/// --snapshot` dumps that same snapshot to stdout in custom format. Nothing is left on the host.
#[must_use]
pub fn dump_script(db: &DbTarget) -> String {
    let conn = db.flags_sh(Role::Owner);
    let name = quote(&db.name);
    format!(
        r#"set -e
d=$(mktemp -d); p=
finish() {{ exec 3>&- 2>/dev/null || true; if [ -n "$p" ]; then kill "$p" 2>/dev/null || true; fi; rm -rf "$d"; }}
trap finish EXIT
mkfifo "$d/q"
psql -X -q -At -v ON_ERROR_STOP=1 {conn} -d {name} <"$d/q" >/dev/null 2>"$d/err" & p=$!
exec 3>"$d/q"
printf '%s\n' 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;' \
  "SELECT pg_export_snapshot() \g $d/snap" \
  "SHOW server_version \g $d/version" \
  "\o $d/counts" {counts} '\o' "\! touch $d/ready" >&3
while [ ! -e "$d/ready" ]; do
  if ! kill -0 "$p" 2>/dev/null; then cat "$d/err" >&2; p=; exit 3; fi
  sleep 0.05
done
printf '{MARK_VERSION}\t%s\n' "$(cat "$d/version")" >&2
sed 's/^/{MARK_COUNT}\t/' "$d/counts" >&2
pg_dump -Fc {conn} --snapshot="$(cat "$d/snap")" -d {name}
printf 'COMMIT;\n' >&3; exec 3>&-
wait "$p"; p=
"#,
        counts = quote(COUNTS),
    )
}

/// Count the rows of every table of database `name` (output `schema.table|rows`).
#[must_use]
pub fn counts_stdin() -> Vec<u8> {
    format!("{COUNTS}\n").into_bytes()
}

/// The swap, run in the `postgres` database: terminate connections to the live and new
/// databases, rename the live one aside and the new one in (one transaction), then drop the old.
#[must_use]
pub fn swap(live: &str, new: &str, old: &str, owner: Option<&str>) -> String {
    let (l, n, o) = (ident(live), ident(new), ident(old));
    let owner = owner
        .map(|u| format!("ALTER DATABASE {l} OWNER TO {};\n", ident(u)))
        .unwrap_or_default();
    format!(
        "\\set ON_ERROR_STOP 1\n\
         SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = {ll}) AS live \\gset\n\
         BEGIN;\n\
         SELECT format('terminated %s connection(s) to %s', count(pg_terminate_backend(pid, 10000)), {ll}) \
         FROM pg_stat_activity WHERE datname IN ({ll}, {nl}) AND pid <> pg_backend_pid();\n\
         \\if :live\n\
         ALTER DATABASE {l} RENAME TO {o};\n\
         \\endif\n\
         ALTER DATABASE {n} RENAME TO {l};\n\
         {owner}\
         COMMIT;\n\
         \\if :live\n\
         DROP DATABASE {o};\n\
         \\endif\n\
         SELECT format('database %s swapped in', {ll});\n",
        ll = literal(live),
        nl = literal(new),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(ident("my\"db"), "\"my\"\"db\"");
        assert_eq!(literal("it's"), "'it''s'");
    }

    #[test]
    fn swap_renames_in_one_transaction_and_drops_after() {
        let s = swap("app", "app_dfab_new", "app_dfab_old", Some("app"));
        let begin = s.find("BEGIN").unwrap();
        let commit = s.find("COMMIT").unwrap();
        let rename = s.find("RENAME TO \"app\"").unwrap();
        let drop = s.find("DROP DATABASE").unwrap();
        assert!(begin < rename && rename < commit && commit < drop, "{s}");
    }
}
