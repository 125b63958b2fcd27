//! Python is the oracle: every input goes to `ast.literal_eval` (through a long-running
//! `environments.py-compat/oracle.py --serve`) and to dfab's parser, and their tagged JSON must
//! agree. dfab may refuse what Python accepts only for its documented deviations (integers over
//! 128 bits, rare `\N{}` names, lone surrogates, names Python would normalise, non-UTF-8 coding
//! cookies); it must never accept what Python refuses, except a name holding a character newer
//! than the Unicode version of the oracle's Python (dfab's tables may be newer).

#![no_main]

use std::io::{BufRead, BufReader, Write};
use std::process::{ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, OnceLock};

use dfab::environments::literal::{parse_module_bytes, tagged_module};
use libfuzzer_sys::fuzz_target;

struct Oracle {
    to: ChildStdin,
    from: BufReader<ChildStdout>,
}

fn oracle() -> &'static Mutex<Oracle> {
    static ORACLE: OnceLock<Mutex<Oracle>> = OnceLock::new();
    ORACLE.get_or_init(|| {
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../environments.py-compat/oracle.py"
        );
        let python = if std::path::Path::new("/usr/bin/python3").exists() {
            "/usr/bin/python3"
        } else {
            "python3"
        };
        let mut child = Command::new(python)
            .args([script, "--serve"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 for the oracle: apt-get install python3");
        Mutex::new(Oracle {
            to: child.stdin.take().unwrap(),
            from: BufReader::new(child.stdout.take().unwrap()),
        })
    })
}

/// Python's verdict: `Some(json)` when it accepts the source.
fn python(source: &[u8]) -> Option<String> {
    let mut o = oracle().lock().unwrap();
    let len = u32::try_from(source.len()).unwrap();
    o.to.write_all(&len.to_be_bytes()).unwrap();
    o.to.write_all(source).unwrap();
    o.to.flush().unwrap();
    let mut line = String::new();
    o.from.read_line(&mut line).expect("oracle answers");
    line.trim_end_matches('\n')
        .strip_prefix("ok ")
        .map(String::from)
}

/// Whether `source` holds a character the oracle's Python does not know (category `Cn` in its
/// `unicodedata`). Asked only when the two disagree, so a process each time is fine.
fn newer_unicode(source: &[u8]) -> bool {
    let mut child = Command::new("/usr/bin/python3")
        .args(["-c", "import sys, unicodedata\ns = sys.stdin.buffer.read().decode('utf-8', 'replace')\nsys.exit(0 if any(unicodedata.category(c) == 'Cn' for c in s) else 1)"])
        .stdin(Stdio::piped())
        .spawn()
        .expect("python3");
    child.stdin.take().unwrap().write_all(source).unwrap();
    child.wait().unwrap().success()
}

fuzz_target!(|data: &[u8]| {
    // Python's own recursion limits and its multi-second work on huge inputs are not what we test.
    if data.len() > 4096
        || data
            .iter()
            .filter(|&&b| b == b'(' || b == b'[' || b == b'{')
            .count()
            > 90
    {
        return;
    }
    let ours = parse_module_bytes(data)
        .ok()
        .map(|m| tagged_module(&m).to_string());
    let theirs = python(data);
    match (&ours, &theirs) {
        (Some(a), Some(b)) => assert_eq!(
            a,
            b,
            "values differ for {:?}",
            String::from_utf8_lossy(data)
        ),
        (Some(a), None) if !newer_unicode(data) => {
            panic!(
                "dfab accepts what Python refuses: {:?} -> {a}",
                String::from_utf8_lossy(data)
            )
        }
        _ => {}
    }
});
