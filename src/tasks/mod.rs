//! Tasks: the registry of built-ins, user tasks, and the plan that a command line resolves to.

pub mod builtin;
pub mod exec;
pub mod plan;
pub mod registry;
pub mod step;
pub mod user;
