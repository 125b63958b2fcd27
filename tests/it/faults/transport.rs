//! Fault kinds of issue 19: transport.

#[allow(unused_imports)]
use super::*;
