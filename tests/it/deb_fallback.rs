//! The rule of `deb.build`: what the native builder does not reproduce is built with
//! dpkg-buildpackage (said in one warning), and the result is what dpkg-buildpackage makes.
//! Judged by dpkg-buildpackage + debhelper 13 on a second copy of the same project.

use std::process::Command;

use dfab::deb::{self, BuiltPackage, Compression, WheelMode};

use crate::deb::{
    by_name, contents, control_members, differences, fields, fixture, require, run, Fixture,
};

/// dfab's packages and warnings for one copy of `name`, and dpkg-buildpackage's for another,
/// both prepared by `prepare`.
pub(crate) struct Pair {
    pub(crate) ours: Vec<BuiltPackage>,
    pub(crate) warnings: Vec<String>,
    pub(crate) theirs: Vec<BuiltPackage>,
    _fx: (Fixture, Fixture),
}

pub(crate) fn pair(name: &str, prepare: impl Fn(&Fixture)) -> Pair {
    require("dpkg-buildpackage", "dpkg-dev");
    require("dh", "debhelper");
    require("fakeroot", "fakeroot");
    let (a, b) = (fixture(name), fixture(name));
    prepare(&a);
    prepare(&b);
    let mut opts = a.opts();
    opts.wheel = WheelMode::Off;
    opts.compression = Compression::Xz(6);
    let mut warnings = Vec::new();
    let ours = deb::build_with(&opts, &mut |w| warnings.push(w.to_owned()))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let theirs = deb::dpkg_buildpackage::build(&b.opts()).unwrap_or_else(|e| panic!("{e}"));
    Pair {
        ours,
        warnings,
        theirs,
        _fx: (a, b),
    }
}

impl Pair {
    /// Every difference from dpkg-buildpackage, beyond the gzip implementation.
    pub(crate) fn differences(&self) -> Vec<String> {
        assert_eq!(self.ours.len(), self.theirs.len());
        let mut all = Vec::new();
        for ours in &self.ours {
            let theirs = by_name(&self.theirs, &ours.package);
            all.extend(differences(&ours.path, &theirs.path, &ours.package));
        }
        all.retain(|d| !crate::deb::allowed(d));
        all
    }

    pub(crate) fn fell_back(&self) -> Option<&String> {
        self.warnings
            .iter()
            .find(|w| w.starts_with("building with dpkg-buildpackage: "))
    }
}

fn chmod_x(fx: &Fixture, rel: &str) {
    run(Command::new("chmod").arg("755").arg(fx.project.join(rel)));
}

// Regression: a `dh $@ --with python3 --buildsystem=pybuild` project was "built" without the
// application (pybuild's install into the package was skipped).
#[test]
fn pybuild_project_is_built_by_dpkg_buildpackage_with_the_app() {
    require("pybuild", "dh-python python3-all python3-setuptools");
    let p = pair("pybuild-app", |_| {});
    let why = p.fell_back().expect("a warning saying why");
    assert!(why.contains("--with python3"), "{why}");
    assert_eq!(p.warnings.len(), 1, "one line: {:?}", p.warnings);
    let files = contents(&p.ours[0].path);
    assert!(
        files
            .keys()
            .any(|f| f.ends_with("dist-packages/pyapp/__init__.py")),
        "the app is in the package: {files:?}"
    );
    assert_eq!(fields(&p.ours[0].path)["Depends"], "python3:any");
    assert_eq!(p.differences(), Vec::<String>::new());
}

// Regression: an executable `debian/install` run by dh-exec (`src => dest`) failed with
// "`=>` matches no file".
#[test]
fn dh_exec_install_file_is_built_by_dpkg_buildpackage() {
    require("dh-exec", "dh-exec");
    let p = pair("minimal", |fx| {
        fx.write(
            "debian/install",
            "#!/usr/bin/dh-exec\ndata/hello.txt => usr/share/minimal/renamed.txt\n",
        );
        chmod_x(fx, "debian/install");
    });
    let why = p.fell_back().expect("a warning saying why");
    assert!(
        why.contains("debian/install is executable (run by dh-exec"),
        "{why}"
    );
    assert!(contents(&p.ours[0].path).contains_key("./usr/share/minimal/renamed.txt"));
    assert_eq!(p.differences(), Vec::<String>::new());
}

// Regression: a po-debconf `templates` (`_Description:` with debian/po) was shipped as written,
// so debconf showed no question text.
#[test]
fn po_debconf_templates_are_merged_as_dh_installdebconf_does() {
    require("po2debconf", "po-debconf");
    let p = pair("minimal", |fx| {
        fx.write(
            "debian/templates",
            "Template: minimal/greeting\nType: string\n_Description: Greeting to show:\n The text shown at start.\n",
        );
        fs_err::create_dir_all(fx.project.join("debian/po")).unwrap();
        fx.write(
            "debian/po/POTFILES.in",
            "[type: gettext/rfc822deb] templates\n",
        );
        fx.write(
            "debian/po/de.po",
            "msgid \"\"\nmsgstr \"\"\n\"Content-Type: text/plain; charset=UTF-8\\n\"\n\n#. Type: string\n#. Description\n#: ../templates:1001\nmsgid \"Greeting to show:\"\nmsgstr \"Anzuzeigender Gruß:\"\n\n#. Type: string\n#. Description\n#: ../templates:1001\nmsgid \"The text shown at start.\"\nmsgstr \"Der Text beim Start.\"\n",
        );
    });
    assert_eq!(p.fell_back(), None, "{:?}", p.warnings);
    let members = control_members(&p.ours[0].path);
    let templates = &members["templates"].1;
    assert!(
        templates.contains("\nDescription: Greeting to show:\n"),
        "{templates}"
    );
    assert!(!templates.contains("_Description"), "{templates}");
    assert!(
        templates.contains("Description-de.UTF-8: Anzuzeigender Gruß:"),
        "{templates}"
    );
    assert_eq!(p.differences(), Vec::<String>::new());
}

