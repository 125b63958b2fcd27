//! A seeded generator of `debian/` trees: debhelper 13's declarative inputs in random mixes, for
//! one to three binary packages. A [`Spec`] is a list of independent items; rendering it gives
//! the project's files, so dropping items (to shrink a failing input) is just a shorter list.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::ffi::OsStrExt as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

/// `SplitMix64`: small, seedable, the same sequence on every machine.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap()
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }
}

/// File names that stress the data tar and the list parsers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Name {
    Plain,
    Space,
    Unicode,
    NotUtf8,
    DotFile,
    Long255,
    Script,
    TimestampedGz,
}

/// Where an installed file goes.
const DESTS: [&str; 7] = [
    "usr/share/@",
    "usr/lib/@",
    "usr/bin",
    "etc/@",
    "opt/@",
    "var/lib/@",
    "usr/share/@/a-directory-name-that-is-long-enough/to-push-the-path-of-the-file-over-one-hundred-bytes",
];

/// How a link is declared in `<pkg>.links`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum LinkKind {
    SameTop,
    AcrossTops,
    ToDirectory,
    Chain,
    Dangling,
    Relative,
}

/// A systemd unit shipped as `debian/<pkg>[.<name>].<kind>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    Service,
    NamedService,
    Template,
    Timer,
    Socket,
}

/// One input; each renders files of its own (paths carry the item's number).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// `install` of one file (or its directory, or by glob) with a name and mode.
    Install {
        name: Name,
        dest: usize,
        mode: u32,
        how: u8,
    },
    Dirs,
    Link(LinkKind),
    Docs {
        big: bool,
    },
    Examples,
    Manpage {
        section: u8,
    },
    /// A `conffiles` entry (`remove-on-upgrade`), next to an installed `/etc` file.
    ConffileFlag,
    Maintscript {
        script: &'static str,
        token: bool,
    },
    Systemd(Unit),
    Init,
    Tmpfiles,
    Logrotate,
    CronD,
    CronDaily,
    Default,
    News,
    ReadmeDebian,
    HardLinks,
    Sparse,
    Relation {
        field: &'static str,
        value: &'static str,
    },
    Substvar,
    /// A tiny C program, built by `debian/rules` (the package becomes `Architecture: any`).
    CProgram,
}

/// One item of a [`Spec`], for package `pkg` (`bare`: a `debian/<file>` without the package
/// prefix, which applies to the first package).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Item {
    pub(crate) pkg: usize,
    pub(crate) bare: bool,
    pub(crate) kind: Kind,
}

/// A generated project: its changelog entry and packages, and the items.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Spec {
    /// `seed/index`, naming the input.
    pub(crate) name: String,
    pub(crate) packages: usize,
    pub(crate) version: &'static str,
    pub(crate) urgency: &'static str,
    pub(crate) date: &'static str,
    pub(crate) root_no: bool,
    pub(crate) items: Vec<Item>,
}

