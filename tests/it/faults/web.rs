//! Fault kinds of issue 19: web.

#[allow(unused_imports)]
use super::*;
