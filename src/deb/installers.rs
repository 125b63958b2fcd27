//! The single-file `dh_install`* helpers: copyright, changelog, cron, logrotate, default, init and
//! systemd units (with their maintainer-script snippets).

use std::io::Write;

use flate2::write::GzEncoder;
use flate2::GzBuilder;

use super::autoscripts::{self as auto, fill};
use super::digests::Stat;
use super::install::add_path;
use super::maintscripts::Snippets;
use super::pkgfile::{read_text, PkgFiles};
use super::substvars::Substvars;
use super::tree::{Content, Node, Tree};
use super::version;
use super::DebError;

/// `copyright` → `/usr/share/doc/<pkg>/copyright`; like `dh_installdocs`, the bare
/// `debian/copyright` goes into every package that has no specific one.
pub(crate) fn copyright(files: &PkgFiles<'_>, tree: &mut Tree) -> Result<(), DebError> {
    let bare = files.debian_dir.join("copyright");
    if let Some(path) = files
        .find("copyright")
        .or_else(|| bare.is_file().then_some(bare))
    {
        add_path(
            tree,
            &path,
            &format!("usr/share/doc/{}/copyright", files.package),
        )?;
    }
    Ok(())
}

/// `changelog` → `/usr/share/doc/<pkg>/changelog.Debian.gz` (`changelog.gz` for a native
/// version, as `dh_installchangelogs` does), compressed like `gzip -9n`.
pub(crate) fn changelog(
    files: &PkgFiles<'_>,
    version: &str,
    tree: &mut Tree,
) -> Result<(), DebError> {
    let path = files
        .find("changelog")
        .unwrap_or_else(|| files.debian_dir.join("changelog"));
    let text = fs_err::read(&path)?;
    let name = if version::is_native(version) {
        "changelog.gz"
    } else {
        "changelog.Debian.gz"
    };
    tree.add_bytes(
        &format!("usr/share/doc/{}/{name}", files.package),
        gzip_n(&text)?,
        false,
    );
    Ok(())
}

/// `gzip -9n`: best compression, no name, zero mtime, Unix as the OS byte.
pub(crate) fn gzip_n(data: &[u8]) -> Result<Vec<u8>, DebError> {
    let mut enc: GzEncoder<Vec<u8>> = GzBuilder::new()
        .operating_system(3)
        .mtime(0)
        .write(Vec::new(), flate2::Compression::best());
    enc.write_all(data)?;
    Ok(enc.finish()?)
}

/// Files installed under a fixed name: `(debian file, package path, executable)`.
fn fixed_targets(pkg: &str) -> Vec<(&'static str, String, bool)> {
    vec![
        ("cron.d", format!("etc/cron.d/{pkg}"), false),
        ("cron.hourly", format!("etc/cron.hourly/{pkg}"), true),
        ("cron.daily", format!("etc/cron.daily/{pkg}"), true),
        ("cron.weekly", format!("etc/cron.weekly/{pkg}"), true),
        ("cron.monthly", format!("etc/cron.monthly/{pkg}"), true),
        ("cron.yearly", format!("etc/cron.yearly/{pkg}"), true),
        ("logrotate", format!("etc/logrotate.d/{pkg}"), false),
        ("default", format!("etc/default/{pkg}"), false),
        ("init", format!("etc/init.d/{pkg}"), true),
    ]
}

/// cron (`dh_installcron`), logrotate (`dh_installlogrotate`), default and init (`dh_installinit`).
/// An init script adds debhelper 13.11's snippets and `misc:Pre-Depends` on
/// `init-system-helpers (>= 1.54~)` (for `--skip-systemd-native`).
pub(crate) fn fixed_files(
    files: &PkgFiles<'_>,
    tree: &mut Tree,
    snippets: &mut Snippets,
    substvars: &mut Substvars,
) -> Result<(), DebError> {
    for (name, dest, executable) in fixed_targets(files.package) {
        let Some(path) = files.find(name) else {
            continue;
        };
        let meta = fs_err::metadata(&path)?;
        tree.add(
            &dest,
            Node::File {
                content: Content::Path(path.clone(), Stat::of(&meta)),
                size: meta.len(),
                executable,
                mtime: std::os::unix::fs::MetadataExt::mtime(&meta).try_into().ok(),
            },
        );
        if name == "init" {
            let values = [("SCRIPT", files.package)];
            snippets.add_service(
                "preinst",
                "dh_installinit",
                fill(auto::PREINST_INIT_CHMOD, &values),
            );
            substvars.add("misc:Pre-Depends", "init-system-helpers (>= 1.54~)");
            snippets.add_service(
                "postinst",
                "dh_installinit",
                fill(auto::POSTINST_INIT, &values),
            );
            snippets.add_service("prerm", "dh_installinit", fill(auto::PRERM_INIT, &values));
            snippets.add_service("postrm", "dh_installinit", fill(auto::POSTRM_INIT, &values));
        }
    }
    Ok(())
}

