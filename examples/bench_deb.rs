//! Benchmark of the native `.deb` builder against `dpkg-deb --build` and `dpkg-buildpackage`.
//!
//! Generates a Python-app-like project (≥ 20,000 small `.py` files and large, mildly compressible
//! `.so`-like files, ≥ 200 MB in all), then reports the median wall and CPU time of `BENCH_RUNS`
//! (default 3) runs of, per compression: dfab cold (no caches), warm (the same tree again) and
//! with one file's content changed; `dpkg-deb --build` of the very same staged tree (extracted
//! from dfab's package with `dpkg-deb -R`) at the same level; the floor (GNU tar piped into the
//! compressor's own CLI); each run doing every tool in turn. Then the full `dpkg-buildpackage`
//! path, and an unchanged rebuild (which reuses the package). Run with `scripts/bench-deb.sh`;
//! `BENCH_COMPRESSIONS=gzip,zstd` and `BENCH_SKIP_DPKG_BUILDPACKAGE=1` shorten it.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use dfab::deb::{build, BuildOptions, Compression};

const PY_FILES: usize = 20_000;
const SO_FILES: usize = 48;
const SO_SIZE: usize = 3 << 20;

/// The file whose content the "one file changed" rebuild changes.
const CHANGED_FILE: &str = "app/benchapp/pkg100/mod10000.py";

/// Which caches a dfab build of the bench finds.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// None: no digests, no compressed segments.
    Cold,
    /// Those of a build of the same tree.
    Warm,
    /// Those of the last build, with one file's content changed since.
    OneChanged,
}

/// xorshift64*: deterministic data without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % n as u64).unwrap_or(0)
    }
}

const WORDS: [&str; 16] = [
    "request",
    "response",
    "queryset",
    "model",
    "field",
    "value",
    "context",
    "template",
    "session",
    "user",
    "cache",
    "signal",
    "form",
    "view",
    "serializer",
    "manager",
];

fn python_file(rng: &mut Rng, i: usize) -> String {
    let mut s =
        format!("\"\"\"Module {i} of the benchmark application.\"\"\"\nimport os\nimport sys\n\n");
    for f in 0..(8 + rng.below(24)) {
        let (a, b) = (WORDS[rng.below(16)], WORDS[rng.below(16)]);
        let _ = write!(
            s,
            "\ndef {a}_{b}_{f}({a}, {b}=None):\n    \"\"\"Return the {b} of a {a}.\"\"\"\n    if {b} is None:\n        {b} = {n}\n    return getattr({a}, \"{b}\", {b}) + {n}\n",
            n = rng.below(10_000)
        );
    }
    s
}

/// Half random blocks, half near-copies of earlier ones: compresses to roughly half, like code.
fn binary_file(rng: &mut Rng) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::with_capacity(SO_SIZE);
    while out.len() < SO_SIZE {
        if out.len() < 8192 || rng.below(2) == 0 {
            for _ in 0..512 {
                out.extend_from_slice(&rng.next().to_le_bytes());
            }
        } else {
            let start = rng.below(out.len() - 4096);
            let mut block = out[start..start + 4096].to_vec();
            for _ in 0..16 {
                let at = rng.below(4096);
                block[at] = u8::try_from(rng.below(256)).unwrap_or(0);
            }
            out.extend_from_slice(&block);
        }
    }
    out
}

fn write(path: &Path, data: &[u8]) {
    if let Some(parent) = path.parent() {
        fs_err::create_dir_all(parent).unwrap();
    }
    fs_err::write(path, data).unwrap();
}

