//! Bench: from "no container" to (a) RUNNING with an address and (b) sshd accepting the key.
//!
//! Compares dfab's liblxc path, the hand-run tools (`lxc-copy -s -B overlayfs`, `lxc-start -d`,
//! `lxc-wait`, polling `lxc-info -iH`, then polling ssh) and dragonfab's path (a full `lxc-copy`
//! plus its fixed 10 s sleep, computed as the measured full copy + start + 10 s rather than
//! sleeping). Median of 5 each. Run as root after `scripts/setup-host`: `scripts/bench-lxc.sh`.
//!
//! `--no-full-copy` leaves out the slow dragonfab variant (and the template). With `--template`,
//! also builds a dfab template (`lxc.template`, cached) and times clones of it
//! (systemd + DHCP) through dfab's liblxc path.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use dfab::lxc::backend::Liblxc;
use dfab::lxc::{self, LxcSpec, Step};

const BASE: &str = "dfab-test-base";
const KEY: &str = "/var/lib/dfab-test/id_ed25519";
const RUNS: usize = 5;

fn sh(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn out(program: &str, args: &[&str]) -> String {
    Command::new(program)
        .args(args)
        .stderr(Stdio::null())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

fn destroy(name: &str) {
    sh("lxc-stop", &["-n", name, "-k"]);
    sh("lxc-destroy", &["-n", name]);
}

fn ssh_ready(ip: &str, deadline: Instant) -> bool {
    loop {
        let ok = sh(
            "ssh",
            &[
                "-i",
                KEY,
                "-o",
                "BatchMode=yes",
                "-o",
                "StrictHostKeyChecking=no",
                "-o",
                "UserKnownHostsFile=/dev/null",
                "-o",
                "ConnectTimeout=1",
                "-o",
                "LogLevel=ERROR",
                &format!("root@{ip}"),
                "true",
            ],
        );
        if ok {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A static address from 10.0.3.200–254, claimed like the tests do.
struct Ip {
    ip: String,
    lock: PathBuf,
}

impl Ip {
    fn claim() -> Self {
        let dir = Path::new("/run/dfab-test/ips");
        fs_err::create_dir_all(dir).unwrap();
        for last in (200..=254).rev() {
            let ip = format!("10.0.3.{last}");
            let lock = dir.join(&ip);
            if let Ok(mut f) = fs_err::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&lock)
            {
                write!(f, "{}", std::process::id()).unwrap();
                return Self { ip, lock };
            }
        }
        panic!("no free address in 10.0.3.200-254");
    }
}

impl Drop for Ip {
    fn drop(&mut self) {
        let _ = fs_err::remove_file(&self.lock);
    }
}

fn forget_neighbour(ip: &str) {
    sh("ip", &["neigh", "flush", "to", ip, "dev", "lxcbr0"]);
}

/// (a) and (b) for one dfab run.
fn dfab_run(name: &str, ip: Option<&str>, template: &str) -> (Duration, Duration) {
    let mut spec = LxcSpec::new(name);
    template.clone_into(&mut spec.template);
    spec.ipv4 = ip.map(|ip| format!("{ip}/24"));
    let start = Instant::now();
    let running = lxc::ensure(&spec, &Liblxc::default(), &mut |_| {}).expect("dfab ensure");
    let a = start.elapsed();
    assert!(
        ssh_ready(&running.ipv4, start + Duration::from_secs(60)),
        "no ssh on {}",
        running.ipv4
    );
    (a, start.elapsed())
}

/// (a) and (b) for the dfab binary: `dfab lxc ok`, where `ok` runs `true` over ssh. (a) is when
/// dfab reports the container running with its address, (b) when the command over ssh is done.
fn cli_run(name: &str, ip: &str) -> (Duration, Duration) {
    use std::io::BufRead as _;
    let dir = std::env::temp_dir().join(format!("dfab-bench-cli-{}", std::process::id()));
    fs_err::create_dir_all(&dir).unwrap();
    let envs = format!(
        "environments = {{'lxc': {{'lxc': '{name}', 'lxc_template': '{BASE}', \
         'lxc_ipv4': '{ip}/24', 'key_filename': '{KEY}'}}}}\n\
         tasks = {{'ok': {{'doc': 'ok', 'steps': [{{'run': 'true'}}]}}}}\n"
    );
    fs_err::write(dir.join("environments.py"), envs).unwrap();
    let dfab = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/release/dfab");
    let start = Instant::now();
    let mut child = Command::new(&dfab)
        .args(["lxc", "ok"])
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e} (build it: cargo build --release)", dfab.display()));
    let mut a = None;
    for line in std::io::BufReader::new(child.stdout.take().unwrap()).lines() {
        if a.is_none() && line.unwrap().contains(" is running at ") {
            a = Some(start.elapsed());
        }
    }
    assert!(child.wait().unwrap().success(), "dfab lxc ok failed");
    (a.expect("dfab reported the address"), start.elapsed())
}

/// (a) and (b) for the hand-run tools, with the same config lines dfab writes.
fn tools_run(name: &str, ip: &str) -> (Duration, Duration) {
    let set_address = Step::SetAddress {
        name: name.to_owned(),
        ipv4: format!("{ip}/24"),
        gateway: None,
    }
    .command(None);
    let start = Instant::now();
    assert!(sh(
        "lxc-copy",
        &["-n", BASE, "-N", name, "-s", "-B", "overlayfs"]
    ));
    assert!(sh("sh", &["-c", &set_address.to_shell()]));
    assert!(sh("lxc-start", &["-n", name, "-d"]));
    assert!(sh("lxc-wait", &["-n", name, "-s", "RUNNING", "-t", "30"]));
    while !out("lxc-info", &["-n", name, "-iH"])
        .lines()
        .any(|l| l.trim() == ip)
    {
        assert!(start.elapsed() < Duration::from_secs(30), "no address");
        std::thread::sleep(Duration::from_millis(20));
    }
    let a = start.elapsed();
    assert!(ssh_ready(ip, start + Duration::from_secs(60)));
    (a, start.elapsed())
}

/// Full copy + start (dragonfab then sleeps 10 s) and one ssh connection after it.
fn dragonfab_run(name: &str, ip: &str) -> (Duration, Duration) {
    let set_address = Step::SetAddress {
        name: name.to_owned(),
        ipv4: format!("{ip}/24"),
        gateway: None,
    }
    .command(None);
    let start = Instant::now();
    assert!(sh("lxc-copy", &["-n", BASE, "-N", name]));
    assert!(sh("sh", &["-c", &set_address.to_shell()]));
    assert!(sh("lxc-start", &["-n", name, "-d"]));
    let copy_start = start.elapsed();
    // The container is up long before 10 s; wait for sshd, then time one connection as
    // dragonfab's first one after its sleep.
    assert!(ssh_ready(ip, Instant::now() + Duration::from_secs(60)));
    let t = Instant::now();
    assert!(ssh_ready(ip, Instant::now()));
    let one_ssh = t.elapsed();
    let a = copy_start + Duration::from_secs(10);
    (a, a + one_ssh)
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

type Run<'a> = Box<dyn FnMut() -> (Duration, Duration) + 'a>;

/// Run each variant once per round, `RUNS` rounds (interleaved, so load from other work on the
/// machine hits every variant alike, and rotated); print and return the medians of (a) and (b).
fn bench(variants: &mut [(&str, Run<'_>)]) -> Vec<(Duration, Duration)> {
    let mut results = vec![(Vec::new(), Vec::new()); variants.len()];
    let n = variants.len();
    for round in 0..RUNS {
        // Rotate who goes first, so no variant always follows the same one (a full copy's
        // destroy leaves writeback behind).
        for k in 0..n {
            let i = (round + k) % n;
            let (x, y) = (variants[i].1)();
            results[i].0.push(x);
            results[i].1.push(y);
        }
    }
    variants
        .iter()
        .zip(results)
        .map(|((label, _), (a, b))| {
            let (ma, mb) = (median(a.clone()), median(b.clone()));
            println!(
                "{label:<34} (a) {:>9.1} ms  (b) {:>9.1} ms   runs a={:?} b={:?}",
                ms(ma),
                ms(mb),
                a.iter().map(|d| ms(*d).round()).collect::<Vec<_>>(),
                b.iter().map(|d| ms(*d).round()).collect::<Vec<_>>()
            );
            (ma, mb)
        })
        .collect()
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let with_template = std::env::args().any(|a| a == "--template");
    let skip_full_copy = std::env::args().any(|a| a == "--no-full-copy");
    assert!(
        sh("lxc-info", &["-n", BASE]),
        "{BASE} missing: run `bash scripts/setup-host`"
    );
    let ip = Ip::claim();
    let name = format!("dfab-lxcb-{}", std::process::id());
    println!("median of {RUNS}; (a) = RUNNING with an IPv4 address, (b) = sshd accepts the key");
    println!("base {BASE} (tiny init, static address {})", ip.ip);
    let each = |f: fn(&str, &str) -> (Duration, Duration)| -> Run<'_> {
        let (name, ip) = (&name, &ip.ip);
        Box::new(move || {
            destroy(name);
            forget_neighbour(ip);
            // Start each run with no dirty pages from the previous one's destroy.
            sh("sync", &[]);
            let r = f(name, ip);
            destroy(name);
            r
        })
    };
    let mut variants = vec![
        (
            "dfab liblxc (snapshot)",
            each(|n, ip| dfab_run(n, Some(ip), BASE)),
        ),
        ("hand-run lxc-* tools (snapshot)", each(tools_run)),
        ("dfab lxc <task> (the CLI, ssh)", each(cli_run)),
    ];
    if skip_full_copy {
        bench(&mut variants);
        return;
    }
    variants.push(("dragonfab (full copy + 10 s sleep)", each(dragonfab_run)));
    let medians = bench(&mut variants);
    let (dfab, tools, cli, dragon) = (medians[0], medians[1], medians[2], medians[3]);
    let ratio = |x: Duration, y: Duration| x.as_secs_f64() / y.as_secs_f64();
    println!(
        "tools / dfab:     (a) {:.1}x  (b) {:.2}x",
        ratio(tools.0, dfab.0),
        ratio(tools.1, dfab.1)
    );
    println!(
        "dfab CLI / tools: (a) {:.2}x  (b) {:.2}x   (targets: (a) <= 0.3x, (b) <= 0.5x)",
        ratio(cli.0, tools.0),
        ratio(cli.1, tools.1)
    );
    println!(
        "dragonfab / dfab CLI: (a) {:.0}x  (b) {:.1}x   (target: >= 10x)",
        ratio(dragon.0, cli.0),
        ratio(dragon.1, cli.1)
    );
    println!(
        "dragonfab / dfab: (a) {:.0}x  (b) {:.1}x",
        ratio(dragon.0, dfab.0),
        ratio(dragon.1, dfab.1)
    );

    if with_template {
        let template = format!("dfab-lxcb-tpl-{}", std::process::id());
        let mut tspec = lxc::template::TemplateSpec::new(&template);
        tspec.authorized_keys = vec![fs_err::read_to_string(format!("{KEY}.pub")).unwrap()];
        let t = Instant::now();
        lxc::template::build(&tspec, &mut |_| {}).expect("template build");
        println!(
            "dfab template built in {:.1} s (cached debootstrap when present)",
            t.elapsed().as_secs_f64()
        );
        let (name, template) = (&name, &template);
        bench(&mut [(
            "dfab liblxc, dfab template (DHCP)",
            Box::new(move || {
                destroy(name);
                let r = dfab_run(name, None, template);
                destroy(name);
                r
            }),
        )]);
        destroy(template);
    }
}