/// `dh_installtmpfiles`: `tmpfiles` (or the old name `tmpfile`) → `usr/lib/tmpfiles.d/<pkg>.conf`,
/// and the postinst snippet creating every `*.conf` the package ships there or in `etc/`.
pub(crate) fn tmpfiles(
    files: &PkgFiles<'_>,
    tree: &mut Tree,
    snippets: &mut Snippets,
) -> Result<(), DebError> {
    let (new, old) = (files.find("tmpfiles"), files.find("tmpfile"));
    if let (Some(a), Some(b)) = (&new, &old) {
        return Err(DebError::at(
            b,
            0,
            format!("both {} and this file exist; keep one", a.display()),
        ));
    }
    if let Some(path) = new.or(old) {
        add_path(
            tree,
            &path,
            &format!("usr/lib/tmpfiles.d/{}.conf", files.package),
        )?;
    }
    let mut confs: Vec<&str> = tree
        .iter()
        .filter(|(p, n)| {
            matches!(n, Node::File { .. })
                && (p.starts_with("usr/lib/tmpfiles.d/") || p.starts_with("etc/tmpfiles.d/"))
                && std::path::Path::new(p.as_str())
                    .extension()
                    .is_some_and(|e| e == "conf")
        })
        .filter_map(|(p, _)| p.rsplit('/').next())
        .collect();
    confs.sort_unstable();
    confs.dedup();
    if !confs.is_empty() {
        let list = confs.join(" ");
        snippets.add(
            "postinst",
            "dh_installtmpfiles",
            fill(auto::POSTINST_TMPFILES, &[("TMPFILES", &list)]),
        );
    }
    Ok(())
}

/// `dh_installdocs`: `README.Debian` → `usr/share/doc/<pkg>/README.Debian`.
pub(crate) fn readme_debian(files: &PkgFiles<'_>, tree: &mut Tree) -> Result<(), DebError> {
    if let Some(path) = files.find("README.Debian") {
        add_path(
            tree,
            &path,
            &format!("usr/share/doc/{}/README.Debian", files.package),
        )?;
    }
    Ok(())
}

const UNIT_SUFFIXES: [&str; 6] = ["service", "socket", "timer", "path", "target", "mount"];

/// Where `dh_installsystemd` (debhelper 13.11, Debian 12) puts units.
pub(crate) const UNIT_DIR: &str = "lib/systemd/system";

/// Systemd units as `dh_installsystemd` (no `--name`) finds them: `<pkg>.service` (or bare
/// `service`) → `<pkg>.service` and the template `<pkg>@.service` → `<pkg>@.service`; likewise
/// `.timer`, `.socket`, ... (no template `.mount`). A `<pkg>.<name>.service` is installed only with
/// `--name`, which means an override dfab leaves to dpkg-buildpackage, so it is not shipped
/// (shipping it differed from dpkg-buildpackage; found by the differential test).
pub(crate) fn systemd_units(files: &PkgFiles<'_>, tree: &mut Tree) -> Result<(), DebError> {
    let pkg = files.package;
    for suffix in UNIT_SUFFIXES {
        if let Some(path) = files.find(suffix) {
            add_path(tree, &path, &format!("{UNIT_DIR}/{pkg}.{suffix}"))?;
        }
        let template = files.debian_dir.join(format!("{pkg}@.{suffix}"));
        if suffix != "mount" && template.is_file() {
            add_path(tree, &template, &format!("{UNIT_DIR}/{pkg}@.{suffix}"))?;
        }
    }
    Ok(())
}

/// `dh_installsystemd`'s snippets for every unit in the tree: enable those with an `[Install]`
/// section, restart all after upgrade, stop on removal, purge state.
pub(crate) fn systemd_snippets(tree: &Tree, snippets: &mut Snippets) -> Result<(), DebError> {
    let mut enable = Vec::new();
    let mut start = Vec::new();
    for (path, node) in tree.iter() {
        // debhelper 13.11 lists `lib/systemd/system` only, and skips templates (`name@.service`).
        let Some(unit) = path.strip_prefix(&format!("{UNIT_DIR}/")) else {
            continue;
        };
        if unit.contains('/')
            || unit.contains('@')
            || !UNIT_SUFFIXES
                .iter()
                .any(|s| unit.ends_with(&format!(".{s}")))
        {
            continue;
        }
        let text = match node {
            Node::File {
                content: Content::Path(p, _),
                ..
            } => read_text(p)?,
            Node::File {
                content: Content::Bytes(b),
                ..
            } => String::from_utf8_lossy(b).into_owned(),
            _ => continue,
        };
        if text.lines().any(|l| l.trim() == "[Install]") {
            enable.push(format!("'{unit}'"));
        }
        start.push(format!("'{unit}'"));
    }
    enable.sort();
    enable.dedup();
    start.sort();
    start.dedup();
    let tool = "dh_installsystemd";
    for unit in &enable {
        snippets.add_service(
            "postinst",
            tool,
            fill(auto::POSTINST_SYSTEMD_ENABLE, &[("UNITFILE", unit)]),
        );
    }
    if !enable.is_empty() {
        let units = enable.join(" ");
        // `postrm-systemd` and `postrm-systemd-reload-only` are added without the service order.
        snippets.add(
            "postrm",
            tool,
            fill(auto::POSTRM_SYSTEMD, &[("UNITFILES", &units)]),
        );
    }
    if !start.is_empty() {
        let units = start.join(" ");
        let values = [("UNITFILES", units.as_str())];
        snippets.add_service(
            "postinst",
            tool,
            fill(auto::POSTINST_SYSTEMD_RESTART, &values),
        );
        snippets.add_service("prerm", tool, fill(auto::PRERM_SYSTEMD_RESTART, &values));
        snippets.add("postrm", tool, fill(auto::POSTRM_SYSTEMD_RELOAD, &values));
    }
    Ok(())
}
