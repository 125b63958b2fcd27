//! The database tasks against real `PostgreSQL` 15 inside test containers, reached over ssh:
//! dump, push (restore into a temporary database and swap), the production guard, sanitising,
//! `db_clone`, failures that must leave the live database alone, and the password kept secret.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::support::{assert_same_calls, project, traced, Dfab, Outcome, TestHost};

const PASSWORD: &str = "Pw-3xq7Zr9-never-print";

/// A container with `PostgreSQL` running, role `app` (password [`PASSWORD`]) owning database
/// `app`, filled by `pgbench -i -s 1` when `data`.
fn pg_host(data: bool) -> TestHost {
    let h = TestHost::new();
    h.check("root", "pg_ctlcluster 15 main start");
    psql(
        &h,
        "postgres",
        &format!("CREATE ROLE app LOGIN PASSWORD '{PASSWORD}'"),
    );
    psql(&h, "postgres", "CREATE DATABASE app OWNER app");
    if data {
        h.check(
            "root",
            &format!("PGPASSWORD='{PASSWORD}' pgbench -q -i -s 1 -h 127.0.0.1 -U app app 2>&1 >/dev/null"),
        );
    }
    h
}

/// `psql -At` as postgres on the host (the oracle).
fn psql(h: &TestHost, db: &str, sql: &str) -> String {
    let q = sql.replace('\'', "'\\''");
    h.check(
        "root",
        &format!("runuser -u postgres -- psql -X -At -v ON_ERROR_STOP=1 -d {db} -c '{q}'"),
    )
}

/// Every user table with its row count and the sha256 of its sorted COPY output.
fn fingerprint(h: &TestHost, db: &str) -> String {
    h.check(
        "root",
        &format!(
            "cd /tmp && for t in $(runuser -u postgres -- psql -X -At -d {db} -c \
             \"SELECT schemaname||'.'||tablename FROM pg_tables WHERE schemaname NOT IN ('pg_catalog','information_schema') ORDER BY 1\"); do \
             echo \"$t $(runuser -u postgres -- psql -X -At -d {db} -c \"COPY $t TO STDOUT\" | sort | sha256sum | cut -c1-16) \
             $(runuser -u postgres -- psql -X -At -d {db} -c \"SELECT count(*) FROM $t\")\"; done"
        ),
    )
}

/// One env for `h`, logging in as root, with the database keys.
fn env(h: &TestHost, name: &str, extra: &str) -> String {
    format!(
        "{}db_name = \"app\"\ndb_user = \"app\"\ndb_password = \"{PASSWORD}\"\n{extra}\n",
        h.env_toml(name, "root")
    )
}

fn dfab(dir: &Path, args: &[&str]) -> Outcome {
    Dfab::new(dir).args(args).run()
}

/// What the database tasks print by default (and with `-q`): one line per step and host,
/// each under 120 characters, in one unit; no remote output (psql's NOTICEs) unless `-v`.
#[track_caller]
fn assert_plain(o: &Outcome) {
    let all = format!("{}{}", o.stdout, o.stderr);
    for l in all.lines() {
        assert!(
            l.chars().count() < 120,
            "a line of {} characters: {l}",
            l.len()
        );
        assert!(
            !l.contains("] out: ") && !l.contains("] err: "),
            "remote output: {l}"
        );
    }
    assert!(!all.contains("NOTICE"), "{all}");
    assert!(!all.contains("MB/s") && !all.contains(" 0.0 s"), "{all}");
}

/// The line of `o`'s stdout that holds `what`, by position (to check the order of events).
#[track_caller]
fn line_of(o: &Outcome, what: &str) -> usize {
    o.stdout
        .lines()
        .position(|l| l.contains(what))
        .unwrap_or_else(|| panic!("no line holds `{what}`:\n{}", o.stdout))
}

#[track_caller]
fn assert_no_password(o: &Outcome) {
    assert!(
        !o.stdout.contains(PASSWORD) && !o.stderr.contains(PASSWORD),
        "the password leaked:\nstdout:\n{}\nstderr:\n{}",
        o.stdout,
        o.stderr
    );
}

