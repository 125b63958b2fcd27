//! The built-in tasks: one entry each (name, doc, arguments, default roles, activation, planner).
//! Adding a built-in is one entry here plus its module in `tasks/builtin/`.

use crate::error::Result;
use crate::invocation::TaskCall;

use super::builtin::{self, PlanCtx};
use crate::exec::step::Step;

/// One argument a built-in takes, by name; positional arguments fill them in this order.
#[derive(Debug, Clone, Copy)]
pub struct Arg {
    pub name: &'static str,
    pub doc: &'static str,
}

/// Turns a checked call into steps. It reads the env and the project, never a host.
pub type Planner = fn(&PlanCtx<'_>, &TaskCall) -> Result<Vec<Step>>;

/// One built-in task.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    pub name: &'static str,
    pub doc: &'static str,
    pub args: &'static [Arg],
    /// Roles (`roledefs`) it runs on when the call names none; empty: every host of the env.
    pub roles: &'static [&'static str],
    /// Whether the env's hosts must be up first (an LXC env's container cloned and started).
    pub activation: bool,
    pub plan: Planner,
}

const fn arg(name: &'static str, doc: &'static str) -> Arg {
    Arg { name, doc }
}

/// Every built-in task. A project task of the same name replaces it (the built-in stays
/// reachable as `dfab.<name>`).
pub const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "deb.build",
        doc: "Build the .deb packages from the project's debian/ directory",
        args: &[
            arg(
                "version",
                "the package version to build, instead of debian/changelog's",
            ),
            arg(
                "compression",
                "gzip, xz or zstd, optionally with a level (xz:9)",
            ),
        ],
        roles: &[],
        activation: false,
        plan: builtin::deb_build::plan,
    },
    Builtin {
        name: "deb.deploy",
        doc: "Ship the built packages and install them with the env's debconf answers",
        args: &[
            arg(
                "force",
                "yes: reinstall even when that exact version is installed; and deploy to a protected env from a dirty tree, another branch, or a branch behind its upstream",
            ),
            arg(
                "allow_downgrade",
                "yes: install a lower version than a host has (refused otherwise, as apt does)",
            ),
        ],
        roles: &["app", "web"],
        activation: true,
        plan: builtin::deb_deploy::plan,
    },
    Builtin {
        name: "deb.reconfigure",
        doc: "Apply the env's current debconf answers to the installed packages (config and postinst run again), no new release",
        args: &[],
        roles: &["app", "web"],
        activation: true,
        plan: builtin::deb_reconfigure::plan,
    },
    Builtin {
        name: "deb.publish",
        doc: "Publish the last build into the env's signed APT repository (aptly)",
        args: &[],
        roles: &[],
        activation: false,
        plan: builtin::apt::plan_publish,
    },
    Builtin {
        name: "apt.keygen",
        doc: "Make a signing key for the env's APT repository, and say where its parts go",
        args: &[],
        roles: &[],
        activation: false,
        plan: builtin::apt::plan_keygen,
    },
    Builtin {
        name: "releases",
        doc: "Show the release history of each host",
        args: &[],
        roles: &["app", "web"],
        activation: true,
        plan: builtin::releases::plan,
    },
    Builtin {
        name: "rollback",
        doc: "Reinstall the previous release on each host",
        args: &[arg(
            "version",
            "the kept release to reinstall (default: the previous one)",
        )],
        roles: &["app", "web"],
        activation: true,
        plan: builtin::rollback::plan,
    },
    Builtin {
        name: "setup_release",
        doc: "Release mode: prepare a release without switching to it, and print its path",
        args: &[arg(
            "keep_days",
            "keep the release from clean_releases for this many days",
        )],
        roles: &["app", "web"],
        activation: true,
        plan: builtin::release_mode::plan_setup,
    },
    Builtin {
        name: "clean_releases",
        doc: "Release mode: remove failed releases, then old ones beyond keep_releases",
        args: &[],
        roles: &["app", "web"],
        activation: true,
        plan: builtin::release_mode::plan_clean,
    },
    Builtin {
        name: "database.dump",
        doc: "Dump the env's PostgreSQL database to a local file",
        args: &[],
        roles: &["db"],
        activation: true,
        plan: builtin::database::plan_dump,
    },
    Builtin {
        name: "database.push",
        doc: "Load a dump into the env's database",
        args: &[
            arg(
                "file",
                "a dump file to push (default: the last dump of db_clone_from)",
            ),
            arg("from", "push the last local dump of this env"),
            arg(
                "unverified",
                "yes: write even when a protected env's server cannot be asked whether it holds this database",
            ),
        ],
        roles: &["db"],
        activation: true,
        plan: builtin::database::plan_push,
    },
    Builtin {
        name: "database.force_push",
        doc: "Replace the env's database with a dump (destructive)",
        args: &[
            arg(
                "file",
                "a dump file to push (default: the last dump of db_clone_from)",
            ),
            arg("from", "push the last local dump of this env"),
            arg(
                "unverified",
                "yes: write even when a protected env's server cannot be asked whether it holds this database",
            ),
        ],
        roles: &["db"],
        activation: true,
        plan: builtin::database::plan_push,
    },
    Builtin {
        name: "database.migrate",
        doc: "Run the app's migrations on the env",
        args: &[],
        roles: &["db"],
        activation: true,
        plan: builtin::database::plan_migrate,
    },
    Builtin {
        name: "db_migrate",
        doc: "Migrate the env's database (alias of database.migrate)",
        args: &[],
        roles: &["db"],
        activation: true,
        plan: builtin::database::plan_migrate,
    },
    Builtin {
        name: "db_clone",
        doc: "Copy db_clone_from's database (default production) into this env",
        args: &[
            arg("keep", "yes: also keep the dump in dumps/<source>.dump"),
            arg(
                "cached",
                "yes: push the last local dump of the source instead of dumping",
            ),
            arg(
                "unverified",
                "yes: write even when a protected env's server cannot be asked whether it holds this database",
            ),
        ],
        roles: &["db"],
        activation: true,
        plan: builtin::database::plan_clone,
    },
    Builtin {
        name: "data_refresh",
        doc: "Copy data_from's media (default production) into this env",
        args: &[arg("force", "yes: also into production or a protected env")],
        roles: &[],
        activation: true,
        plan: builtin::data_refresh::plan,
    },
    Builtin {
        name: "web_mode",
        doc:
            "Switch the web front end: web_mode:maintenance, live or status; web_mode:snippet=nginx",
        args: &[
            arg("mode", "maintenance, live, status or snippet"),
            arg("message", "the splash page's text (with maintenance)"),
            arg("snippet", "nginx or apache: print that server's snippet"),
        ],
        roles: &["web"],
        activation: true,
        plan: builtin::web_mode::plan,
    },
    Builtin {
        name: "web_restart",
        doc: "Restart the app's web service, then wait for health_url",
        args: &[],
        roles: &["web"],
        activation: true,
        plan: builtin::web_restart::plan,
    },
    Builtin {
        name: "init",
        doc: "Prepare hosts for their first deploy (idempotent)",
        args: &[],
        roles: &[],
        activation: true,
        plan: builtin::init::plan,
    },
    Builtin {
        name: "test",
        doc: "Run the app's checks on the env, then an HTTP smoke check",
        args: &[],
        roles: &["web"],
        activation: true,
        plan: builtin::app_test::plan,
    },
    Builtin {
        name: "deploy",
        doc: "The whole deploy: the env's `deploy` sequence under a lock, with a journal",
        args: &[
            arg(
                "resume",
                "yes: continue a failed deploy from its first unfinished step",
            ),
            arg(
                "revert",
                "yes: where a failed deploy installed, reinstall the release `rollback` would go back to, then go live",
            ),
            arg(
                "force",
                "yes: deploy to a protected env from a dirty tree, another branch, or a branch behind its upstream; with resume, continue although the build changed",
            ),
        ],
        roles: &[],
        activation: true,
        plan: builtin::deploy::plan,
    },
    Builtin {
        name: "lock",
        doc: "The deploy lock: lock:status, lock:acquire,message=..., lock:release[,force=yes]",
        args: &[
            arg("action", "status (default), acquire or release"),
            arg("message", "why (with acquire)"),
            arg(
                "force",
                "yes (with release): break someone else's lock, after confirmation",
            ),
        ],
        roles: &[],
        activation: true,
        plan: builtin::lock::plan,
    },
    Builtin {
        name: "manage",
        doc: "Run a management command of the app: manage:createsuperuser, manage:\"migrate --plan\"",
        args: &[
            arg(
                "command",
                "the management command and its arguments (run in the app's venv, as app_user)",
            ),
            arg(
                "release",
                "release mode: run in this release (as `releases` lists it), not `current`",
            ),
        ],
        roles: &["app"],
        activation: true,
        plan: builtin::manage::plan,
    },
    Builtin {
        name: "facts",
        doc: "Show each host's OS, kernel, CPUs, memory, free disk and the env's packages (--json for scripts)",
        args: &[arg("json", "yes: print JSON (as --json does)")],
        roles: &[],
        activation: true,
        plan: builtin::facts::plan,
    },
    Builtin {
        name: "services",
        doc: "The services the env's packages ship: services:status, restart, stop or start[,name]",
        args: &[
            arg("action", "status (default), restart, stop or start"),
            arg("name", "one service (default: all of them)"),
        ],
        roles: &["app", "web"],
        activation: true,
        plan: builtin::services::plan,
    },
    Builtin {
        name: "lxc.template",
        doc: "Build an LXC template container with debootstrap",
        args: &[],
        roles: &[],
        activation: false,
        plan: builtin::lxc::plan_template,
    },
    Builtin {
        name: "lxc_remove",
        doc: "Stop and destroy the env's LXC container",
        args: &[],
        roles: &[],
        activation: false,
        plan: builtin::lxc::plan_remove,
    },
    Builtin {
        name: "lxc.bake",
        doc: "Bake the recorded build into a versioned LXC template for the env's fleet",
        args: &[],
        roles: &[],
        activation: false,
        plan: builtin::lxc_fleet::plan_bake,
    },
    Builtin {
        name: "fleet.create",
        doc: "Create the env's fleet from the newest bake, in parallel, behind its balancer",
        args: &[],
        roles: &[],
        activation: false,
        plan: builtin::lxc_fleet::plan_create,
    },
    Builtin {
        name: "fleet.status",
        doc: "Show the fleet's members, their bake, version and health, and the balancer",
        args: &[],
        roles: &[],
        activation: false,
        plan: builtin::lxc_fleet::plan_status,
    },
    Builtin {
        name: "fleet.suspend",
        doc: "Keep dfab from changing the fleet's members or balancer until fleet.resume",
        args: &[arg("reason", "why, shown to whoever is refused")],
        roles: &[],
        activation: false,
        plan: builtin::lxc_fleet::plan_suspend,
    },
    Builtin {
        name: "fleet.resume",
        doc: "Let dfab change the fleet again",
        args: &[],
        roles: &[],
        activation: false,
        plan: builtin::lxc_fleet::plan_resume,
    },
    Builtin {
        name: "fleet.destroy",
        doc: "Destroy the fleet's members and stop its balancer (asks first)",
        args: &[arg("bakes", "yes: remove the env's bakes too")],
        roles: &[],
        activation: false,
        plan: builtin::lxc_fleet::plan_destroy,
    },
    Builtin {
        name: "noop",
        doc: "Do nothing (activates the environment, e.g. starts its container)",
        args: &[],
        roles: &[],
        activation: true,
        plan: builtin::noop::plan,
    },
];

/// Look a built-in up by name (`dfab.<name>` names the built-in even when a project task
/// replaces it).
#[must_use]
pub fn builtin(name: &str) -> Option<&'static Builtin> {
    let name = name.strip_prefix("dfab.").unwrap_or(name);
    BUILTINS.iter().find(|b| b.name == name)
}
