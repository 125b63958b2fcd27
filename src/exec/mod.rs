//! The engine: steps as data, the `Host` handles they act through (live or recorded for `-n`),
//! the connection pool, the one executor and its per-host summary. It sits under the domain
//! rooms (`deploy`, `releases`, `database`, `web_mode`, `pipeline`), which build on it and never
//! on `tasks`.

pub mod connect;
pub mod engine;
pub(crate) mod pool;
pub mod record;
pub mod runner;
pub mod step;
mod summary;

pub use connect::{ssh_target, Connector, SshConnector};
pub use runner::{execute, get_dest, run_on, ExecOptions, Work, DEFAULT_PARALLEL};
