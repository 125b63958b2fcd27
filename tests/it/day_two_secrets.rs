//! Day-two operations (issue 20), on real containers: git safety before a protected env's
//! deploy, debconf answers pushed without a new release (`deb.reconfigure`, and a `deploy` whose
//! only change is the answers), secrets that never live in the repository, Ansible inventories.

use std::path::Path;
use std::process::Command;

use crate::support::{
    copy_tree, deploy_app_fixture, git, git_repo, project, Dfab, Outcome, TestHost, KEY,
};

/// The fixture's debconf answers with this site name and admin password.
fn answers(site: &str, password: &str) -> String {
    format!(
        "Name: deploy-app/site_name\nTemplate: deploy-app/site_name\nValue: {site}\n\
         Owners: deploy-app\nFlags: seen\n\n\
         Name: deploy-app/admin_password\nTemplate: deploy-app/admin_password\n\
         Value: {password}\nOwners: deploy-app\nFlags: seen\n"
    )
}

/// A `dfab.toml` env `name` reaching `h` as root; `extra`: more lines of its table.
fn env_table(name: &str, h: &TestHost, extra: &str) -> String {
    format!(
        "[environments.{name}]\nhosts = [\"{ip}\"]\nuser = \"root\"\nkey_filename = \"{KEY}\"\n\
         known_hosts = \"/dev/null\"\nhost_key_checking = \"accept\"\ntimeout = 5\n\
         package_dir = \"dist/\"\ndeploy = [\"deb.build\", \"deb.deploy\"]\n{extra}\n",
        ip = h.ip
    )
}

/// A copy of fixtures/deploy-app with this `dfab.toml` and these files.
fn app(toml: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
    let mut all = vec![("dfab.toml", toml)];
    all.extend_from_slice(files);
    let dir = project(&all);
    copy_tree(&deploy_app_fixture(), dir.path());
    dir
}

/// What the fixture's postinst wrote on `h` from the answers it got.
fn config(h: &TestHost) -> String {
    h.check("root", "cat /var/lib/deploy-app/config")
}

/// Copies of the debconf answers left on `h` by dfab's host program.
fn copies_on(h: &TestHost) -> String {
    h.check(
        "root",
        "ls -d /var/lib/dfab/deploy-app/debconf.* 2>/dev/null || true",
    )
}

fn dfab(dir: &Path, args: &[&str]) -> Outcome {
    Dfab::new(dir).args(args).run()
}

