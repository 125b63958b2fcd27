//! `data_refresh`'s media copy: which paths, checked to stay inside their roots, and the rsync
//! commands for source host → local cache `media/<env>/` (an exact mirror) → target hosts, over
//! the transport's own ssh connection, never creating a symlink that leaves its path. Building
//! commands only; `tasks::builtin::data_refresh` runs them, judged by [`guard`].

pub mod guard;
pub mod stats;

use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use crate::environments::Env;
use crate::error::Result;
use crate::settings::text;
use crate::transport::cmd::{quote, Cmd};
use crate::transport::Transport;
use crate::web_mode::remote_path;

/// What the media copy cannot do (a path outside its roots is a `Config` error on the env's key;
/// a failed rsync or check is `CommandFailed`).
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// rsync goes over the transport's own ssh connection, and this host is reached otherwise
    /// (LXC attach).
    #[error(
        "[{host}] data_refresh copies with rsync over ssh, and this host is not reached over ssh"
    )]
    NotOverSsh { host: String },
    /// The source has no files and the target has some (an unmounted share, most likely).
    #[error(
        "[{host}] data_refresh: the source {from}:{source_path} has no files, and {path} here has \
         {target}: is the source's share mounted? nothing was copied to the hosts{}",
        would_delete(*.target, .deleting.as_deref())
    )]
    EmptySource {
        host: String,
        /// The env and path copied from.
        from: String,
        source_path: String,
        path: String,
        target: usize,
        /// What `media_delete` would remove, named.
        deleting: Option<String>,
        /// The target env, for the hint.
        env: String,
    },
    /// `media_delete` would remove more than `media_max_delete` of a target path's files.
    #[error(
        "[{host}] data_refresh would delete {count} of the {target} files in {path} ({share} %, \
         more than media_max_delete {max} %): {names}; nothing was copied to the hosts"
    )]
    TooManyDeletions {
        host: String,
        path: String,
        count: usize,
        target: usize,
        /// Both shares as percents for people.
        share: String,
        max: String,
        /// The first few, then how many more.
        names: String,
        from: String,
        env: String,
    },
    /// The host's login shell prints something of its own before every command: rsync's
    /// protocol cannot start (it would say "protocol version mismatch -- is your shell clean?").
    #[error("[{host}] rsync cannot run over ssh to this host: {cause}")]
    ShellPrints { host: String, cause: String },
}

impl MediaError {
    /// What the user can do about it.
    #[must_use]
    pub fn hint(&self) -> String {
        match self {
            MediaError::NotOverSsh { .. } => {
                "use lxc_transport = 'ssh' (the default) for this environment".into()
            }
            MediaError::EmptySource { env, .. } => {
                format!("if the source is meant to be empty: dfab {env} data_refresh:force=yes")
            }
            MediaError::TooManyDeletions { env, from, .. } => format!(
                "check that {from}'s media are all there; if these files should go: dfab {env} \
                 data_refresh:force=yes (or raise media_max_delete)"
            ),
            MediaError::ShellPrints { .. } => "a shell started for a command must print \
                nothing: rsync, scp and sftp all need a clean channel"
                .into(),
        }
    }
}

/// The end of an empty source's message: what `media_delete` would remove.
fn would_delete(target: usize, deleting: Option<&str>) -> String {
    deleting.map_or_else(String::new, |d| {
        format!(" (with media_delete all {target} would be deleted: {d})")
    })
}

/// The `rsync -e` route to `host`: its transport's ssh command. Refused when the host's login
/// shell prints (asked with a command of its own when none has run on `host` yet).
pub fn ssh_route(host: &mut dyn Transport) -> Result<Vec<String>> {
    host.probe_login()?;
    if let Some(cause) = host.login_noise() {
        return Err(MediaError::ShellPrints {
            host: host.host().to_string(),
            cause,
        }
        .into());
    }
    host.ssh_command().ok_or_else(|| {
        MediaError::NotOverSsh {
            host: host.host().to_string(),
        }
        .into()
    })
}

