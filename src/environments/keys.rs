//! The environment keys dfab knows: their expected types and one-line docs (the config reference),
//! and the one place where keys naming a file on this machine are made absolute.

use std::collections::BTreeMap;
use std::path::Path;

use super::syntax::Syntax;
use super::value::{Kind, Value};

/// The shape a known key must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    Str,
    /// A string that names a directory and must end in `/` (dragonfab's rule).
    DirStr,
    Bool,
    /// An integer, or a string of digits.
    Port,
    /// A list (or tuple) of strings.
    StrList,
    /// A dict of role name to a list of host strings.
    Roles,
    /// A positive integer, or a string of digits.
    Count,
    /// A list of package names, or a dict of package name to a role or a list of roles.
    Packages,
    /// A whole number of seconds (an integer or a string of digits).
    Seconds,
    /// A list of steps in the user-task syntax (dicts, or task names).
    Steps,
    /// A path on this machine (a string): a relative one is made absolute against `Base` when
    /// the env is activated (see [`resolve_paths`]), never left to the current directory.
    LocalPath(Base),
    /// A share of a whole: a number from 0 to 1 (`0.1`) or a percent string (`'10%'`).
    Share,
    /// A string, or `False` to turn off what the key's default would do (`''` cannot: like
    /// `None`, it means "not set", so the default).
    StrOrOff,
    /// An LXC fleet: a dict with `size` (1 or more), `balancer` (a string), `port` (1-65535) and
    /// optionally `listen` (`'address:port'`) and `addresses` (a list of `'a.b.c.d/prefix'`);
    /// see `lxc_fleet::settings`.
    Fleet,
}

/// What a relative [`Shape::LocalPath`] is relative to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Base {
    /// The environments file's directory (what a relative `-f` leads to).
    File,
    /// The project directory: `local_dir`, else the environments file's directory.
    Project,
}

