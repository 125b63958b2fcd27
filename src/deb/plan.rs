//! Planning one binary package: every dh-style input applied to a staged [`Tree`], the control
//! members, the substitution variables and the generated `control`.

use std::path::Path;

use super::autoscripts::{self as auto, fill};
use super::cache_key::Listing;
use super::cmd::{Cmd, RunLocal as _};
use super::control::Control;
use super::digests::DigestMap;
use super::gencontrol::{self, Resolved};
use super::maintscripts::{self, Snippets};
use super::pkgfile::{read_text, PkgFiles};
use super::rules::Rules;
use super::simplify::Refusal;
use super::substvars::Substvars;
use super::tree::{normalise, Content, Node, Tree};
use super::wheels::Wheelhouse;
use super::{
    dh_compress, elf, fixperms, install, installers, manpages, nondeterminism, version,
    BuildOptions, DebError,
};

/// A member of `control.tar` other than `md5sums`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ControlMember {
    pub(crate) name: String,
    pub(crate) data: Vec<u8>,
    pub(crate) executable: bool,
}

/// Everything needed to write one `.deb`.
#[derive(Debug, Clone)]
pub(crate) struct PackagePlan {
    pub(crate) name: String,
    pub(crate) version: String,
    pub(crate) arch: String,
    pub(crate) tree: Tree,
    /// Sorted by name; includes `control`.
    pub(crate) control_members: Vec<ControlMember>,
    /// Absolute paths (`/etc/...`), excluded from `md5sums` as `dh_md5sums` does.
    pub(crate) conffiles: Vec<String>,
}

impl PackagePlan {
    /// A package `p` version `1` for `all` of `tree` alone, with no control members and no
    /// conffiles: what the data member's tests lay out.
    #[cfg(test)]
    pub(crate) fn of_tree(tree: Tree) -> PackagePlan {
        PackagePlan {
            name: "p".into(),
            version: "1".into(),
            arch: "all".into(),
            tree,
            control_members: Vec::new(),
            conffiles: Vec::new(),
        }
    }
}

/// What all packages of the build share.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Context<'a> {
    pub(crate) opts: &'a BuildOptions,
    pub(crate) debian_dir: &'a Path,
    pub(crate) control: &'a Control,
    pub(crate) version: &'a str,
    pub(crate) wheels: Option<&'a Wheelhouse>,
    /// The project's directories as the input key's walk saw them.
    pub(crate) listing: &'a Listing,
    /// `debian/rules`, for the steps it empties.
    pub(crate) rules: &'a Rules,
    /// The project's file digests (and first-bytes sniffs) from the input key.
    pub(crate) digests: &'a DigestMap,
    /// The host's Debian architecture.
    pub(crate) host_arch: &'a str,
    /// The build timestamp (`SOURCE_DATE_EPOCH` as dpkg-buildpackage exports it to debhelper).
    pub(crate) mtime: u64,
}

