//! Fault kinds of issue 19: media.

#[allow(unused_imports)]
use super::*;