/// Known keys: name, shape, doc. Unknown keys stay available as variables.
pub const KEYS: &[(&str, Shape, &str)] = &[
    (
        "parallel",
        Shape::Count,
        "hosts a step runs on at once (default 64; `-P` overrides)",
    ),
    (
        "hosts",
        Shape::StrList,
        "hosts to act on, as `host`, `user@host` or `user@host:port`",
    ),
    (
        "roledefs",
        Shape::Roles,
        "role name to hosts, for steps with `roles`",
    ),
    (
        "user",
        Shape::Str,
        "ssh login user (default: ~/.ssh/config, then $USER)",
    ),
    ("port", Shape::Port, "ssh port (default 22)"),
    (
        "timeout",
        Shape::Port,
        "ssh connect timeout in seconds (default 10)",
    ),
    (
        "key_filename",
        Shape::LocalPath(Base::File),
        "ssh private key file",
    ),
    (
        "ssh_config",
        Shape::LocalPath(Base::File),
        "ssh config file to use instead of ~/.ssh/config",
    ),
    (
        "known_hosts",
        Shape::LocalPath(Base::File),
        "known_hosts file to use",
    ),
    (
        "host_key_checking",
        Shape::Str,
        "`strict`, `add` (default: accept new keys) or `accept`",
    ),
    (
        "lxc",
        Shape::Str,
        "name of a local LXC container; makes this an LXC environment",
    ),
    (
        "lxc_template",
        Shape::Str,
        "container to clone when `lxc` is missing (default `vanilla`)",
    ),
    (
        "lxc_clone",
        Shape::Str,
        "`snapshot` (overlay, default) or `copy`",
    ),
    ("lxc_transport", Shape::Str, "`ssh` (default) or `attach`"),
    (
        "lxc_host",
        Shape::Str,
        "run the container on this host over ssh instead of locally",
    ),
    (
        "lxc_host_ssh_options",
        Shape::StrList,
        "extra ssh arguments for `lxc_host`, e.g. ['-p', '2222']",
    ),
    (
        "lxc_timeout",
        Shape::Port,
        "seconds to wait for RUNNING and an address (default 30)",
    ),
    (
        "lxc_ipv4",
        Shape::Str,
        "a static address for the container, `10.0.3.123/24` (default: DHCP)",
    ),
    (
        "lxc_ipv4_gateway",
        Shape::Str,
        "gateway for `lxc_ipv4` (default: the bridge's address)",
    ),
    (
        "lxc_path",
        Shape::LocalPath(Base::File),
        "LXC's container directory (default: `lxc-config lxc.lxcpath`)",
    ),
    (
        "lxc_release",
        Shape::Str,
        "Debian release for `lxc.template` (default `bookworm`)",
    ),
    (
        "lxc_packages",
        Shape::StrList,
        "extra packages for `lxc.template`",
    ),
    (
        "lxc_mirror",
        Shape::Str,
        "Debian mirror for `lxc.template` (default: this machine's apt mirror)",
    ),
    (
        "lxc_bridge",
        Shape::Str,
        "bridge for `lxc.template` containers (default `lxcbr0`)",
    ),
    (
        "debconf",
        Shape::LocalPath(Base::Project),
        "debconf preseed file answering the package's questions on install",
    ),
    (
        "deploy_packages",
        Shape::Packages,
        "which built packages `deb.deploy` ships: a list, or a dict of package to roles",
    ),
    (
        "deb_conffiles",
        Shape::Str,
        "`old` (default: keep locally changed conffiles) or `new`",
    ),
    (
        "allow_downgrade",
        Shape::Bool,
        "`deb.deploy` may install a lower version than a host has (default False)",
    ),
    (
        "keep_releases",
        Shape::Count,
        "releases kept on each host for `rollback` (default 5)",
    ),
    (
        "inventory",
        Shape::LocalPath(Base::Project),
        "an Ansible inventory file (INI or YAML) whose group `env_group` is the env's hosts and whose other groups are its roles",
    ),
    (
        "inventory_command",
        Shape::Str,
        "a command printing an Ansible inventory as `--list` JSON (a dynamic inventory), read like `inventory`",
    ),
    (
        "env_group",
        Shape::Str,
        "the inventory group that is the env (default: the group named as the env, else `all`)",
    ),
    (
        "age_identity",
        Shape::Str,
        "the age identity (key file) that decrypts a `debconf` file ending in `.age` (default: $SOPS_AGE_KEY_FILE, else ~/.config/sops/age/keys.txt)",
    ),
    (
        "branch",
        Shape::Str,
        "the git branch this env deploys from; a protected env's deploy refuses another branch checked out, a dirty tree, or a branch behind its upstream (force=yes overrides)",
    ),
    (
        "remote_path",
        Shape::DirStr,
        "directory on the hosts for uploads; must end in `/`",
    ),
    (
        "package_name",
        Shape::Str,
        "the main binary package (default: first in debian/control)",
    ),
    (
        "package_dir",
        Shape::LocalPath(Base::Project),
        "where built .debs go (default: the project's parent dir)",
    ),
    (
        "local_dir",
        Shape::LocalPath(Base::File),
        "the project directory (default: the environments file's dir)",
    ),
    (
        "wheel",
        Shape::Bool,
        "vendor requirements.txt's wheels into the package (default: off, as in dragonfab)",
    ),
    (
        "deb_compression",
        Shape::Str,
        "`gzip` (default), `zstd` or `xz`, with an optional level: `xz:9`",
    ),
    (
        "deb_builder",
        Shape::Str,
        "`dfab` (default) or `dpkg-buildpackage` (the slow path, for custom debian/rules)",
    ),
    (
        "build_commands",
        Shape::StrList,
        "shell commands run in the project dir before packaging",
    ),
    (
        "venv_path",
        Shape::Str,
        "virtualenv the package's postinst creates (default /opt/<pkg>/venv)",
    ),
    (
        "wheelhouse_path",
        Shape::Str,
        "where the package ships its wheels (default /usr/share/<pkg>/wheelhouse)",
    ),
    (
        "wheelserver",
        Shape::Str,
        "pip index URL for building wheels",
    ),
    (
        "wheelserver_trusted_host",
        Shape::Str,
        "pip --trusted-host for the wheel server",
    ),
    (
        "pip_build_dir",
        Shape::LocalPath(Base::Project),
        "pip build directory",
    ),
    (
        "collectstatic",
        Shape::Bool,
        "dragonfab's switch to run Django's collectstatic; dfab does not run it and warns when it is True (run it in the package's postinst)",
    ),
    ("db_user", Shape::Str, "database owner role"),
    ("dba", Shape::Str, "database superuser role"),
    (
        "db_password",
        Shape::Str,
        "database password (never printed)",
    ),
    ("db_port", Shape::Port, "database port"),
    ("db_host", Shape::Str, "database host"),
    ("db_name", Shape::Str, "database name"),
    (
        "maintenance_file",
        Shape::Str,
        "flag file whose presence means maintenance (default `{remote_path}maintenance.on`)",
    ),
    (
        "maintenance_page",
        Shape::LocalPath(Base::Project),
        "the splash page, an HTML file in the project; `{message}` is replaced (default: dfab's own)",
    ),
    (
        "maintenance_allow",
        Shape::StrList,
        "URL prefixes still served during maintenance, e.g. ['/static/', '/health']",
    ),
    (
        "maintenance_bypass",
        Shape::StrList,
        "client addresses that still see the app during maintenance",
    ),
    (
        "maintenance_retry_after",
        Shape::Seconds,
        "`Retry-After` of the 503 during maintenance, in seconds (default 300)",
    ),
    (
        "maintenance_check_url",
        Shape::StrOrOff,
        "URL on each web host that `web_mode` and `init` ask to check the switch (default http://127.0.0.1/; False checks nothing)",
    ),
    (
        "web_server",
        Shape::Str,
        "`nginx` (default) or `apache`: the snippet `init` installs and the server reloaded",
    ),
    (
        "web_snippet_path",
        Shape::Str,
        "where `init` installs the maintenance snippet (default /etc/nginx/snippets/dfab-maintenance.conf, /etc/apache2/dfab-maintenance.conf)",
    ),
    (
        "web_restart_command",
        Shape::Str,
        "the command `web_restart` runs (default: the package's systemd unit, else a graceful web-server reload)",
    ),
    (
        "health_url",
        Shape::Str,
        "URL that answers 2xx when the app is up, asked with curl on each web host",
    ),
    (
        "health_timeout",
        Shape::Seconds,
        "seconds `web_restart` and `test` wait for `health_url` (default 30)",
    ),
    (
        "test_commands",
        Shape::Steps,
        "`test`'s checks: run, sudo and local steps (default: Django's `manage.py check --deploy` in the venv)",
    ),
    (
        "manage_py",
        Shape::Str,
        "the app's manage.py for `test`'s default check (default /opt/<pkg>/manage.py)",
    ),
    (
        "app_user",
        Shape::Str,
        "the user the app runs as (default `package_name`): owns `remote_path` and media; migrations and Django's checks run as it",
    ),
    (
        "init_packages",
        Shape::StrList,
        "apt packages `init` installs",
    ),
    (
        "init_commands",
        Shape::StrList,
        "shell commands `init` runs last, as root (should be idempotent)",
    ),
    (
        "media_paths",
        Shape::StrList,
        "media directories `data_refresh` copies (default ['{remote_path}media/'])",
    ),
    (
        "media_roots",
        Shape::StrList,
        "directories besides `remote_path` that media paths may be in",
    ),
    (
        "media_delete",
        Shape::Bool,
        "`data_refresh` deletes target files missing at the source (rsync --delete)",
    ),
    (
        "media_max_delete",
        Shape::Share,
        "the most `media_delete` may delete of a target's files unless forced: `0.1` or `'10%'` (default 10 %)",
    ),
    (
        "data_from",
        Shape::Str,
        "environment `data_refresh` copies media from (default `production`)",
    ),
    (
        "db_clone_from",
        Shape::Str,
        "env whose database `db_clone` and `database.push` copy (default `production`)",
    ),
    (
        "deploy",
        Shape::StrList,
        "the `deploy` sequence: task invocations in dfab syntax, project tasks allowed",
    ),
    (
        "maintenance",
        Shape::Str,
        "`always`, `auto` or `never` (default: always for production/protected, else never)",
    ),
    (
        "migrate_check_command",
        Shape::Str,
        "`maintenance = 'auto'`'s check on the migration host: exit 0 none pending, 1 pending",
    ),
    (
        "on_failure",
        Shape::Str,
        "`stop` (default) or `revert`: what `deploy` does when a step fails after a host changed",
    ),
    (
        "deploy_strategy",
        Shape::Str,
        "`parallel` (default) or `rolling` (batches of `rolling_batch`, each checked with `health_url`), for a `fleet` `bluegreen` or `serial`; and `push` (default) or `apt` (hosts install from the env's APT repository): `'apt,rolling'`",
    ),
    (
        "apt_repo",
        Shape::Str,
        "the env's APT repository that `deb.publish` writes: a directory here, or `host:path`",
    ),
    (
        "apt_url",
        Shape::Str,
        "the URL hosts fetch the APT repository from (`deploy_strategy = 'apt'`)",
    ),
    (
        "apt_dist",
        Shape::Str,
        "the APT repository's distribution (default: the env's name)",
    ),
    (
        "apt_component",
        Shape::Str,
        "the APT repository's component (default `main`)",
    ),
    (
        "apt_signing_key",
        Shape::Str,
        "gpg key id, or secret key file, that signs the APT repository (`apt.keygen` makes one)",
    ),
    (
        "apt_keep_versions",
        Shape::Count,
        "versions of each package the APT repository keeps for rollback (default 5)",
    ),
    (
        "rolling_batch",
        Shape::Count,
        "hosts per batch of a rolling deploy (default 1)",
    ),
    (
        "fleet",
        Shape::Fleet,
        "an LXC fleet behind a load balancer: {'size': 4, 'balancer': 'host', 'port': 8000} (plus `listen`, `addresses`); 'balancer' is 'host' or a container nginx runs in",
    ),
    (
        "bake_commands",
        Shape::StrList,
        "shell commands `lxc.bake` runs in the bake after installing the build",
    ),
    (
        "user_data",
        Shape::LocalPath(Base::Project),
        "a script each fleet member runs once, on its first boot (FabulAWS's user_data.sh)",
    ),
    (
        "keep_bakes",
        Shape::Count,
        "bakes of the env kept besides the newest (default 3; never one a fleet member came from)",
    ),
    (
        "bluegreen_keep",
        Shape::Count,
        "deploys whose old fleet members a bluegreen deploy keeps stopped, for `rollback` (default 1)",
    ),
    (
        "serial_batch",
        Shape::Count,
        "fleet members a serial deploy replaces at a time (default 1)",
    ),
    (
        "keep_failed",
        Shape::Bool,
        "keep fleet members that failed their health check, for debugging (default False: removed)",
    ),
    (
        "protected",
        Shape::Bool,
        "treat as production: `database.push`, `db_clone` and `data_refresh` refuse it unless forced, and `deploy` defaults to maintenance",
    ),
    (
        "migrate_command",
        Shape::Str,
        "migrations command (default `{venv_path}/bin/python manage.py migrate --noinput`)",
    ),
    (
        "manage_command",
        Shape::Str,
        "`manage`'s command: the package's manage wrapper (default `{venv_path}/bin/python {manage_py}`), run as `app_user` in `app_dir`",
    ),
    (
        "services",
        Shape::Packages,
        "the units `services` controls: a list, or a dict of unit to roles (default: the units the built packages ship)",
    ),
    (
        "app_dir",
        Shape::Str,
        "the app directory migrations run in (default: the parent of `venv_path`)",
    ),
    (
        "install_mode",
        Shape::Str,
        "`dpkg` (default: one version per host through dpkg) or `release` (per-instance releases under `releases_root`, switched by a `current` symlink)",
    ),
    (
        "instance",
        Shape::Str,
        "release mode: the instance's name, one path component (default: the env's name)",
    ),
    (
        "releases_root",
        Shape::Str,
        "release mode: the instance's directory on the hosts (default `/srv/<package>/<instance>/`)",
    ),
    (
        "shared_paths",
        Shape::StrList,
        "release mode: paths in a release (relative) linked to `shared/`, kept across releases, e.g. ['media', 'log']",
    ),
    (
        "release_start_command",
        Shape::Str,
        "release mode: the command that (re)starts the instance (default: `systemctl restart <package>@<instance>`)",
    ),
    (
        "release_setup_commands",
        Shape::StrList,
        "release mode: shell commands run in a new release before its checks, taking over the maintainer scripts' work",
    ),
];

