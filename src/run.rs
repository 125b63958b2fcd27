//! The program: parse the syntax, load the project, resolve a plan, then act (or list).

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use clap::{CommandFactory, Parser};

use crate::cli::Cli;
use crate::environments::external::Reading;
use crate::environments::{self, Project};
use crate::error::{Error, Result};
use crate::exec::{execute, ExecOptions};
use crate::invocation::{parse_task, TaskCall};
use crate::report::{Console, Reporter, Verbosity};
use crate::tasks::plan::{self, Overrides, Plan, Targets};
use crate::tasks::registry::{self, BUILTINS};

/// Run dfab with these arguments; returns the process exit code.
pub fn run<I: IntoIterator<Item = OsString>>(args: I) -> u8 {
    let args: Vec<OsString> = args.into_iter().collect();
    // `dfab serve ...` is the web app, with a command line of its own.
    if args.get(1).is_some_and(|a| a == "serve") {
        return match crate::serve::run(args[1..].to_vec()) {
            Ok(()) => 0,
            Err(e) => {
                let _ = std::io::stderr().write_all(crate::error::render(&e).as_bytes());
                e.code()
            }
        };
    }
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 2 } else { 0 };
        }
    };
    // `--json`: stdout is the JSON alone; warnings and errors still go to stderr.
    let verbosity = if cli.quiet || cli.json {
        Verbosity::Quiet
    } else if cli.verbose > 0 {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    };
    let console = Console::new(verbosity);
    match run_cli(&cli, &console) {
        Ok(()) => 0,
        // The reader of our output went away (`dfab -l | head -1`): stop quietly, as ripgrep does.
        Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            let text = console.redact(&crate::error::render(&e));
            let _ = std::io::stderr().write_all(text.as_bytes());
            e.code()
        }
    }
}

fn run_cli(cli: &Cli, console: &Console) -> Result<()> {
    let rep: &dyn Reporter = console;
    if let Some(shell) = cli.completions {
        clap_complete::generate(shell, &mut Cli::command(), "dfab", &mut std::io::stdout());
        return Ok(());
    }
    if cli.man {
        clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
        return Ok(());
    }
    let file = locate(cli.environments.clone())?;
    let project = Project::load(&file, cli.python)?;
    console.set_redactor(crate::secret::Redactor::new(
        crate::secret::project_secrets(&project),
    ));
    if cli.python {
        rep.warn(&format!(
            "evaluated {} with python3 (--python)",
            file.display()
        ));
    }
    let Some((env_word, task_words)) = cli.words.split_first() else {
        if cli.list {
            print!("{}", console.redact(&list(&project, rep)?));
            warn_plain_secrets(&project, rep);
            return Ok(());
        }
        return Err(Error::usage(
            "no environment given",
            Some(format!(
                "usage: dfab <ENV> <TASK>...; environments here: {}; `dfab -l` lists tasks",
                project.env_names().collect::<Vec<_>>().join(", ")
            )),
        ));
    };
    let env_call = parse_task(env_word)?;
    let calls: Vec<TaskCall> = task_words
        .iter()
        .map(|w| parse_task(w))
        .collect::<Result<_>>()?;
    if cli.json && !cli.list {
        json_only(&env_call.name, &calls, &cli.command)?;
    }
    let secrets = if cli.list {
        Reading::Nothing
    } else if cli.dry_run && !cli.run_secret_commands {
        Reading::NoCommands
    } else {
        Reading::All
    };
    let overrides = Overrides {
        hosts: cli.hosts.clone(),
        user: cli.user.clone(),
        adhoc: (!cli.command.is_empty()).then(|| cli.command.join(" ")),
        json: cli.json,
        secrets,
    };
    let plan = plan::resolve(&project, &env_call, &calls, &overrides)?;
    // What was read from outside the project is secret wherever it shows.
    let mut known = crate::secret::project_secrets(&project);
    known.extend(crate::secret::external_secrets(&plan.env));
    console.set_redactor(crate::secret::Redactor::new(known));
    warn_near_miss_keys(&project, &plan.env.name, rep);
    if plan.env.bool("collectstatic") == Some(true) {
        // dragonfab's switch: dfab reads it only to say that it does nothing.
        rep.warn(
            "`collectstatic` is True, but dfab does not run Django's collectstatic: run it in \
             the package's postinst (as fixtures/djdemo does)",
        );
    }
    if cli.list {
        print!("{}", console.redact(&show_env(&project, &plan)));
        return Ok(());
    }
    if calls.is_empty() && cli.command.is_empty() {
        return Err(Error::usage(
            format!("no task given for environment `{}`", env_call.name),
            Some("`dfab -l` lists the tasks".into()),
        ));
    }
    let ctx = crate::Context {
        yes: cli.yes,
        dry_run: cli.dry_run,
        quiet: cli.quiet,
    };
    let hosts = crate::activate(&plan, &ctx, rep)?;
    let work = crate::exec::Work {
        steps: &plan.steps,
        env: &plan.env,
        project_dir: &plan.project_dir,
        lxc: matches!(plan.targets, Targets::Lxc { .. }),
    };
    let done = execute(
        &project,
        work,
        &hosts,
        crate::connector(&plan).as_ref(),
        rep,
        ExecOptions {
            dry_run: cli.dry_run,
            yes: cli.yes,
            quiet: cli.quiet,
            parallel: parallel(cli, &plan)?,
        },
    );
    // Whatever the run left in `.dfab/` (build caches, journals) stays out of git.
    for dir in [plan.project_dir.clone(), project.dir()] {
        if let Err(e) = crate::fsutil::ignore_state_dir(&dir) {
            rep.warn(&format!("could not keep .dfab/ out of git: {e}"));
        }
    }
    done
}

