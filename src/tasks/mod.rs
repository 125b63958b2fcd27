//! Tasks: the registry of built-ins, user tasks, and the plan that a command line resolves to.

pub mod builtin;
pub mod plan;
pub mod registry;
pub mod user;