/// One media path of an env, checked: absolute, normalised, a directory, inside a root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaPath {
    /// The path on the env's hosts, ending in `/`.
    pub path: String,
    /// The roots it must stay inside (after symlinks are resolved on the host).
    pub roots: Vec<Root>,
}

/// A directory media may live in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Root {
    pub path: String,
    /// `remote_path` holds the app too: a media path must be strictly inside it.
    pub strict: bool,
}

/// The media paths of `env` (`media_paths`, default `['{remote_path}media/']`), each checked
/// against `remote_path` and `media_roots`.
pub fn media_paths(env: &Env) -> Result<Vec<MediaPath>> {
    let rp = remote_path(env)?;
    let mut roots = vec![Root {
        path: rp,
        strict: true,
    }];
    for r in env.str_list("media_roots") {
        let r = text::plain(env, "media_roots", &r)?;
        if let Err(why) = normal(&r) {
            return Err(env.key_error("media_roots", format!("`{r}`: {why}"), None));
        }
        if r.trim_end_matches('/').is_empty() {
            return Err(env.key_error(
                "media_roots",
                "`/` cannot be a media root",
                Some("name the directory that holds the media, e.g. '/srv/media/'".into()),
            ));
        }
        roots.push(Root {
            path: r,
            strict: false,
        });
    }
    let templates = if env.vars.contains_key("media_paths") {
        env.str_list("media_paths")
    } else {
        vec!["{remote_path}media/".to_string()]
    };
    if templates.is_empty() {
        return Err(env.key_error(
            "media_paths",
            "is empty",
            Some("e.g. ['{remote_path}media/']".into()),
        ));
    }
    let mut out = Vec::new();
    for t in templates {
        let p = text::plain(env, "media_paths", &t)?;
        check(&p, &roots).map_err(|why| {
            env.key_error(
                "media_paths",
                format!("`{p}` {why}"),
                Some(format!(
                    "media paths are absolute directories ending in `/`, inside remote_path or media_roots ({})",
                    roots.iter().map(|r| r.path.as_str()).collect::<Vec<_>>().join(", ")
                )),
            )
        })?;
        out.push(MediaPath {
            path: p,
            roots: roots.clone(),
        });
    }
    Ok(out)
}

/// `Ok` when `p` is absolute, has no `.`/`..`/empty parts, and is not `/`.
fn normal(p: &str) -> std::result::Result<(), &'static str> {
    if !p.starts_with('/') {
        return Err("is not absolute");
    }
    if p.trim_end_matches('/').is_empty() {
        return Err("is `/`");
    }
    let inner = p.trim_start_matches('/').trim_end_matches('/');
    if inner
        .split('/')
        .any(|c| c.is_empty() || c == "." || c == "..")
    {
        return Err("has `.`, `..` or `//` in it");
    }
    if p.contains(['\n', '\0']) {
        return Err("has a control character in it");
    }
    Ok(())
}

/// Where `p` stands against the roots, by path components (no filesystem access).
fn check(p: &str, roots: &[Root]) -> std::result::Result<(), String> {
    normal(p).map_err(String::from)?;
    if !p.ends_with('/') {
        return Err("must name a directory and end in `/`".into());
    }
    let inside = roots.iter().any(|r| {
        let (pp, rr) = (Path::new(p), Path::new(&r.path));
        pp.starts_with(rr) && (!r.strict || pp.components().count() > rr.components().count())
    });
    if inside {
        Ok(())
    } else {
        Err("is outside remote_path and media_roots".into())
    }
}

