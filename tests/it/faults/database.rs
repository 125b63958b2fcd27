//! Fault kinds of issue 19 in the database tasks: which database a write reaches (judged by its
//! server), two operations on one database, what the swap keeps, and dfab's own sessions under
//! the server's timeouts, against real `PostgreSQL` 15 in test containers.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{project, Dfab, Outcome, TestHost};

const PASSWORD: &str = "Fk-9wq2Lm4-never-print";

/// A container with `PostgreSQL` running and database `app` owned by role `app`, filled by
/// `pgbench -i -s 1`.
fn pg_host() -> TestHost {
    let h = TestHost::new();
    h.check("root", "pg_ctlcluster 15 main start");
    psql(
        &h,
        "postgres",
        &format!("CREATE ROLE app LOGIN PASSWORD '{PASSWORD}'"),
    );
    psql(&h, "postgres", "CREATE DATABASE app OWNER app");
    h.check(
        "root",
        &format!(
            "PGPASSWORD='{PASSWORD}' pgbench -q -i -s 1 -h 127.0.0.1 -U app app 2>&1 >/dev/null"
        ),
    );
    h
}

/// `psql -At` as postgres on the host (the oracle; the database's timeouts do not apply).
fn psql(h: &TestHost, db: &str, sql: &str) -> String {
    let q = sql.replace('\'', "'\\''");
    h.check(
        "root",
        &format!(
            "runuser -u postgres -- env 'PGOPTIONS=-c statement_timeout=0 -c lock_timeout=0' \
             psql -X -At -v ON_ERROR_STOP=1 -d {db} -c '{q}'"
        ),
    )
    .trim()
    .to_string()
}

/// An env `name` reaching `host` (as written) with the database keys.
fn env(name: &str, host: &str, extra: &str) -> String {
    format!(
        "[environments.{name}]\nhosts = [\"{host}\"]\nuser = \"root\"\nkey_filename = \"{key}\"\n\
         known_hosts = \"/dev/null\"\nhost_key_checking = \"accept\"\n\
         db_name = \"app\"\ndb_user = \"app\"\ndb_password = \"{PASSWORD}\"\n{extra}\n",
        key = crate::support::KEY
    )
}

fn dfab(dir: &Path, args: &[&str]) -> Outcome {
    let o = Dfab::new(dir).args(args).run();
    assert!(
        !o.stdout.contains(PASSWORD) && !o.stderr.contains(PASSWORD),
        "the password leaked:\n{}\n{}",
        o.stdout,
        o.stderr
    );
    o
}

// Kind 1: a database was identified by its text. Production `hosts ['10.0.3.x']`, staging
// `hosts ['root@10.0.3.x:22']`, both `db_name 'demo'`: `db_clone` swapped a copy over
// production's database. The servers decide: source = target is refused, and so is any write
// into a protected env's database through another env's settings.
#[test]
fn k01_a_write_into_the_source_or_a_protected_database_by_another_name_is_refused() {
    let prod = pg_host();
    psql(&prod, "app", "CREATE TABLE only_in_production (x int)");
    let toml = format!(
        "{}{}",
        env("production", &prod.ip, ""),
        env(
            "staging",
            &format!("root@{}:22", prod.ip),
            "db_sanitize = [\"DELETE FROM pgbench_accounts\"]"
        )
    );
    let dir = project(&[("dfab.toml", &toml)]);
    let before = psql(&prod, "app", "SELECT count(*) FROM pgbench_accounts");
    let oid = psql(
        &prod,
        "postgres",
        "SELECT oid FROM pg_database WHERE datname = 'app'",
    );

    let out = dfab(dir.path(), &["staging", "db_clone"]);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains("are the same database")
            && out.stderr.contains("source (env `production`)"),
        "{}",
        out.stderr
    );
    // A push of production's own dump into "staging", which is production.
    dfab(dir.path(), &["production", "database.dump"]).ok();
    let out = dfab(dir.path(), &["staging", "database.push:from=production"]);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(
        out.stderr
            .contains("is the database of protected env `production`"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("force_push"), "{}", out.stderr);
    // Production's database is the one it was, whole.
    assert_eq!(
        psql(
            &prod,
            "postgres",
            "SELECT oid FROM pg_database WHERE datname = 'app'"
        ),
        oid
    );
    assert_eq!(
        psql(&prod, "app", "SELECT count(*) FROM pgbench_accounts"),
        before
    );
    assert_eq!(
        psql(
            &prod,
            "app",
            "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_production'"
        ),
        "1"
    );

    // A reviewer's find: when the protected env's own settings cannot reach its server (its
    // key is not on this machine), dfab only warned and the clone replaced its database. It
    // cannot tell, so it refuses (nothing written) unless `unverified=yes`.
    let toml = format!(
        "{}{}",
        env("production", &prod.ip, "").replace(crate::support::KEY, "/nonexistent/ops_only_key"),
        env("staging", &format!("root@{}:22", prod.ip), "")
    );
    fs_err::write(dir.path().join("dfab.toml"), toml).unwrap();
    let out = dfab(dir.path(), &["staging", "database.push:from=production"]);
    assert_ne!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains(
            "could not ask the server of protected env `production` whether it holds the \
             database of env `staging`"
        ) && out.stderr.contains("database.push:unverified=yes"),
        "{}",
        out.stderr
    );
    assert_eq!(
        psql(
            &prod,
            "postgres",
            "SELECT oid FROM pg_database WHERE datname = 'app'"
        ),
        oid
    );
}