const VERSIONS: [&str; 5] = [
    "1.0-1",
    "1:2.3~rc1-1",
    "0.9+git20200101-2",
    "2.0",
    "3.1-0.1~bpo12+1",
];
const URGENCIES: [&str; 4] = ["medium", "low", "high", "critical"];
/// Mostly `date -R`'s form; then dates dpkg-parsechangelog reads or warns about.
const DATES: [&str; 10] = [
    "Mon, 02 Nov 2026 10:00:00 +0000",
    "Tue, 03 Mar 2020 23:59:59 -0530",
    "Sat, 1 Jan 2022 00:00:00 +1400",
    "Wed, 24 June 2015 12:00:00 +0300",
    "24 Jun 2015 12:00:00 +0300",
    "Foo, 24 Jun 2015 12:00:00 +0300",
    "Wed, 24 jun 2015 12:00:00 +0300",
    "Wed, 31 Jun 2015 12:00:00 +0300",
    "Wed,  24 Jun 2015 12:00:00 +0300",
    "Wed, 24 Jun 2015 12:00:00 +0300 (EEST)",
];
const NAMES: [Name; 8] = [
    Name::Plain,
    Name::Space,
    Name::Unicode,
    Name::NotUtf8,
    Name::DotFile,
    Name::Long255,
    Name::Script,
    Name::TimestampedGz,
];
const LINK_KINDS: [LinkKind; 6] = [
    LinkKind::SameTop,
    LinkKind::AcrossTops,
    LinkKind::ToDirectory,
    LinkKind::Chain,
    LinkKind::Dangling,
    LinkKind::Relative,
];
const UNITS: [Unit; 5] = [
    Unit::Service,
    Unit::NamedService,
    Unit::Template,
    Unit::Timer,
    Unit::Socket,
];
const SCRIPTS: [&str; 4] = ["postinst", "preinst", "prerm", "postrm"];
const MODES: [u32; 8] = [0o644, 0o755, 0o600, 0o4755, 0o2755, 0o700, 0o444, 0o664];
const RELATIONS: [(&str, &str); 8] = [
    ("Depends", "adduser, libc6 | libc6.1"),
    ("Depends", "python3 (>= 3.9), python3 (>= 3.7)"),
    ("Provides", "gen-virtual (= 1.0), gen-other"),
    ("Breaks", "gen-old (<< 1.0), gen-older"),
    ("Conflicts", "gen-rival"),
    ("Replaces", "gen-old (<< 1.0)"),
    ("Recommends", "less, less"),
    ("Suggests", "gen-extra [amd64], gen-docs <!nodoc>"),
];

impl Spec {
    /// Tree number `index` of `seed`: the same on every run.
    pub(crate) fn generate(seed: u64, index: u64) -> Spec {
        let mut rng = Rng::new(seed ^ index.wrapping_mul(0xA076_1D64_78BD_642F));
        let packages = 1 + rng.below(3);
        let date = if rng.chance(70) {
            DATES[0]
        } else {
            rng.pick(&DATES)
        };
        let mut items = Vec::new();
        let count = 2 + rng.below(9);
        let mut c_program = false;
        for _ in 0..count {
            let kind = match rng.below(27) {
                0..=4 => Kind::Install {
                    name: rng.pick(&NAMES),
                    dest: rng.below(DESTS.len()),
                    mode: rng.pick(&MODES),
                    how: u8::try_from(rng.below(3)).unwrap(),
                },
                5 => Kind::Dirs,
                6 | 7 => Kind::Link(rng.pick(&LINK_KINDS)),
                8 => Kind::Docs {
                    big: rng.chance(50),
                },
                9 => Kind::Examples,
                10 => Kind::Manpage {
                    section: rng.pick(&[1, 5, 8]),
                },
                11 => Kind::ConffileFlag,
                12 | 13 => Kind::Maintscript {
                    script: rng.pick(&SCRIPTS),
                    token: rng.chance(75),
                },
                14 | 15 => Kind::Systemd(rng.pick(&UNITS)),
                16 => Kind::Init,
                17 => Kind::Tmpfiles,
                18 => Kind::Logrotate,
                19 => Kind::CronD,
                20 => Kind::CronDaily,
                21 => Kind::Default,
                22 => rng.pick(&[Kind::News, Kind::ReadmeDebian]),
                23 => rng.pick(&[Kind::HardLinks, Kind::Sparse]),
                24 => {
                    let (field, value) = rng.pick(&RELATIONS);
                    Kind::Relation { field, value }
                }
                25 => Kind::Substvar,
                _ if c_program => Kind::Dirs,
                _ => {
                    c_program = true;
                    Kind::CProgram
                }
            };
            let pkg = rng.below(packages);
            let bare = pkg == 0 && rng.chance(30);
            items.push(Item { pkg, bare, kind });
        }
        Spec {
            name: format!("seed {seed} tree {index}"),
            packages,
            version: rng.pick(&VERSIONS),
            urgency: rng.pick(&URGENCIES),
            date,
            root_no: rng.chance(80),
            items,
        }
    }