/// The shape of a known key.
#[must_use]
pub fn shape(key: &str) -> Option<Shape> {
    KEYS.iter().find(|(k, _, _)| *k == key).map(|(_, s, _)| *s)
}

/// The one-line doc of a known key.
#[must_use]
pub fn doc(key: &str) -> Option<&'static str> {
    KEYS.iter().find(|(k, _, _)| *k == key).map(|(_, _, d)| *d)
}

/// A [`Shape::Share`] value as a fraction from 0 to 1: `0.1`, `0`, `1`, `'10%'`, `'10 %'`,
/// `'0.1'`; `None` for anything else (`10` is refused: a percent is written with `%`).
#[must_use]
pub fn share(v: &Value) -> Option<f64> {
    let f = match &v.kind {
        Kind::Float(f) => *f,
        Kind::Int(0) => 0.0,
        Kind::Int(1) => 1.0,
        Kind::Str(s) => match s.trim().strip_suffix('%') {
            Some(p) => p.trim().parse::<f64>().ok()? / 100.0,
            None => s.trim().parse::<f64>().ok()?,
        },
        _ => return None,
    };
    (0.0..=1.0).contains(&f).then_some(f)
}

/// `path` with its `.` and `..` components worked out by name (`/p/proj/../key` is
/// `/p/key`), as messages show it; the project directory it is joined to is canonical already.
fn normal(path: &Path) -> std::path::PathBuf {
    use std::path::Component;
    let mut out = std::path::PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push(c);
                }
            }
            _ => out.push(c),
        }
    }
    out
}

