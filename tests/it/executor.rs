//! The executor against real containers: a step on many hosts at once, `parallel` bounding
//! it, a failing host stopping the run with a per-host summary, and streamed 2 GiB transfers in
//! bounded memory.

use std::time::Instant;

use crate::support::{project, Dfab, TestHost, KEY};

/// Start `n` test hosts at once (each clone starts in about a second).
fn hosts(n: usize) -> Vec<TestHost> {
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..n).map(|_| s.spawn(TestHost::new)).collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    })
}

fn env_toml(name: &str, hosts: &[TestHost], extra: &str) -> String {
    let list: Vec<String> = hosts.iter().map(|h| format!("\"{}\"", h.ip)).collect();
    format!(
        "[environments.{name}]\nhosts = [{}]\nuser = \"root\"\nkey_filename = \"{KEY}\"\n\
         known_hosts = \"/dev/null\"\nhost_key_checking = \"accept\"\n{extra}\n",
        list.join(", ")
    )
}

const TASKS: &str = r#"
[tasks.stamp]
doc = "Record when the step ran on each host"
steps = [ { run = "s=$(date +%s.%N); sleep 1; e=$(date +%s.%N); echo \"interval $s $e\"" } ]

[tasks.two]
doc = "A first step that fails where /tmp/fail exists, then a second"
steps = [
  { run = "if [ -e /tmp/fail ]; then echo failing here >&2; exit 7; fi; echo first-step-done" },
  { run = "echo second-step-done" },
]
"#;

/// The most intervals that overlap at one moment.
fn max_overlap(stdout: &str) -> usize {
    let mut events: Vec<(f64, i32)> = Vec::new();
    for line in stdout.lines() {
        if let Some(rest) = line.split("out: interval ").nth(1) {
            let mut it = rest.split_whitespace().map(|x| x.parse::<f64>().unwrap());
            let (s, e) = (it.next().unwrap(), it.next().unwrap());
            events.push((s, 1));
            events.push((e, -1));
        }
    }
    events.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let (mut now, mut most) = (0, 0);
    for (_, d) in events {
        now += d;
        most = most.max(now);
    }
    usize::try_from(most).unwrap()
}

// Hosts ran one after another: ten hosts took ten times as long as one.
#[test]
fn a_step_runs_on_all_hosts_at_once_bounded_by_parallel_and_a_failure_stops_the_run() {
    let hs = hosts(8);
    let toml = format!(
        "{TASKS}\n{}\n{}",
        env_toml("fleet", &hs, ""),
        env_toml("pairs", &hs, "parallel = 2")
    );
    let dir = project(&[("dfab.toml", &toml)]);

    // Default parallelism: all 8 at once.
    let t = Instant::now();
    let out = Dfab::new(dir.path()).args(["fleet", "stamp"]).run().ok();
    let wall = t.elapsed();
    assert_eq!(
        out.stdout.matches("out: interval ").count(),
        8,
        "{}",
        out.stdout
    );
    assert_eq!(max_overlap(&out.stdout), 8, "{}", out.stdout);
    eprintln!("8 hosts x sleep 1: {wall:?}");
    // Every host is in the summary.
    for h in &hs {
        assert!(
            out.stdout
                .contains(&format!("[{}] ok (last task: stamp)", h.ip)),
            "{}",
            out.stdout
        );
    }

    // `parallel = 2` in the env, and `--parallel 3` over it.
    let out = Dfab::new(dir.path()).args(["pairs", "stamp"]).run().ok();
    assert_eq!(max_overlap(&out.stdout), 2, "{}", out.stdout);
    let out = Dfab::new(dir.path())
        .args(["--parallel", "3", "pairs", "stamp"])
        .run()
        .ok();
    assert_eq!(max_overlap(&out.stdout), 3, "{}", out.stdout);

    // One of four hosts fails the first step: the other three finish it, nobody starts the
    // second, the summary names the failed host with its exit status, and dfab exits 1.
    let four = &hs[..4];
    four[2].check("root", "touch /tmp/fail");
    let toml4 = format!("{TASKS}\n{}", env_toml("four", four, ""));
    let dir4 = project(&[("dfab.toml", &toml4)]);
    let out = Dfab::new(dir4.path()).args(["four", "two"]).run();
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert_eq!(
        out.stdout.matches("out: first-step-done").count(),
        3,
        "{}",
        out.stdout
    );
    assert!(!out.stdout.contains("second-step-done"), "{}", out.stdout);
    assert!(
        out.stdout
            .contains(&format!("[{}] FAILED in task two:", four[2].ip)),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("exit status 7"), "{}", out.stdout);
    for h in [&four[0], &four[1], &four[3]] {
        assert!(
            out.stdout
                .contains(&format!("[{}] ok (last task: two)", h.ip)),
            "{}",
            out.stdout
        );
    }
    assert!(
        out.stderr.contains("error: 1 of 4 hosts failed"),
        "{}",
        out.stderr
    );
}

