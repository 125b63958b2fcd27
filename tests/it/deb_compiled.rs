//! Compiled packages (`Architecture: any` with ELF files): shlibs dependencies, stripping, man
//! pages and `dh_compress`, judged by dpkg-buildpackage + debhelper 13 and lintian.

use std::process::Command;

use dfab::deb::{self, BuildOptions, Compression};

use crate::deb::{contents, differences, fields, fixture, lintian, require, run, Fixture};

/// What dfab's environment would say: the same compile command as the project's
/// `override_dh_auto_build`, with dh's build flags from the environment.
fn opts(fx: &Fixture, out: &str) -> BuildOptions {
    let mut o = fx.opts();
    o.out_dir = fx.out.join(out);
    o.compression = Compression::Xz(6);
    o.build_commands = vec!["gcc $CPPFLAGS $CFLAGS $LDFLAGS -o hello hello.c -lz".into()];
    o
}

// Regression: a C program linked with zlib got no Depends, was not stripped, lost its man page
// and kept a 5.8 kB README uncompressed.
#[test]
fn compiled_program_matches_dpkg_buildpackage() {
    require("dpkg-buildpackage", "dpkg-dev");
    require("dh", "debhelper");
    require("gcc", "gcc zlib1g-dev");
    let (a, b) = (fixture("c-hello"), fixture("c-hello"));
    let mut warnings = Vec::new();
    let ours = deb::build_with(&opts(&a, "dfab"), &mut |w| warnings.push(w.to_owned()))
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(warnings, Vec::<String>::new(), "built natively");
    let mut theirs_opts = b.opts();
    theirs_opts.out_dir = b.out.join("dpkg");
    let theirs = deb::dpkg_buildpackage::build(&theirs_opts).unwrap_or_else(|e| panic!("{e}"));
    let (ours, theirs) = (&ours[0].path, &theirs[0].path);

    let depends = &fields(ours)["Depends"];
    assert_eq!(depends, &fields(theirs)["Depends"]);
    assert!(
        depends.contains("libc6 (>= ") && depends.contains("zlib1g (>= "),
        "{depends}"
    );
    let files = contents(ours);
    for path in [
        "./usr/bin/hello",
        "./usr/share/man/man1/hello.1.gz",
        "./usr/share/doc/hello-c/README.gz",
    ] {
        assert!(files.contains_key(path), "{path} in {files:?}");
    }
    let diffs: Vec<String> = differences(ours, theirs, "hello-c")
        .into_iter()
        .filter(|d| !crate::deb::allowed(d))
        // dh_dwz rewrites the DWARF before dh_strip moves it out; dfab does not run dwz, so the
        // CRC in the program's .gnu_debuglink differs (its size does not).
        .filter(|d| d != "hello-c md5sums usr/bin/hello")
        .collect();
    assert_eq!(diffs, Vec::<String>::new());
    let tags = lintian(ours);
    assert!(
        !tags.iter().any(|t| t.starts_with("E: ")),
        "lintian errors: {tags:?}"
    );
    // The binary is stripped (no symbol table) and runs.
    let dir = tempfile::tempdir().unwrap();
    run(Command::new("dpkg-deb").arg("-x").arg(ours).arg(dir.path()));
    let syms = run(Command::new("readelf")
        .arg("-S")
        .arg(dir.path().join("usr/bin/hello")));
    assert!(!syms.contains(".symtab"), "{syms}");
    assert!(run(&mut Command::new(dir.path().join("usr/bin/hello"))).starts_with("hello, zlib "));
}

#[test]
fn compiled_program_without_build_commands_is_built_by_dpkg_buildpackage() {
    let fx = fixture("c-hello");
    let mut o = opts(&fx, "dfab");
    o.build_commands.clear();
    let mut warnings = Vec::new();
    let built = deb::build_with(&o, &mut |w| warnings.push(w.to_owned())).unwrap();
    assert_eq!(built.len(), 1);
    assert!(
        warnings[0].contains("`override_dh_auto_build` (line 6) builds the project"),
        "{warnings:?}"
    );
}