// Git safety: a protected env refuses a dirty tree, and deploys it with force=yes, the commit
// (marked dirty) then in `releases`; a `branch` that is no branch is an error before anything
// runs. Then the answers alone change twice: `deb.reconfigure`, then `deploy`, each bring them
// to the host without a new release, and no copy of them is left there.
#[test]
fn git_safety_then_answers_pushed_without_a_release() {
    let h = TestHost::new();
    let toml = format!(
        "{}{}",
        env_table(
            "live",
            &h,
            "protected = true\nbranch = \"main\"\ndebconf = \"debconf.dat\""
        ),
        env_table("wrong", &h, "branch = \"no-such-branch\"")
    );
    let dir = app(
        &toml,
        &[
            ("debconf.dat", &answers("one.example.com", "pw-one-1234")),
            (".gitignore", "dist/\n.dfab/\n"),
        ],
    );
    let p = dir.path();
    git_repo(p);

    // A branch that does not exist: an error naming the key, nothing run.
    Dfab::new(p)
        .args(["wrong", "deb.deploy"])
        .status(2)
        .stderr_has("key `wrong.branch`: `no-such-branch` is not a branch")
        .run_checked();

    // A dirty tree: refused on the protected env, naming why.
    fs_err::write(p.join("share/VERSION"), "1.0 changed\n").unwrap();
    Dfab::new(p)
        .args(["live", "deploy"])
        .status(2)
        .stderr_has("deploy: refused: `live` is protected")
        .stderr_has("uncommitted changes to tracked files")
        .stderr_has("deploy:force=yes")
        .no_stdout()
        .run_checked();
    assert_eq!(
        h.ssh("root", "dpkg-query -W deploy-app").status.code(),
        Some(1),
        "nothing was installed"
    );
    let out = dfab(p, &["live", "deploy:force=yes"]).ok();
    assert!(
        out.stdout.contains("force=yes: deploying although"),
        "{}",
        out.stdout
    );
    assert!(config(&h).contains("site_name=one.example.com\n"));
    let commit = git(p, &["rev-parse", "HEAD"]);
    let out = dfab(p, &["live", "releases"]).ok();
    assert!(
        out.stdout
            .contains(&format!("commit {}-dirty", &commit[..12])),
        "{}",
        out.stdout
    );

    // Only the answers change: deb.reconfigure brings them, with a history line naming the
    // installed build's commit.
    git(p, &["commit", "-q", "-am", "changed"]);
    fs_err::write(
        p.join("debconf.dat"),
        answers("two.example.com", "pw-two-123456"),
    )
    .unwrap();
    git(p, &["commit", "-q", "-am", "new answers"]);
    // A protected env asks first; -y answers.
    let out = dfab(p, &["-y", "live", "deb.reconfigure"]).ok();
    assert!(
        out.stdout.contains("reconfigured deploy-app 1.0-1"),
        "{}",
        out.stdout
    );
    let c = config(&h);
    assert!(c.contains("site_name=two.example.com\n"), "{c}");
    assert!(c.contains("password_length=13\n"), "{c}");
    let history = h.check("root", "cat /var/lib/dfab/deploy-app/history");
    let last: Vec<&str> = history.lines().last().unwrap().split('\t').collect();
    assert_eq!(
        (last[1], last[5], last[6], last.get(7).copied()),
        (
            "1.0-1",
            "ok",
            "reconfigure",
            Some(format!("{commit}-dirty").as_str())
        ),
        "{history}"
    );

    // And once more, through deploy: the same build, so no new release, the answers applied.
    fs_err::write(
        p.join("debconf.dat"),
        answers("three.example.com", "pw-three-123456"),
    )
    .unwrap();
    git(p, &["commit", "-q", "-am", "newer answers"]);
    let out = dfab(p, &["live", "deploy"]).ok();
    assert!(
        out.stdout.contains("only the debconf answers changed"),
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("nothing to deploy"), "{}", out.stdout);
    let c = config(&h);
    assert!(c.contains("site_name=three.example.com\n"), "{c}");
    assert!(c.contains("password_length=15\n"), "{c}");
    let kept = h.check("root", "ls /var/lib/dfab/deploy-app/releases");
    assert_eq!(kept.lines().count(), 1, "no new release: {kept}");
    // And with nothing changed, nothing to do.
    let out = dfab(p, &["live", "deploy"]).ok();
    assert!(out.stdout.contains("nothing to deploy"), "{}", out.stdout);
    assert_eq!(copies_on(&h), "");
}

/// Every file under `dir` whose bytes hold `needle` (a decrypted copy of a secret).
fn files_holding(dir: &Path, needle: &str) -> Vec<String> {
    let o = Command::new("grep")
        .args(["-rlF", "--", needle])
        .arg(dir)
        .output()
        .unwrap();
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .map(String::from)
        .collect()
}

