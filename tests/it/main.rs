//! dfab's integration tests: one binary, a small builder, real hosts.

mod apt;
mod cli;
mod compat;
mod database;
mod day_two;
mod day_two_review;
mod day_two_review2;
mod day_two_secrets;
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
mod facts_release;
mod faults;
mod formats;
mod host_script;
mod hosts;
mod lxc_env;
mod lxc_fleet;
mod lxc_key;
#[cfg(feature = "liblxc")]
mod lxc_lib;
#[cfg(feature = "liblxc")]
mod lxc_support;
mod media;
mod paths;
mod pipeline;
mod release_mode;
mod release_mode_djdemo;
mod release_mode_fixes;
mod release_mode_recovery;
mod serve;
mod serve_support;
mod support;
mod web;