/// Make every relative [`Shape::LocalPath`] value in `vars` absolute, against `file_dir` or the
/// project directory (`local_dir`, itself resolved first): the one place a path key is
/// resolved, so that it means the same file whichever directory dfab runs from, and a new key
/// declared as a `LocalPath` cannot miss it. `~` paths are left to the tool that reads them
/// (ssh expands them).
pub fn resolve_paths(vars: &mut BTreeMap<String, Value>, file_dir: &Path) {
    let absolute = |s: &str, base: &Path| {
        if s.starts_with('/') || s.starts_with('~') {
            None
        } else {
            let mut abs = normal(&base.join(s)).display().to_string();
            // A trailing `/` says "a directory" (rsync reads it so): kept.
            if s.ends_with('/') && !abs.ends_with('/') {
                abs.push('/');
            }
            Some(abs)
        }
    };
    if let Some(v) = vars.get_mut("local_dir") {
        if let Some(abs) = v.as_str().and_then(|s| absolute(s, file_dir)) {
            v.kind = Kind::Str(abs);
        }
    }
    let project = vars
        .get("local_dir")
        .and_then(Value::as_str)
        .map_or_else(|| file_dir.to_path_buf(), |d| file_dir.join(d));
    // ssh's own file arguments in `lxc_host_ssh_options` (`-i KEY`, `-F CONFIG`) are paths here.
    if let Some(Kind::List(items) | Kind::Tuple(items)) =
        vars.get_mut("lxc_host_ssh_options").map(|v| &mut v.kind)
    {
        let mut names_a_file = false;
        for item in items {
            if let Kind::Str(arg) = &mut item.kind {
                if names_a_file {
                    if let Some(abs) = absolute(arg, file_dir) {
                        *arg = abs;
                    }
                }
                names_a_file = arg == "-i" || arg == "-F";
            }
        }
    }
    // With `lxc_host`, `lxc_path` names a directory on that host, not here.
    let remote_lxc = vars.contains_key("lxc_host");
    for (key, v) in vars.iter_mut() {
        let Some(Shape::LocalPath(base)) = shape(key) else {
            continue;
        };
        if key == "local_dir" || (key == "lxc_path" && remote_lxc) {
            continue;
        }
        let base = match base {
            Base::File => file_dir,
            Base::Project => project.as_path(),
        };
        if let Some(abs) = v.as_str().and_then(|s| absolute(s, base)) {
            v.kind = Kind::Str(abs);
        }
    }
}