/// Run a child to its end; its exit code and peak resident memory in KiB: the kernel's
/// high-water mark (`VmHWM`) of the program's own address space, read while it runs. (wait4's
/// `ru_maxrss` would not do: it keeps the forking test process's size from before the exec.)
fn run_measured(cmd: &mut std::process::Command) -> (i32, i64) {
    let mut child = cmd.spawn().expect("spawn dfab");
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        if let Ok(text) = fs_err::read_to_string(&status_file) {
            if let Some(kib) = text
                .lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<i64>().ok())
            {
                peak = peak.max(kib);
            }
        }
        if let Some(st) = child.try_wait().unwrap() {
            return (st.code().unwrap_or(-1), peak);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

// put and get read the whole file into memory: a 2 GB package or dump cost its size in RAM.
#[test]
fn two_gib_put_and_get_stream_in_bounded_memory_with_verified_checksums() {
    let h = TestHost::new();
    let toml = format!(
        "{}\n[tasks.roundtrip]\ndoc = \"up and back\"\nsteps = [\n  {{ put = \"big.bin\", to = \"/root/big.bin\" }},\n  {{ run = \"sha256sum /root/big.bin\" }},\n  {{ get = \"/root/big.bin\", to = \"back.bin\" }},\n]\n",
        h.env_toml("one", "root")
    );
    let dir = project(&[("dfab.toml", &toml)]);
    // 2 GiB of non-repeating data (so nothing could compress or dedupe it away).
    let big = dir.path().join("big.bin");
    let st = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl enc -aes-128-ctr -pass pass:dfab -nosalt -pbkdf2 </dev/zero 2>/dev/null | head -c 2147483648 > '{}'",
            big.display()
        ))
        .status()
        .unwrap();
    assert!(st.success());
    assert_eq!(fs_err::metadata(&big).unwrap().len(), 2 << 30);
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_dfab"));
    cmd.current_dir(dir.path())
        .args(["-q", "one", "roundtrip"])
        .stdout(std::process::Stdio::null());
    let (code, max_rss_kib) = run_measured(&mut cmd);
    assert_eq!(code, 0, "the round trip failed");
    let sum = |p: &std::path::Path| {
        let o = std::process::Command::new("sha256sum")
            .arg(p)
            .output()
            .unwrap();
        String::from_utf8_lossy(&o.stdout)
            .split(' ')
            .next()
            .unwrap()
            .to_string()
    };
    let local = sum(&big);
    assert_eq!(sum(&dir.path().join("back.bin")), local);
    let remote = h.check("root", "sha256sum /root/big.bin");
    assert!(remote.starts_with(&local), "{remote}");
    eprintln!("2 GiB put + get: peak RSS {max_rss_kib} KiB");
    assert!(max_rss_kib < 64 * 1024, "peak RSS {max_rss_kib} KiB");
    h.check("root", "rm -f /root/big.bin");
}

// Large transfers showed nothing until they ended; off a terminal the progress is plain lines.
#[test]
fn a_large_transfer_reports_progress_as_plain_lines_off_a_terminal() {
    let h = TestHost::new();
    let toml = format!(
        "{}\n[tasks.up]\ndoc = \"\"\nsteps = [ {{ put = \"nine.bin\", to = \"/root/nine.bin\" }}, {{ get = \"/root/nine.bin\", to = \"back/\" }} ]\n",
        h.env_toml("one", "root")
    );
    let dir = project(&[("dfab.toml", &toml)]);
    fs_err::write(dir.path().join("nine.bin"), vec![7u8; 9 << 20]).unwrap();
    let out = Dfab::new(dir.path()).args(["one", "up"]).run().ok();
    for (verb, file) in [("put", "nine.bin"), ("get", "/root/nine.bin")] {
        let lines: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.starts_with(&format!("[{}] {verb} ", h.ip)) && l.contains(file))
            .collect();
        assert_eq!(lines.len(), 4, "{}", out.stderr);
        for (line, end) in lines.iter().zip([": 25%", ": 50%", ": 75%"]) {
            assert!(line.ends_with(end), "{line}");
        }
        assert!(lines[3].contains(": 9.0 MiB in "), "{}", lines[3]);
    }
    assert_eq!(
        fs_err::read(dir.path().join("back/nine.bin"))
            .unwrap()
            .len(),
        9 << 20
    );
}
