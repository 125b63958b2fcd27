//! `debian/rules` as the native builder needs to know it: whether it is the plain `dh $@`
//! sequence dfab reproduces, or does work of its own (override targets, addons, build systems,
//! cdbs, hand-written targets) that only `dpkg-buildpackage` can run.

use std::path::Path;

use super::pkgfile::read_text;
use super::DebError;

/// One rule of the makefile: its target names and whether its recipe has any command.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Rule {
    targets: Vec<String>,
    line: usize,
    recipe: Vec<String>,
}

/// What a `debian/rules` file says, read as a makefile.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Rules {
    entries: Vec<Rule>,
    /// `include` lines, as written.
    includes: Vec<(usize, String)>,
    /// Variable assignments: `(line, name)`.
    variables: Vec<(usize, String)>,
}

/// dh steps that only build (or test, or clean) the project: `build_commands` do their work.
const BUILD_STEPS: [&str; 4] = [
    "dh_auto_configure",
    "dh_auto_build",
    "dh_auto_test",
    "dh_auto_clean",
];

/// dh steps that never change a binary package, so overriding them changes nothing dfab makes.
const HARMLESS_STEPS: [&str; 5] = [
    "dh_auto_test",
    "dh_auto_clean",
    "dh_clean",
    "dh_testdir",
    "dh_testroot",
];

/// dh steps whose emptied override dfab honours by skipping its own equivalent (or that it never
/// runs: `dh_auto_install`, `dh_dwz`, `dh_makeshlibs`).
pub(crate) const SKIPPABLE: [&str; 7] = [
    "dh_auto_install",
    "dh_dwz",
    "dh_strip_nondeterminism",
    "dh_strip",
    "dh_shlibdeps",
    "dh_makeshlibs",
    "dh_compress",
];

/// Variables dh or dpkg read that do not change what dfab builds.
fn harmless_variable(name: &str) -> bool {
    matches!(name, "DH_VERBOSE" | "DH_QUIET" | "DEB_BUILD_MAINT_OPTIONS")
        || name.starts_with("DEB_CFLAGS")
        || name.starts_with("DEB_CXXFLAGS")
        || name.starts_with("DEB_CPPFLAGS")
        || name.starts_with("DEB_LDFLAGS")
        || !(name.starts_with("DH_") || name.starts_with("DEB_") || name.starts_with("PYBUILD"))
}

impl Rules {
    /// Reads `file` as a makefile: rules with their recipes, includes and assignments.
    pub(crate) fn parse(text: &str) -> Self {
        let mut out = Self::default();
        let mut logical: Vec<(usize, String)> = Vec::new();
        let mut pending: Option<(usize, String)> = None;
        for (i, raw) in text.lines().enumerate() {
            let (start, mut acc) = pending.take().unwrap_or((i + 1, String::new()));
            if let Some(head) = raw.strip_suffix('\\') {
                acc.push_str(head);
                acc.push(' ');
                pending = Some((start, acc));
                continue;
            }
            acc.push_str(raw);
            logical.push((start, acc));
        }
        if let Some(p) = pending {
            logical.push(p);
        }
        for (line, text) in logical {
            if let Some(cmd) = text.strip_prefix('\t') {
                let cmd = cmd.trim();
                if let Some(rule) = out.entries.last_mut() {
                    if !cmd.is_empty() && !cmd.starts_with('#') {
                        rule.recipe.push(cmd.to_owned());
                    }
                }
                continue;
            }
            let t = text.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            if let Some(rest) = t
                .strip_prefix("include ")
                .or_else(|| t.strip_prefix("-include "))
                .or_else(|| t.strip_prefix("sinclude "))
            {
                out.includes.push((line, rest.trim().to_owned()));
                continue;
            }
            if let Some(name) = assignment(t) {
                out.variables.push((line, name));
                continue;
            }
            if let Some((targets, rest)) = t.split_once(':') {
                let targets: Vec<String> = targets.split_whitespace().map(str::to_owned).collect();
                let rest = rest.trim_start_matches(':');
                let mut recipe = Vec::new();
                if let Some((_, cmd)) = rest.split_once(';') {
                    if !cmd.trim().is_empty() {
                        recipe.push(cmd.trim().to_owned());
                    }
                }
                out.entries.push(Rule {
                    targets,
                    line,
                    recipe,
                });
            }
        }
        out
    }

