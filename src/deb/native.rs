//! Whether the native builder reproduces a project: the compat level, the addons, the build
//! system, `debian/rules` and every file under `debian/`. Anything it does not reproduce is a
//! reason to build with `dpkg-buildpackage` instead; files it does not know are warnings.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::control::Control;
use super::rules::{self, Rules};
use super::DebError;

/// The verdict on a project.
#[derive(Debug, Default)]
pub(crate) struct Verdict {
    /// Why only dpkg-buildpackage builds it right (`None`: dfab does).
    pub(crate) fallback: Option<String>,
    /// Files under `debian/` dfab neither uses nor knows to be irrelevant.
    pub(crate) warnings: Vec<String>,
    /// The parsed `debian/rules` (for the steps it empties).
    pub(crate) rules: Rules,
}

/// The debhelper compat level dfab reproduces.
pub(crate) const COMPAT: u32 = 13;

/// Top-level entries of `debian/` that never change a binary package, or that a previous
/// `dpkg-buildpackage` run left behind.
const IRRELEVANT: [&str; 19] = [
    "watch",
    "gbp.conf",
    "source",
    "tests",
    "upstream",
    "patches",
    "README.source",
    "clean",
    "salsa-ci.yml",
    ".gitlab-ci.yml",
    ".gitignore",
    "missing-sources",
    "not-installed",
    "files",
    "debhelper-build-stamp",
    ".debhelper",
    "tmp",
    "source.lintian-overrides",
    "autoreconf.after",
];

/// Package files (`debian/[<pkg>.]<name>`) dfab reproduces.
const HANDLED: [&str; 34] = [
    "install",
    "dirs",
    "docs",
    "links",
    "conffiles",
    "cron.d",
    "cron.hourly",
    "cron.daily",
    "cron.weekly",
    "cron.monthly",
    "cron.yearly",
    "logrotate",
    "default",
    "init",
    "service",
    "socket",
    "timer",
    "path",
    "target",
    "mount",
    "templates",
    "config",
    "preinst",
    "postinst",
    "prerm",
    "postrm",
    "triggers",
    "substvars",
    "copyright",
    "changelog",
    "manpages",
    "tmpfile",
    "tmpfiles",
    "README.Debian",
];

/// Package files debhelper reads as lists, which it runs when they are executable (`dh-exec`).
const LISTS: [&str; 5] = ["install", "dirs", "docs", "links", "manpages"];

/// Package files debhelper uses that dfab does not reproduce.
const NOT_REPRODUCED: [&str; 37] = [
    "examples",
    "info",
    "menu",
    "menu-method",
    "mime",
    "sharedmimeinfo",
    "pam",
    "udev",
    "modprobe",
    "modules",
    "ppp.ip-up",
    "ppp.ip-down",
    "if-up",
    "if-down",
    "if-pre-up",
    "if-post-down",
    "emacsen-install",
    "emacsen-remove",
    "emacsen-startup",
    "emacsen-compat",
    "bug-control",
    "bug-script",
    "bug-presubj",
    "alternatives",
    "ucf",
    "maintscript",
    "shlibs",
    "symbols",
    "NEWS",
    "TODO",
    "doc-base",
    "user.service",
    "gsettings-override",
    "initramfs-hook",
    "logcheck.cron.d",
    "lintian-overrides",
    "wm",
];