// Secrets from outside the project: the debconf answers from an environment variable, from a
// command and from an age-encrypted file, and a database password from an environment variable,
// each reach the host; none is printed, none is left on disk here or there; `-n` runs no
// from_command unless asked; a variable not set is an error naming the key before anything runs.
#[test]
fn secrets_from_outside_the_project_reach_the_host() {
    let h = TestHost::new();
    let outside = tempfile::tempdir().unwrap();
    let o = outside.path();
    let key = o.join("age.key");
    let gen = Command::new("age-keygen")
        .arg("-o")
        .arg(&key)
        .output()
        .expect("age-keygen (apt-get install age; scripts/setup-host installs it)");
    assert!(gen.status.success());
    let recipient = String::from_utf8(
        Command::new("age-keygen")
            .arg("-y")
            .arg(&key)
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap();
    fs_err::write(
        o.join("answers"),
        answers("cmd.example.com", "pw-by-command-1"),
    )
    .unwrap();
    let marker = o.join("command-ran");
    let toml = format!(
        "{}{}{}[tasks.pwlen]\nsteps = [{{ run = \"printf %s {{db_password}} | wc -c > /root/pwlen\" }}]\n",
        env_table(
            "byenv",
            &h,
            "debconf = { from_env = \"DFAB_IT_DEBCONF\" }\ndb_password = { from_env = \"DFAB_IT_DB_PW\" }"
        ),
        env_table(
            "bycmd",
            &h,
            &format!(
                "debconf = {{ from_command = \"touch {} && cat {}\" }}",
                marker.display(),
                o.join("answers").display()
            )
        ),
        env_table(
            "byage",
            &h,
            &format!(
                "debconf = \"debconf.byage.dat.age\"\nage_identity = \"{}\"",
                key.display()
            )
        ),
    );
    let dir = app(&toml, &[]);
    let p = dir.path();
    let plain = answers("age.example.com", "pw-from-age-file-77");
    let mut age = Command::new("age")
        .args(["-r", recipient.trim(), "-o"])
        .arg(p.join("debconf.byage.dat.age"))
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(age.stdin.as_mut().unwrap(), plain.as_bytes()).unwrap();
    drop(age.stdin.take());
    assert!(age.wait().unwrap().success());
    let tmp = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        Dfab::new(p)
            .env(
                "DFAB_IT_DEBCONF",
                &answers("env.example.com", "pw-by-env-12"),
            )
            .env("DFAB_IT_DB_PW", "db-pw-from-env-123")
            .env("TMPDIR", tmp.path().to_str().unwrap())
            .args(args)
            .run()
    };
    let secrets = [
        "pw-by-env-12",
        "db-pw-from-env-123",
        "pw-by-command-1",
        "pw-from-age-file-77",
    ];
    let never_printed = |out: &Outcome| {
        for s in secrets {
            assert!(
                !out.stdout.contains(s) && !out.stderr.contains(s),
                "{s} was printed:\n{}\n{}",
                out.stdout,
                out.stderr
            );
        }
    };

    // A variable not set: an error naming the key, nothing run.
    Dfab::new(p)
        .args(["byenv", "deb.build", "deb.deploy"])
        .status(2)
        .stderr_has("key `byenv.db_password`: the environment variable `DFAB_IT_DB_PW` (from_env) is not set")
        .no_stdout()
        .run_checked();
    assert!(!p.join("dist").exists(), "nothing was built");

    // From the environment: the answers and a database password (through a project task).
    let out = run(&["byenv", "deb.build", "deb.deploy", "pwlen"]).ok();
    never_printed(&out);
    let c = config(&h);
    assert!(c.contains("site_name=env.example.com\n"), "{c}");
    assert!(c.contains("password_length=12\n"), "{c}");
    assert_eq!(h.check("root", "cat /root/pwlen").trim(), "18");

    // From a command: not run under -n unless asked.
    let out = run(&["-n", "bycmd", "deb.deploy:force=yes"]).ok();
    never_printed(&out);
    assert!(!marker.exists(), "-n ran a from_command");
    let out = run(&[
        "-n",
        "--run-secret-commands",
        "bycmd",
        "deb.deploy:force=yes",
    ])
    .ok();
    never_printed(&out);
    assert!(marker.exists(), "--run-secret-commands did not run it");
    let out = run(&["bycmd", "deb.deploy:force=yes"]).ok();
    never_printed(&out);
    let c = config(&h);
    assert!(c.contains("site_name=cmd.example.com\n"), "{c}");
    assert!(c.contains("password_length=15\n"), "{c}");

    // From an age-encrypted file, decrypted in memory: through deb.reconfigure.
    let out = run(&["byage", "deb.reconfigure"]).ok();
    never_printed(&out);
    let c = config(&h);
    assert!(c.contains("site_name=age.example.com\n"), "{c}");
    assert!(c.contains("password_length=19\n"), "{c}");

    // No decrypted copy anywhere: not in the project, not in the temp dir, not on the host.
    for s in secrets {
        assert_eq!(files_holding(p, s), Vec::<String>::new(), "{s}");
        assert_eq!(files_holding(tmp.path(), s), Vec::<String>::new(), "{s}");
        let there = h.check(
            "root",
            &format!("grep -rlF -- {s} /var/lib/dfab /tmp /root 2>/dev/null || true"),
        );
        assert_eq!(there, "", "{s} left on the host");
    }
    assert_eq!(copies_on(&h), "");
}

// `dfab -l` warns about a secret written in plain text in an environments file git tracks
// (naming its line and key, never its value), and not when the value comes from outside.
#[test]
fn list_warns_about_a_plain_secret_in_a_tracked_file() {
    let py = "environments = {\n    'production': {\n        'hosts': ['h'],\n        \
              'db_password': 'plain-pw-1234',\n        'api_token': {'from_env': 'TOKEN'},\n    },\n}\n";
    let dir = project(&[("environments.py", py)]);
    let p = dir.path();
    // Untracked: no warning.
    git(p, &["init", "-q", "-b", "main"]);
    Dfab::new(p)
        .args(["-l"])
        .stderr_lacks("plain text")
        .stdout_has("production")
        .run_checked();
    git(p, &["add", "environments.py"]);
    let out = Dfab::new(p)
        .args(["-l"])
        .stderr_has("environments.py:4:24: `production.db_password` is a secret written in plain text in a file git tracks")
        .stderr_has("'db_password': {'from_env': 'VAR'}")
        .stderr_lacks("api_token")
        .stderr_lacks("plain-pw-1234")
        .run_checked();
    assert!(!out.stdout.contains("plain-pw-1234"));
}