    /// Why dfab cannot build what this file builds (`None` when it is plain `dh $@` and overrides
    /// dfab reproduces). `has_build_commands`: the environment's `build_commands` replace the
    /// project's build steps.
    pub(crate) fn unsupported(&self, has_build_commands: bool) -> Option<String> {
        if let Some((line, inc)) = self.includes.iter().find(|(_, i)| i.contains("/cdbs/")) {
            return Some(format!("uses cdbs (line {line}: include {inc})"));
        }
        let mut dh = None;
        let mut target_issue = None;
        for rule in &self.entries {
            for target in &rule.targets {
                let why = Self::target_unsupported(rule, target, has_build_commands, &mut dh);
                target_issue = target_issue.or(why);
            }
        }
        let Some(args) = dh else {
            return Some("does not run `dh $@` (not a dh-style debian/rules)".into());
        };
        if let Some(why) = dh_options(&args).or(target_issue) {
            return Some(why);
        }
        if let Some((line, inc)) = self
            .includes
            .iter()
            .find(|(_, i)| !i.starts_with("/usr/share/dpkg/"))
        {
            return Some(format!("includes `{inc}` (line {line})"));
        }
        self.variables
            .iter()
            .find(|(_, n)| !harmless_variable(n))
            .map(|(line, name)| format!("sets `{name}` (line {line})"))
    }

    fn target_unsupported(
        rule: &Rule,
        target: &str,
        has_build_commands: bool,
        dh: &mut Option<Vec<String>>,
    ) -> Option<String> {
        let line = rule.line;
        if target == ".PHONY" || target.starts_with('.') {
            return None;
        }
        if target == "%" {
            let [cmd] = rule.recipe.as_slice() else {
                return Some(format!(
                    "the `%:` rule (line {line}) does more than run `dh $@`"
                ));
            };
            let words: Vec<&str> = cmd.split_whitespace().collect();
            return match words.as_slice() {
                ["dh", "$@" | "${@}" | "$(@)", rest @ ..] => {
                    *dh = Some(rest.iter().map(|s| (*s).to_owned()).collect());
                    None
                }
                _ => Some(format!(
                    "the `%:` rule (line {line}) runs `{cmd}`, not `dh $@`"
                )),
            };
        }
        let step = target
            .strip_prefix("override_")
            .or_else(|| target.strip_prefix("execute_before_"))
            .or_else(|| target.strip_prefix("execute_after_"));
        let Some(step) = step else {
            return Some(format!(
                "has its own target `{target}` (line {line}); dfab reproduces only `dh $@`"
            ));
        };
        let step = step
            .strip_suffix("-arch")
            .or_else(|| step.strip_suffix("-indep"))
            .unwrap_or(step);
        if HARMLESS_STEPS.contains(&step) {
            return None;
        }
        if BUILD_STEPS.contains(&step) {
            if rule.recipe.is_empty() || has_build_commands {
                return None;
            }
            return Some(format!(
                "`{target}` (line {line}) builds the project and the environment has no \
                 build_commands to do it"
            ));
        }
        // An emptied step is one dfab skips too (see [`Rules::skips`]).
        if rule.recipe.is_empty() && target.starts_with("override_") && SKIPPABLE.contains(&step) {
            return None;
        }
        // `dh_builddeb -- -Zxz`: only the archive's compression, which `deb_compression` sets.
        if target == "override_dh_builddeb" {
            if let [cmd] = rule.recipe.as_slice() {
                let words: Vec<&str> = cmd.split_whitespace().collect();
                if let ["dh_builddeb", "--", opts @ ..] = words.as_slice() {
                    if opts
                        .iter()
                        .all(|o| o.starts_with("-Z") || o.starts_with("-z") || o.starts_with("-S"))
                    {
                        return None;
                    }
                }
            }
        }
        Some(format!(
            "`{target}` (line {line}) changes debhelper's `{step}`"
        ))
    }

    /// Whether the named dh step is overridden (with or without a recipe).
    pub(crate) fn overrides(&self, step: &str) -> bool {
        self.entries.iter().any(|r| {
            r.targets.iter().any(|t| {
                t.strip_prefix("override_")
                    .is_some_and(|s| s == step || s.starts_with(&format!("{step}-")))
            })
        })
    }
}

impl Rules {
    /// Whether the named dh step is overridden with an empty recipe, so it does not run.
    pub(crate) fn skips(&self, step: &str) -> bool {
        self.entries.iter().any(|r| {
            r.recipe.is_empty()
                && r.targets
                    .iter()
                    .any(|t| t.strip_prefix("override_") == Some(step))
        })
    }
}

/// The variable name of an assignment line (`[export|override] NAME [:+?]= value`).
fn assignment(line: &str) -> Option<String> {
    let line = line
        .strip_prefix("export ")
        .or_else(|| line.strip_prefix("override "))
        .unwrap_or(line)
        .trim_start();
    let eq = line.find('=')?;
    let colon = line.find(':');
    // `a: b=c` is a target-specific variable, still a rule.
    if colon
        .is_some_and(|c| c < eq && !line[c..].starts_with(":=") && !line[c..].starts_with("::="))
    {
        return None;
    }
    let name = line[..eq].trim_end_matches([':', '+', '?', '!']).trim();
    (!name.is_empty() && !name.contains(char::is_whitespace)).then(|| name.to_owned())
}