    /// The generator features this spec uses, by name (each item's kind with its variant, file
    /// name and mode; the changelog's version and date; the package count), for the coverage
    /// check of a bounded run.
    pub(crate) fn features(&self) -> Vec<String> {
        let mut out = vec![
            format!("{} packages", self.packages),
            format!("version {}", self.version),
            format!("date {}", self.date),
            format!("Rules-Requires-Root no: {}", self.root_no),
        ];
        for it in &self.items {
            let kind = format!("{:?}", it.kind);
            out.push(kind.split([' ', '{']).next().unwrap_or(&kind).to_owned());
            if it.bare {
                out.push("bare file".into());
            }
            if let Kind::Install {
                name, mode, how, ..
            } = it.kind
            {
                out.extend([
                    format!("name {name:?}"),
                    format!("mode {mode:o}"),
                    format!("install form {how}"),
                ]);
            }
        }
        out
    }

    /// Every feature [`Spec::features`] can name.
    pub(crate) fn all_features() -> Vec<String> {
        let mut out: Vec<String> = (1..=3).map(|n| format!("{n} packages")).collect();
        out.extend(VERSIONS.iter().map(|v| format!("version {v}")));
        out.extend(DATES.iter().map(|d| format!("date {d}")));
        out.extend(
            [
                "Rules-Requires-Root no: true",
                "Rules-Requires-Root no: false",
                "bare file",
            ]
            .map(String::from),
        );
        for kind in [
            "Dirs",
            "Examples",
            "Manpage",
            "ConffileFlag",
            "Maintscript",
            "Init",
            "Tmpfiles",
            "Logrotate",
            "CronD",
            "CronDaily",
            "Default",
            "News",
            "ReadmeDebian",
            "HardLinks",
            "Sparse",
            "Relation",
            "Substvar",
            "CProgram",
            "Install",
            "Docs",
        ] {
            out.push(kind.to_owned());
        }
        out.extend(LINK_KINDS.iter().map(|k| format!("Link({k:?})")));
        out.extend(UNITS.iter().map(|u| format!("Systemd({u:?})")));
        out.extend(NAMES.iter().map(|n| format!("name {n:?}")));
        out.extend(MODES.iter().map(|m| format!("mode {m:o}")));
        out.extend((0..3).map(|h| format!("install form {h}")));
        out
    }

    /// The package names: `gsrc`, `gsrc-extra`, `gsrc-data`.
    pub(crate) fn package(pkg: usize) -> String {
        ["gsrc", "gsrc-extra", "gsrc-data"][pkg].to_owned()
    }

    /// The `build_commands` dfab needs for what `debian/rules` builds.
    pub(crate) fn build_commands(&self) -> Vec<String> {
        self.items
            .iter()
            .enumerate()
            .filter(|(_, it)| it.kind == Kind::CProgram)
            .map(|(i, _)| c_command(i, "$"))
            .collect()
    }

    /// A readable description: the changelog entry, then one line per item.
    pub(crate) fn describe(&self) -> String {
        let mut s = format!(
            "{}: {} package(s), version {}, urgency={}, date `{}`, Rules-Requires-Root: {}\n",
            self.name,
            self.packages,
            self.version,
            self.urgency,
            self.date,
            if self.root_no { "no" } else { "(unset)" }
        );
        for (i, it) in self.items.iter().enumerate() {
            let file = if it.bare {
                "bare".to_owned()
            } else {
                Self::package(it.pkg)
            };
            let _ = writeln!(s, "  item {i} ({file}): {:?}", it.kind);
        }
        s
    }

