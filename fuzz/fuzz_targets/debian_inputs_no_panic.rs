//! Any text as debian/control, debian/changelog, a version or a relationship field: parsed or
//! refused with a file:line error, never a panic; versions compare consistently, and a field
//! dfab reads back as it wrote it.

#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;

use dfab::deb::{changelog, control::Control, relation, simplify, version};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = Control::parse(Path::new("debian/control"), text).map(|c| c.source_name().len());
    let _ = changelog::parse(Path::new("debian/changelog"), text);
    if let Some(first) = text.lines().next() {
        let _ = version::validate(first);
        let _ = changelog::parse_rfc2822(first);
    }
    let mut lines = text.lines();
    if let (Some(a), Some(b)) = (lines.next(), lines.next()) {
        if let (Ok(a), Ok(b)) = (version::Version::parse(a), version::Version::parse(b)) {
            assert_eq!(a.cmp(&b), b.cmp(&a).reverse());
        }
    }
    let mut warnings = Vec::new();
    if let Ok(items) = relation::parse(text, &mut warnings) {
        // `a [ ]` and `a < >` hold empty lists, which dpkg (and dfab) print as nothing.
        let printable = items.iter().flatten().all(|r| {
            r.arches.as_ref().is_none_or(|a| !a.is_empty())
                && r.profiles
                    .as_ref()
                    .is_none_or(|p| !p.is_empty() && p.iter().all(|l| !l.is_empty()))
        });
        if printable {
            let written = relation::format(&items);
            assert_eq!(
                relation::parse(&written, &mut warnings).as_ref(),
                Ok(&items),
                "{written}"
            );
        }
        let pkg = simplify::Package {
            name: "a",
            version: "1.0-1",
            arch: "amd64",
            host_arch: "amd64",
            multi_arch: None,
            profiles: &[],
        };
        let _ = simplify::fields(
            &pkg,
            &[("Depends", text), ("Breaks", text), ("Provides", text)],
        );
    }
});