/// Options of the `dh $@` line that change the sequence.
fn dh_options(args: &[String]) -> Option<String> {
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let (name, value) = match arg.split_once('=') {
            Some((n, v)) => (n, Some(v.to_owned())),
            None => (arg.as_str(), None),
        };
        let mut value = || value.clone().or_else(|| it.next().cloned());
        match name {
            "--with" => {
                return Some(format!(
                    "runs `dh $@ --with {}`",
                    value().unwrap_or_default()
                ))
            }
            "--buildsystem" | "-S" => {
                return Some(format!(
                    "runs `dh $@ --buildsystem={}`",
                    value().unwrap_or_default()
                ))
            }
            "--sourcedirectory" | "--sourcedir" | "-D" | "--builddirectory" | "-B" => {
                return Some(format!("runs `dh $@ {name}`"))
            }
            "--parallel" | "--no-parallel" => {}
            "--without" => {
                let v = value().unwrap_or_default();
                if v.split(',')
                    .any(|a| a != "autoreconf" && a != "build-stamp")
                {
                    return Some(format!("runs `dh $@ --without {v}`"));
                }
            }
            _ if name.starts_with("--max-parallel") => {}
            _ if name.starts_with("-S") => {
                return Some(format!("runs `dh $@ {arg}` (a build system)"))
            }
            _ => return Some(format!("runs `dh $@` with `{arg}`")),
        }
    }
    None
}

/// Reads `debian/rules`, when there is one.
pub(crate) fn load(path: &Path) -> Result<Option<Rules>, DebError> {
    if !path.is_file() {
        return Ok(None);
    }
    Ok(Some(Rules::parse(&read_text(path)?)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn why(text: &str, build_commands: bool) -> Option<String> {
        Rules::parse(text).unsupported(build_commands)
    }

    #[test]
    fn plain_dh_is_native() {
        assert_eq!(why("#!/usr/bin/make -f\n%:\n\tdh $@\n", false), None);
        assert_eq!(
            why("export DH_VERBOSE = 1\ninclude /usr/share/dpkg/pkg-info.mk\n%:\n\tdh $@\n\noverride_dh_auto_test:\n", false),
            None
        );
    }

    #[test]
    fn every_kind_of_real_work_is_named() {
        let cases = [
            (
                "%:\n\tdh $@ --with python3 --buildsystem=pybuild\n",
                "--with python3",
            ),
            (
                "%:\n\tdh $@ --with=python-virtualenv\n",
                "--with python-virtualenv",
            ),
            (
                "%:\n\tdh $@ --buildsystem=pybuild\n",
                "--buildsystem=pybuild",
            ),
            (
                "include /usr/share/cdbs/1/rules/debhelper.mk\n",
                "uses cdbs",
            ),
            ("build:\n\tmake\nbinary:\n\tdh_builddeb\n", "not a dh-style"),
            (
                "%:\n\tdh $@\nbuild:\n\tmake\n",
                "own target `build` (line 3)",
            ),
            (
                "%:\n\tdh $@\noverride_dh_install:\n\tdh_install --sourcedir=x\n",
                "`override_dh_install` (line 3)",
            ),
            (
                "%:\n\tdh $@\nexecute_after_dh_fixperms:\n\tchmod 600 x\n",
                "execute_after_dh_fixperms",
            ),
            (
                "%:\n\tdh $@\noverride_dh_fixperms:\n",
                "override_dh_fixperms",
            ),
            (
                "%:\n\tdh $@\noverride_dh_auto_build:\n\tmake all\n",
                "no build_commands",
            ),
            (
                "export PYBUILD_NAME = app\n%:\n\tdh $@\n",
                "sets `PYBUILD_NAME` (line 1)",
            ),
            ("#!/usr/bin/make -f\n", "does not run `dh $@`"),
        ];
        for (text, expected) in cases {
            let got = why(text, false).unwrap_or_default();
            assert!(got.contains(expected), "{text:?}: {got:?}");
        }
    }

    #[test]
    fn build_steps_are_taken_by_build_commands() {
        let text = "%:\n\tdh $@\noverride_dh_auto_build:\n\tcargo build\noverride_dh_auto_install:\noverride_dh_dwz:\n";
        assert_eq!(why(text, true), None);
        assert!(why(text, false).is_some());
        assert!(Rules::parse(text).overrides("dh_auto_install"));
    }
}