/// A host-side check that every path, symlinks resolved, is still inside its roots: run on the
/// source and on each target before anything is copied.
#[must_use]
pub fn check_on_host(paths: &[MediaPath]) -> Cmd {
    let mut script = String::from(
        "set -e\n\
         inside() { p=$1; strict=$2; root=$3; r=$(realpath -m -- \"$p\"); rr=$(realpath -m -- \"$root\"); \
         case \"$r/\" in \"$rr\"/*) [ \"$strict\" = 0 ] || [ \"$r\" != \"$rr\" ];; *) return 1;; esac; }\n",
    );
    for m in paths {
        let conds: Vec<String> = m
            .roots
            .iter()
            .map(|r| {
                format!(
                    "inside {} {} {}",
                    quote(&m.path),
                    u8::from(r.strict),
                    quote(&r.path)
                )
            })
            .collect();
        let _ = writeln!(
            script,
            "if ! {{ {}; }}; then echo \"data_refresh: media path {p} resolves to $(realpath -m -- {p}), outside {roots}; nothing copied\" >&2; exit 1; fi",
            conds.join(" || "),
            p = quote(&m.path),
            roots = quote(&m.roots.iter().map(|r| r.path.as_str()).collect::<Vec<_>>().join(" ")),
        );
    }
    let _ = write!(
        script,
        "echo \"data_refresh: {} media path(s) inside their roots\"",
        paths.len()
    );
    Cmd::shell(script)
}

/// Every symlink under `path` on a host, as `link<TAB>target` lines relative to it (for
/// [`guard::leaving`]); nothing when the path is not there yet.
#[must_use]
pub fn links_on_host(path: &str) -> Cmd {
    Cmd::shell(format!(
        "if [ -d {p} ]; then find {p} -type l -printf '%P\\t%l\\n'; fi",
        p = quote(path)
    ))
    .sudo(None)
}

/// The local cache directory for one target path: `<project>/media/<env>/<path>`.
#[must_use]
pub fn cache_dir(project_dir: &Path, env: &str, path: &str) -> PathBuf {
    let mut d = project_dir.join("media").join(env);
    for c in Path::new(path).components() {
        if let Component::Normal(c) = c {
            d.push(c);
        }
    }
    d
}

/// `rsync -e` and `--rsync-path` for a host reached as `login_user` over `ssh`.
fn remote_opts(ssh: &[String], login_user: &str) -> Vec<String> {
    let e = ssh.iter().map(|a| quote(a)).collect::<Vec<_>>().join(" ");
    let rsync = if login_user == "root" {
        "rsync"
    } else {
        "sudo -n rsync"
    };
    vec![format!("--rsync-path={rsync}"), "-e".into(), e]
}

/// Copy `src` on the source host into the local cache `dest`, an exact mirror (`--delete`
/// always, so a file gone at the source never comes back from the cache); a symlink that leads
/// out of `src` is skipped and named by rsync (`--safe-links`).
#[must_use]
pub fn pull(ssh: &[String], login_user: &str, src: &str, dest: &Path) -> Cmd {
    Cmd::new(
        "rsync",
        ["-a", "--stats", "--info=name1", "--delete", "--safe-links"],
    )
    .args(remote_opts(ssh, login_user))
    .args([format!("none:{src}"), format!("{}/", dest.display())])
}

/// What a push changes, before it does: `rsync -n -ii --delete`, read by [`guard::Tally`].
#[must_use]
pub fn push_dry_run(ssh: &[String], login_user: &str, src: &Path, dest: &str, owner: &str) -> Cmd {
    Cmd::new(
        "rsync",
        ["-a", "-n", "-ii", "--delete", "--safe-links", "--mkpath"],
    )
    .arg(format!("--chown={owner}:{owner}"))
    .args(remote_opts(ssh, login_user))
    .args([format!("{}/", src.display()), format!("none:{dest}")])
}

