//! Fault kinds of issue 19: database.

#[allow(unused_imports)]
use super::*;
