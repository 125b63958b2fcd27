//! Any text as debian/control, debian/changelog or a version: parsed or refused with a
//! file:line error, never a panic.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

use dfab::deb::{changelog, control::Control, version};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let _ = Control::parse(Path::new("debian/control"), text).map(|c| c.source_name().len());
    let _ = changelog::parse(Path::new("debian/changelog"), text);
    if let Some(first) = text.lines().next() {
        let _ = version::validate(first);
        let _ = changelog::parse_rfc2822(first);
    }
});