/// Judges the project in `project_dir`.
pub(crate) fn judge(
    project_dir: &Path,
    control: &Control,
    has_build_commands: bool,
) -> Result<Verdict, DebError> {
    let debian = project_dir.join("debian");
    let mut verdict = Verdict::default();
    let mut reasons = Vec::new();
    match compat(&debian, control)? {
        Some(COMPAT) => {}
        Some(level) => reasons.push(format!(
            "debhelper compat level {level} (dfab reproduces compat {COMPAT})"
        )),
        None => reasons.push("no debhelper compat level declared".to_owned()),
    }
    for field in ["Build-Depends", "Build-Depends-Arch", "Build-Depends-Indep"] {
        let value = control.source.get(field).unwrap_or_default();
        for dep in value.split([',', '|']) {
            let name = dep.split(['(', '[', '<', ':']).next().unwrap_or("").trim();
            if let Some(addon) = name.strip_prefix("dh-sequence-") {
                reasons.push(format!("the dh addon `{addon}` (Build-Depends: {name})"));
            }
        }
    }
    if let Some(r) = rules::load(&debian.join("rules"))? {
        if let Some(why) = r.unsupported(has_build_commands) {
            reasons.push(format!("debian/rules {why}"));
        } else if let Some(why) = build_system(project_dir, &r) {
            reasons.push(why);
        }
        verdict.rules = r;
    }
    let packages: Vec<&str> = control
        .packages
        .iter()
        .filter_map(|p| p.get("Package"))
        .collect();
    let mut names: Vec<String> = fs_err::read_dir(&debian)?
        .map(|e| e.map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_, _>>()?;
    names.sort();
    for name in names {
        file_verdict(
            &debian,
            &name,
            &packages,
            &mut reasons,
            &mut verdict.warnings,
        )?;
    }
    verdict.fallback = (!reasons.is_empty()).then(|| reasons.join("; "));
    Ok(verdict)
}

/// One top-level entry of `debian/`.
fn file_verdict(
    debian: &Path,
    name: &str,
    packages: &[&str],
    reasons: &mut Vec<String>,
    warnings: &mut Vec<String>,
) -> Result<(), DebError> {
    if IRRELEVANT.contains(&name)
        || matches!(name, "control" | "changelog" | "rules" | "compat" | "po")
        || packages.contains(&name)
        || name.ends_with(".debhelper.log")
        || name.ends_with(".debhelper")
        || name.ends_with('~')
    {
        return Ok(());
    }
    // `<pkg>.<what>`, else `<what>` for the first package.
    let what = packages
        .iter()
        .find_map(|p| name.strip_prefix(&format!("{p}.")))
        .unwrap_or(name);
    let path = debian.join(name);
    if HANDLED.contains(&what) || is_named_unit(what) {
        let executable = fs_err::metadata(&path)?.permissions().mode() & 0o111 != 0;
        if executable && LISTS.contains(&what) {
            let first = fs_err::read(&path)
                .ok()
                .and_then(|b| b.split(|&c| c == b'\n').next().map(<[u8]>::to_vec))
                .unwrap_or_default();
            let tool = if first.windows(7).any(|w| w == b"dh-exec") {
                "dh-exec"
            } else {
                "a program"
            };
            reasons.push(format!(
                "debian/{name} is executable (run by {tool}; dfab reads it as a list)"
            ));
        }
        return Ok(());
    }
    if NOT_REPRODUCED.contains(&what)
        || what.starts_with("symbols.")
        || what.starts_with("doc-base.")
        || what.ends_with(".user.service")
    {
        reasons.push(format!("debian/{name} (not reproduced by dfab)"));
        return Ok(());
    }
    warnings.push(format!(
        "debian/{name}: not a file dfab knows; ignored (dpkg-buildpackage may use it)"
    ));
    Ok(())
}

/// `<unit>.service` and the like: a named systemd unit.
fn is_named_unit(what: &str) -> bool {
    what.rsplit_once('.').is_some_and(|(unit, suffix)| {
        !unit.is_empty()
            && ["service", "socket", "timer", "path", "target", "mount"].contains(&suffix)
    })
}

/// The compat level from `debian/compat` or `Build-Depends: debhelper-compat (= N)`.
pub(crate) fn compat(debian: &Path, control: &Control) -> Result<Option<u32>, DebError> {
    let file = debian.join("compat");
    if file.is_file() {
        let text = super::pkgfile::read_text(&file)?;
        let first = text.lines().next().unwrap_or("").trim();
        return first
            .parse()
            .map(Some)
            .map_err(|_| DebError::at(&file, 1, format!("`{first}` is not a compat level")));
    }
    let deps = control.source.get("Build-Depends").unwrap_or_default();
    for dep in deps.split(',') {
        let dep = dep.trim();
        if let Some(rest) = dep.strip_prefix("debhelper-compat") {
            let level = rest
                .trim()
                .trim_start_matches('(')
                .trim_start_matches(|c: char| c == '=' || c.is_whitespace())
                .trim_end_matches(')')
                .trim();
            return Ok(level.parse().ok());
        }
    }
    Ok(None)
}

/// The build system `dh_auto_*` would pick, when its steps that change the package still run.
fn build_system(project_dir: &Path, rules: &Rules) -> Option<String> {
    const MARKERS: [(&str, &str); 11] = [
        ("configure", "autoconf"),
        ("Build.PL", "perl_build"),
        ("Makefile.PL", "perl_makemaker"),
        ("Makefile", "makefile"),
        ("makefile", "makefile"),
        ("GNUmakefile", "makefile"),
        ("setup.py", "python_distutils"),
        ("CMakeLists.txt", "cmake"),
        ("meson.build", "meson"),
        ("build.ninja", "ninja"),
        ("pyproject.toml", "pybuild"),
    ];
    let (file, system) = MARKERS
        .iter()
        .find(|(f, _)| project_dir.join(f).is_file())?;
    // pyproject.toml alone is no debhelper build system; pybuild is only used when asked for.
    if *system == "pybuild" {
        return None;
    }
    let steps: Vec<&str> = ["dh_auto_configure", "dh_auto_build", "dh_auto_install"]
        .into_iter()
        .filter(|s| !rules.overrides(s))
        .filter(|s| *system != "makefile" || *s != "dh_auto_configure")
        .collect();
    if steps.is_empty() {
        return None;
    }
    Some(format!(
        "{} would run the {system} build system (debian/../{file})",
        steps.join(", ")
    ))
}