/// The lines of `dfab <env> -l` that say where the env's hosts are: its hosts, roles, key and
/// targets.
fn placement(out: &Outcome) -> Vec<String> {
    out.stdout
        .lines()
        .filter(|l| {
            [
                "hosts = ",
                "roledefs = ",
                "key_filename = ",
                "addresses = ",
                "Targets: ",
            ]
            .iter()
            .any(|k| l.trim_start().starts_with(k))
        })
        .map(|l| l.trim().to_string())
        .collect()
}

// Ansible inventories: one INI file read by dfab itself (no ansible-inventory on PATH), by
// ansible-inventory, and as the `--list` JSON of a command, give the same hosts, roles and key;
// the roles then reach the container as the groups say; an unknown group is an error naming
// the key before anything runs.
#[test]
fn an_ini_inventory_and_ansible_inventory_json_give_the_same_hosts_and_roles() {
    let h = TestHost::new();
    let ini = format!(
        "# the fleet\n[prod:children]\nweb\ndb\n\n[prod:vars]\nansible_user=root\n\
         ansible_ssh_private_key_file={KEY}\n\n[web]\nweb1 ansible_host={ip}\n\n[db]\n\
         db1 ansible_host={ip} ansible_port=22\n\n[staging]\nstage1 ansible_host=127.0.0.9\n",
        ip = h.ip
    );
    let common = "known_hosts = \"/dev/null\"\nhost_key_checking = \"accept\"\ntimeout = 5\n";
    let toml = format!(
        "[environments.prod]\ninventory = \"inventory.ini\"\n{common}\n\
         [environments.prodjson]\ninventory_command = \"ansible-inventory -i inventory.ini --list\"\n\
         env_group = \"prod\"\n{common}\n\
         [environments.typo]\ninventory = \"inventory.ini\"\nenv_group = \"prdo\"\n{common}\n\
         [tasks.mark]\nsteps = [\n  {{ run = \"echo web >> /root/inv-marks\", roles = [\"web\"] }},\n  \
         {{ run = \"echo db >> /root/inv-marks\", roles = [\"db\"] }},\n]\n"
    );
    let dir = project(&[("dfab.toml", &toml), ("inventory.ini", &ini)]);
    let p = dir.path();
    let no_ansible = tempfile::tempdir().unwrap();
    let own = Dfab::new(p)
        .env("PATH", no_ansible.path().to_str().unwrap())
        .args(["prod", "-l"])
        .run()
        .ok();
    let by_ansible = dfab(p, &["prod", "-l"]).ok();
    let json = dfab(p, &["prodjson", "-l"]).ok();
    // Each host by its inventory name, reached at its address.
    let want = vec![
        "Targets: hosts: web1, db1".to_string(),
        format!(
            "addresses = {{'db1': 'root@{ip}:22', 'web1': 'root@{ip}'}}    (from the inventory)",
            ip = h.ip
        ),
        "hosts = ['web1', 'db1']    (from the inventory)".to_string(),
        format!("key_filename = '{KEY}'    (from the inventory)"),
        "roledefs = {'db': ['db1'], 'web': ['web1']}    (from the inventory)".to_string(),
    ];
    let mut got = placement(&own);
    got.sort();
    assert_eq!(got, want, "{}", own.stdout);
    let mut a = placement(&by_ansible);
    a.sort();
    assert_eq!(a, want, "{}", by_ansible.stdout);
    let mut j = placement(&json);
    j.sort();
    assert_eq!(j, want, "{}", json.stdout);

    // The groups as roles, on the real host: each env's run reaches it once per role.
    for env in ["prod", "prodjson"] {
        dfab(p, &[env, "mark"]).ok();
    }
    assert_eq!(h.check("root", "cat /root/inv-marks"), "web\ndb\nweb\ndb\n");

    Dfab::new(p)
        .args(["typo", "mark"])
        .status(2)
        .stderr_has("key `typo.env_group`: the inventory has no group `prdo`")
        .stderr_has("did you mean `prod`?")
        .no_stdout()
        .run_checked();
}