// Regression: compat levels were ignored (compat 9 got debhelper 13's systemd snippets).
#[test]
fn other_compat_levels_are_built_by_dpkg_buildpackage() {
    for level in ["10", "12"] {
        let p = pair("two-packages", |fx| {
            let control = fs_err::read_to_string(fx.project.join("debian/control")).unwrap();
            fx.write(
                "debian/control",
                &control.replace(
                    "debhelper-compat (= 13)",
                    &format!("debhelper-compat (= {level})"),
                ),
            );
        });
        let why = p.fell_back().expect("a warning saying why");
        assert!(why.contains(&format!("compat level {level}")), "{why}");
        assert_eq!(p.differences(), Vec::<String>::new(), "compat {level}");
    }
}

#[test]
fn rules_that_do_real_work_are_built_by_dpkg_buildpackage() {
    let p = pair("minimal", |fx| {
        fx.write(
            "debian/rules",
            "#!/usr/bin/make -f\n%:\n\tdh $@\n\nexecute_after_dh_install:\n\techo extra > debian/minimal/usr/share/minimal/extra.txt\n",
        );
    });
    let why = p.fell_back().expect("a warning saying why");
    assert!(why.contains("`execute_after_dh_install` (line 5)"), "{why}");
    assert!(contents(&p.ours[0].path).contains_key("./usr/share/minimal/extra.txt"));
    assert_eq!(p.differences(), Vec::<String>::new());
}

#[test]
fn unknown_debian_files_are_named_and_irrelevant_ones_are_not() {
    let fx = fixture("minimal");
    fx.write("debian/NOTES", "packaging notes\n");
    fx.write("debian/watch", "version=4\n");
    fx.write("debian/gbp.conf", "[DEFAULT]\n");
    fx.write("debian/README.source", "x\n");
    for dir in ["debian/tests", "debian/upstream", "debian/patches"] {
        fs_err::create_dir_all(fx.project.join(dir)).unwrap();
    }
    let mut warnings = Vec::new();
    let built = deb::build_with(&fx.opts(), &mut |w| warnings.push(w.to_owned())).unwrap();
    assert_eq!(built.len(), 1);
    assert_eq!(
        warnings,
        ["debian/NOTES: not a file dfab knows; ignored (dpkg-buildpackage may use it)"]
    );
}

// Regressions, each judged by dpkg-buildpackage: `*` shipped dot-files; an empty substitution
// left an empty field; a `#!` script installed to usr/bin at 0644 stayed 0644 and a doc at 0755
// stayed executable; `remove-on-upgrade` in conffiles was an error; `debian/<pkg>.tmpfiles` was
// ignored.
#[test]
fn globs_fields_modes_conffile_flags_and_tmpfiles_match_dpkg_buildpackage() {
    let p = pair("minimal", |fx| {
        fx.write("data/.secret", "leak\n");
        fx.write("data/tool", "#!/bin/sh\necho tool\n");
        fx.write("data/NOTES", "notes\n");
        run(Command::new("chmod")
            .arg("755")
            .arg(fx.project.join("data/NOTES")));
        fx.write(
            "debian/install",
            "data/* usr/share/minimal\ndata/tool usr/bin\n",
        );
        fx.write("debian/docs", "data/NOTES\n");
        fx.write(
            "debian/conffiles",
            "remove-on-upgrade /etc/minimal/gone.conf\n",
        );
        fx.write(
            "debian/minimal.tmpfiles",
            "d /run/minimal 0755 root root -\n",
        );
        let control = fs_err::read_to_string(fx.project.join("debian/control")).unwrap();
        fx.write(
            "debian/control",
            &format!("{control}XB-Python-Version: ${{python:Versions}}\n"),
        );
    });
    assert_eq!(p.fell_back(), None, "{:?}", p.warnings);
    let files = contents(&p.ours[0].path);
    assert!(!files.contains_key("./usr/share/minimal/.secret"));
    assert_eq!(files["./usr/bin/tool"].perms, "-rwxr-xr-x");
    assert_eq!(files["./usr/share/doc/minimal/NOTES"].perms, "-rw-r--r--");
    assert!(files.contains_key("./usr/lib/tmpfiles.d/minimal.conf"));
    assert!(!fields(&p.ours[0].path).contains_key("Python-Version"));
    let members = control_members(&p.ours[0].path);
    assert!(members["conffiles"]
        .1
        .contains("remove-on-upgrade /etc/minimal/gone.conf"));
    assert!(members["postinst"].1.contains("systemd-tmpfiles"));
    assert_eq!(p.differences(), Vec::<String>::new());
}
