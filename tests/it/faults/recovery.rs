//! Fault kinds of issue 19: recovery.

#[allow(unused_imports)]
use super::*;
