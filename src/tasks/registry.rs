//! The built-in tasks: their names, one-line docs, and whether they have landed yet.

/// One built-in task.
#[derive(Debug, Clone, Copy)]
pub struct Builtin {
    pub name: &'static str,
    pub doc: &'static str,
    pub implemented: bool,
}

/// Every built-in task name. A name here is reserved: a user task cannot take it.
pub const BUILTINS: &[Builtin] = &[
    Builtin {
        name: "deb.build",
        doc: "Build the .deb packages from the project's debian/ directory",
        implemented: true,
    },
    Builtin {
        name: "deb.deploy",
        doc: "Ship the built packages and install them with the env's debconf answers",
        implemented: false,
    },
    Builtin {
        name: "database.dump",
        doc: "Dump the env's PostgreSQL database to a local file",
        implemented: false,
    },
    Builtin {
        name: "database.push",
        doc: "Load a dump into the env's database",
        implemented: false,
    },
    Builtin {
        name: "database.force_push",
        doc: "Replace the env's database with a dump (destructive)",
        implemented: false,
    },
    Builtin {
        name: "database.migrate",
        doc: "Run the app's migrations on the env",
        implemented: false,
    },
    Builtin {
        name: "db_clone",
        doc: "Copy production's database into this env",
        implemented: false,
    },
    Builtin {
        name: "db_migrate",
        doc: "Migrate the env's database",
        implemented: false,
    },
    Builtin {
        name: "data_refresh",
        doc: "Copy production's database and media into this env",
        implemented: false,
    },
    Builtin {
        name: "web_mode",
        doc: "Switch the web front end: web_mode:maintenance or web_mode:live",
        implemented: false,
    },
    Builtin {
        name: "web_restart",
        doc: "Restart the app's web service",
        implemented: false,
    },
    Builtin {
        name: "init",
        doc: "Prepare hosts for their first deploy",
        implemented: false,
    },
    Builtin {
        name: "test",
        doc: "Run the app's tests on the env",
        implemented: false,
    },
    Builtin {
        name: "deploy",
        doc: "The whole deploy: build, maintenance on, install, migrate, live",
        implemented: false,
    },
    Builtin {
        name: "rollback",
        doc: "Reinstall the previous release on each host",
        implemented: false,
    },
    Builtin {
        name: "releases",
        doc: "Show the release history of each host",
        implemented: false,
    },
    Builtin {
        name: "lxc.template",
        doc: "Build an LXC template container with debootstrap",
        implemented: true,
    },
    Builtin {
        name: "lxc_remove",
        doc: "Stop and destroy the env's LXC container",
        implemented: true,
    },
    Builtin {
        name: "noop",
        doc: "Do nothing (activates the environment, e.g. starts its container)",
        implemented: true,
    },
];

/// Built-ins that act on the env's container itself, so must not start (or clone) it first.
/// `deb.build` runs on this machine, so needs no host either.
pub const WITHOUT_ACTIVATION: &[&str] = &["deb.build", "lxc.template", "lxc_remove"];

/// Look a built-in up by name.
#[must_use]
pub fn builtin(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}