#[test]
fn dump_then_push_gives_equal_tables_and_production_is_guarded() {
    let (prod, stage) = (pg_host(true), pg_host(false));
    psql(
        &stage,
        "app",
        "CREATE TABLE old_only (x int); INSERT INTO old_only VALUES (1)",
    );
    let toml = format!(
        "{}{}",
        env(&prod, "production", ""),
        env(&stage, "staging", "")
    );
    let dir = project(&[("dfab.toml", &toml)]);

    let out = dfab(dir.path(), &["production", "database.dump"]).ok();
    assert_no_password(&out);
    let dump = dir.path().join("dumps/production.dump");
    let meta = fs_err::metadata(&dump).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert!(!dir.path().join("dumps/production.dump.tmp").exists());
    // The sidecar's counts are the server's (pgbench -s 1: 100000 accounts).
    let side: serde_json::Value = serde_json::from_str(
        &fs_err::read_to_string(dir.path().join("dumps/production.dump.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(side["tables"]["public.pgbench_accounts"], 100_000);
    assert_eq!(side["tables"]["public.pgbench_branches"], 1);
    assert_eq!(side["size"], meta.len());
    assert_eq!(side["source_env"], "production");
    assert!(
        side["server_version"].as_str().unwrap().starts_with("15"),
        "{side}"
    );
    let sha = std::process::Command::new("sha256sum")
        .arg(&dump)
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&sha.stdout).starts_with(side["sha256"].as_str().unwrap()));
    // Nothing left on the host.
    assert_eq!(
        prod.check("root", "ls /tmp | grep -c tmp. || true").trim(),
        "0"
    );

    // A second dump keeps the first as .dump.1.
    dfab(dir.path(), &["production", "database.dump"]).ok();
    assert!(dir.path().join("dumps/production.dump.1").exists());
    assert!(dir.path().join("dumps/production.dump.1.json").exists());

    // Push (default: the last dump of db_clone_from, production).
    let out = dfab(dir.path(), &["staging", "database.push"]).ok();
    assert_no_password(&out);
    assert!(out.stdout.contains("terminated"), "{}", out.stdout);
    assert!(out.stdout.contains("row counts match"), "{}", out.stdout);
    assert_eq!(fingerprint(&prod, "app"), fingerprint(&stage, "app"));
    assert_eq!(
        psql(
            &stage,
            "app",
            "SELECT tableowner FROM pg_tables WHERE tablename = 'pgbench_accounts'"
        )
        .trim(),
        "app"
    );
    assert_eq!(
        psql(
            &stage,
            "postgres",
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'app'"
        )
        .trim(),
        "app"
    );
    assert_eq!(
        psql(
            &stage,
            "postgres",
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'app_dfab%'"
        )
        .trim(),
        "0"
    );
    // The same dump again: the host holds it, no upload.
    let out = dfab(dir.path(), &["staging", "database.push"]).ok();
    assert!(out.stdout.contains("upload skipped"), "{}", out.stdout);

    // Production: push refused, force_push asks (no terminal: refused), nothing touched.
    psql(&prod, "app", "CREATE TABLE marker (x int)");
    let before = fingerprint(&prod, "app");
    let out = dfab(dir.path(), &["production", "database.push:from=production"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("refuses to replace the database of env `production`"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("database.force_push"), "{}", out.stderr);
    let out = dfab(
        dir.path(),
        &["production", "database.force_push:from=production"],
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("Replace database `app` of env `production`"),
        "{}",
        out.stderr
    );
    assert_eq!(fingerprint(&prod, "app"), before);
    // -y answers: the marker table (not in the dump) is gone.
    dfab(
        dir.path(),
        &["-y", "production", "database.force_push:from=production"],
    )
    .ok();
    assert!(!fingerprint(&prod, "app").contains("marker"));
}

#[test]
fn corrupt_dump_and_half_failed_restore_leave_the_live_database_intact() {
    let (prod, stage) = (pg_host(true), pg_host(true));
    psql(
        &stage,
        "app",
        "CREATE TABLE live_marker (x int); INSERT INTO live_marker VALUES (42)",
    );
    let toml = format!(
        "{}{}",
        env(&prod, "production", ""),
        env(&stage, "staging", "")
    );
    let dir = project(&[("dfab.toml", &toml)]);
    dfab(dir.path(), &["production", "database.dump"]).ok();
    let live = fingerprint(&stage, "app");
    assert!(live.contains("live_marker"));

    // Garbage: refused before anything reaches the host.
    fs_err::write(dir.path().join("garbage.dump"), b"PGDMP not really a dump").unwrap();
    let out = dfab(dir.path(), &["staging", "database.push:file=garbage.dump"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("pg_restore --list rejects it"),
        "{}",
        out.stderr
    );
    assert_eq!(fingerprint(&stage, "app"), live);

    // A dump whose table of contents reads but whose data is damaged half-way: the restore
    // fails part-way through, in the temporary database.
    let mut bytes = fs_err::read(dir.path().join("dumps/production.dump")).unwrap();
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 4096] {
        *b ^= 0x5a;
    }
    fs_err::write(dir.path().join("damaged.dump"), &bytes).unwrap();
    let out = dfab(dir.path(), &["staging", "database.push:file=damaged.dump"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("the live database `app` is untouched"),
        "{}",
        out.stderr
    );
    assert_eq!(fingerprint(&stage, "app"), live);
    assert_eq!(
        psql(
            &stage,
            "postgres",
            "SELECT count(*) FROM pg_database WHERE datname LIKE 'app_dfab%'"
        )
        .trim(),
        "0"
    );

    // A sidecar whose counts disagree: refused after the restore, before the swap.
    let side_path = dir.path().join("dumps/production.dump.json");
    let text = fs_err::read_to_string(&side_path).unwrap().replace(
        "\"public.pgbench_branches\": 1",
        "\"public.pgbench_branches\": 2",
    );
    fs_err::write(&side_path, text).unwrap();
    let out = dfab(dir.path(), &["staging", "database.push"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("public.pgbench_branches: dump 2, restored 1"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("is untouched"), "{}", out.stderr);
    assert_eq!(fingerprint(&stage, "app"), live);
}

#[test]
fn db_clone_streams_between_containers_and_sanitizes_only_the_copy() {
    let (prod, stage) = (pg_host(true), pg_host(false));
    let sanitize = "db_sanitize = [\"UPDATE pgbench_accounts SET filler = 'scrubbed'\", \"DELETE FROM pgbench_history\"]";
    let toml = format!(
        "{}{}",
        env(&prod, "production", ""),
        env(&stage, "staging", sanitize)
    );
    let dir = project(&[("dfab.toml", &toml)]);
    let source = fingerprint(&prod, "app");

    let out = dfab(dir.path(), &["staging", "db_clone"]).ok();
    assert_no_password(&out);
    assert!(out.stdout.contains("db_sanitize"), "{}", out.stdout);
    // No local file, no file left on the target host.
    assert!(!dir.path().join("dumps").exists());
    assert_eq!(
        stage
            .check("root", "ls /var/tmp | grep -c dfab || true")
            .trim(),
        "0"
    );
    // The copy is sanitised, the source is not.
    assert_eq!(
        psql(
            &stage,
            "app",
            "SELECT count(*) FROM pgbench_accounts WHERE filler <> 'scrubbed'"
        )
        .trim(),
        "0"
    );
    assert_eq!(
        psql(&stage, "app", "SELECT count(*) FROM pgbench_accounts").trim(),
        "100000"
    );
    assert_eq!(fingerprint(&prod, "app"), source);
    assert_eq!(
        psql(
            &prod,
            "app",
            "SELECT count(*) FROM pgbench_accounts WHERE filler = 'scrubbed'"
        )
        .trim(),
        "0"
    );

    // keep=yes leaves the dump; cached=yes pushes it again; the same database is refused.
    dfab(dir.path(), &["staging", "db_clone:keep=yes"]).ok();
    assert!(dir.path().join("dumps/production.dump").exists());
    dfab(dir.path(), &["staging", "db_clone:cached=yes"]).ok();
    let same = format!(
        "{}{}",
        env(&prod, "production", ""),
        env(&prod, "staging", "")
    );
    let dir2 = project(&[("dfab.toml", &same)]);
    let out = dfab(dir2.path(), &["staging", "db_clone"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr.contains("are the same database"),
        "{}",
        out.stderr
    );
}

/// Unmounts a test tmpfs on drop.
struct Unmount(std::path::PathBuf);
impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn bad_connections_and_a_full_disk_fail_clearly_and_keep_the_current_dump() {
    let h = pg_host(true);
    let tcp = "db_host = \"127.0.0.1\"";
    let good = env(&h, "staging", tcp);
    let dir = project(&[("dfab.toml", &good)]);
    // A good dump over TCP with the password first: the current dump to protect.
    let out = dfab(dir.path(), &["staging", "database.dump"]).ok();
    assert_no_password(&out);
    let dump = dir.path().join("dumps/staging.dump");
    let current = fs_err::read(&dump).unwrap();

    let cases = [
        (
            good.replace(PASSWORD, "wrong-password-Q8"),
            "password authentication failed",
            "db_password",
        ),
        (
            good.replace("127.0.0.1", "127.0.0.1\"\ndb_port = \"5999"),
            "Connection refused",
            "db_host",
        ),
    ];
    for (toml, error, hint) in cases {
        fs_err::write(dir.path().join("dfab.toml"), &toml).unwrap();
        let out = dfab(dir.path(), &["staging", "database.dump"]);
        assert_eq!(out.code, 1, "{out:?}");
        assert!(out.stderr.contains(error), "{}", out.stderr);
        assert!(out.stderr.contains(hint), "{}", out.stderr);
        assert!(out.stderr.contains("is unchanged"), "{}", out.stderr);
        assert_no_password(&out);
        assert_eq!(fs_err::read(&dump).unwrap(), current);
        assert!(!dir.path().join("dumps/staging.dump.tmp").exists());
    }

    // A missing role: pushing into a database owned by `ghost` stops before the swap.
    let live = fingerprint(&h, "app");
    let ghost = good
        .replace("db_user = \"app\"", "db_user = \"ghost\"")
        .replace(tcp, "");
    fs_err::write(dir.path().join("dfab.toml"), &ghost).unwrap();
    let out = dfab(dir.path(), &["staging", "database.push:from=staging"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("role \"ghost\" does not exist"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("the live database `app` is untouched"),
        "{}",
        out.stderr
    );
    assert_no_password(&out);
    assert_eq!(fingerprint(&h, "app"), live);

    // A full disk: dumps/ on a 64 KiB tmpfs.
    fs_err::write(dir.path().join("dfab.toml"), &good).unwrap();
    let small = dir.path().join("small");
    fs_err::create_dir_all(small.join("dumps")).unwrap();
    let m = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(small.join("dumps"))
        .status()
        .unwrap();
    assert!(m.success(), "mount a tmpfs (this test runs as root)");
    let _u = Unmount(small.join("dumps"));
    fs_err::write(small.join("dumps/staging.dump"), b"previous").unwrap();
    fs_err::write(small.join("dfab.toml"), &good).unwrap();
    let out = dfab(&small, &["staging", "database.dump"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("No space left on device"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("is unchanged"), "{}", out.stderr);
    assert_eq!(
        fs_err::read(small.join("dumps/staging.dump")).unwrap(),
        b"previous"
    );
    assert!(!small.join("dumps/staging.dump.tmp").exists());
}

#[test]
fn the_password_appears_in_no_output_of_any_mode() {
    let (prod, stage) = (pg_host(true), pg_host(false));
    let tcp = "db_host = \"127.0.0.1\"";
    let toml = format!(
        "{}{}",
        env(&prod, "production", tcp),
        env(&stage, "staging", "")
    );
    let dir = project(&[("dfab.toml", &toml)]);
    let mut runs = Vec::new();
    for args in [
        &["production", "database.dump"][..],
        &["-v", "production", "database.dump"],
        &["-n", "-v", "production", "database.dump"],
        &["-n", "staging", "database.push"],
        &["-n", "staging", "db_clone"],
        &["-v", "staging", "db_clone"],
        &["-v", "staging", "database.push"],
        &["-n", "-y", "production", "database.force_push"],
        &["-l"],
        &["-q", "staging", "db_clone"],
    ] {
        runs.push((args, dfab(dir.path(), args)));
    }
    // Error paths: a wrong role, and a database that does not exist.
    let broken = toml.replace("db_name = \"app\"", "db_name = \"missing\"");
    fs_err::write(dir.path().join("dfab.toml"), broken).unwrap();
    for args in [
        &["-v", "production", "database.dump"][..],
        &["-v", "staging", "db_clone"],
    ] {
        let o = dfab(dir.path(), args);
        assert_eq!(o.code, 1, "{o:?}");
        runs.push((args, o));
    }
    for (args, o) in &runs {
        assert_no_password(o);
        let _ = args;
    }
    // The dry runs show the commands, with the password redacted.
    let dry = &runs[2].1;
    assert!(dry.stdout.contains("pg_dump -Fc"), "{}", dry.stdout);
    assert!(
        dry.stdout.contains("PGPASSWORD=(redacted)"),
        "{}",
        dry.stdout
    );
    assert!(!dir.path().join("dumps/production.dump.tmp").exists());
    assert!(runs[5].1.code == 0, "{:?}", runs[5].1);
    // -v shows the remote output of the steps (the swap's own line); -q and the default do
    // not, nor psql's NOTICE that the temporary database did not exist.
    assert!(
        runs[5]
            .1
            .stdout
            .contains("] out: terminated 0 connection(s) to app"),
        "{}",
        runs[5].1.stdout
    );
    let quiet = &runs[9].1;
    assert_eq!(quiet.code, 0, "{quiet:?}");
    assert_plain(quiet);
    assert_eq!(quiet.stdout, "", "{quiet:?}");
}

// db_clone refused a source env that is an LXC container ("cannot reach ... yet"), which is how
// dragonfab users' `lxc` envs and the demo's production are set up.
#[test]
fn db_clone_reads_an_lxc_source_env_through_its_container() {
    let (prod, stage) = (pg_host(true), pg_host(false));
    // `production` is an LXC env whose container is `prod` (already running, so activation
    // finds it and reaches it over ssh with the test key).
    let lxc_env = format!(
        "[environments.production]\nlxc = \"{name}\"\nlxc_template = \"{base}\"\nlxc_ipv4 = \"{ip}/24\"\n\
         key_filename = \"{key}\"\ndb_name = \"app\"\ndb_user = \"app\"\ndb_password = \"{PASSWORD}\"\n",
        name = prod.name,
        base = crate::support::BASE,
        ip = prod.ip,
        key = crate::support::KEY,
    );
    let toml = format!("{lxc_env}\n{}", env(&stage, "staging", ""));
    let dir = project(&[("dfab.toml", &toml)]);
    let source = fingerprint(&prod, "app");
    let dry = dfab(dir.path(), &["-n", "-v", "staging", "db_clone"]).ok();
    assert!(
        dry.stdout.contains(&format!("[{}] read: ", prod.name)),
        "{}",
        dry.stdout
    );
    let out = dfab(dir.path(), &["staging", "db_clone"]).ok();
    assert_no_password(&out);
    assert_eq!(fingerprint(&stage, "app"), source);
    assert!(!dir.path().join("dumps").exists());
}

// Issue 18: `-n` runs the same code as the real run against recorders, so the calls it records
// on each host are the calls the run makes, in order (a `<placeholder>` for what a host answers).
#[test]
fn dry_run_records_the_calls_db_clone_push_and_dump_make() {
    let (prod, stage) = (pg_host(true), pg_host(false));
    let toml = format!(
        "{}{}",
        env(&prod, "production", ""),
        env(
            &stage,
            "staging",
            "db_sanitize = [\"DELETE FROM pgbench_history\"]"
        )
    );
    let dir = project(&[("dfab.toml", &toml)]);
    // What -n says, pinned: every line says what would be done, with no figures.
    let (s, p) = (&stage.ip, &prod.ip);
    let push_lines = |upload: &str, task: &str| {
        format!(
            "{upload}[{s}] would restore /var/tmp/dfab-staging-app.dump into a temporary database with 2 jobs\n\
             [{s}] would run db_sanitize in a temporary database\n\
             [{s}] would swap a temporary database in as `app` (its settings kept, its connections ended)\n\
             [{s}] {task}: would replace database `app`\n"
        )
    };
    let upload =
        format!("[{s}] would upload dumps/production.dump to /var/tmp/dfab-staging-app.dump\n");
    let both = |args: &[&str], said: &str| {
        let mut dry = vec!["-n"];
        dry.extend_from_slice(args);
        let (d, dry_calls) = traced(dir.path(), &dry);
        let d = d.ok();
        assert_eq!(d.stdout, said, "-n {args:?}");
        assert_plain(&d);
        let (r, real_calls) = traced(dir.path(), args);
        let r = r.ok();
        assert_plain(&r);
        assert!(!real_calls.is_empty(), "the run made no call");
        assert_same_calls(&dry_calls, &real_calls);
        (d, r, real_calls)
    };
    let source = fingerprint(&prod, "app");
    // Streamed: the source's dump and the target's restore, nothing on this machine.
    let streamed = format!("[{s}] would stream `app` from {p} (production)\n");
    let (_, out, calls) = both(&["staging", "db_clone"], &push_lines(&streamed, "db_clone"));
    // What happened, in order: the stream ended, then the restore, the check, the swap.
    let order = [
        "] streamed `app` from",
        "] restored into `app_dfab_new_",
        "] row counts match the dump's",
        "] db_sanitize ran in `app_dfab_new_",
        "` in as `app`: 0 connections terminated",
        "] db_clone: replaced database `app`",
    ];
    let at: Vec<usize> = order.iter().map(|w| line_of(&out, w)).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "{}", out.stdout);
    // pgbench -s 1 dumps to a few hundred KiB: sizes in binary units, no rate below 1 MiB.
    let streamed = &out.stdout.lines().nth(at[0]).unwrap_or_default();
    assert!(streamed.ends_with(" KiB"), "{streamed}");
    assert!(
        calls
            .iter()
            .any(|c| c.contains(&prod.ip) && c.contains("] read: ")),
        "{calls:#?}"
    );
    assert_eq!(fingerprint(&stage, "app"), source);
    // Through a kept dump (which -n does not write).
    let dumped = format!("[{p}] would dump `app` into dumps/production.dump\n{upload}");
    let (_, out, _) = both(
        &["staging", "db_clone:keep=yes"],
        &push_lines(&dumped, "db_clone"),
    );
    assert!(dir.path().join("dumps/production.dump").exists());
    let at = [
        line_of(
            &out,
            &format!("[{p}] dumped `app` into dumps/production.dump: "),
        ),
        line_of(&out, &format!("[{s}] uploaded ")),
        line_of(&out, "] restored into"),
    ];
    assert!(at[0] < at[1] && at[1] < at[2], "{}", out.stdout);
    both(
        &["staging", "db_clone:cached=yes"],
        &push_lines(&upload, "db_clone"),
    );
    let (_, out, _) = both(
        &["production", "database.dump"],
        &format!("[{p}] database.dump: would dump `app` into dumps/production.dump\n"),
    );
    assert!(
        out.stdout.starts_with(&format!(
            "[{p}] database.dump: dumped `app` into dumps/production.dump: 4 tables, "
        )),
        "{}",
        out.stdout
    );
    let (_, _, calls) = both(
        &["staging", "database.push"],
        &push_lines(&upload, "database.push"),
    );
    // Whether the host holds the dump already is asked, and recorded, in both.
    assert!(
        calls.iter().any(|c| c.contains("read: sha256sum")),
        "{calls:#?}"
    );
    assert_eq!(fingerprint(&stage, "app"), source);
    // A dump without a sidecar: its row counts are not read under -n either.
    fs_err::copy(
        dir.path().join("dumps/production.dump"),
        dir.path().join("plain.dump"),
    )
    .unwrap();
    // (The host keeps the pushed file, and then skips the upload, which -n cannot know.)
    stage.check("root", "rm /var/tmp/dfab-staging-app.dump");
    let plain = format!("[{s}] would upload plain.dump to /var/tmp/dfab-staging-app.dump\n");
    let (dry, out, _) = both(
        &["staging", "database.push:file=plain.dump"],
        &push_lines(&plain, "database.push"),
    );
    assert_eq!(
        dry.stderr,
        format!("warning: [{s}] the dump has no sidecar: its row counts would not be checked\n")
    );
    assert!(
        out.stderr.contains(&format!(
            "warning: [{s}] the dump has no sidecar: its row counts not checked"
        )),
        "{}",
        out.stderr
    );
}