/// True for the values that mean "not set" in a known key: `''` and `None`, which dragonfab
/// skipped because they are falsy.
#[must_use]
pub fn is_unset(v: &Value) -> bool {
    match &v.kind {
        Kind::None => true,
        Kind::Str(s) => s.is_empty(),
        _ => false,
    }
}

/// A value as a message names it, written as the file writes it: `None`, `the string 'x'`,
/// `the int 70000`, `a list ['a', 1]`.
fn value_shape(v: &Value, syntax: Syntax) -> String {
    let shown = syntax.value(v);
    match &v.kind {
        Kind::None => "None".to_owned(),
        Kind::Bool(_) => shown,
        Kind::Str(_) => format!("the string {shown}"),
        Kind::Int(_) | Kind::Float(_) | Kind::Complex(..) | Kind::Bytes(_) => {
            format!("the {} {shown}", v.type_name())
        }
        Kind::List(_) | Kind::Tuple(_) | Kind::Set(_) | Kind::Dict(_) => {
            format!("a {} {shown}", v.type_name())
        }
    }
}

/// Check a value against a key's shape; `Err` holds what is wrong and a hint. `''` and `None`
/// never get here: [`is_unset`] values are dropped at activation. Values and examples are
/// written in `syntax`, the env's file's.
pub fn check(key: &str, v: &Value, syntax: Syntax) -> Result<(), (String, String)> {
    let Some(shape) = shape(key) else {
        return Ok(());
    };
    let ok = match (shape, &v.kind) {
        (Shape::Str | Shape::LocalPath(_) | Shape::StrOrOff, Kind::Str(_))
        | (Shape::Bool, Kind::Bool(_))
        | (Shape::StrOrOff, Kind::Bool(false))
        | (Shape::Steps, Kind::List(_) | Kind::Tuple(_)) => true,
        (Shape::DirStr, Kind::Str(s)) => {
            if !s.ends_with('/') {
                let fixed = Value::new(Kind::Str(format!("{s}/")), v.pos);
                return Err((
                    format!("must end in `/`, got {}", syntax.value(v)),
                    format!("write {}", syntax.value(&fixed)),
                ));
            }
            true
        }
        (Shape::Port, Kind::Int(i)) => (1..=65535).contains(i),
        (Shape::Port, Kind::Str(s)) => s.parse::<u16>().is_ok_and(|p| p > 0),
        (Shape::Seconds, Kind::Int(i)) => (0..=i128::from(u32::MAX)).contains(i),
        (Shape::Seconds, Kind::Str(s)) => s.parse::<u32>().is_ok(),
        (Shape::StrList, Kind::List(items) | Kind::Tuple(items)) => {
            items.iter().all(|i| matches!(i.kind, Kind::Str(_)))
        }
        (Shape::Roles, Kind::Dict(entries)) => entries.iter().all(|(k, v)| {
            matches!(k.kind, Kind::Str(_))
                && v.as_seq()
                    .is_some_and(|s| s.iter().all(|h| matches!(h.kind, Kind::Str(_))))
        }),
        (Shape::Share, _) => share(v).is_some(),
        (Shape::Count, Kind::Int(i)) => *i >= 1,
        (Shape::Count, Kind::Str(s)) => s.parse::<u32>().is_ok_and(|n| n >= 1),
        (Shape::Packages, Kind::List(items) | Kind::Tuple(items)) => {
            items.iter().all(|i| matches!(i.kind, Kind::Str(_)))
        }
        (Shape::Packages, Kind::Dict(entries)) => entries.iter().all(|(k, v)| {
            matches!(k.kind, Kind::Str(_))
                && (matches!(v.kind, Kind::Str(_))
                    || v.as_seq()
                        .is_some_and(|s| s.iter().all(|r| matches!(r.kind, Kind::Str(_)))))
        }),
        (Shape::Fleet, Kind::Dict(entries)) => {
            if let Some((message, hint)) = fleet_problem(entries, syntax) {
                return Err((message, hint));
            }
            true
        }
        _ => false,
    };
    if ok {
        return Ok(());
    }
    let (want, example) = match shape {
        Shape::Str | Shape::DirStr => ("a string", syntax.setting(key, "'value'")),
        Shape::StrOrOff => (
            &*format!("a string, or {} (off)", syntax.example("False")),
            syntax.setting(key, "False"),
        ),
        Shape::LocalPath(_) => (
            "a path (a string)",
            syntax.setting(key, &format!("'deploy/{key}'")),
        ),
        Shape::Share => (
            "a share: a number from 0 to 1, or a percent string",
            format!(
                "{} (or {})",
                syntax.setting(key, "'10%'"),
                syntax.example("0.1")
            ),
        ),
        Shape::Bool => (
            &*format!("{} or {}", syntax.example("True"), syntax.example("False")),
            syntax.setting(key, "True"),
        ),
        Shape::Port => ("a port number (1-65535)", syntax.setting(key, "5432")),
        Shape::StrList => (
            "a list of strings",
            syntax.setting(key, "['app1.example.com']"),
        ),
        Shape::Roles => (
            "a dict of role to list of hosts",
            syntax.setting(key, "{'web': ['app1']}"),
        ),
        Shape::Count => ("a number, 1 or more", syntax.setting(key, "5")),
        Shape::Packages => (
            "a list of package names or a dict of package to roles",
            syntax.setting(key, "{'app': ['web'], 'app-worker': ['worker']}"),
        ),
        Shape::Seconds => ("a number of seconds", syntax.setting(key, "60")),
        Shape::Steps => (
            "a list of steps",
            syntax.setting(key, "[{'run': 'make check'}]"),
        ),
        Shape::Fleet => (
            "a dict with size, balancer and port",
            syntax.setting(key, FLEET_EXAMPLE),
        ),
    };
    Err((
        format!("expected {want}, got {}", value_shape(v, syntax)),
        format!("for example {example}"),
    ))
}

