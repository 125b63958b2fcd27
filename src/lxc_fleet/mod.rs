//! Container fleets the `FabulAWS` way: a release baked into a versioned container template
//! ([`bake`]), a fleet of members cloned from it in parallel behind a real nginx load balancer
//! ([`balancer`]), and the deploys that replace them (`bluegreen`, `serial`) or switch back
//! (`rollback`) ([`deploy`]). The fleet's state is a file of this machine ([`state`]). The
//! balancer runs on this machine or in a container, every effect going through its [`place`];
//! on `lxc_host` every command shares one ssh connection ([`ssh_master`]).
//!
//! Not `deploy::fleet`, which is the fan-out of a deploy over an env's hosts: here the hosts
//! themselves are made and replaced.

pub mod bake;
pub mod balancer;
pub mod deploy;
pub mod error;
pub mod handle;
pub mod http;
pub mod lifecycle;
pub mod member;
pub mod place;
pub mod settings;
pub mod ssh_master;
pub mod state;

pub use error::FleetError;
pub use handle::Fleet;
pub use settings::FleetSettings;
