//! dfab's integration tests: one binary, a small builder, real hosts.

mod cli;
mod compat;
mod deb;
mod deb_compiled;
mod deb_fallback;
mod deb_install;
mod formats;
mod hosts;
mod lxc_env;
#[cfg(feature = "liblxc")]
mod lxc_lib;
#[cfg(feature = "liblxc")]
mod lxc_support;
mod support;