/// The tasks with a JSON form: with `--json` they print it on stdout.
const JSON_TASKS: &[&str] = &["facts"];

/// `--json` keeps every line but the JSON off stdout: on a task without a JSON form it would run
/// it and print nothing of what it did. Refused before anything runs, naming those tasks.
fn json_only(env: &str, calls: &[TaskCall], command: &[String]) -> Result<()> {
    let mut without: Vec<String> = calls
        .iter()
        .filter(|c| !JSON_TASKS.contains(&c.name.as_str()))
        .map(|c| format!("`{}`", c.name))
        .collect();
    if !command.is_empty() {
        without.push(format!("the command `{}`", command.join(" ")));
    }
    if without.is_empty() {
        return Ok(());
    }
    let tasks = JSON_TASKS
        .iter()
        .map(|t| format!("`{t}`"))
        .collect::<Vec<_>>()
        .join(", ");
    Err(Error::usage(
        format!(
            "--json: {} {} no JSON form (only {tasks} {}); nothing was run",
            without.join(", "),
            if without.len() == 1 { "has" } else { "have" },
            if JSON_TASKS.len() == 1 { "has" } else { "have" },
        ),
        Some(format!(
            "drop --json for the text output, or ask for JSON alone: `dfab --json {env} {}`",
            JSON_TASKS[0]
        )),
    ))
}

/// `--parallel`, else the env's `parallel`, else the default.
fn parallel(cli: &Cli, plan: &Plan) -> Result<usize> {
    if let Some(n) = cli.parallel {
        return Ok(usize::from(n));
    }
    plan.env
        .count("parallel", crate::exec::DEFAULT_PARALLEL, "hosts")
}

/// A key written in the env (or `__all__`) that dfab does not know but that is one slip away from
/// one it does (`debcof`, `hots`): unknown keys are variables for tasks, so a misspelt setting
/// would otherwise be ignored without a word. Said once per key; not for a value read from
/// outside the project (plainly the user's own). A key a user task interpolates is still
/// warned about: `{db_pasword}` in a task does not make dfab's database tasks read it.
fn warn_near_miss_keys(project: &Project, env: &str, rep: &dyn Reporter) {
    let known = || crate::environments::keys::KEYS.iter().map(|(k, _, _)| *k);
    let own = project
        .envs
        .iter()
        .filter(|e| e.name == env)
        .flat_map(|e| e.vars.iter());
    let mut said = std::collections::BTreeSet::new();
    for (k, v) in project.defaults.iter().chain(own) {
        // A value read from outside the project (`from_env`, …) is there on purpose: a secret
        // for the user's tasks (the README's `smtp_password`), not a slip of dfab's key. A key
        // in `__all__` and the env is said once.
        if environments::external::source(v).is_some() || !said.insert(k.as_str()) {
            continue;
        }
        if let Some(n) = crate::suggestion::near_miss(k, known()) {
            rep.warn(&format!(
                "{}: `{k}` is not a key dfab reads (did you mean `{n}`?); unknown keys are only \
                 variables for tasks",
                crate::error::location(&project.file, Some(v.pos), None)
            ));
        }
    }
}

/// `dfab -l`: a secret key (`db_password`, `api_token`) written in plain text in an
/// environments file that git tracks: the secret is in the repository's history.
fn warn_plain_secrets(project: &Project, rep: &dyn Reporter) {
    let found = environments::external::plain_secrets(project);
    if found.is_empty() || !crate::git::tracks(&project.file) {
        return;
    }
    for (env, key, pos) in found {
        rep.warn(&format!(
            "{}: `{env}.{key}` is a secret written in plain text in a file git tracks; read it \
             from outside the project instead: {}",
            crate::error::location(&project.file, Some(pos), None),
            environments::syntax::Syntax::of(&project.file).setting(&key, "{'from_env': 'VAR'}")
        ));
    }
}

/// The environments file: `-f`'s, else the first found up from the current dir.
pub(crate) fn locate(explicit: Option<PathBuf>) -> Result<PathBuf> {
    if let Some(p) = explicit {
        if !p.is_file() {
            return Err(Error::usage(
                format!("environments file {} does not exist", p.display()),
                None,
            ));
        }
        return Ok(p);
    }
    let cwd = std::env::current_dir()?;
    environments::find(&cwd).ok_or_else(|| {
        Error::usage(
            format!(
                "no environments.py or dfab.toml in {} or any parent directory",
                cwd.display()
            ),
            Some("run dfab inside your project, or pass -f path/to/environments.py".into()),
        )
    })
}

