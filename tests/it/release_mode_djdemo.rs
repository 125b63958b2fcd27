//! Release mode on djdemo for real: staging and production as two instances on one container
//! (`PostgreSQL` and nginx), each with its own database, gunicorn, nginx server and maintenance
//! switch; deployed with the wrapped `deploy`, upgraded, rolled back and prepared with
//! `setup_release` independently while the other keeps answering 200 with its own release.
//! djdemo's postinst work (its user, role, database, settings, static files) is taken over by
//! `release_setup_commands`.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use crate::djdemo::{attach_ok, copy_fixture, require_root_and_tools, SharedTemplate, WHEEL_CACHE};
use crate::support::{Dfab, Reserved};

/// What djdemo's postinst does, per instance: the app user, the settings (from the answers
/// rendered into shared/, the secret key kept across releases, the database named by the
/// instance) in the release, the role and the database, the static files.
const SETUP: &str = r#"release_setup_commands = [
  '''getent passwd djdemo >/dev/null || useradd --system --user-group --no-create-home --shell /usr/sbin/nologin djdemo''',
  '''set -e; set -a; . "$DFAB_CONFIG/debconf.env"; . "$DFAB_CONFIG/debconf-secrets.env"; set +a
s="$DFAB_RELEASE/etc/djdemo/settings.json"; mkdir -p "$DFAB_RELEASE/etc/djdemo"
if [ -f "$DFAB_SHARED/settings.json" ]; then cp -p "$DFAB_SHARED/settings.json" "$s"; fi
DJDEMO_RELEASE=$(basename "$DFAB_RELEASE") DJDEMO_DB_NAME="djdemo_$DFAB_INSTANCE" DJDEMO_DB_USER="djdemo_$DFAB_INSTANCE" DJDEMO_STATIC_ROOT="$DFAB_RELEASE/static" python3 usr/share/djdemo/write_settings.py "$s"
cp -p "$s" "$DFAB_SHARED/settings.json"''',
  '''set -e; timeout 60 sh -c 'until pg_isready -q; do sleep 0.2; done'
r="djdemo_$DFAB_INSTANCE"
DJDEMO_DB_PASSWORD=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["db_password"])' etc/djdemo/settings.json)
export DJDEMO_DB_PASSWORD
printf '%s\n' '\getenv pw DJDEMO_DB_PASSWORD' "SELECT 'CREATE ROLE $r LOGIN' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$r')\gexec" "ALTER ROLE $r LOGIN PASSWORD :'pw';" "SELECT 'CREATE DATABASE $r OWNER $r' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = '$r')\gexec" | runuser -u postgres -- psql -X -q -v ON_ERROR_STOP=1 -d postgres >/dev/null''',
  '''set -e; install -d -o djdemo -g djdemo "$DFAB_RELEASE/static"; "$DFAB_RELEASE/usr/bin/djdemo-manage" collectstatic --noinput --verbosity 0''',
]
"#;

