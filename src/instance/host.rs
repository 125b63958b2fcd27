//! The host program's `release` subcommands as commands: one instance's root, package and
//! name in every call, so a call can only touch that instance's tree.

use crate::hostside;
use crate::settings::ReleaseMode;
use crate::transport::cmd::Cmd;

/// `dfab-host release <sub> <package> <instance> <root> <args…>`, as root.
#[must_use]
pub fn call(rm: &ReleaseMode, sub: &str, args: &[&str]) -> Cmd {
    let head = ["release", sub, &rm.package, &rm.instance, &rm.root];
    hostside::call(head.iter().copied().chain(args.iter().copied())).sudo(None)
}

/// Where the uploaded .deb `file` is kept on a host.
#[must_use]
pub fn deb_path(rm: &ReleaseMode, file: &str) -> String {
    format!("{}/debs/{file}", rm.root)
}

/// A release's directory.
#[must_use]
pub fn release_dir(rm: &ReleaseMode, name: &str) -> String {
    format!("{}/releases/{name}", rm.root)
}

/// The value of the first `<mark><TAB>…` line of `out`, split at tabs.
#[must_use]
pub fn marked<'a>(out: &'a str, mark: &str) -> Option<Vec<&'a str>> {
    out.lines()
        .find_map(|l| l.strip_prefix(mark)?.strip_prefix('\t'))
        .map(|rest| rest.split('\t').collect())
}

/// One release as `release list` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub name: String,
    /// `current`, `previous`, `failed`, `preparing`, `pinned-until-<time>`.
    pub states: Vec<String>,
    /// The commit its build was made from, when known.
    pub commit: Option<String>,
}

/// The `release` lines of `release list`, oldest first, and its `history` lines.
#[must_use]
pub fn parse_list(out: &str) -> (Vec<Listed>, Vec<String>) {
    let mut releases = Vec::new();
    let mut history = Vec::new();
    for l in out.lines() {
        if let Some(rest) = l.strip_prefix("release\t") {
            let mut f = rest.split('\t');
            let name = f.next().unwrap_or_default();
            let states = f.next().unwrap_or_default();
            let commit = f.next().filter(|c| !c.is_empty() && *c != "-");
            releases.push(Listed {
                name: name.to_string(),
                states: states.split_whitespace().map(String::from).collect(),
                commit: commit.map(String::from),
            });
        } else if let Some(h) = l.strip_prefix("history\t") {
            history.push(h.replace('\t', " "));
        }
    }
    (releases, history)
}

#[cfg(test)]
mod tests {
    use super::{marked, parse_list};

    #[test]
    fn reads_marked_lines_and_the_listing() {
        let out = "venv: x\ndfab-release\t1.0-1-20261207T050000Z\n";
        assert_eq!(
            marked(out, "dfab-release"),
            Some(vec!["1.0-1-20261207T050000Z"])
        );
        assert_eq!(
            marked("dfab-switched\t\tb\n", "dfab-switched"),
            Some(vec!["", "b"])
        );
        let (r, h) = parse_list("release\ta\tprevious\t-\nrelease\tb\tcurrent pinned-until-x\tabc123\nrelease\tc\t\nhistory\tt\tswitch\tb\tok\troot\n");
        assert_eq!(r[1].states, ["current", "pinned-until-x"]);
        assert_eq!(
            (r[0].commit.as_deref(), r[1].commit.as_deref()),
            (None, Some("abc123"))
        );
        assert!(r[2].states.is_empty());
        assert_eq!(h, ["t switch b ok root"]);
    }
}