/// Copy the local cache `src` to `dest` on a target host, owned by `owner`; `delete`: at most
/// that many entries (rsync's `--max-delete`, what the dry run counted), `None` none at all.
#[must_use]
pub fn push(
    ssh: &[String],
    login_user: &str,
    src: &Path,
    dest: &str,
    owner: &str,
    delete: Option<Option<usize>>,
) -> Cmd {
    let mut c = Cmd::new(
        "rsync",
        ["-a", "--stats", "--info=name1", "--mkpath", "--safe-links"],
    )
    .arg(format!("--chown={owner}:{owner}"));
    match delete {
        Some(Some(max)) => c = c.args(["--delete".to_string(), format!("--max-delete={max}")]),
        Some(None) => c = c.arg("--delete"),
        None => {}
    }
    c.args(remote_opts(ssh, login_user))
        .args([format!("{}/", src.display()), format!("none:{dest}")])
}

impl crate::error::DomainError for MediaError {
    fn hint(&self) -> Option<String> {
        Some(MediaError::hint(self))
    }
    /// A refusal comes before any host was changed.
    fn code(&self) -> u8 {
        match self {
            MediaError::NotOverSsh { .. } | MediaError::ShellPrints { .. } => 1,
            MediaError::EmptySource { .. } | MediaError::TooManyDeletions { .. } => 2,
        }
    }
}

crate::domain_error!(MediaError);

#[cfg(test)]
mod tests {
    use super::*;

    fn roots() -> Vec<Root> {
        vec![
            Root {
                path: "/srv/app/".into(),
                strict: true,
            },
            Root {
                path: "/data/media/".into(),
                strict: false,
            },
        ]
    }

    #[test]
    fn paths_must_stay_inside_their_roots() {
        assert!(check("/srv/app/media/", &roots()).is_ok());
        assert!(check("/data/media/", &roots()).is_ok());
        assert!(
            check("/srv/app/", &roots()).is_err(),
            "remote_path itself holds the app"
        );
        assert!(check("/srv/app/../etc/", &roots()).is_err());
        assert!(check("/srv/app/media/../../etc/", &roots()).is_err());
        assert!(check("/", &roots()).is_err());
        assert!(check("media/", &roots()).is_err());
        assert!(
            check("/srv/application/", &roots()).is_err(),
            "a prefix of a name is not inside"
        );
        assert!(
            check("/srv/app/media", &roots()).is_err(),
            "a directory ends in /"
        );
        assert!(check("/etc/", &roots()).is_err());
    }

    #[test]
    fn a_host_not_reached_over_ssh_has_no_rsync_route() {
        let e = ssh_route(&mut crate::transport::local::Local::new()).unwrap_err();
        let top = e;
        assert_eq!(top.code(), 1);
        assert_eq!(
            crate::error::render(&top),
            "error: [localhost] data_refresh copies with rsync over ssh, and this host is not \
             reached over ssh\nhint: use lxc_transport = 'ssh' (the default) for this environment\n"
        );
        let mut recorder = crate::exec::record::Recorder::new("web1", "root");
        assert!(ssh_route(&mut recorder).is_ok());
    }

    #[test]
    fn rsync_takes_the_transports_ssh_route() {
        let ssh = vec![
            "ssh".into(),
            "-S".into(),
            "/tmp/s ock".into(),
            "-o".into(),
            "ControlMaster=no".into(),
        ];
        let c = push(
            &ssh,
            "deploy",
            Path::new("/p/media/staging/srv/app/media"),
            "/srv/app/media/",
            "app",
            None,
        );
        assert_eq!(
            c.to_shell(),
            "rsync -a --stats --info=name1 --mkpath --safe-links --chown=app:app '--rsync-path=sudo -n rsync' -e 'ssh -S '\\''/tmp/s ock'\\'' -o ControlMaster=no' /p/media/staging/srv/app/media/ none:/srv/app/media/"
        );
        let c = push(&ssh, "root", Path::new("/c"), "/m/", "app", Some(Some(3)));
        assert!(c.to_shell().contains(" --delete --max-delete=3 "));
        // The cache mirrors the source, media_delete or not (issue 19, kind 5).
        let c = pull(&ssh, "root", "/srv/app/media/", Path::new("/c"));
        assert!(c
            .to_shell()
            .contains("--delete --safe-links --rsync-path=rsync -e"));
    }
}
