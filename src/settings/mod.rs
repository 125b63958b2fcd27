//! Typed settings: each concept the env describes (the app, its roles, its protection, where
//! built packages go) read from an [`Env`](crate::environments::Env) once, with one set of
//! defaults and errors that name the environments file, line and key.

pub mod app;
pub mod apt;
pub mod install_mode;
pub mod protection;
pub mod roles;
pub mod shipping;
pub mod text;

pub use app::App;
pub use install_mode::{InstallMode, ReleaseMode};
pub use protection::Protection;
pub use roles::{Roles, UnknownRole};
pub use shipping::Shipping;

#[cfg(test)]
pub(crate) mod testing;