/// The active build profiles, which dpkg-gencontrol reads from `DEB_BUILD_PROFILES` (part of
/// the input key).
pub(crate) fn build_profiles() -> Vec<String> {
    std::env::var("DEB_BUILD_PROFILES")
        .map(|v| v.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

/// Plans the binary package of paragraph `index` for architecture `arch`; `warnings` collects
/// what dpkg-gencontrol would warn about.
pub(crate) fn plan_package(
    ctx: &Context<'_>,
    index: usize,
    arch: &str,
    warnings: &mut Vec<String>,
) -> Result<PackagePlan, DebError> {
    let para = &ctx.control.packages[index];
    let name = para.get("Package").unwrap_or_default().to_owned();
    let files = PkgFiles {
        debian_dir: ctx.debian_dir,
        package: &name,
        is_main: index == 0,
    };
    let mut substvars = Substvars::default();
    // dh always defines these, empty when no helper adds to them.
    substvars.add("misc:Depends", "");
    substvars.add("misc:Pre-Depends", "");
    let wheels = ctx.wheels.filter(|_| index == 0);
    let (mut tree, snippets) = stage(ctx, &files, wheels, &mut substvars)?;
    if let Some(why) = hard_links(&tree) {
        return Err(DebError::Fallback(why));
    }
    if arch != "all" {
        let skips = elf::Skips {
            dwz: ctx.rules.skips("dh_dwz"),
            strip: ctx.rules.skips("dh_strip"),
            shlibdeps: ctx.rules.skips("dh_shlibdeps"),
        };
        let work = ctx.opts.project_dir.join(".dfab/strip").join(&name);
        if let Some(why) = elf::process(
            &ctx.opts.project_dir,
            &name,
            &work,
            &mut tree,
            skips,
            &mut substvars,
        )? {
            return Err(DebError::Fallback(why));
        }
    }
    let conffiles = conffiles(&files, &tree)?;
    let mut members = control_members(&files, &snippets, &conffiles)?;
    variables(ctx, arch, &tree, wheels.is_some(), &mut substvars);

    let mut unknown = Vec::new();
    let profiles = build_profiles();
    let resolved = Resolved {
        version: ctx.version,
        arch,
        host_arch: ctx.host_arch,
        profiles: &profiles,
        installed_size: installed_size(&tree, &members),
    };
    let control = gencontrol::generate(
        &ctx.control.source,
        para,
        &resolved,
        &substvars,
        &mut unknown,
        warnings,
    )
    .map_err(|refusal| match refusal {
        Refusal::Invalid { field, message } => DebError::at(
            &ctx.control.file,
            para.field(&field).map_or(para.line, |f| f.line),
            format!("{field} of package `{name}`: {message}"),
        ),
        Refusal::Unevaluated { field, message } => {
            DebError::Fallback(format!("{message} ({field} of package `{name}`)"))
        }
    })?;
    for var in unknown {
        warnings.push(format!(
            "{name}: substitution variable ${{{var}}} is not defined; dropped"
        ));
    }
    members.push(ControlMember {
        name: "control".into(),
        data: control.into_bytes(),
        executable: false,
    });
    members.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(PackagePlan {
        name,
        version: ctx.version.to_owned(),
        arch: arch.to_owned(),
        tree,
        control_members: members,
        conffiles,
    })
}

/// Applies every dh-style input, in debhelper's sequence order, to a new tree; returns it with
/// the maintainer-script snippets the helpers added.
fn stage(
    ctx: &Context<'_>,
    files: &PkgFiles<'_>,
    wheels: Option<&Wheelhouse>,
    substvars: &mut Substvars,
) -> Result<(Tree, Snippets), DebError> {
    let project_dir = ctx.opts.project_dir.as_path();
    let mut tree = Tree::default();
    let mut snippets = Snippets::default();
    install::install(files, project_dir, &mut tree, ctx.listing)?;
    install::dirs(files, &mut tree)?;
    install::docs(files, project_dir, &mut tree)?;
    installers::readme_debian(files, &mut tree)?;
    installers::copyright(files, &mut tree)?;
    installers::changelog(files, ctx.version, &mut tree)?;
    manpages::install(files, project_dir, &mut tree)?;
    installers::systemd_units(files, &mut tree)?;
    if files.find("templates").is_some() || files.find("config").is_some() {
        substvars.add("misc:Depends", "debconf (>= 0.5) | debconf-2.0");
        snippets.add(
            "postrm",
            "dh_installdebconf",
            auto::POSTRM_DEBCONF.to_owned(),
        );
    }
    if let Some(wh) = wheels {
        ship_wheels(ctx.opts, files.package, wh, &mut tree, &mut snippets)?;
        substvars.add("misc:Depends", "python3-venv");
    }
    installers::fixed_files(files, &mut tree, &mut snippets, substvars)?;
    installers::tmpfiles(files, &mut tree, &mut snippets)?;
    install::links(files, &mut tree)?;
    installers::systemd_snippets(&tree, &mut snippets)?;
    if !ctx.rules.skips("dh_strip_nondeterminism") {
        let work = project_dir.join(".dfab/nondeterminism").join(files.package);
        let keep = wheels.map_or(&[][..], |wh| &wh.wheels[..]);
        if let Some(why) = nondeterminism::apply(project_dir, &work, &mut tree, ctx, keep)? {
            return Err(DebError::Fallback(why));
        }
    }
    if !ctx.rules.skips("dh_compress") {
        dh_compress::apply(&mut tree)?;
    }
    if let Some(why) = fixperms::apply(&mut tree, files.package) {
        return Err(DebError::Fallback(why));
    }
    Ok((tree, snippets))
}

/// Maintainer scripts, debconf `config` and `templates`, `triggers` and `conffiles`.
fn control_members(
    files: &PkgFiles<'_>,
    snippets: &Snippets,
    conffiles: &[String],
) -> Result<Vec<ControlMember>, DebError> {
    let mut members: Vec<ControlMember> = maintscripts::assemble(files, snippets)?
        .into_iter()
        .map(|(name, data)| ControlMember {
            name,
            data,
            executable: true,
        })
        .collect();
    for member in ["templates", "triggers"] {
        if let Some(path) = files.find(member) {
            // dh_installdebconf merges the translations with po2debconf when debian/po exists.
            let data = if member == "templates" && files.debian_dir.join("po").is_dir() {
                Cmd::of("po2debconf")
                    .arg(path.to_string_lossy())
                    .cwd(files.debian_dir.parent().unwrap_or(files.debian_dir))
                    .output()?
                    .stdout
            } else {
                fs_err::read(path)?
            };
            members.push(ControlMember {
                name: member.into(),
                data,
                executable: false,
            });
        }
    }
    if !conffiles.is_empty() {
        let text = conffiles.iter().fold(String::new(), |mut s, c| {
            s.push_str(c);
            s.push('\n');
            s
        });
        members.push(ControlMember {
            name: "conffiles".into(),
            data: text.into_bytes(),
            executable: false,
        });
    }
    Ok(members)
}

/// dpkg-gencontrol's and dfab's variables. A `debian/<pkg>.substvars` in the project is not
/// read: `dh_prep` deletes it before anything adds to it, and `debian/substvars` is not what
/// `dh_gencontrol` passes to dpkg-gencontrol (`-Tdebian/<pkg>.substvars`), so dpkg-buildpackage's
/// packages never see either (found by the differential test).
fn variables(ctx: &Context<'_>, arch: &str, tree: &Tree, venv: bool, substvars: &mut Substvars) {
    let ships_python = venv
        || tree.iter().any(|(p, n)| {
            matches!(n, Node::File { .. })
                && Path::new(p)
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("py"))
        });
    substvars.add("python3:Depends", if ships_python { "python3" } else { "" });
    // Defined (empty) when no ELF file of an architecture-dependent package needs a library.
    substvars.add("shlibs:Depends", "");
    substvars.add("binary:Version", ctx.version);
    substvars.add("source:Version", ctx.version);
    let upstream = version::without_epoch(ctx.version);
    substvars.add(
        "source:Upstream-Version",
        upstream.rsplit_once('-').map_or(upstream, |(u, _)| u),
    );
    substvars.add("Arch", arch);
}

/// Puts the wheels and `requirements.txt` in the package and adds the venv snippets.
fn ship_wheels(
    opts: &BuildOptions,
    pkg: &str,
    wh: &Wheelhouse,
    tree: &mut Tree,
    snippets: &mut Snippets,
) -> Result<(), DebError> {
    let wheelhouse = opts
        .wheelhouse_path
        .clone()
        .unwrap_or_else(|| format!("/usr/share/{pkg}/wheelhouse"));
    let venv = opts
        .venv_path
        .clone()
        .unwrap_or_else(|| format!("/opt/{pkg}/venv"));
    let wheelhouse = format!("/{}", normalise(&wheelhouse));
    for wheel in &wh.wheels {
        let name = wheel
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        install::add_path(tree, wheel, &format!("{wheelhouse}/{name}"))?;
    }
    let requirements = format!("{wheelhouse}/requirements.txt");
    install::add_path(tree, &wh.requirements, &requirements)?;
    let values = [
        ("VENV", venv.as_str()),
        ("WHEELHOUSE", wheelhouse.as_str()),
        ("REQUIREMENTS", requirements.as_str()),
    ];
    snippets.add("postinst", "venv", fill(auto::POSTINST_VENV, &values));
    snippets.add("postrm", "venv", fill(auto::POSTRM_VENV, &values));
    Ok(())
}

/// Two installed paths of one inode: `cp -a` in `dh_install` keeps them one file, which the data
/// tar stores as a hard link; dfab's tree has no hard links (found by the differential test).
fn hard_links(tree: &Tree) -> Option<String> {
    let mut seen: std::collections::HashMap<u64, (&Path, &str)> = std::collections::HashMap::new();
    for (path, node) in tree.iter() {
        if let Node::File {
            content: Content::Path(src, stat),
            ..
        } = node
        {
            // One source installed twice is two copies; two names of one inode are one file.
            match seen.insert(stat.ino(), (src, path)) {
                Some((first_src, first)) if first_src != src => {
                    return Some(format!("the hard links /{first} and /{path} (one file)"));
                }
                _ => {}
            }
        }
    }
    None
}

/// `debian/conffiles` lines in their order, then every regular file under `/etc` sorted, as
/// `dh_installdeb` (compat ≥ 12) writes them: it installs the file, then appends `find $tmp/etc
/// -type f | LC_ALL=C sort`.
fn conffiles(files: &PkgFiles<'_>, tree: &Tree) -> Result<Vec<String>, DebError> {
    let mut out: Vec<String> = Vec::new();
    if let Some(path) = files.find("conffiles") {
        let text = read_text(&path)?;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            // deb-conffiles(5): a conffile to remove on upgrade is no longer in the package.
            if let Some(gone) = line.strip_prefix("remove-on-upgrade ") {
                out.push(format!("remove-on-upgrade /{}", normalise(gone.trim())));
                continue;
            }
            if !matches!(tree.get(line), Some(Node::File { .. })) {
                return Err(DebError::at(
                    &path,
                    i + 1,
                    format!("conffile `{line}` is not a file in the package"),
                ));
            }
            out.push(format!("/{}", normalise(line)));
        }
    }
    let mut auto: Vec<String> = tree
        .iter()
        .filter(|(p, n)| p.starts_with("etc/") && matches!(n, Node::File { .. }))
        .map(|(p, _)| format!("/{p}"))
        .filter(|p| !out.contains(p))
        .collect();
    auto.sort();
    out.extend(auto);
    Ok(out)
}

/// `Installed-Size` as dpkg-gencontrol computes it over `debian/<pkg>` at `dh_gencontrol` time:
/// 1 KiB per directory (the root and `DEBIAN` included), `ceil(size / 1024)` per file and symlink
/// (a symlink's size is its target's length), the `DEBIAN` members present by then (everything
/// but `control` and `md5sums`) included.
#[must_use]
pub(crate) fn installed_size(tree: &Tree, members: &[ControlMember]) -> u64 {
    let kib = |bytes: u64| bytes.div_ceil(1024);
    let data: u64 = tree
        .iter()
        .map(|(_, n)| match n {
            Node::Dir => 1,
            Node::File { size, .. } => kib(*size),
            Node::Symlink(target) => kib(target.len() as u64),
        })
        .sum();
    let control: u64 = members
        .iter()
        .filter(|m| m.name != "control" && m.name != "md5sums")
        .map(|m| kib(m.data.len() as u64))
        .sum();
    2 + data + control
}
