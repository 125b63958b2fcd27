//! dfab's integration tests: one binary, a small builder, real hosts.

mod cli;
mod compat;
mod database;
mod deb;
mod deb_compiled;
mod deb_differential;
mod deb_fallback;
mod deb_install;
mod deb_nondeterminism;
mod deb_relations;
mod deb_version;
mod deploy;
mod djdemo;
mod djdemo_flow;
mod docs;
mod dry_run;
mod env_values;
mod executor;
mod faults;
mod formats;
mod host_script;
mod hosts;
mod lxc_env;
mod lxc_key;
#[cfg(feature = "liblxc")]
mod lxc_lib;
#[cfg(feature = "liblxc")]
mod lxc_support;
mod media;
mod paths;
mod pipeline;
mod support;
mod web;
