//! Command-line syntax only (clap derive); meaning comes later, in `run`.

use std::path::PathBuf;

use clap::{ArgAction, Parser};

/// Build and ship Debian packages of web apps to named environments.
///
/// Tasks run in order against the activated environment, as in Fabric:
/// `dfab production deb.build deb.deploy`. Arguments follow Fabric's
/// `task:a,b,key=value` syntax, with `\,` and `\=` for literal commas and equal signs.
#[derive(Debug, Parser)]
#[allow(clippy::struct_excessive_bools)] // command-line switches are bools by nature
#[command(
    name = "dfab",
    version,
    max_term_width = 100,
    after_help = "The deployment web app: dfab serve [--bind ADDR:PORT] [--add-user NAME] \
                  (see `dfab serve --help`)"
)]
pub struct Cli {
    /// The environment to activate (a key of `environments`), then the tasks to run.
    #[arg(value_name = "ENV[:ARGS] TASK[:ARGS]")]
    pub words: Vec<String>,

    /// After `--`: a shell command to run on every host of the env (Fabric 1's
    /// `fab production -- uname -a`); `ENV:roles=web`, `hosts=`, `exclude_hosts=` pick the
    /// hosts, `sudo=yes` runs it as root.
    #[arg(last = true, value_name = "COMMAND")]
    pub command: Vec<String>,

    /// Machine-readable output from the tasks that have it (`facts`): JSON on stdout.
    #[arg(long = "json")]
    pub json: bool,

    /// List environments and tasks; after an ENV, show that env's resolved settings.
    #[arg(short = 'l', long = "list")]
    pub list: bool,

    /// The environments file (default: search up from the current dir for environments.py,
    /// then dfab.toml).
    #[arg(short = 'f', long = "environments", value_name = "PATH")]
    pub environments: Option<PathBuf>,

    /// Print every command that would run on each host; run nothing.
    #[arg(short = 'n', long = "dry-run")]
    pub dry_run: bool,

    /// With -n: also run the env's `from_command` values (a secret store asked for real;
    /// without it they stand unread under -n)
    #[arg(long = "run-secret-commands", requires = "dry_run")]
    pub run_secret_commands: bool,

    /// Log in as this user (overrides the env's `user`).
    #[arg(short = 'u', long = "user")]
    pub user: Option<String>,

    /// Act on these hosts instead of the env's (comma-separated).
    #[arg(short = 'H', long = "hosts", value_delimiter = ',')]
    pub hosts: Option<Vec<String>>,

    /// Run each step on at most N hosts at once (default: the env's `parallel`, else 64).
    #[arg(short = 'P', long = "parallel", value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub parallel: Option<u16>,

    /// Answer yes to confirmations.
    #[arg(short = 'y', long = "yes")]
    pub yes: bool,

    /// More output.
    #[arg(short = 'v', long = "verbose", action = ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Only errors and warnings.
    #[arg(short = 'q', long = "quiet")]
    pub quiet: bool,

    /// Evaluate environments.py with python3 instead of reading it as literals.
    #[arg(long = "python")]
    pub python: bool,

    /// Print a shell completion script and exit.
    #[arg(long = "completions", value_name = "SHELL")]
    pub completions: Option<clap_complete::Shell>,

    /// Print the man page (roff) and exit.
    #[arg(long = "man")]
    pub man: bool,
}