fn generate(project: &Path) -> u64 {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut total = 0u64;
    for i in 0..PY_FILES {
        let text = python_file(&mut rng, i);
        total += text.len() as u64;
        write(
            &project.join(format!("app/benchapp/pkg{:03}/mod{i:05}.py", i / 100)),
            text.as_bytes(),
        );
    }
    for i in 0..SO_FILES {
        let data = binary_file(&mut rng);
        total += data.len() as u64;
        write(
            &project.join(format!(
                "app/benchapp/_native{i:02}.cpython-311-x86_64-linux-gnu.so"
            )),
            &data,
        );
    }
    let debian = project.join("debian");
    write(&debian.join("control"), b"Source: benchapp\nSection: web\nPriority: optional\nMaintainer: Bench <bench@example.org>\nBuild-Depends: debhelper-compat (= 13)\nStandards-Version: 4.6.2\nRules-Requires-Root: no\n\nPackage: benchapp\nArchitecture: all\nDepends: ${misc:Depends}\nDescription: benchmark application\n Many small Python files and some large binary ones.\n");
    write(&debian.join("changelog"), b"benchapp (1.0-1) unstable; urgency=medium\n\n  * Benchmark.\n\n -- Bench <bench@example.org>  Mon, 02 Nov 2026 10:00:00 +0000\n");
    write(&debian.join("copyright"), b"Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n\nFiles: *\nCopyright: 2026 Bench\nLicense: MIT\n");
    write(
        &debian.join("install"),
        b"app/benchapp usr/lib/python3/dist-packages\n",
    );
    write(&debian.join("rules"), b"#!/usr/bin/make -f\n%:\n\tdh $@\n\n# Like dfab: no stripping or shlibs scanning of the fake objects.\noverride_dh_strip override_dh_shlibdeps override_dh_dwz:\n\n# The same compressor as dfab's default.\noverride_dh_builddeb:\n\tdh_builddeb -- -Zgzip -z6\n");
    let rules = debian.join("rules");
    run(Command::new("chmod").arg("755").arg(&rules));
    total
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

fn time<F: FnMut()>(runs: usize, mut f: F) -> Duration {
    median(
        (0..runs)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .collect(),
    )
}

/// Megabytes, for display (precision loss is irrelevant there).
#[allow(clippy::cast_precision_loss)]
fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn size(path: &Path) -> f64 {
    mb(fs_err::metadata(path).unwrap().len())
}

fn main() {
    let runs: usize = std::env::var("BENCH_RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let root = std::env::args().nth(1).map_or_else(
        || std::env::temp_dir().join("dfab-bench-deb"),
        PathBuf::from,
    );
    if root.exists() {
        fs_err::remove_dir_all(&root).unwrap();
    }
    let project = root.join("benchapp");
    let t = Instant::now();
    let bytes = generate(&project);
    println!(
        "tree: {} files, {:.1} MB, generated in {:.1}s; median of {runs} runs\n",
        PY_FILES + SO_FILES,
        mb(bytes),
        t.elapsed().as_secs_f64()
    );
    let mut counter = 0;
    compressions(&root, &project, runs, &mut counter);
    let rebuild = unchanged_rebuild(&root, &project, runs);
    if std::env::var_os("BENCH_SKIP_DPKG_BUILDPACKAGE").is_none() {
        full_path(&root, &project, runs, &mut counter, rebuild);
    }
}

/// Wall and CPU time (user + system, of every thread and of the children waited for) of `f`.
fn measure<F: FnMut()>(mut f: F) -> (Duration, Duration) {
    let cpu0 = cpu_time();
    let t = Instant::now();
    f();
    (t.elapsed(), cpu_time().saturating_sub(cpu0))
}

/// User + system time of this process and of its waited-for children.
fn cpu_time() -> Duration {
    let of = |who| {
        // SAFETY: getrusage only writes the struct it is given, which is zeroed and ours.
        let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
        // SAFETY: `usage` is a valid, writable rusage; `who` is RUSAGE_SELF or RUSAGE_CHILDREN.
        assert_eq!(unsafe { libc::getrusage(who, &raw mut usage) }, 0);
        let tv = |t: libc::timeval| {
            Duration::new(
                u64::try_from(t.tv_sec).unwrap_or(0),
                u32::try_from(t.tv_usec).unwrap_or(0) * 1000,
            )
        };
        tv(usage.ru_utime) + tv(usage.ru_stime)
    };
    of(libc::RUSAGE_SELF) + of(libc::RUSAGE_CHILDREN)
}

/// Medians of wall and CPU times.
#[derive(Default)]
struct Samples {
    wall: Vec<Duration>,
    cpu: Vec<Duration>,
}

impl Samples {
    fn push(&mut self, (wall, cpu): (Duration, Duration)) {
        self.wall.push(wall);
        self.cpu.push(cpu);
    }

    fn wall(&self) -> f64 {
        median(self.wall.clone()).as_secs_f64()
    }

    fn cpu(&self) -> f64 {
        median(self.cpu.clone()).as_secs_f64()
    }
}

/// The floor: GNU tar reading the staged tree (as dpkg-deb runs it) piped into the compressor's
/// own CLI at the same level and threads. gzip has no threads; pigz is used when installed.
fn floor_command(compression: Compression, threads: usize) -> String {
    let compressor = match compression {
        Compression::Gzip(l) if on_path("pigz") => format!("pigz -n -p{threads} -{l}"),
        Compression::Gzip(l) => format!("gzip -n -{l}"),
        Compression::Xz(l) => format!("xz -T{threads} -{l}"),
        Compression::Zstd(l) => format!("zstd -q -T{threads} -{l}"),
    };
    format!(
        "tar --format=gnu --owner=root:0 --group=root:0 --sort=name --exclude=./DEBIAN \
         -C \"$1\" -cf - . | {compressor} > \"$2\""
    )
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

/// dfab against `dpkg-deb --build` of the same staged tree and against the floor, per
/// compression; each run does every tool in turn (interleaved), so load on the machine falls on
/// all alike.
fn compressions(root: &Path, project: &Path, runs: usize, counter: &mut usize) {
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    println!(
        "dfab cold: no caches (every file hashed and compressed); warm: the same tree again (digests and \
         compressed segments cached); 1 chg: warm with one file's content changed ({CHANGED_FILE})"
    );
    println!("floor: GNU tar of the staged tree piped into the compressor's CLI, same level, {threads} threads");
    println!(
        "+md5sums: dh_md5sums' pipeline (find | sort | xargs md5sum) then dpkg-deb, the work a cold build does"
    );
    println!(
        "cpu: user + system time of every thread and child; ratios are medians / dpkg-deb's median"
    );
    println!(
        "{:<9} {:<4} {:>9} {:>9} {:>9} {:>9} {:>9} {:>9} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "",
        "",
        "dfab cold",
        "dfab warm",
        "1 chg",
        "dpkg-deb",
        "floor",
        "+md5sums",
        "warm/dpkg",
        "1chg/dpkg",
        "cold/dpkg",
        "warm/floor",
        "cold/+md5"
    );
    let only = std::env::var("BENCH_COMPRESSIONS").unwrap_or_else(|_| "gzip,xz,zstd".into());
    for (compression, flags) in [
        (Compression::Gzip(6), ["-Zgzip", "-z6"]),
        (Compression::Xz(6), ["-Zxz", "-z6"]),
        (Compression::Zstd(3), ["-Zzstd", "-z3"]),
    ] {
        if !only
            .split(',')
            .any(|c| compression.to_string().starts_with(c))
        {
            continue;
        }
        let mut last = PathBuf::new();
        let mut edits = 0;
        let mut dfab = |mode: Mode, last: &mut PathBuf| {
            // Only the last package is kept (the disk holds a few hundred MB per build).
            if let Some(previous) = last.parent().filter(|p| !p.as_os_str().is_empty()) {
                let _ = fs_err::remove_dir_all(previous);
            }
            if mode == Mode::OneChanged {
                // A realistic rebuild: one source file's content changed since the last build.
                edits += 1;
                let file = project.join(CHANGED_FILE);
                let mut text = fs_err::read_to_string(&file).unwrap();
                text.truncate(text.find("\n# edit ").unwrap_or(text.len()));
                let _ = write!(text, "\n# edit {edits}\n");
                fs_err::write(&file, text).unwrap();
            }
            measure(|| {
                if mode == Mode::Cold {
                    let _ = fs_err::remove_file(project.join(".dfab/digests"));
                    let _ = fs_err::remove_dir_all(project.join(".dfab/frames"));
                }
                *counter += 1;
                let opts = BuildOptions {
                    project_dir: project.to_owned(),
                    out_dir: root.join(format!("out-{counter}")),
                    compression,
                    ..BuildOptions::default()
                };
                last.clone_from(&build(&opts).unwrap()[0].path);
            })
        };
        // The staged tree dpkg-deb is given: dfab's package unpacked.
        dfab(Mode::Warm, &mut last);
        let stage = root.join("stage");
        if stage.exists() {
            fs_err::remove_dir_all(&stage).unwrap();
        }
        run(Command::new("dpkg-deb").arg("-R").arg(&last).arg(&stage));
        let theirs_path = root.join("dpkg-deb.deb");
        let floor_path = root.join("floor.out");
        let floor_sh = floor_command(compression, threads);
        let [mut cold, mut warm, mut one, mut theirs, mut floor, mut md5] =
            std::array::from_fn(|_| Samples::default());
        for _ in 0..runs {
            cold.push(dfab(Mode::Cold, &mut last));
            warm.push(dfab(Mode::Warm, &mut last));
            one.push(dfab(Mode::OneChanged, &mut last));
            theirs.push(measure(|| {
                run(Command::new("dpkg-deb")
                    .args(["--root-owner-group", "--build"])
                    .args(flags)
                    .arg(&stage)
                    .arg(&theirs_path)
                    .env("SOURCE_DATE_EPOCH", "1793613600"));
            }));
            floor.push(measure(|| {
                run(Command::new("sh")
                    .arg("-c")
                    .arg(&floor_sh)
                    .arg("sh")
                    .arg(&stage)
                    .arg(&floor_path));
            }));
            // dpkg-deb is handed md5sums ready-made; in the dpkg-buildpackage path dh_md5sums
            // makes them first, with this very pipeline. A cold dfab build computes them too.
            md5.push(measure(|| {
                run(Command::new("sh")
                    .arg("-c")
                    .arg(
                        "cd \"$1\" && find . -type f ! -regex './DEBIAN/.*' -printf '%P\\0' \
                 | LC_ALL=C sort -z | xargs -0 -r md5sum > DEBIAN/md5sums",
                    )
                    .arg("sh")
                    .arg(&stage));
            }));
        }
        for (what, pick) in [
            ("wall", Samples::wall as fn(&Samples) -> f64),
            ("cpu", Samples::cpu),
        ] {
            let (c, w, changed, t, f) = (
                pick(&cold),
                pick(&warm),
                pick(&one),
                pick(&theirs),
                pick(&floor),
            );
            let with_md5 = pick(&md5) + t;
            println!(
                "{:<9} {what:<4} {c:>8.2}s {w:>8.2}s {changed:>8.2}s {t:>8.2}s {f:>8.2}s {with_md5:>8.2}s {:>9.2}x {:>9.2}x {:>9.2}x {:>9.2}x {:>9.2}x",
                compression.to_string(),
                w / t,
                changed / t,
                c / t,
                w / f,
                c / with_md5,
            );
        }
        println!(
            "{:<9} size {:.1} MB; dpkg-deb {:.1} MB; floor {:.1} MB",
            "",
            size(&last),
            size(&theirs_path),
            size(&floor_path)
        );
        std::io::stdout().flush().unwrap();
        fs_err::remove_dir_all(&stage).unwrap();
        for i in 1..=*counter {
            let _ = fs_err::remove_dir_all(root.join(format!("out-{i}")));
        }
    }
    let load = fs_err::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "load average at the end (1, 5, 15 min): {}",
        load.split(' ').take(3).collect::<Vec<_>>().join(" ")
    );
}

/// A second build of unchanged inputs, which reuses the package.
fn unchanged_rebuild(root: &Path, project: &Path, runs: usize) -> Duration {
    let cached_out = root.join("out-cached");
    let opts = BuildOptions {
        project_dir: project.to_owned(),
        out_dir: cached_out,
        ..BuildOptions::default()
    };
    let _ = fs_err::remove_file(project.join(".dfab/digests"));
    let _ = fs_err::remove_dir_all(project.join(".dfab/frames"));
    let t = std::time::Instant::now();
    let first = build(&opts).unwrap();
    let cold = t.elapsed();
    let rebuild = time(runs, || {
        assert_eq!(build(&opts).unwrap(), first);
    });
    println!(
        "\nunchanged rebuild (package reused): {:.2}s vs its cold build {:.2}s: {:.3}x (target <= 0.1x)",
        rebuild.as_secs_f64(),
        cold.as_secs_f64(),
        rebuild.as_secs_f64() / cold.as_secs_f64()
    );
    std::io::stdout().flush().unwrap();
    rebuild
}

/// The whole dpkg-buildpackage path (dh, fakeroot, gzip -6) against dfab's default (gzip:6).
fn full_path(root: &Path, project: &Path, runs: usize, counter: &mut usize, rebuild: Duration) {
    let mut dbp_out = PathBuf::new();
    let dbp = time(runs, || {
        run(Command::new("dpkg-buildpackage")
            .args(["-rfakeroot", "-us", "-uc", "-b"])
            .current_dir(project));
        dbp_out = root.join("benchapp_1.0-1_all.deb");
    });
    let ours = time(runs, || {
        *counter += 1;
        let opts = BuildOptions {
            project_dir: project.to_owned(),
            out_dir: root.join(format!("out-full-{counter}")),
            compression: Compression::Gzip(6),
            ..BuildOptions::default()
        };
        build(&opts).unwrap();
    });
    println!(
        "dpkg-buildpackage (dh, gzip -6): {:.2}s ({:.1} MB) vs dfab gzip:6 {:.2}s: dfab/dpkg-buildpackage {:.3}x (target <= 0.1x)",
        dbp.as_secs_f64(),
        size(&dbp_out),
        ours.as_secs_f64(),
        ours.as_secs_f64() / dbp.as_secs_f64()
    );
    println!(
        "dpkg-buildpackage vs dfab unchanged rebuild: {:.0}x",
        dbp.as_secs_f64() / rebuild.as_secs_f64()
    );
}
