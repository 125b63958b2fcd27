//! Fault kinds of issue 19: secrets.

#[allow(unused_imports)]
use super::*;
