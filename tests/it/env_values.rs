//! Values in environments.py as dragonfab projects write them: `''` and `None` mean unset, and
//! a bad value in one env never makes the file unusable for the others.

use crate::support::{project, Dfab};

const EMPTY_PORT: &str = "environments = {
    '__all__': {'db_port': '5433'},
    'production': {'hosts': ['app1'], 'db_port': ''},
    'staging': {'hosts': ['stage1']},
}
";

// A real project's `'db_port': ''` made every command exit 2 with "expected a port number
// (1-65535), got str ''", even `-l` and envs that do not mention db_port.
#[test]
fn empty_db_port_means_unset_and_leaves_the_file_usable() {
    let dir = project(&[("environments.py", EMPTY_PORT)]);
    // No warnings for an empty value.
    Dfab::new(dir.path())
        .args(["-f", "environments.py", "-l"])
        .stdout_has("    production    Activate production environment (hosts: app1).\n")
        .stderr_is("")
        .run_checked();
    // '' overrides __all__'s value and means "not set", as dragonfab's `env.update` + truthiness.
    Dfab::new(dir.path())
        .args(["-f", "environments.py", "production", "-l"])
        .stdout_is(
            "Environment production (from environments.py):\n    env_name = 'production'\n    \
             hosts = ['app1']\nTargets: hosts: app1\n",
        )
        .stdout_lacks("db_port")
        .stderr_is("")
        .run_checked();
    Dfab::new(dir.path())
        .args(["-f", "environments.py", "staging", "-l"])
        .stdout_is(
            "Environment staging (from environments.py):\n    db_port = '5433'    (from __all__)\n    \
             env_name = 'staging'\n    hosts = ['stage1']\nTargets: hosts: stage1\n",
        )
        .stderr_is("")
        .run_checked();
}

// `'db_port': None` read "expected a port number (1-65535), got None None".
#[test]
fn none_in_an_optional_key_means_unset() {
    let dir = project(&[(
        "environments.py",
        "environments = {'p': {'hosts': ['h'], 'db_port': None, 'wheel': None, 'user': None}}\n",
    )]);
    let mut dfab = Dfab::new(dir.path())
        .args(["p", "-l"])
        .stdout_is(format!(
            "Environment p (from {}):\n    env_name = 'p'\n    hosts = ['h']\nTargets: hosts: h\n",
            dir.path().join("environments.py").display()
        ))
        .stderr_is("");
    for key in ["db_port", "wheel", "user"] {
        dfab = dfab.stdout_lacks(key);
    }
    dfab.run_checked();
}

const ONE_BAD: &str = "environments = {
    'production': {'hosts': ['app1'], 'db_port': 'fivefourthreetwo'},
    'staging': {'hosts': ['stage1']},
}
";

// A typed check on one env's key made the whole file unusable.
#[test]
fn bad_value_in_one_env_refuses_only_that_env() {
    let dir = project(&[("environments.py", ONE_BAD)]);
    let file = dir.path().join("environments.py");
    Dfab::new(dir.path())
        .args(["-n", "staging", "noop"])
        .stderr_is("")
        .run_checked();
    // Nothing was acted on.
    Dfab::new(dir.path())
        .args(["-n", "production", "noop"])
        .status(2)
        .no_stdout()
        .stderr_is(format!(
            "error: {}:2:50: key `production.db_port`: expected a port number (1-65535), got the \
             string 'fivefourthreetwo'\nhint: for example 'db_port': 5432\n",
            file.display()
        ))
        .run_checked();
}

// `dfab -l` without an env listed nothing when one env had a bad key.
#[test]
fn list_without_env_warns_about_other_envs_problems() {
    let dir = project(&[("environments.py", ONE_BAD)]);
    let file = dir.path().join("environments.py");
    Dfab::new(dir.path())
        .args(["-l"])
        .stderr_is(format!(
            "warning: environment `production`: {}:2:50: key `production.db_port`: expected a \
             port number (1-65535), got the string 'fivefourthreetwo' (for example 'db_port': \
             5432)\n",
            file.display()
        ))
        .stdout_has("    staging ")
        .stdout_has(
            "    production    Activate production environment (not usable: see the warning).",
        )
        .run_checked();
}

// Messages named a value's type and then its repr ("got None None", "got str ''").
#[test]
fn type_errors_word_the_value() {
    let dir = project(&[(
        "environments.py",
        "environments = {'p': {'wheel': 'yes', 'hosts': 'h1'}, 'q': {'port': 70000}}\n",
    )]);
    let file = dir.path().join("environments.py");
    Dfab::new(dir.path())
        .args(["p", "-l"])
        .status(2)
        .no_stdout()
        .stderr_is(format!(
            "error: {}:1:48: key `p.hosts`: expected a list of strings, got the string 'h1'\n\
             hint: for example 'hosts': ['app1.example.com']\n",
            file.display()
        ))
        .run_checked();
    Dfab::new(dir.path())
        .args(["q", "-l"])
        .status(2)
        .no_stdout()
        .stderr_is(format!(
            "error: {}:1:69: key `q.port`: expected a port number (1-65535), got the int 70000\n\
             hint: for example 'port': 5432\n",
            file.display()
        ))
        .run_checked();
}

// Review of issue 19: a dfab.toml project was told `for example 'maintenance_check_url': False`,
// environments.py's syntax (`= False` is no TOML). The same bad value in each file gets a hint
// in that file's own syntax.
#[test]
fn a_hint_s_example_is_written_in_the_env_s_own_file_syntax() {
    let cases = [
        (
            "environments.py",
            "environments = {'p': {'hosts': ['h1'], 'maintenance_check_url': True}}\n",
            "1:65",
            "expected a string, or False (off), got True",
            "for example 'maintenance_check_url': False",
        ),
        (
            "dfab.toml",
            "[environments.p]\nhosts = [\"h1\"]\nmaintenance_check_url = true\n",
            "3:25",
            "expected a string, or false (off), got true",
            "for example maintenance_check_url = false",
        ),
    ];
    for (name, text, at, message, hint) in cases {
        let dir = project(&[(name, text)]);
        Dfab::new(dir.path())
            .args(["-f", name, "p", "-l"])
            .status(2)
            .no_stdout()
            .stderr_is(format!(
                "error: {name}:{at}: key `p.maintenance_check_url`: {message}\nhint: {hint}\n"
            ))
            .run_checked();
    }
    // A hint made while planning (not by the key check) follows the file too.
    let dir = project(&[
        (
            "dfab.toml",
            "[environments.p]\nhosts = [\"h1\"]\ndb_restore_jobs = \"many\"\ndb_name = \"x\"\n",
        ),
        ("dumps/production.dump", "not read while planning"),
    ]);
    Dfab::new(dir.path())
        .args(["-n", "p", "database.push"])
        .status(2)
        .stderr_has("hint: for example db_restore_jobs = 4\n")
        .run_checked();
}