/// gunicorn for the instance in `current` on `port`: the old one stopped first (its pid in
/// shared/), the new one daemonized as djdemo.
fn start(port: u16) -> String {
    format!(
        "release_start_command = '''set -e; pf=\"$DFAB_SHARED/gunicorn.pid\"
if [ -s \"$pf\" ]; then p=$(cat \"$pf\"); kill -QUIT \"$p\" 2>/dev/null || true; while kill -0 \"$p\" 2>/dev/null; do sleep 0.02; done; fi
cd \"$DFAB_RELEASE/usr/share/djdemo/app\"
DJDEMO_SETTINGS=\"$DFAB_RELEASE/etc/djdemo/settings.json\" runuser -u djdemo -- \"$DFAB_RELEASE/opt/djdemo/venv/bin/gunicorn\" --daemon --pid \"$pf\" --bind 127.0.0.1:{port} --workers 1 djdemo.wsgi:application'''\n"
    )
}

/// The two envs on one container, each its own port behind nginx.
fn toml(r: &Reserved, template: &str) -> String {
    let mut out = String::new();
    for (env, port) in [("staging", 8081_u16), ("production", 8082)] {
        let _ = write!(
        out,
            "[environments.{env}]\nlxc = \"{name}\"\nlxc_template = \"{template}\"\n\
             lxc_ipv4 = \"{ip}/24\"\nlxc_transport = \"attach\"\n\
             lxc_packages = [\"postgresql\", \"nginx-light\", \"sudo\", \"curl\"]\n\
             package_name = \"djdemo\"\npackage_dir = \"dist/\"\nwheel = true\n\
             venv_path = \"/opt/djdemo/venv\"\ninstall_mode = \"release\"\nkeep_releases = 1\n\
             manage_command = \"djdemo-manage\"\n\
             debconf = \"debconf.{env}.dat\"\n\
             migrate_command = '\"$DFAB_RELEASE/usr/bin/djdemo-manage\" migrate --noinput'\n\
             health_url = \"http://127.0.0.1:{port}/health\"\nhealth_timeout = 20\n\
             web_server = \"nginx\"\nmaintenance_check_url = \"http://127.0.0.1:{port}/\"\n\
             maintenance_allow = [\"/static/\", \"/health\"]\nmaintenance = \"always\"\n\
             deploy = [\"deb.build\", \"web_mode:maintenance\", \"deb.deploy\", \"db_migrate\", \"web_mode:live\"]\n\
             {start}{SETUP}\n",
            name = r.name,
            ip = r.ip,
            start = start(port + 920),
        );
    }
    out
}

/// The debconf answers of `env`.
fn debconf(env: &str, ip: &str) -> String {
    [
        ("site_name", format!("Notes of {env}")),
        ("db_password", format!("{env}-pw-{}", std::process::id())),
        ("allowed_hosts", ip.to_string()),
        ("migrate", "true".into()),
    ]
    .iter()
    .fold(String::new(), |s, (q, v)| {
        s + &format!(
            "Name: djdemo/{q}\nTemplate: djdemo/{q}\nValue: {v}\nOwners: djdemo\nFlags: seen\n\n"
        )
    })
}

/// nginx: one server per instance, each proxying to its gunicorn and including its own
/// maintenance snippet (a glob, so that nginx starts before `init` installs it).
const SITE: &str = r"cat > /etc/nginx/sites-enabled/djdemo-release <<'SITE'
server {
    listen 8081;
    include /etc/nginx/snippets/dfab-maintenance-djdemo-staging*.conf;
    location / { proxy_pass http://127.0.0.1:9001; proxy_set_header Host $host; }
}
server {
    listen 8082;
    include /etc/nginx/snippets/dfab-maintenance-djdemo-production*.conf;
    location / { proxy_pass http://127.0.0.1:9002; proxy_set_header Host $host; }
}
SITE
nginx -t -q && systemctl reload nginx";

/// The port of an instance.
fn port(env: &str) -> u16 {
    if env == "staging" {
        8081
    } else {
        8082
    }
}

/// `/` of an instance as curl in the container sees it: status and body.
fn page(c: &str, env: &str) -> (String, String) {
    let out = attach_ok(
        c,
        &format!(
            "curl -s -w '\\n%{{http_code}}' http://127.0.0.1:{}/",
            port(env)
        ),
    );
    let (body, code) = out.rsplit_once('\n').unwrap();
    (code.to_string(), body.to_string())
}

/// The release name `current` of `env` points at.
fn current(c: &str, env: &str) -> String {
    attach_ok(
        c,
        &format!("basename $(readlink /srv/djdemo/{env}/current)"),
    )
    .trim()
    .to_string()
}

/// Asserts `env` answers 200 with its current release on the page.
#[track_caller]
fn serves_current(c: &str, env: &str) -> String {
    let cur = current(c, env);
    let (code, body) = page(c, env);
    assert_eq!(code, "200", "{env}: {body}");
    assert!(
        body.contains(&format!("release {cur}")),
        "{env} does not serve {cur}: {body}"
    );
    assert!(body.contains(&format!("Notes of {env}")), "{body}");
    cur
}

/// A request loop on `env` in the container, until [`loop_stop`]: one `<code> <release>` line
/// per request in /tmp/loop-<env>.log.
fn loop_start(c: &str, env: &str) {
    attach_ok(
        c,
        &format!(
            "rm -f /tmp/loop-{env}.log /tmp/loop-{env}.stop
setsid nohup sh -c 'while [ ! -e /tmp/loop-{env}.stop ]; do
  b=$(curl -s -w \" %{{http_code}}\" http://127.0.0.1:{p}/); printf \"%s %s\\n\" \"${{b##* }}\" \"$(printf %s \"$b\" | grep -o \"release [^ <]*\" | head -1)\" >>/tmp/loop-{env}.log
  sleep 0.05; done' >/dev/null 2>&1 </dev/null &",
            p = port(env)
        ),
    );
}

/// Stops the loop on `env`; asserts every answer was 200 with `release` and returns the count.
#[track_caller]
fn loop_stop(c: &str, env: &str, release: &str) -> usize {
    let log = attach_ok(
        c,
        &format!("touch /tmp/loop-{env}.stop; sleep 0.2; cat /tmp/loop-{env}.log"),
    );
    let want = format!("200 release {release}");
    for l in log.lines() {
        assert_eq!(
            l, want,
            "{env} answered otherwise while the other instance changed:\n{log}"
        );
    }
    log.lines().count()
}

fn dfab(project: &Path, args: &[&str]) -> String {
    let out = Dfab::new(project).args(args).run().ok();
    out.stdout + &out.stderr
}

#[test]
fn release_mode_djdemo_staging_and_production_on_one_container() {
    require_root_and_tools(&["lxc-attach", "debootstrap"]);
    let template = SharedTemplate::acquire();
    let r = Reserved::new();
    let dir = tempfile::Builder::new()
        .prefix("dfab-it-reldj-")
        .tempdir()
        .unwrap();
    let project = dir.path().join("djdemo");
    copy_fixture(&project);
    fs_err::remove_file(project.join("environments.py")).unwrap();
    fs_err::write(project.join("dfab.toml"), toml(&r, &template.name)).unwrap();
    for env in ["staging", "production"] {
        fs_err::write(
            project.join(format!("debconf.{env}.dat")),
            debconf(env, &r.ip),
        )
        .unwrap();
    }
    let c = r.name.as_str();
    let t0 = Instant::now();

    // The container (cloned by the first task), its nginx with a server per instance, and each
    // instance's init: its app user, its shared/ and its own maintenance snippet.
    dfab(&project, &["staging", "releases"]);
    attach_ok(
        c,
        "timeout 60 sh -c 'until s=$(systemctl is-system-running --wait 2>/dev/null); \
         [ \"$s\" = running ] || [ \"$s\" = degraded ]; do sleep 0.2; done'",
    );
    attach_ok(c, SITE);
    for env in ["staging", "production"] {
        let out = dfab(&project, &[env, "init"]);
        assert!(
            out.contains(&format!("dfab-maintenance-djdemo-{env}.conf")),
            "{out}"
        );
    }

    // staging through the wrapped deploy: built, in maintenance (its own flag), installed and
    // migrated in a release, live. Only staging's flag was ever set.
    let out = dfab(&project, &["staging", "deploy"]);
    assert!(
        out.contains("/srv/djdemo/staging/shared/maintenance.on"),
        "{out}"
    );
    assert!(out.contains("skipping db_migrate (release mode"), "{out}");
    assert!(out.contains("current → 1.0-"), "{out}");
    let s1 = serves_current(c, "staging");
    attach_ok(c, "test -e /srv/djdemo/staging/.dfab/deploy.lock.guard");
    // `manage` runs in the instance's current release: its own djdemo-manage (first on PATH),
    // venv and settings, as djdemo; no dpkg install of djdemo is on this host.
    let out = dfab(&project, &["staging", "manage:check"]);
    assert!(out.contains("System check identified no issues"), "{out}");

    // production's deploy (maintenance on production only) while staging answers 200 with its
    // release throughout.
    loop_start(c, "staging");
    let out = dfab(&project, &["production", "deploy"]);
    assert!(
        out.contains("/srv/djdemo/production/shared/maintenance.on"),
        "{out}"
    );
    let n = loop_stop(c, "staging", &s1);
    assert!(n > 5, "too few requests to staging: {n}");
    let p1 = serves_current(c, "production");
    // Each its own database.
    assert_eq!(
        attach_ok(
            c,
            "runuser -u postgres -- psql -XAtc \"SELECT datname FROM pg_database WHERE datname LIKE 'djdemo_%' ORDER BY 1\""
        ),
        "djdemo_production\ndjdemo_staging\n"
    );

    // 2.0 to staging while production answers 1.0 throughout.
    {
        let _cache = WHEEL_CACHE
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        Dfab::new(&project)
            .args(["staging", "deb.build:version=2.0"])
            .run()
            .ok();
    }
    loop_start(c, "production");
    let out = dfab(&project, &["staging", "deb.deploy"]);
    assert!(out.contains("→ 2.0-"), "{out}");
    loop_stop(c, "production", &p1);
    let s2 = serves_current(c, "staging");
    assert!(s2.starts_with("2.0-"), "{s2}");

    // Rollback of staging: one switch and a restart, no pip, no unpack, no dpkg (its speed is
    // measured by scripts/bench-release.sh, not asserted here); production untouched.
    loop_start(c, "production");
    let t = Instant::now();
    let out = Dfab::new(&project)
        .args(["-v", "staging", "rollback"])
        .run()
        .ok();
    let took = t.elapsed();
    loop_stop(c, "production", &p1);
    assert!(
        !out.stdout.contains("pip") && !out.stderr.contains("pip"),
        "{}",
        out.stdout
    );
    eprintln!("release_mode_djdemo: staging rollback took {took:.2?}");
    for word in ["dpkg-deb -x", "dpkg -i", "-m venv", "pip install"] {
        assert!(
            !out.stdout.contains(word),
            "rollback ran {word}: {}",
            out.stdout
        );
    }
    assert_eq!(serves_current(c, "staging"), s1);

    // setup_release on production: a release where `manage check` runs, not current, kept by
    // keep_days through the next deploy's clean (keep_releases = 1) and a clean_releases.
    let out = dfab(&project, &["production", "setup_release:keep_days=2"]);
    let path = out
        .lines()
        .find_map(|l| l.split("release path: ").nth(1))
        .unwrap_or_else(|| panic!("no release path: {out}"))
        .trim()
        .to_string();
    let checked = attach_ok(
        c,
        &format!("cd {path} && DFAB_RELEASE={path} usr/bin/djdemo-manage check 2>&1"),
    );
    assert!(checked.contains("no issues"), "{checked}");
    let name = path.rsplit('/').next().unwrap();
    let out = dfab(
        &project,
        &["production", &format!("manage:check,release={name}")],
    );
    assert!(out.contains("System check identified no issues"), "{out}");
    assert_eq!(current(c, "production"), p1);
    loop_start(c, "staging");
    let out = dfab(&project, &["production", "deb.deploy"]);
    assert!(out.contains("→ 2.0-"), "{out}");
    dfab(&project, &["production", "clean_releases"]);
    loop_stop(c, "staging", &s1);
    attach_ok(c, &format!("test -d {path}"));
    let listed = dfab(&project, &["production", "releases"]);
    assert!(listed.contains("pinned-until-"), "{listed}");
    let p2 = serves_current(c, "production");
    assert!(p2.starts_with("2.0-"), "{p2}");

    // production rolled back on its own; staging stays where it was.
    dfab(&project, &["-y", "production", "rollback"]);
    assert_eq!(serves_current(c, "production"), p1);
    assert_eq!(serves_current(c, "staging"), s1);
    eprintln!("release_mode_djdemo: {:.1?} in all", t0.elapsed());
}