    /// Writes the project into `dir` (created).
    pub(crate) fn write(&self, dir: &Path) {
        let mut files = Files::default();
        let mut fields: Vec<Vec<(String, String)>> = vec![Vec::new(); self.packages];
        let mut any = vec![false; self.packages];
        let mut rules = "#!/usr/bin/make -f\n%:\n\tdh $@\n".to_owned();
        let mut c_build = String::new();
        for (i, it) in self.items.iter().enumerate() {
            let p = Self::package(it.pkg);
            let deb = |file: &str| {
                if it.bare {
                    format!("debian/{file}")
                } else {
                    format!("debian/{p}.{file}")
                }
            };
            match &it.kind {
                Kind::Install { name, dest, mode, how } => {
                    let (fname, content): (Vec<u8>, Vec<u8>) = match name {
                        Name::Plain => (format!("file{i}.txt").into(), b"plain\n".to_vec()),
                        Name::Space => (format!("with space {i}.txt").into(), b"space\n".to_vec()),
                        Name::Unicode => (format!("ünïcödé-{i}.txt").into(), b"u\n".to_vec()),
                        Name::NotUtf8 => ([b"raw-\xff\xfe-".as_slice(), format!("{i}").as_bytes()].concat(), b"raw\n".to_vec()),
                        Name::DotFile => (format!(".hidden{i}").into(), b"dot\n".to_vec()),
                        Name::Long255 => {
                            let stem = format!("long{i}-");
                            let name = format!("{stem}{}", "n".repeat(255 - stem.len()));
                            (name.into(), b"long\n".to_vec())
                        }
                        Name::Script => (format!("tool{i}").into(), b"#!/bin/sh\necho tool\n".to_vec()),
                        Name::TimestampedGz => (format!("notes{i}.txt.gz").into(), timestamped_gz()),
                    };
                    let src = format!("s{i}");
                    files.file(&[src.as_bytes(), b"/", &fname].concat(), &content, *mode);
                    let dest = DESTS[*dest].replace('@', &p);
                    // Plain names can be listed; the others go by glob or as a directory.
                    let line = match (how, name) {
                        (0, Name::Plain | Name::Script | Name::TimestampedGz | Name::Long255) => {
                            format!("{src}/{} {dest}", String::from_utf8_lossy(&fname))
                        }
                        (1, _) => format!("{src} {dest}"),
                        _ => format!("{src}/* {dest}"),
                    };
                    files.line(&deb("install"), &line);
                }
                Kind::Dirs => files.line(&deb("dirs"), &format!("usr/share/{p}/empty{i}")),
                Kind::Link(kind) => {
                    let t = format!("usr/share/{p}/lt{i}");
                    files.file(format!("l{i}/target").as_bytes(), b"target\n", 0o644);
                    files.line(&deb("install"), &format!("l{i}/target {t}"));
                    let line = match kind {
                        LinkKind::SameTop => format!("{t}/target {t}/link"),
                        LinkKind::AcrossTops => format!("/{t}/target /usr/bin/link{i}"),
                        LinkKind::ToDirectory => format!("{t} usr/lib/{p}-dir{i}"),
                        LinkKind::Chain => format!("{t}/target {t}/one\n{t}/one {t}/two"),
                        LinkKind::Dangling => format!("usr/share/common-licenses/GPL-3 {t}/GPL"),
                        LinkKind::Relative => format!("{t}/target {t}/sub/../rel"),
                    };
                    for l in line.lines() {
                        files.line(&deb("links"), l);
                    }
                }
                Kind::Docs { big } => {
                    let text = if *big { "doc line\n".repeat(600) } else { "doc\n".into() };
                    files.file(format!("d{i}/README{i}").as_bytes(), text.as_bytes(), 0o644);
                    files.line(&deb("docs"), &format!("d{i}/README{i}"));
                }
                Kind::Examples => {
                    files.file(format!("e{i}/example{i}.sh").as_bytes(), b"#!/bin/sh\n", 0o755);
                    files.line(&deb("examples"), &format!("e{i}/example{i}.sh"));
                }
                Kind::Manpage { section } => {
                    let page = format!(".TH TOOL{i} {section}\n.SH NAME\ntool{i} \\- x\n");
                    files.file(format!("m{i}/tool{i}.{section}").as_bytes(), page.as_bytes(), 0o644);
                    files.line(&deb("manpages"), &format!("m{i}/tool{i}.{section}"));
                }
                Kind::ConffileFlag => {
                    files.file(format!("c{i}/app{i}.conf").as_bytes(), b"key = value\n", 0o644);
                    files.line(&deb("install"), &format!("c{i}/app{i}.conf etc/{p}"));
                    files.line(&deb("conffiles"), &format!("remove-on-upgrade /etc/{p}/old{i}.conf"));
                }
                Kind::Maintscript { script, token } => {
                    let body = if *token { "#DEBHELPER#\n" } else { "" };
                    files.set(&deb(script), format!("#!/bin/sh\nset -e\necho {script} {i}\n{body}exit 0\n"), 0o755);
                }
                Kind::Systemd(unit) => {
                    let service = "[Unit]\nDescription=gen\n\n[Service]\nExecStart=/bin/true\n\n[Install]\nWantedBy=multi-user.target\n";
                    match unit {
                        Unit::Service => files.set(&deb("service"), service, 0o644),
                        Unit::NamedService => {
                            files.set(&format!("debian/{p}.unit{i}.service"), service, 0o644);
                        }
                        Unit::Template => {
                            files.set(&format!("debian/{p}@.service"), service, 0o644);
                        }
                        Unit::Timer => {
                            files.set(&deb("service"), service, 0o644);
                            files.set(&deb("timer"), "[Unit]\nDescription=t\n\n[Timer]\nOnCalendar=daily\n\n[Install]\nWantedBy=timers.target\n", 0o644);
                        }
                        Unit::Socket => {
                            files.set(&deb("service"), service, 0o644);
                            files.set(&deb("socket"), "[Unit]\nDescription=s\n\n[Socket]\nListenStream=127.0.0.1:9\n\n[Install]\nWantedBy=sockets.target\n", 0o644);
                        }
                    }
                }
                Kind::Init => files.set(&deb("init"), format!("#!/bin/sh\n### BEGIN INIT INFO\n# Provides: {p}\n# Required-Start: $remote_fs\n# Required-Stop: $remote_fs\n# Default-Start: 2 3 4 5\n# Default-Stop: 0 1 6\n# Short-Description: gen\n### END INIT INFO\nexit 0\n"), 0o755),
                Kind::Tmpfiles => files.line(&deb("tmpfiles"), &format!("d /run/{p}{i} 0755 root root -")),
                Kind::Logrotate => files.set(&deb("logrotate"), format!("/var/log/{p}/*.log {{\n  weekly\n  missingok\n}}\n"), 0o644),
                Kind::CronD => files.set(&deb("cron.d"), "0 * * * * root true\n", 0o644),
                Kind::CronDaily => files.set(&deb("cron.daily"), "#!/bin/sh\nexit 0\n", 0o755),
                Kind::Default => files.set(&deb("default"), "ENABLED=yes\n", 0o644),
                Kind::News => files.set(&deb("NEWS"), format!("{p} (1.0-1) unstable; urgency=medium\n\n  * News {i}.\n\n -- Gen Erator <gen@example.org>  Mon, 02 Nov 2026 10:00:00 +0000\n"), 0o644),
                Kind::ReadmeDebian => files.set(&deb("README.Debian"), format!("Notes {i}.\n"), 0o644),
                Kind::HardLinks => {
                    files.file(format!("h{i}/a").as_bytes(), b"shared\n", 0o644);
                    files.hard_links.push((format!("h{i}/a"), format!("h{i}/b")));
                    files.line(&deb("install"), &format!("h{i}/* usr/share/{p}/hl{i}"));
                }
                Kind::Sparse => {
                    files.sparse.push(format!("sp{i}/big{i}.img"));
                    files.line(&deb("install"), &format!("sp{i}/big{i}.img usr/lib/{p}"));
                }
                Kind::Relation { field, value } => fields[it.pkg].push(((*field).to_owned(), (*value).to_owned())),
                Kind::Substvar => {
                    fields[it.pkg].push(("Depends".into(), format!("${{gen:Extra{i}}}")));
                    files.line(&format!("debian/{p}.substvars"), &format!("gen:Extra{i}=gen-sub{i} (>= 2)"));
                }
                Kind::CProgram => {
                    any[it.pkg] = true;
                    files.file(format!("c{i}.c").as_bytes(), format!("#include <stdio.h>\nint main(void) {{ puts(\"c{i}\"); return 0; }}\n").as_bytes(), 0o644);
                    files.line(&deb("install"), &format!("c{i} usr/bin"));
                    let _ = writeln!(c_build, "\t{}", c_command(i, "$(").replace("$(CPPFLAGS", "$(CPPFLAGS)").replace("$(CFLAGS", "$(CFLAGS)").replace("$(LDFLAGS", "$(LDFLAGS)"));
                }
            }
        }
        if !c_build.is_empty() {
            let _ = write!(rules, "\noverride_dh_auto_build:\n{c_build}");
        }
        let mut control = format!(
            "Source: gsrc\nSection: misc\nPriority: optional\nMaintainer: Gen Erator <gen@example.org>\n\
             Build-Depends: debhelper-compat (= 13)\nStandards-Version: 4.6.2\n{}",
            if self.root_no { "Rules-Requires-Root: no\n" } else { "" }
        );
        for (k, extra) in fields.iter().enumerate() {
            let arch = if any[k] { "any" } else { "all" };
            let mut merged: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
            merged.entry("Depends").or_default().push("${misc:Depends}");
            if any[k] {
                merged
                    .entry("Depends")
                    .or_default()
                    .push("${shlibs:Depends}");
            }
            for (f, v) in extra {
                merged.entry(f).or_default().push(v);
            }
            let _ = write!(
                control,
                "\nPackage: {}\nArchitecture: {arch}\n",
                Self::package(k)
            );
            for (f, vs) in merged {
                let _ = writeln!(control, "{f}: {}", vs.join(", "));
            }
            let _ = writeln!(control, "Description: generated package {k}\n A package generated for dfab's differential test.");
        }
        files.set("debian/control", control, 0o644);
        files.set("debian/rules", rules, 0o755);
        files.set(
            "debian/changelog",
            format!(
                "gsrc ({}) unstable; urgency={}\n\n  * Generated.\n\n -- Gen Erator <gen@example.org>  {}\n",
                self.version, self.urgency, self.date
            ),
            0o644,
        );
        files.set("debian/copyright", "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nCopyright: none\nLicense: CC0-1.0\n", 0o644);
        let native = !self.version.contains('-');
        files.set(
            "debian/source/format",
            if native {
                "3.0 (native)\n"
            } else {
                "3.0 (quilt)\n"
            },
            0o644,
        );
        files.write(dir);
    }
}

