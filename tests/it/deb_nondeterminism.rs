//! `dh_strip_nondeterminism`: archives and images with timestamps in them are normalised as
//! debhelper normalises them, judged by dpkg-buildpackage + debhelper 13 on the same project.

use std::collections::BTreeMap;
use std::process::Command;

use crate::deb::{control_members, require, run, Fixture};
use crate::deb_fallback::pair;

/// Writes, with python3, a gzip file with a name and an mtime in its header, a PNG with a `tIME`
/// chunk, a zip and a `#!` python zip application, each with a 2001 timestamp.
const MAKE_FILES: &str = r#"
import gzip, io, struct, zipfile, zlib
with open('data/notes.txt.gz', 'wb') as f:
    with gzip.GzipFile(filename='notes.txt', mode='wb', fileobj=f, mtime=1000000000) as g:
        g.write(b'notes\n' * 50)
def chunk(kind, data):
    return struct.pack('>I', len(data)) + kind + data + struct.pack('>I', zlib.crc32(kind + data))
png = (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', 1, 1, 8, 2, 0, 0, 0))
       + chunk(b'tIME', struct.pack('>HBBBBB', 2001, 9, 9, 1, 46, 40))
       + chunk(b'IDAT', zlib.compress(b'\x00\xff\x00\x00')) + chunk(b'IEND', b''))
open('data/pixel.png', 'wb').write(png)
def a_zip():
    b = io.BytesIO()
    with zipfile.ZipFile(b, 'w') as zf:
        zf.writestr(zipfile.ZipInfo('__main__.py', (2001, 9, 9, 1, 46, 40)), 'print("hi")\n')
    return b.getvalue()
open('data/bundle.zip', 'wb').write(a_zip())
open('data/pyapp', 'wb').write(b'#!/usr/bin/python3\n' + a_zip())
"#;

/// The packaged files of the fixture and where they come from.
const FILES: [(&str, &str); 4] = [
    ("usr/lib/minimal/notes.txt.gz", "data/notes.txt.gz"),
    ("usr/lib/minimal/pixel.png", "data/pixel.png"),
    ("usr/lib/minimal/bundle.zip", "data/bundle.zip"),
    ("usr/bin/pyapp", "data/pyapp"),
];

fn prepare(fx: &Fixture) {
    run(Command::new("python3")
        .args(["-c", MAKE_FILES])
        .current_dir(&fx.project));
    fx.write(
        "debian/install",
        "data/hello.txt usr/share/minimal\n\
         data/notes.txt.gz data/pixel.png data/bundle.zip usr/lib/minimal\n\
         data/pyapp usr/bin\n",
    );
}

/// `md5sums` as a map from path to digest.
fn md5sums(deb: &std::path::Path) -> BTreeMap<String, String> {
    control_members(deb)["md5sums"]
        .1
        .lines()
        .filter_map(|l| l.split_once("  "))
        .map(|(md5, path)| (path.to_owned(), md5.to_owned()))
        .collect()
}

// Regression: a .gz, .png or .zip with a timestamp inside was packaged as it was, where
// dh_strip_nondeterminism rewrites it.
#[test]
fn timestamped_archives_and_images_match_dpkg_buildpackage() {
    require("python3", "python3");
    require("file", "file");
    let sources = std::cell::RefCell::new(BTreeMap::new());
    let p = pair("minimal", |fx| {
        prepare(fx);
        for (_, src) in FILES {
            let out = run(Command::new("md5sum").arg(fx.project.join(src)));
            let md5 = out.split_whitespace().next().unwrap().to_owned();
            sources.borrow_mut().insert(src, md5);
        }
    });
    let sources = sources.into_inner();
    assert_eq!(p.fell_back(), None, "{:?}", p.warnings);
    let (ours, theirs) = (md5sums(&p.ours[0].path), md5sums(&p.theirs[0].path));
    for (path, src) in FILES {
        assert_eq!(ours.get(path), theirs.get(path), "{path}");
        assert_ne!(ours.get(path), sources.get(src), "{path} was normalised");
    }
    assert_eq!(p.differences(), Vec::<String>::new());
}
