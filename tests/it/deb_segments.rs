//! gzip packages written in segments that reuse `<project>/.dfab/frames` (issue 25): a cold and a
//! warm build give the same bytes, one changed file recompresses one segment, a corrupt cache
//! entry is a miss, and the package is read whole by the readers users meet (dpkg-deb, `dpkg -i`
//! and `apt-get install ./x.deb` in a container, lintian, apt-ftparchive, aptly, gzip | tar,
//! python-debian). zstd stays one frame: dpkg reads only the first.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use dfab::deb::{self, BuiltPackage, Compression};

use crate::deb::{contents, fixture, lintian, require, run, verify_with_dpkg, Fixture};
use crate::support::{TestHost, KEY};

/// Files of text in `data/many` (about 16 kB each) and one file bigger than a segment.
const TEXT_FILES: usize = 600;
const BIG: usize = 9 << 20;

/// xorshift64*: deterministic data without a dependency.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

/// The minimal fixture with about 20 MB more: many text files and one big, mildly
/// compressible file, so the data tar spans several segments.
fn big_fixture() -> Fixture {
    let fx = fixture("minimal");
    let words = [
        "alpha", "beta", "gamma", "delta", "omega", "sigma", "kappa", "zeta",
    ];
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let many = fx.project.join("data/many");
    fs_err::create_dir_all(&many).unwrap();
    for i in 0..TEXT_FILES {
        let mut text = String::with_capacity(17_000);
        while text.len() < 16_000 {
            text.push_str(words[usize::try_from(next(&mut rng) % 8).unwrap()]);
            text.push(if next(&mut rng).is_multiple_of(9) {
                '\n'
            } else {
                ' '
            });
        }
        fs_err::write(many.join(format!("f{i:04}.txt")), text).unwrap();
    }
    let mut big = Vec::with_capacity(BIG);
    while big.len() < BIG {
        let v = next(&mut rng);
        big.extend_from_slice(&v.to_le_bytes()[..4]);
        big.extend_from_slice(&[0; 4]);
    }
    fs_err::write(fx.project.join("data/big.bin"), big).unwrap();
    fx.write(
        "debian/install",
        "data/hello.txt usr/share/minimal\ndata/many usr/share/minimal\ndata/big.bin usr/share/minimal\n",
    );
    fx
}

fn build(fx: &Fixture, out: &str, compression: Compression) -> BuiltPackage {
    build_counted(fx, out, compression).0
}

/// [`build`], with the segments the package looked up in the cache and reused (what its
/// `built` line says).
fn build_counted(
    fx: &Fixture,
    out: &str,
    compression: Compression,
) -> (BuiltPackage, Option<(usize, usize)>) {
    let mut opts = fx.opts();
    opts.compression = compression;
    opts.out_dir = fx.out.join(out);
    let mut b = deb::build_or_reuse(&opts, &mut |w| eprintln!("dfab: warning: {w}")).unwrap();
    assert!(!b.reused, "a new out_dir: written");
    let counted = b.segments.first().copied();
    (b.packages.remove(0), counted)
}