/// A `fleet` value as the examples write it.
const FLEET_EXAMPLE: &str = "{'size': 4, 'balancer': 'host', 'port': 8000}";

/// What is wrong with a `fleet` dict, if anything: an unknown or missing key, or a value of the
/// wrong shape, each named (the rules of `lxc_fleet::settings`).
fn fleet_problem(entries: &[(Value, Value)], syntax: Syntax) -> Option<(String, String)> {
    const KNOWN: &[&str] = &["size", "balancer", "port", "listen", "addresses"];
    let hint = || format!("for example {}", syntax.setting("fleet", FLEET_EXAMPLE));
    for (k, v) in entries {
        let Some(name) = k.as_str() else {
            return Some(("its keys must be strings".into(), hint()));
        };
        let ok = match name {
            "size" => matches!(v.kind, Kind::Int(i) if (1..=250).contains(&i)),
            "port" => matches!(v.kind, Kind::Int(i) if (1..=65535).contains(&i)),
            "balancer" => matches!(v.kind, Kind::Str(_)),
            "listen" => v.as_str().is_some_and(|s| {
                s.rsplit_once(':')
                    .is_some_and(|(a, p)| !a.is_empty() && p.parse::<u16>().is_ok_and(|p| p > 0))
            }),
            "addresses" => v.as_seq().is_some_and(|s| {
                s.iter().all(|a| {
                    a.as_str().is_some_and(|a| {
                        a.split_once('/').is_some_and(|(ip, p)| {
                            ip.parse::<std::net::Ipv4Addr>().is_ok()
                                && p.parse::<u8>().is_ok_and(|p| p <= 32)
                        })
                    })
                })
            }),
            other => {
                let near = crate::suggestion::nearest(other, KNOWN.iter().copied())
                    .map(|n| format!("did you mean `{n}`? "))
                    .unwrap_or_default();
                return Some((
                    format!("unknown fleet key `{other}`"),
                    format!("{near}the keys are {}", KNOWN.join(", ")),
                ));
            }
        };
        if !ok {
            let want = match name {
                "size" => "a number of members from 1 to 250",
                "port" => "a port number (1-65535)",
                "balancer" => "a string ('host' or a container's name)",
                "listen" => "'address:port', such as '127.0.0.1:8080'",
                _ => "a list of IPv4 addresses with prefix, such as ['10.0.3.150/24']",
            };
            return Some((
                format!("`{name}` must be {want}, got {}", syntax.value(v)),
                hint(),
            ));
        }
    }
    for must in ["size", "balancer", "port"] {
        if !entries.iter().any(|(k, _)| k.as_str() == Some(must)) {
            return Some((format!("`{must}` is missing"), hint()));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;
    use std::path::Path;

    use super::{check, is_unset, resolve_paths, share, Shape, Syntax, KEYS};
    use crate::environments::value::{Kind, Pos, Value};

    fn s(text: &str) -> Value {
        Value::new(Kind::Str(text.into()), Pos::default())
    }

    // Issue 19, kind 7: `known_hosts = 'deploy/known_hosts'` was read from the current
    // directory. Every key that names a file here is a `LocalPath`, so activation resolves it;
    // a new key named like a local path must be declared one (or listed as a host's path).
    #[test]
    fn every_key_naming_a_local_file_is_resolved_at_activation() {
        const ON_HOSTS: &[&str] = &[
            "remote_path",
            "venv_path",
            "wheelhouse_path",
            "maintenance_file",
            "web_snippet_path",
            "app_dir",
            "manage_py",
        ];
        let pathy = |k: &str| {
            [
                "_file",
                "_filename",
                "_dir",
                "_path",
                "_config",
                "_page",
                "_py",
            ]
            .iter()
            .any(|x| k.ends_with(x))
                || ["known_hosts", "debconf"].contains(&k)
        };
        for (k, shape, _) in KEYS {
            if pathy(k) && !ON_HOSTS.contains(k) {
                assert!(
                    matches!(shape, Shape::LocalPath(_)),
                    "`{k}` names a local path: declare it Shape::LocalPath"
                );
            }
        }
        let mut vars: BTreeMap<String, Value> = [
            ("known_hosts", s("deploy/known_hosts")),
            ("key_filename", s("~/.ssh/id")),
            ("ssh_config", s("/etc/ssh/c")),
            ("local_dir", s("app/")),
            ("package_dir", s("dist/")),
            ("debconf", s("debconf.dat")),
            ("remote_path", s("srv/")),
            ("lxc_path", s("lxc")),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect();
        let opts = [
            s("-p"),
            s("2222"),
            s("-i"),
            s("keys/box"),
            s("-F"),
            s("/etc/c"),
        ];
        vars.insert(
            "lxc_host_ssh_options".into(),
            Value::new(Kind::List(opts.to_vec()), Pos::default()),
        );
        resolve_paths(&mut vars, Path::new("/p"));
        assert_eq!(
            vars["lxc_host_ssh_options"].to_string(),
            "['-p', '2222', '-i', '/p/keys/box', '-F', '/etc/c']"
        );
        let got = |vars: &BTreeMap<String, Value>, k: &str| vars[k].as_str().unwrap().to_string();
        assert_eq!(got(&vars, "known_hosts"), "/p/deploy/known_hosts");
        assert_eq!(got(&vars, "key_filename"), "~/.ssh/id", "ssh expands ~");
        assert_eq!(got(&vars, "ssh_config"), "/etc/ssh/c");
        assert_eq!(got(&vars, "local_dir"), "/p/app/");
        assert_eq!(
            got(&vars, "package_dir"),
            "/p/app/dist/",
            "against the project dir"
        );
        assert_eq!(got(&vars, "debconf"), "/p/app/debconf.dat");
        assert_eq!(got(&vars, "remote_path"), "srv/", "a path on the hosts");
        assert_eq!(got(&vars, "lxc_path"), "/p/lxc");
        vars.insert("lxc_host".into(), s("box"));
        vars.insert("lxc_path".into(), s("lxc"));
        resolve_paths(&mut vars, Path::new("/p"));
        assert_eq!(got(&vars, "lxc_path"), "lxc", "a path on lxc_host");
    }

    #[test]
    fn a_share_is_a_fraction_or_a_percent() {
        let f = |k: Kind| share(&Value::new(k, Pos::default()));
        assert_eq!(f(Kind::Float(0.1)), Some(0.1));
        assert_eq!(f(Kind::Str("10%".into())), Some(0.1));
        assert_eq!(f(Kind::Str("25 %".into())), Some(0.25));
        assert_eq!(f(Kind::Str("0.5".into())), Some(0.5));
        assert_eq!(f(Kind::Int(0)), Some(0.0));
        assert_eq!(f(Kind::Int(10)), None, "10 what? write '10%'");
        assert_eq!(f(Kind::Str("150%".into())), None);
        assert_eq!(f(Kind::Float(-0.1)), None);
    }

    /// The configuration reference in README.md lists every known key (docs must not drift).
    #[test]
    fn a_str_or_off_key_takes_a_string_or_false_only() {
        let v = |k: Kind| Value::new(k, Pos::default());
        let key = "maintenance_check_url";
        let py = Syntax::Python;
        assert!(check(key, &v(Kind::Str("http://127.0.0.1:8080/".into())), py).is_ok());
        assert!(check(key, &v(Kind::Bool(false)), py).is_ok());
        let (what, hint) = check(key, &v(Kind::Bool(true)), py).unwrap_err();
        assert!(what.contains("a string, or False (off)"), "{what}");
        assert_eq!(hint, "for example 'maintenance_check_url': False");
        // In dfab.toml, `= False` is no TOML: the same hint in its syntax.
        let (what, hint) = check(key, &v(Kind::Bool(true)), Syntax::Toml).unwrap_err();
        assert_eq!(what, "expected a string, or false (off), got true");
        assert_eq!(hint, "for example maintenance_check_url = false");
        // '' means "not set" (the default), as dragonfab read it; it never turns a check off.
        assert!(is_unset(&v(Kind::Str(String::new()))));
    }

    #[test]
    fn a_fleet_names_its_bad_or_missing_key() {
        let v = |k: Kind| Value::new(k, Pos::default());
        let dict = |pairs: Vec<(&str, Kind)>| {
            v(Kind::Dict(
                pairs.into_iter().map(|(k, x)| (s(k), v(x))).collect(),
            ))
        };
        let py = Syntax::Python;
        let good = vec![
            ("size", Kind::Int(4)),
            ("balancer", Kind::Str("host".into())),
            ("port", Kind::Int(8000)),
        ];
        assert!(check("fleet", &dict(good.clone()), py).is_ok());
        let mut typo = good.clone();
        typo.push(("lsiten", Kind::Str("127.0.0.1:80".into())));
        let (what, hint) = check("fleet", &dict(typo), py).unwrap_err();
        assert_eq!(what, "unknown fleet key `lsiten`");
        assert!(hint.starts_with("did you mean `listen`?"), "{hint}");
        let (what, _) = check("fleet", &dict(good[..2].to_vec()), py).unwrap_err();
        assert_eq!(what, "`port` is missing");
        let mut bad = good.clone();
        bad.push(("addresses", Kind::List(vec![s("10.0.3.5")])));
        let (what, hint) = check("fleet", &dict(bad), py).unwrap_err();
        assert!(
            what.starts_with("`addresses` must be a list of IPv4 addresses with prefix"),
            "{what}"
        );
        assert_eq!(
            hint,
            "for example 'fleet': {'size': 4, 'balancer': 'host', 'port': 8000}"
        );
        let (what, _) = check("fleet", &s("4"), py).unwrap_err();
        assert!(
            what.starts_with("expected a dict with size, balancer and port"),
            "{what}"
        );
    }

    #[test]
    fn readme_documents_every_key() {
        let readme =
            fs_err::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
        let missing: Vec<&str> = KEYS
            .iter()
            .map(|(k, _, _)| *k)
            .filter(|k| !readme.contains(&format!("| `{k}` |")))
            .collect();
        assert!(
            missing.is_empty(),
            "README.md's configuration reference lacks {missing:?}"
        );
    }
}
