//! Tasks: the registry of built-ins, user tasks, and the plan that a command line resolves to.

pub mod builtin;
pub mod connect;
pub mod exec;
pub mod plan;
pub(crate) mod pool;
pub mod registry;
pub mod step;
mod summary;
pub mod user;
