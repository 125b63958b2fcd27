//! `dfab serve`: the deployment web app. Server-rendered pages of the project's environments,
//! their releases, journal and jobs; actions run as background jobs (a child `dfab` each) whose
//! log the page follows live; accounts with argon2 hashes, or single-user mode on loopback.

pub mod actions;
pub mod auth;
pub mod envfile;
pub mod error;
pub mod events;
pub mod gate;
pub mod jobs;
pub mod lockseen;
pub mod pages;
pub mod project;
pub mod routes;
pub mod store;

use std::ffi::OsString;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};

use clap::Parser;

pub use error::Error;

/// `dfab serve`'s own command line.
#[derive(Debug, Parser)]
#[command(name = "dfab serve", bin_name = "dfab serve", max_term_width = 100)]
pub struct Args {
    /// The address and port to serve on. Any address but loopback needs accounts.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:8714")]
    pub bind: String,

    /// The environments file (default: search up from the current dir).
    #[arg(short = 'f', long = "environments", value_name = "PATH")]
    pub environments: Option<PathBuf>,

    /// Add (or replace) an account and exit: the password is asked on the terminal, or read
    /// as one line from stdin when that is not a terminal.
    #[arg(long, value_name = "NAME")]
    pub add_user: Option<String>,

    /// The new account's role.
    #[arg(long, value_name = "ROLE", default_value = "deployer", value_parser = ["viewer", "deployer"], requires = "add_user")]
    pub role: String,
}

/// Everything a request handler reaches.
pub struct App {
    pub store: Arc<store::Store>,
    pub jobs: Arc<jobs::Jobs>,
    pub project: project::Cache,
    pub limiter: auth::Limiter,
    /// Bound to a loopback address: without accounts, single-user mode.
    pub loopback: bool,
    /// Whether the store had accounts at the last request (to say so once when one appears).
    pub accounts_seen: AtomicBool,
    /// The project's secrets, kept in step with the project.
    pub redactor: Arc<RwLock<crate::secret::Redactor>>,
}

impl App {
    /// Single-user mode: bound to loopback and no account in the store, so every visitor is the
    /// deployer `local`. Asked on every request (one indexed `SQLite` read), so an account added
    /// by `--add-user` while the server runs requires sign-in from the next request on; a store
    /// that cannot be read counts as having accounts.
    pub fn single_user(&self) -> bool {
        let accounts = self.store.has_users().unwrap_or(true);
        if accounts && !self.accounts_seen.swap(true, Ordering::Relaxed) {
            eprintln!(
                "dfab serve: accounts found in {}: sign-in is required from now on",
                self.store.path().display()
            );
        }
        if !accounts {
            self.accounts_seen.store(false, Ordering::Relaxed);
        }
        self.loopback && !accounts
    }

    /// The project view, and the secrets of the current file in the redactor.
    pub fn view(&self) -> Arc<project::View> {
        let v = self.project.get();
        let mut r = self
            .redactor
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *r = v.redactor.clone();
        drop(r);
        let mut no_snap = self
            .jobs
            .no_snapshot
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *no_snap = v
            .envs
            .iter()
            .filter(|e| e.lxc.is_some())
            .map(|e| e.name.clone())
            .collect();
        v
    }
}

/// `dfab serve ...` (the words after `dfab`): serve until stopped, or add a user.
pub fn run(args: Vec<OsString>) -> crate::error::Result<()> {
    let args = match Args::try_parse_from(args) {
        Ok(a) => a,
        Err(e) => {
            let _ = e.print();
            if e.use_stderr() {
                return Err(crate::error::Error::usage(
                    "bad `dfab serve` arguments (above)",
                    None,
                ));
            }
            return Ok(());
        }
    };
    let file = crate::run::locate(args.environments.clone())?;
    let file = fs_err::canonicalize(&file)?;
    let dir = file.parent().map(PathBuf::from).unwrap_or_default();
    let store = Arc::new(store::Store::open(&dir.join(".dfab/serve.sqlite3"))?);
    for (f, mode) in store.tightened() {
        eprintln!(
            "dfab serve: {} was mode {mode:04o} (it holds password hashes, sessions and job \
             logs): now 0600",
            f.display()
        );
    }
    if let Some(name) = &args.add_user {
        let role = auth::Role::parse(&args.role).unwrap_or(auth::Role::Deployer);
        auth::add_user(&store, name, role)?;
        eprintln!(
            "dfab serve: account {name} ({}) saved in {}; a running `dfab serve` requires \
             sign-in from its next request",
            role.name(),
            dir.join(".dfab/serve.sqlite3").display()
        );
        return Ok(());
    }
    let addr: SocketAddr = args.bind.parse().map_err(|_| Error::BadBind {
        given: args.bind.clone(),
    })?;
    let accounts = store.has_users()?;
    if !accounts && !addr.ip().is_loopback() {
        return Err(Error::NeedsAccounts {
            addr: addr.to_string(),
        }
        .into());
    }
    let redactor = Arc::new(RwLock::new(crate::secret::Redactor::default()));
    let jobs = Arc::new(jobs::Jobs::new(
        Arc::clone(&store),
        file.clone(),
        Arc::clone(&redactor),
    ));
    let app = Arc::new(App {
        store,
        jobs: Arc::clone(&jobs),
        project: project::Cache::new(file.clone()),
        limiter: auth::Limiter::default(),
        loopback: addr.ip().is_loopback(),
        accounts_seen: AtomicBool::new(accounts),
        redactor,
    });
    app.view();
    jobs.recover();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Listen {
                addr: addr.to_string(),
                source,
            })?;
        let local = listener.local_addr()?;
        eprintln!(
            "dfab serve: {} on http://{local}/ ({})",
            file.display(),
            if accounts {
                "sign-in required"
            } else {
                "single-user mode: no accounts, loopback only; `dfab serve --add-user NAME` \
                 makes it require sign-in"
            }
        );
        jobs.kick();
        axum::serve(
            listener,
            routes::router(app).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await?;
        Ok::<(), crate::error::Error>(())
    })
}
