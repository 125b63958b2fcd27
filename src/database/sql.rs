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

/// See [`MARK_VERSION`]: `dfab-session<TAB>line`, the snapshot session's stderr when it ended
/// with an error (the server's `FATAL:  25P03: …`).
pub const MARK_SESSION: &str = "dfab-session";

/// The dump, as one script on the database host: a REPEATABLE READ transaction exports its
/// snapshot, reads the server version and every table's row count in it, and `pg_dump
/// --snapshot` dumps that same snapshot to stdout in custom format. Nothing is left on the host.
/// The script exits with `pg_dump`'s status; when the snapshot session ended with an error, its
/// words follow [`MARK_SESSION`] on stderr, so the cause is the server's, not "`pg_dump` failed".
/// Both sessions name themselves ([`snapshot_app`], [`pg_dump_app`]), so an administrator
/// looking at `pg_stat_activity` sees whose they are.
#[must_use]
pub fn dump_script(db: &DbTarget) -> String {
    let conn = db.flags_sh(Role::Owner);
    let name = quote(&db.name);
    let (snap_app, dump_app) = (quote(&snapshot_app(&db.env)), quote(&pg_dump_app(&db.env)));
    format!(
        r#"set -e
trap '' PIPE
d=$(mktemp -d); p=
finish() {{ exec 3>&- 2>/dev/null || true; if [ -n "$p" ]; then kill "$p" 2>/dev/null || true; fi; rm -rf "$d"; }}
trap finish EXIT
session() {{ sed 's/^/{MARK_SESSION}	/' "$d/err" >&2; }}
mkfifo "$d/q"
PGAPPNAME={snap_app} psql -X -q -At -v ON_ERROR_STOP=1 -v VERBOSITY=verbose {conn} -d {name} <"$d/q" >/dev/null 2>"$d/err" & p=$!
exec 3>"$d/q"
printf '%s
' 'BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;'   "SELECT pg_export_snapshot() \g $d/snap"   "SHOW server_version \g $d/version"   "\o $d/counts" {counts} '\o' "\! touch $d/ready" >&3
while [ ! -e "$d/ready" ]; do
  if ! kill -0 "$p" 2>/dev/null; then session; p=; exit 3; fi
  sleep 0.05
done
printf '{MARK_VERSION}	%s
' "$(cat "$d/version")" >&2
sed 's/^/{MARK_COUNT}	/' "$d/counts" >&2
s=0
PGAPPNAME={dump_app} pg_dump -Fc {conn} --snapshot="$(cat "$d/snap")" -d {name} || s=$?
{{ printf 'COMMIT;
' >&3; }} 2>/dev/null || true
exec 3>&-
if ! wait "$p"; then session; fi
p=
exit "$s"
"#,
        counts = quote(COUNTS),
    )
}

/// `application_name` of the session holding a dump's snapshot of env `env`'s database:
/// `dfab snapshot <env>` (at most the 63 bytes the server keeps).
#[must_use]
pub fn snapshot_app(env: &str) -> String {
    app_name(&format!("dfab snapshot {env}"))
}

/// `application_name` of the `pg_dump` that reads the snapshot: `dfab pg_dump <env>`.
#[must_use]
pub fn pg_dump_app(env: &str) -> String {
    app_name(&format!("dfab pg_dump {env}"))
}

/// `name` cut to the 63 bytes the server keeps of an `application_name`.
pub(super) fn app_name(name: &str) -> String {
    let mut end = name.len().min(63);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_string()
}

/// Count the rows of every table of database `name` (output `schema.table|rows`).
#[must_use]
pub fn counts_stdin() -> Vec<u8> {
    format!("{COUNTS}\n").into_bytes()
}

/// The swap, run in the `postgres` database: terminate connections to the live and new
/// databases, carry the live one's own properties over to the new one (see
/// [`super::props`]), rename the live one aside and the new one in (one transaction), then drop
/// the old.
#[must_use]
pub fn swap(live: &str, new: &str, old: &str) -> String {
    let (l, n, o) = (ident(live), ident(new), ident(old));
    format!(
        "\\set ON_ERROR_STOP 1\n\
         SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = {ll}) AS live \\gset\n\
         BEGIN;\n\
         SELECT format('terminated %s connection(s) to %s', count(pg_terminate_backend(pid, 10000)), {ll}) \
         FROM pg_stat_activity WHERE datname IN ({ll}, {nl}) AND pid <> pg_backend_pid();\n\
         {carry}\
         \\if :live\n\
         ALTER DATABASE {l} RENAME TO {o};\n\
         \\endif\n\
         ALTER DATABASE {n} RENAME TO {l};\n\
         COMMIT;\n\
         \\if :live\n\
         DROP DATABASE {o};\n\
         \\endif\n\
         SELECT format('database %s swapped in', {ll});\n",
        ll = literal(live),
        nl = literal(new),
        carry = super::props::carry_over(live, new),
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
        let s = swap("app", "app_dfab_new", "app_dfab_old");
        let begin = s.find("BEGIN").unwrap();
        let commit = s.find("COMMIT").unwrap();
        let rename = s.find("RENAME TO \"app\"").unwrap();
        let drop = s.find("DROP DATABASE").unwrap();
        let carry = s.find("\\gexec").unwrap();
        assert!(begin < carry && carry < rename, "{s}");
        assert!(begin < rename && rename < commit && commit < drop, "{s}");
    }
}
