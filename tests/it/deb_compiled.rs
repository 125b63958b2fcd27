//! Compiled packages (`Architecture: any` with ELF files): shlibs dependencies, stripping, man
//! pages and `dh_compress`, judged by dpkg-buildpackage + debhelper 13 and lintian.

use std::process::Command;

use dfab::deb::{self, BuildOptions, Compression};

use crate::deb::{by_name, contents, differences, fields, fixture, lintian, require, run, Fixture};

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

// dh_strip strips static libraries with --strip-debug, which dfab does not reproduce: such a
// package must come from dpkg-buildpackage, saying so, not ship the unstripped archive.
#[test]
fn a_static_library_is_built_by_dpkg_buildpackage() {
    require("dpkg-buildpackage", "dpkg-dev");
    require("gcc", "gcc zlib1g-dev");
    let fx = fixture("c-hello");
    fx.write(
        "debian/install",
        "hello usr/bin
libhello.a usr/lib/x86_64-linux-gnu
",
    );
    let mut o = opts(&fx, "dfab");
    o.build_commands
        .push("gcc $CPPFLAGS $CFLAGS -g -c -o hello.o hello.c && ar rcs libhello.a hello.o".into());
    let mut warnings = Vec::new();
    let built = deb::build_with(&o, &mut |w| warnings.push(w.to_owned())).unwrap();
    assert_eq!(built.len(), 1);
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("the static library /usr/lib/x86_64-linux-gnu/libhello.a")),
        "{warnings:?}"
    );
}

// Regression: dfab did not run dwz, so the programs' debug links (and, with two or more, the
// `.gnu_debugaltlink` to dh_dwz's multifile) differed from dpkg-buildpackage's.
#[test]
fn two_programs_get_dh_dwz_multifile_link_as_dpkg_buildpackage_gives() {
    require("dpkg-buildpackage", "dpkg-dev");
    require("dh", "debhelper");
    require("gcc", "gcc zlib1g-dev");
    require("dwz", "dwz");
    let (a, b) = (fixture("c-hello"), fixture("c-hello"));
    for fx in [&a, &b] {
        fx.write(
            "hello2.c",
            "#include <stdio.h>\n#include <zlib.h>\n\
             int main(void) { printf(\"two %s\\n\", zlibVersion()); return 0; }\n",
        );
        fx.write("debian/install", "hello hello2 usr/bin\n");
        fx.write(
            "debian/rules",
            "#!/usr/bin/make -f\n%:\n\tdh $@\n\noverride_dh_auto_build:\n\
             \tgcc $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o hello hello.c -lz\n\
             \tgcc $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o hello2 hello2.c -lz\n",
        );
    }
    let mut o = opts(&a, "dfab");
    o.build_commands
        .push("gcc $CPPFLAGS $CFLAGS $LDFLAGS -o hello2 hello2.c -lz".into());
    let mut warnings = Vec::new();
    let ours =
        deb::build_with(&o, &mut |w| warnings.push(w.to_owned())).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(warnings, Vec::<String>::new(), "built natively");
    let mut theirs_opts = b.opts();
    theirs_opts.out_dir = b.out.join("dpkg");
    let theirs = deb::dpkg_buildpackage::build(&theirs_opts).unwrap_or_else(|e| panic!("{e}"));
    let theirs = by_name(&theirs, "hello-c");
    let diffs: Vec<String> = differences(&ours[0].path, &theirs.path, "hello-c")
        .into_iter()
        .filter(|d| !crate::deb::allowed(d))
        .collect();
    assert_eq!(diffs, Vec::<String>::new());
    let dir = tempfile::tempdir().unwrap();
    run(Command::new("dpkg-deb")
        .arg("-x")
        .arg(&ours[0].path)
        .arg(dir.path()));
    let sections = run(Command::new("readelf")
        .arg("-S")
        .arg(dir.path().join("usr/bin/hello2")));
    assert!(sections.contains(".gnu_debugaltlink"), "{sections}");
}