/// The compile command of item `i`; `open` is `$` (shell) or `$(` (make).
fn c_command(i: usize, open: &str) -> String {
    format!("gcc {open}CPPFLAGS {open}CFLAGS {open}LDFLAGS -o c{i} c{i}.c")
}

/// A gzip file with a name and a 2001 mtime in its header (`dh_strip_nondeterminism`'s work).
fn timestamped_gz() -> Vec<u8> {
    let mut gz = flate2::GzBuilder::new()
        .filename("notes.txt")
        .mtime(1_000_000_000)
        .write(Vec::new(), flate2::Compression::default());
    gz.write_all(&b"notes\n".repeat(50)).unwrap();
    gz.finish().unwrap()
}

/// The files of a rendered [`Spec`].
#[derive(Default)]
struct Files {
    plain: BTreeMap<Vec<u8>, (Vec<u8>, u32)>,
    hard_links: Vec<(String, String)>,
    sparse: Vec<String>,
}

impl Files {
    fn file(&mut self, path: &[u8], content: &[u8], mode: u32) {
        self.plain.insert(path.to_vec(), (content.to_vec(), mode));
    }

    fn set(&mut self, path: &str, text: impl AsRef<str>, mode: u32) {
        self.file(path.as_bytes(), text.as_ref().as_bytes(), mode);
    }

    fn line(&mut self, path: &str, line: &str) {
        let entry = self
            .plain
            .entry(path.as_bytes().to_vec())
            .or_insert_with(|| (Vec::new(), 0o644));
        entry.0.extend_from_slice(line.as_bytes());
        entry.0.push(b'\n');
    }

    fn write(&self, dir: &Path) {
        for (path, (content, mode)) in &self.plain {
            let path = dir.join(std::ffi::OsStr::from_bytes(path));
            fs_err::create_dir_all(path.parent().unwrap()).unwrap();
            fs_err::write(&path, content).unwrap();
            fs_err::set_permissions(&path, std::fs::Permissions::from_mode(*mode)).unwrap();
        }
        for (from, to) in &self.hard_links {
            fs_err::hard_link(dir.join(from), dir.join(to)).unwrap();
        }
        for path in &self.sparse {
            let path = dir.join(path);
            fs_err::create_dir_all(path.parent().unwrap()).unwrap();
            let f = fs_err::File::create(&path).unwrap();
            f.set_len(8 << 20).unwrap();
            let mut f = f.into_parts().0;
            std::io::Seek::seek(&mut f, std::io::SeekFrom::End(-6)).unwrap();
            f.write_all(b"tail!\n").unwrap();
        }
    }
}