/// The cache's entries (its segment keys).
fn entries(fx: &Fixture) -> BTreeSet<String> {
    fs_err::read_dir(fx.project.join(".dfab/frames"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.len() == 64)
        .collect()
}

fn bytes(b: &BuiltPackage) -> Vec<u8> {
    fs_err::read(&b.path).unwrap()
}

#[test]
fn gzip_segments_are_reused_and_the_bytes_never_depend_on_the_cache() {
    let fx = big_fixture();
    let gzip = Compression::Gzip(6);
    let (cold, counted) = build_counted(&fx, "cold", gzip);
    let first = entries(&fx);
    assert!(first.len() >= 4, "segments: {}", first.len());
    assert_eq!(
        counted,
        Some((first.len(), 0)),
        "cold: every segment compressed"
    );
    let (warm, counted) = build_counted(&fx, "warm", gzip);
    assert_eq!(
        counted,
        Some((first.len(), first.len())),
        "warm: every segment reused"
    );
    assert_eq!(
        bytes(&cold),
        bytes(&warm),
        "a warm build gives the cold build's bytes"
    );
    assert_eq!(entries(&fx), first, "nothing recompressed");

    // One file's content changed (its size kept): one segment is compressed again.
    let changed = fx.project.join("data/many/f0300.txt");
    let mut text = fs_err::read(&changed).unwrap();
    text[..5].copy_from_slice(b"EDITD");
    fs_err::write(&changed, &text).unwrap();
    let (edited, counted) = build_counted(&fx, "edited", gzip);
    assert_ne!(edited.sha256, cold.sha256);
    let new: Vec<_> = entries(&fx).difference(&first).cloned().collect();
    assert_eq!(new.len(), 1, "one segment recompressed: {new:?}");
    assert_eq!(
        counted,
        Some((first.len(), first.len() - 1)),
        "all but one reused"
    );

    // The same tree with no cache at all gives the same bytes.
    fs_err::remove_dir_all(fx.project.join(".dfab")).unwrap();
    let fresh = build(&fx, "fresh", gzip);
    assert_eq!(bytes(&fresh), bytes(&edited), "no cache: the same bytes");

    // A corrupt entry (a flipped bit, or cut short) is a miss, and is written again whole.
    let frames = fx.project.join(".dfab/frames");
    for (i, key) in entries(&fx).iter().enumerate() {
        let path = frames.join(key);
        let mut b = fs_err::read(&path).unwrap();
        if i % 2 == 0 {
            let at = b.len() / 2;
            b[at] ^= 0x40;
        } else {
            b.truncate(b.len() - 7);
        }
        fs_err::write(&path, b).unwrap();
    }
    let repaired = build(&fx, "repaired", gzip);
    assert_eq!(
        bytes(&repaired),
        bytes(&edited),
        "a corrupt cache: the same bytes"
    );
    assert_eq!(bytes(&build(&fx, "again", gzip)), bytes(&edited));

    readers_see_every_file(&fx, &edited);
}

/// Every reader lists the whole tree of the segmented package.
fn readers_see_every_file(fx: &Fixture, built: &BuiltPackage) {
    let deb = &built.path;
    verify_with_dpkg(deb);
    let listed = contents(deb);
    let files = listed.keys().filter(|p| p.contains("/many/f")).count();
    assert_eq!(files, TEXT_FILES, "dpkg-deb --contents");
    assert!(listed.contains_key("./usr/share/minimal/big.bin"));
    let total = listed.len();
    run(Command::new("dpkg-deb").arg("--info").arg(deb));

    // gzip's CLI piped to GNU tar.
    let tar = run(Command::new("sh")
        .arg("-c")
        .arg("ar p \"$1\" data.tar.gz | gzip -dc | tar t | wc -l")
        .arg("sh")
        .arg(deb));
    assert_eq!(tar.trim(), total.to_string(), "gzip -dc | tar t");

    // python-debian (Debian 12: python3-debian 0.1.49).
    require("/usr/bin/python3", "python3");
    let python = Command::new("/usr/bin/python3")
        .arg("-c")
        .arg("import sys\nfrom debian import debfile\nprint(len(debfile.DebFile(sys.argv[1]).data.tgz().getnames()))")
        .arg(deb)
        .output()
        .unwrap();
    assert!(
        python.status.success(),
        "python-debian (apt-get install python3-debian): {}",
        String::from_utf8_lossy(&python.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&python.stdout).trim(),
        total.to_string()
    );

    // apt-ftparchive's Contents (one line per file, directories left out).
    require("apt-ftparchive", "apt-utils");
    let pool = fx.out.join("pool");
    fs_err::create_dir_all(&pool).unwrap();
    fs_err::copy(deb, pool.join("minimal.deb")).unwrap();
    let listing = run(Command::new("apt-ftparchive")
        .arg("contents")
        .arg(".")
        .current_dir(&fx.out));
    let ftp_files = listing.lines().filter(|l| l.contains("/many/f")).count();
    assert_eq!(ftp_files, TEXT_FILES, "apt-ftparchive contents");

    aptly_contents(&fx.out, deb);
    lintian_as_for_dpkg_deb(&fx.out, deb);
}

/// aptly (`deploy_strategy = 'apt'`) publishes a Contents index read from the data member.
fn aptly_contents(dir: &Path, deb: &Path) {
    require("aptly", "aptly");
    let root = dir.join("aptly");
    let conf = dir.join("aptly.conf");
    fs_err::write(
        &conf,
        format!(
            "{{\"rootDir\": \"{}\", \"architectures\": [\"amd64\"]}}",
            root.display()
        ),
    )
    .unwrap();
    let aptly = |args: &[&str]| {
        run(Command::new("aptly")
            .arg(format!("-config={}", conf.display()))
            .args(args))
    };
    aptly(&[
        "repo",
        "create",
        "-distribution=it",
        "-component=main",
        "segments",
    ]);
    aptly(&["repo", "add", "segments", &deb.display().to_string()]);
    aptly(&[
        "publish",
        "repo",
        "-skip-signing",
        "-architectures=amd64",
        "segments",
    ]);
    let contents = root.join("public/dists/it/main/Contents-amd64.gz");
    let text = run(Command::new("sh")
        .arg("-c")
        .arg("gzip -dc \"$1\"")
        .arg("sh")
        .arg(&contents));
    let files = text.lines().filter(|l| l.contains("/many/f")).count();
    assert_eq!(files, TEXT_FILES, "aptly's Contents-amd64");
}

/// lintian says of the package what it says of `dpkg-deb`'s build of the very same tree.
fn lintian_as_for_dpkg_deb(dir: &Path, deb: &Path) {
    require("lintian", "lintian");
    let stage = dir.join("stage");
    run(Command::new("dpkg-deb").arg("-R").arg(deb).arg(&stage));
    let theirs = dir.join("theirs/minimal_1.0-1_all.deb");
    fs_err::create_dir_all(theirs.parent().unwrap()).unwrap();
    run(Command::new("dpkg-deb")
        .args(["--root-owner-group", "-Zgzip", "-z6", "--build"])
        .arg(&stage)
        .arg(&theirs));
    let tags = |p: &Path| -> BTreeSet<String> { lintian(p).into_iter().collect() };
    assert_eq!(tags(deb), tags(&theirs), "lintian: ours against dpkg-deb's");
}

#[test]
fn zstd_data_stays_one_frame_that_dpkg_reads_whole() {
    require("zstd", "zstd");
    let fx = big_fixture();
    let (built, counted) = build_counted(&fx, "zstd", Compression::Zstd(3));
    assert_eq!(counted, None, "zstd is not written in segments");
    let member = fx.out.join("data.tar.zst");
    run(Command::new("sh")
        .arg("-c")
        .arg("ar p \"$1\" data.tar.zst > \"$2\"")
        .arg("sh")
        .arg(&built.path)
        .arg(&member));
    let list = run(Command::new("zstd").arg("-l").arg(&member));
    let frames: Vec<&str> = list.lines().nth(1).unwrap().split_whitespace().collect();
    assert_eq!(frames[0], "1", "one zstd frame: {list}");
    let files = contents(&built.path)
        .keys()
        .filter(|p| p.contains("/many/f"))
        .count();
    assert_eq!(files, TEXT_FILES, "dpkg-deb --contents");
    verify_with_dpkg(&built.path);
    assert!(
        !fx.project.join(".dfab/frames").exists(),
        "no zstd segments cached"
    );
}

#[test]
fn a_segmented_gzip_package_installs_with_dpkg_and_apt() {
    let fx = big_fixture();
    let built = build(&fx, "gz", Compression::Gzip(6));
    assert!(entries(&fx).len() >= 4);
    let host = TestHost::new();
    let target = format!("root@{}:/root/minimal.deb", host.ip);
    let scp = Command::new("scp")
        .args([
            "-q",
            "-i",
            KEY,
            "-o",
            "BatchMode=yes",
            "-o",
            "StrictHostKeyChecking=no",
        ])
        .args(["-o", "UserKnownHostsFile=/dev/null", "-o", "LogLevel=ERROR"])
        .arg(&built.path)
        .arg(&target)
        .output()
        .unwrap();
    assert!(
        scp.status.success(),
        "scp: {}",
        String::from_utf8_lossy(&scp.stderr)
    );
    let count = "find /usr/share/minimal/many -type f | wc -l";
    host.check("root", "dpkg -i /root/minimal.deb");
    assert_eq!(host.check("root", count).trim(), TEXT_FILES.to_string());
    host.check("root", "dpkg --verify minimal");
    host.check("root", "dpkg --purge minimal");
    host.check(
        "root",
        "DEBIAN_FRONTEND=noninteractive apt-get install -y -q /root/minimal.deb",
    );
    assert_eq!(host.check("root", count).trim(), TEXT_FILES.to_string());
    host.check("root", "dpkg --verify minimal");
    let big = host.check("root", "sha256sum /usr/share/minimal/big.bin");
    let ours = run(Command::new("sha256sum").arg(fx.project.join("data/big.bin")));
    assert_eq!(
        big.split(' ').next(),
        ours.split(' ').next(),
        "the big file, cut in pieces, whole again"
    );
}