/// `dfab -l`: environments and tasks with one-line docs, like `fab -l`.
/// An env with a bad key is listed with a warning naming the problem, not refused: only a run
/// that uses it refuses it.
fn list(project: &Project, rep: &dyn Reporter) -> Result<String> {
    let user = plan::user_tasks(project)?;
    let mut out = format!("Environments (from {}):\n", project.file.display());
    let width = project.env_names().map(str::len).max().unwrap_or(0).max(12);
    for e in &project.envs {
        let env = match project.activate(&e.name) {
            Ok(env) => env,
            Err(err) => {
                let hint = err.hint().map(|h| format!(" ({h})")).unwrap_or_default();
                rep.warn(&format!("environment `{}`: {err}{hint}", e.name));
                let _ = writeln!(
                    out,
                    "    {:width$}  Activate {} environment (not usable: see the warning).",
                    e.name, e.name
                );
                continue;
            }
        };
        let doc = match (env.str("lxc"), env.str_list("hosts")) {
            (Some(c), _) => format!("Activate {} environment (lxc: '{c}').", e.name),
            (None, h) if !h.is_empty() => {
                format!("Activate {} environment (hosts: {}).", e.name, h.join(", "))
            }
            _ => format!("Activate {} environment.", e.name),
        };
        let _ = writeln!(out, "    {:width$}  {doc}", e.name);
    }
    out.push_str("\nTasks:\n");
    let width = BUILTINS
        .iter()
        .map(|b| b.name.len())
        .chain(user.iter().map(|t| t.name.len()))
        .max()
        .unwrap_or(0);
    for b in BUILTINS {
        let note = if user.iter().any(|t| t.name == b.name) {
            " (replaced by the project's task; the built-in is `dfab.`-prefixed)"
        } else {
            ""
        };
        let _ = writeln!(out, "    {:width$}  {}{note}", b.name, b.doc);
    }
    for t in &user {
        let replaces = if registry::builtin(&t.name).is_some() {
            " [project task, replaces the built-in]"
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "    {:width$}  {}{replaces}",
            t.name,
            if t.doc.is_empty() {
                "(user task)"
            } else {
                &t.doc
            }
        );
    }
    out.push_str(
        "\nAd-hoc: dfab <ENV>[:roles=web,sudo=yes] -- <command>  runs a shell command on every \
         host of the env (or those named), after any tasks\n",
    );
    Ok(out)
}

/// A path key of `env` as the file writes it (its own value, else `__all__`'s), for `-l`.
fn as_written(project: &Project, env: &str, key: &str) -> Option<String> {
    if !matches!(
        crate::environments::keys::shape(key),
        Some(crate::environments::keys::Shape::LocalPath(_))
    ) {
        return None;
    }
    let own = project.envs.iter().find(|e| e.name == env)?;
    own.vars
        .iter()
        .rev()
        .chain(project.defaults.iter().rev())
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.to_string())
}

/// `dfab <ENV> -l`: the env's resolved settings, secrets redacted, with where each came from.
fn show_env(project: &Project, plan: &Plan) -> String {
    let env = &plan.env;
    let mut out = format!(
        "Environment {} (from {}):\n",
        env.name,
        project.file.display()
    );
    let own: Vec<&str> = project
        .envs
        .iter()
        .find(|e| e.name == env.name)
        .map(|e| e.vars.iter().map(|(k, _)| k.as_str()).collect())
        .unwrap_or_default();
    for (k, mut v) in plan::display_vars(env) {
        // A path key as written: activation made it absolute against the project.
        if let Some(raw) = as_written(project, &env.name, &k) {
            v = raw;
        }
        let from_inventory = ["inventory", "inventory_command"]
            .iter()
            .any(|i| env.vars.contains_key(*i));
        let origin = if own.contains(&k.as_str()) || k == "env_name" {
            ""
        } else if project.defaults.iter().any(|(d, _)| *d == k) {
            "    (from __all__)"
        } else if from_inventory {
            "    (from the inventory)"
        } else {
            ""
        };
        let _ = writeln!(out, "    {k} = {v}{origin}");
    }
    // Where the inventory's hosts are reached; their names are their names everywhere else.
    if !env.addresses.is_empty() {
        let a: Vec<String> = env
            .addresses
            .iter()
            .map(|(h, a)| format!("'{h}': '{a}'"))
            .collect();
        let _ = writeln!(
            out,
            "    addresses = {{{}}}    (from the inventory)",
            a.join(", ")
        );
    }
    let targets = match &plan.targets {
        Targets::Hosts(h) if h.is_empty() => "no hosts".to_string(),
        Targets::Hosts(h) => format!("hosts: {}", h.join(", ")),
        Targets::Lxc { name, .. } => format!("LXC container `{name}` on this machine"),
    };
    let _ = writeln!(out, "Targets: {targets}");
    out
}