/// Wait (up to a minute) until `sql` on `h` says `t`.
fn wait_for(h: &TestHost, sql: &str) {
    let start = Instant::now();
    while psql(h, "postgres", sql) != "t" {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "waited a minute for: {sql}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

// Kind 2: two database operations on one target raced. A push started during a `db_clone`
// dropped the clone's fixed `<db>_dfab_new` under it. A second operation is refused, naming
// the first, and the first finishes; temporary databases have names of their own.
#[test]
fn k02_a_second_operation_on_a_database_is_refused_naming_the_first() {
    let (prod, stage) = (pg_host(), pg_host());
    let toml = format!(
        "{}{}",
        env("production", &prod.ip, ""),
        // The clone holds its target for a few seconds in db_sanitize.
        env(
            "staging",
            &stage.ip,
            "db_sanitize = [\"SELECT pg_sleep(6)\", \"DELETE FROM pgbench_history\"]"
        )
    );
    let dir = project(&[("dfab.toml", &toml)]);
    dfab(dir.path(), &["production", "database.dump"]).ok();
    let clone = {
        let dir = dir.path().to_path_buf();
        std::thread::spawn(move || dfab(&dir, &["staging", "db_clone"]))
    };
    wait_for(
        &stage,
        "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE query LIKE '%pg_sleep(6)%' \
         AND pid <> pg_backend_pid())",
    );
    // The clone's temporary database has a name of its own.
    let temp = psql(
        &stage,
        "postgres",
        "SELECT string_agg(datname, ',') FROM pg_database WHERE datname LIKE 'app_dfab%'",
    );
    let unique = temp
        .strip_prefix("app_dfab_new_")
        .is_some_and(|s| s.len() == 8 && s.bytes().all(|b| b.is_ascii_hexdigit()));
    assert!(unique, "temporary databases: {temp}");
    for task in ["database.push", "db_clone"] {
        let second = dfab(dir.path(), &["staging", task]);
        assert_ne!(second.code, 0, "{task}: {second:?}");
        assert!(
            second.stderr.contains("database `app` is busy")
                && second.stderr.contains("dfab db_clone staging")
                && second.stderr.contains("since "),
            "{task}: {}",
            second.stderr
        );
    }
    let first = clone.join().unwrap();
    assert_eq!(first.code, 0, "the first operation failed: {first:?}");
    assert_eq!(
        psql(&stage, "app", "SELECT count(*) FROM pgbench_history"),
        "0"
    );
    assert_eq!(temporary_databases(&stage), "0");
    // Once it is done, the next one runs.
    dfab(dir.path(), &["staging", "database.push"]).ok();
}

/// How many temporary databases of dfab's (`app_dfab…`) are on `h`.
fn temporary_databases(h: &TestHost) -> String {
    psql(
        h,
        "postgres",
        "SELECT count(*) FROM pg_database WHERE datname LIKE 'app_dfab%'",
    )
}

/// What belongs to database `app` itself on `h`, sorted, one line.
fn database_level(h: &TestHost) -> String {
    psql(
        h,
        "postgres",
        "SELECT concat_ws(' | ', pg_get_userbyid(datdba), datconnlimit, \
         shobj_description(d.oid, 'pg_database'), \
         (SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest(datacl) a), \
         (SELECT string_agg(coalesce(pg_get_userbyid(nullif(setrole, 0)), '*') || ':' || \
         (SELECT string_agg(c, ';' ORDER BY c) FROM unnest(setconfig) c), ',' ORDER BY setrole) \
         FROM pg_db_role_setting \
         WHERE setdatabase = d.oid)) FROM pg_database d WHERE datname = 'app'",
    )
}

// Kind 3: the swap lost what belongs to the database: `ALTER DATABASE … SET`, the connection
// limit, the comment and `REVOKE CONNECT … FROM PUBLIC` were gone after `db_clone` (PUBLIC
// could connect again), with no word. They are carried over, and `-v` shows them.
#[test]
fn k03_the_swap_keeps_the_databases_settings_acl_comment_and_limit() {
    let (prod, stage) = (pg_host(), pg_host());
    for sql in [
        "CREATE ROLE reader LOGIN",
        "ALTER DATABASE app SET search_path = \"$user\", public",
        "ALTER DATABASE app SET timezone = 'Europe/Berlin'",
        "ALTER ROLE reader IN DATABASE app SET work_mem = '8MB'",
        "ALTER DATABASE app CONNECTION LIMIT 40",
        "COMMENT ON DATABASE app IS 'staging: sanitised copies only'",
        "REVOKE CONNECT, TEMPORARY ON DATABASE app FROM PUBLIC",
        "GRANT CONNECT ON DATABASE app TO reader",
    ] {
        psql(&stage, "postgres", sql);
    }
    let before = database_level(&stage);
    assert!(before.contains("reader=c/app"), "{before}");
    let toml = format!(
        "{}{}",
        env("production", &prod.ip, ""),
        env("staging", &stage.ip, "")
    );
    let dir = project(&[("dfab.toml", &toml)]);
    let out = dfab(dir.path(), &["-v", "staging", "db_clone"]).ok();
    assert!(
        out.stdout.contains("carry over: ALTER DATABASE")
            && out.stdout.contains("CONNECTION LIMIT 40")
            && out.stdout.contains("REVOKE ALL ON DATABASE"),
        "{}",
        out.stdout
    );
    assert_eq!(database_level(&stage), before);
    // The copy is in place (production's rows), and PUBLIC still may not connect.
    assert_eq!(
        psql(&stage, "app", "SELECT count(*) FROM pgbench_accounts"),
        "100000"
    );
    assert_eq!(
        psql(
            &stage,
            "postgres",
            "SELECT has_database_privilege('public', 'app', 'CONNECT')"
        ),
        "f"
    );
    // Without -v: one line says settings were carried.
    let out = dfab(dir.path(), &["staging", "db_clone"]).ok();
    assert!(
        out.stdout.contains("carried over") && !out.stdout.contains("carry over:"),
        "{}",
        out.stdout
    );
    assert_eq!(database_level(&stage), before);
}

// Kind 19: a timeout in the database broke dfab's own session. With the database's
// `idle_in_transaction_session_timeout` (and `statement_timeout`) short, the session holding
// the exported snapshot was killed and a complete dump reported as a pg_dump failure. dfab's
// sessions (the snapshot's, the counts', the restore's, the swap's) set what they need.
#[test]
fn k19_the_servers_timeouts_do_not_break_dfabs_own_sessions() {
    let (prod, stage) = (pg_host(), pg_host());
    for sql in [
        "ALTER DATABASE app SET idle_in_transaction_session_timeout = '100ms'",
        "ALTER DATABASE app SET statement_timeout = '1ms'",
        "ALTER DATABASE app SET lock_timeout = '1ms'",
    ] {
        psql(&prod, "postgres", sql);
        psql(&stage, "postgres", sql);
    }
    let toml = format!(
        "{}{}",
        env("production", &prod.ip, ""),
        env("staging", &stage.ip, "")
    );
    let dir = project(&[("dfab.toml", &toml)]);
    dfab(dir.path(), &["production", "database.dump"]).ok();
    let side: serde_json::Value = serde_json::from_str(
        &fs_err::read_to_string(dir.path().join("dumps/production.dump.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(side["tables"]["public.pgbench_accounts"], 100_000);
    dfab(dir.path(), &["staging", "db_clone"]).ok();
    assert_eq!(
        psql(&stage, "app", "SELECT count(*) FROM pgbench_accounts"),
        "100000"
    );
}

/// `application_name` of the session a [`hold`] opens.
const HOLDER: &str = "dfab-test holder";

/// Open a session on `h`'s database `app` (as postgres, in the background) that runs `sql` in
/// a transaction and then sleeps, holding what `sql` took until [`release`]; returns once it
/// sleeps.
fn hold(h: &TestHost, sql: &str) {
    let q = format!("BEGIN; {sql}; SELECT pg_sleep(600)").replace('\'', "'\\''");
    h.check(
        "root",
        &format!(
            "(cd / && PGAPPNAME='{HOLDER}' exec runuser -u postgres -- psql -X -q -d app \
             -c '{q}') >/dev/null 2>&1 </dev/null &"
        ),
    );
    wait_for(
        h,
        &format!(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = '{HOLDER}' \
             AND wait_event = 'PgSleep')"
        ),
    );
}

/// End the [`hold`] session (its transaction rolls back).
fn release(h: &TestHost) {
    psql(
        h,
        "postgres",
        &format!(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
             WHERE application_name = '{HOLDER}'"
        ),
    );
}

/// Wait until the session named `waiting` on `h` waits for a lock, then terminate the dump's
/// snapshot session (as an administrator would, `pg_terminate_backend`) and wait until it is gone.
fn end_snapshot_once_waiting(h: &TestHost, waiting: &str) {
    wait_for(
        h,
        &format!(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = '{waiting}' \
             AND wait_event_type = 'Lock')"
        ),
    );
    let ended = psql(
        h,
        "postgres",
        "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity \
         WHERE application_name = 'dfab snapshot production'",
    );
    assert_eq!(ended, "1", "the snapshot session was not found");
    wait_for(
        h,
        "SELECT NOT EXISTS (SELECT 1 FROM pg_stat_activity \
         WHERE application_name = 'dfab snapshot production')",
    );
}

// Kind 19, its second half: when the server ended dfab's session (the one holding the dump's
// exported snapshot, terminated by an administrator or killed by a server timeout), the dump
// was reported as a pg_dump failure. The right behaviour: the server's words and SQLSTATE are
// the cause; nothing is left behind (no temp file, no `<db>_dfab_new_*`, the target as it was);
// and a dump whose snapshot pg_dump had already taken completes and says so.
#[test]
fn k19_a_session_the_server_ends_is_named_and_a_taken_snapshot_completes() {
    let (prod, stage) = (pg_host(), pg_host());
    // A sequence: pg_dump reads it, the snapshot session's row counts (tables only) do not.
    psql(
        &prod,
        "app",
        "CREATE SEQUENCE only_dumped; ALTER SEQUENCE only_dumped OWNER TO app",
    );
    psql(&stage, "app", "CREATE TABLE only_in_staging (x int)");
    let toml = format!(
        "{}{}",
        env("production", &prod.ip, ""),
        env("staging", &stage.ip, "")
    );
    let dir = project(&[("dfab.toml", &toml)]);
    let dumps = dir.path().join("dumps");
    let spawn = |args: &'static [&'static str]| {
        let dir = dir.path().to_path_buf();
        std::thread::spawn(move || dfab(&dir, args))
    };
    let ended_by_the_server = |out: &Outcome| {
        assert_ne!(out.code, 0, "{out:?}");
        assert!(
            out.stderr.contains("snapshot session")
                && out.stderr.contains(
                    "the server said FATAL 57P01: terminating connection due to administrator \
                     command"
                )
                && out.stderr.contains("the server ended the session"),
            "{}",
            out.stderr
        );
        assert!(
            !out.stderr.contains("command failed") && !out.stderr.contains("not a complete"),
            "{}",
            out.stderr
        );
    };

    // 1. The snapshot session ends while it counts the rows (a table locked by another
    // session holds it), before pg_dump could take the snapshot: the dump fails with the cause.
    hold(
        &prod,
        "LOCK TABLE pgbench_branches IN ACCESS EXCLUSIVE MODE",
    );
    let dump = spawn(&["production", "database.dump"]);
    end_snapshot_once_waiting(&prod, "dfab snapshot production");
    release(&prod);
    let out = dump.join().unwrap();
    ended_by_the_server(&out);
    assert!(
        out.stderr
            .contains("the dump failed; no dump was written to dumps/production.dump\n"),
        "{}",
        out.stderr
    );
    let left: Vec<_> = fs_err::read_dir(&dumps)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert!(left.is_empty(), "left in dumps/: {left:?}");

    // 2. It ends after pg_dump took the snapshot (pg_dump waits for a lock on the sequence):
    // the dump is whole, and dfab says what the server did.
    hold(&prod, "DROP SEQUENCE only_dumped");
    let dump = spawn(&["production", "database.dump"]);
    end_snapshot_once_waiting(&prod, "dfab pg_dump production");
    release(&prod);
    let out = dump.join().unwrap();
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stderr.contains(
            "the dump's snapshot session was ended by the server after pg_dump had taken its \
             snapshot (FATAL 57P01: terminating connection due to administrator command); the \
             dump is complete"
        ),
        "{}",
        out.stderr
    );
    let side: serde_json::Value =
        serde_json::from_str(&fs_err::read_to_string(dumps.join("production.dump.json")).unwrap())
            .unwrap();
    assert_eq!(side["tables"]["public.pgbench_accounts"], 100_000);
    assert!(!dumps.join("production.dump.tmp").exists());

    // 3. db_clone: the source's snapshot session ends while it counts. The target is the
    // database it was, and nothing temporary is left on its host.
    let oid = |h: &TestHost| {
        psql(
            h,
            "postgres",
            "SELECT oid FROM pg_database WHERE datname = 'app'",
        )
    };
    let before = oid(&stage);
    hold(
        &prod,
        "LOCK TABLE pgbench_branches IN ACCESS EXCLUSIVE MODE",
    );
    let clone = spawn(&["staging", "db_clone"]);
    end_snapshot_once_waiting(&prod, "dfab snapshot production");
    release(&prod);
    ended_by_the_server(&clone.join().unwrap());
    assert_eq!(oid(&stage), before);
    assert_eq!(
        psql(
            &stage,
            "app",
            "SELECT count(*) FROM pg_tables WHERE tablename = 'only_in_staging'"
        ),
        "1"
    );
    assert_eq!(temporary_databases(&stage), "0");
    assert_eq!(
        stage.check("root", "ls /var/tmp | grep -c '^dfab-' || true"),
        "0\n"
    );
}

// Kind 22, the database half: a login shell that prints (`echo "Welcome to $(hostname)"` in the
// deploy user's .bashrc) made a dump "not a complete custom-format dump": its words were read
// as the dump's first bytes. The right behaviour: the dump, the push and the clone read their
// data past what the shell prints, and the shell is named.
#[test]
fn k22_a_login_shell_that_prints_never_reaches_a_dump() {
    let (prod, stage) = (pg_host(), pg_host());
    for h in [&prod, &stage] {
        super::transport::chatty_bashrc(h, "deploy");
        assert!(h.check("deploy", "true").starts_with("Welcome to "));
    }
    psql(&prod, "app", "CREATE TABLE only_in_production (x int)");
    psql(&prod, "app", "INSERT INTO only_in_production VALUES (7)");
    let as_deploy = |name: &str, h: &TestHost| {
        env(name, &h.ip, "").replace("user = \"root\"", "user = \"deploy\"")
    };
    let toml = format!(
        "{}{}",
        as_deploy("production", &prod),
        as_deploy("staging", &stage)
    );
    assert!(toml.matches("user = \"deploy\"").count() == 2, "{toml}");
    let dir = project(&[("dfab.toml", &toml)]);
    let named = |out: &Outcome| {
        assert!(
            out.stderr.contains("prints 'Welcome to ") && out.stderr.contains(".bashrc"),
            "the shell's output is not named: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("not a complete"), "{}", out.stderr);
    };
    // What staging's `only_in_production` holds ("" when it has none).
    let in_staging = || {
        let exists = psql(
            &stage,
            "app",
            "SELECT to_regclass('only_in_production') IS NOT NULL",
        );
        if exists == "t" {
            psql(
                &stage,
                "app",
                "SELECT string_agg(x::text, ',') FROM only_in_production",
            )
        } else {
            String::new()
        }
    };
    assert_eq!(in_staging(), "");

    let out = dfab(dir.path(), &["production", "database.dump"]);
    assert_eq!(out.code, 0, "{out:?}");
    named(&out);
    let dump = fs_err::read(dir.path().join("dumps/production.dump")).unwrap();
    assert!(
        dump.starts_with(b"PGDMP"),
        "{:?}",
        &dump[..dump.len().min(40)]
    );
    let side: serde_json::Value = serde_json::from_str(
        &fs_err::read_to_string(dir.path().join("dumps/production.dump.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(side["tables"]["public.pgbench_accounts"], 100_000);
    assert_eq!(side["tables"]["public.only_in_production"], 1);

    // The push of that file (put, pg_restore --list, restore and swap), then a live clone.
    let out = dfab(dir.path(), &["staging", "database.push:from=production"]);
    assert_eq!(out.code, 0, "{out:?}");
    named(&out);
    assert_eq!(in_staging(), "7");
    psql(&stage, "app", "DROP TABLE only_in_production");
    let out = dfab(dir.path(), &["staging", "db_clone"]);
    assert_eq!(out.code, 0, "{out:?}");
    named(&out);
    assert_eq!(in_staging(), "7");
    assert_eq!(
        psql(&stage, "app", "SELECT count(*) FROM pgbench_accounts"),
        "100000"
    );
}

// A reviewer's find (kind 2, the same race after a kill): `kill -9` of a `db_clone` during its
// `db_sanitize` freed the lock while the sanitize went on in the temporary database, and the next
// clone failed with "ERROR 55006: database … is being accessed by other users". A killed run's
// temporary database is dropped with its sessions, and the next clone goes through.
#[test]
fn k02_a_clone_killed_mid_sanitize_leaves_nothing_that_blocks_the_next() {
    let (prod, stage) = (pg_host(), pg_host());
    let toml = |sanitize: &str| {
        format!(
            "{}{}",
            env("production", &prod.ip, ""),
            env(
                "staging",
                &stage.ip,
                &format!("db_sanitize = [\"{sanitize}\"]")
            )
        )
    };
    let dir = project(&[("dfab.toml", &toml("SELECT pg_sleep(30)"))]);
    dfab(dir.path(), &["production", "database.dump"]).ok();
    let mut child = super::background(dir.path(), &["staging", "db_clone"]);
    wait_for(
        &stage,
        "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE query LIKE '%pg_sleep(30)%' \
         AND pid <> pg_backend_pid())",
    );
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // The copy of production's data received on the host goes with the killed run.
    let start = Instant::now();
    while stage
        .ssh("root", "ls /var/tmp/dfab-* 2>/dev/null | grep -q .")
        .status
        .success()
    {
        assert!(
            start.elapsed() < Duration::from_secs(15),
            "the killed run's dump stayed on the host: {}",
            stage.check("root", "ls -l /var/tmp/")
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    fs_err::write(
        dir.path().join("dfab.toml"),
        toml("DELETE FROM pgbench_history"),
    )
    .unwrap();
    let out = dfab(dir.path(), &["staging", "db_clone"]);
    assert_eq!(out.code, 0, "{out:?}");
    assert_eq!(
        psql(&stage, "app", "SELECT count(*) FROM pgbench_history"),
        "0"
    );
    assert_eq!(temporary_databases(&stage), "0");
}

/// Database `name`'s encoding, collation and character classification on `h`, one line.
fn encoding_and_collation(h: &TestHost, name: &str) -> String {
    psql(
        h,
        "postgres",
        &format!(
            "SELECT concat_ws(' | ', pg_encoding_to_char(encoding), datcollate, datctype, \
             datlocprovider) FROM pg_database WHERE datname = '{name}'"
        ),
    )
}

// Kind 3, what the database is made of: after `db_clone` a target created `ENCODING 'LATIN1'
// LC_COLLATE 'C' LC_CTYPE 'C'` was `UTF8 | C.UTF-8`, with no word: the temporary database was
// made with the server's defaults. It is made with the live database's encoding and locale, and
// `-v` shows them.
#[test]
fn k03_the_swap_keeps_the_databases_encoding_and_collation() {
    let prod = pg_host();
    let stage = TestHost::new();
    stage.check("root", "pg_ctlcluster 15 main start");
    psql(
        &stage,
        "postgres",
        &format!("CREATE ROLE app LOGIN PASSWORD '{PASSWORD}'"),
    );
    psql(
        &stage,
        "postgres",
        "CREATE DATABASE app OWNER app ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' \
         TEMPLATE template0",
    );
    let before = encoding_and_collation(&stage, "app");
    assert_eq!(before, "LATIN1 | C | C | c");
    // The server's own default differs, or the test would prove nothing.
    assert_ne!(encoding_and_collation(&stage, "template1"), before);
    let toml = format!(
        "{}{}",
        env("production", &prod.ip, ""),
        env("staging", &stage.ip, "")
    );
    let dir = project(&[("dfab.toml", &toml)]);
    let out = dfab(dir.path(), &["-v", "staging", "db_clone"]).ok();
    assert_eq!(encoding_and_collation(&stage, "app"), before);
    assert!(
        out.stdout.contains("carry over: ENCODING 'LATIN1'")
            && out.stdout.contains("LC_COLLATE 'C'"),
        "{}",
        out.stdout
    );
    assert_eq!(
        psql(&stage, "app", "SELECT count(*) FROM pgbench_accounts"),
        "100000"
    );
}
