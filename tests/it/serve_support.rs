//! Support for the `dfab serve` tests: the server as a child process on a free loopback port,
//! accounts added through `--add-user`, and headless Chromium driven through chromedriver.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};

/// Where the tests write their screenshots.
pub(crate) fn screenshot_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/serve-screenshots")
}

/// `dfab serve` running in a project.
pub(crate) struct Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub url: String,
    /// What it printed on stderr, for a failure's message.
    log: Arc<Mutex<String>>,
}

impl Server {
    /// Start `dfab serve --bind BIND` in `dir` and wait for its "on http://..." line.
    pub(crate) fn start(dir: &Path, bind: &str) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_dfab"))
            .args(["serve", "--bind", bind])
            .current_dir(dir)
            .env_remove("DFAB_ENVIRONMENTS")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("dfab serve");
        let mut err = BufReader::new(child.stderr.take().unwrap());
        // The lines before "on http://..." (a store made private, ...) are kept in the log.
        let mut first = String::new();
        let at = loop {
            let from = first.len();
            if err.read_line(&mut first).unwrap() == 0 {
                let _ = child.wait();
                panic!("dfab serve did not start: {first}");
            }
            if let Some(at) = first[from..].find("on http://") {
                break from + at;
            }
        };
        let url = first[at + 3..]
            .split_whitespace()
            .next()
            .unwrap()
            .trim_end_matches('/')
            .to_string();
        let log = Arc::new(Mutex::new(first));
        let sink = Arc::clone(&log);
        std::thread::spawn(move || {
            for l in err.lines().map_while(Result::ok) {
                let mut s = sink.lock().unwrap();
                s.push_str(&l);
                s.push('\n');
            }
        });
        Server { child, url, log }
    }

    /// What it printed on stderr so far.
    pub(crate) fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// The port it listens on.
    pub(crate) fn port(&self) -> u16 {
        self.url.rsplit(':').next().unwrap().parse().unwrap()
    }

    /// Kill it (SIGKILL: no chance to tidy up, as a crash or a reboot).
    pub(crate) fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `dfab serve --add-user NAME --role ROLE`, the password on stdin; returns what it printed on
/// stderr.
pub(crate) fn add_user(dir: &Path, name: &str, role: &str, password: &str) -> String {
    let mut child = Command::new(env!("CARGO_BIN_EXE_dfab"))
        .args(["serve", "--add-user", name, "--role", role])
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    writeln!(child.stdin.take().unwrap(), "{password}").unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "--add-user {name}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Headless Chromium behind its own chromedriver, killed (with its browser) on drop.
pub(crate) struct Browser {
    pub c: Client,
    driver: Child,
    _profile: tempfile::TempDir,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    /// Start chromedriver on a free loopback port and open a session in headless Chromium
    /// (a new empty profile, no background networking).
    pub(crate) async fn start() -> Browser {
        for bin in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
            assert!(
                Path::new(bin).exists(),
                "{bin} is missing: the dfab serve tests drive Debian's Chromium; run `sudo bash scripts/setup-host` (or apt-get install chromium chromium-driver)"
            );
        }
        let port = free_port();
        // Its own process group: the drop kills chromedriver and the browser it started.
        let driver = Command::new("/usr/bin/chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("chromedriver");
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not listen on {port}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let profile = tempfile::Builder::new()
            .prefix("dfab-it-chromium-")
            .tempdir()
            .unwrap();
        let caps = serde_json::json!({
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                    "--window-size=1400,1000",
                    format!("--user-data-dir={}", profile.path().display()),
                ]
            }
        });
        let serde_json::Value::Object(caps) = caps else {
            unreachable!()
        };
        let c = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&format!("http://127.0.0.1:{port}"))
            .await
            .expect("a WebDriver session in headless Chromium");
        Browser {
            c,
            driver,
            _profile: profile,
        }
    }

    /// Go to `url`.
    pub(crate) async fn go(&self, url: &str) {
        self.c
            .goto(url)
            .await
            .unwrap_or_else(|e| panic!("goto {url}: {e}"));
    }

    /// The page's HTML as the browser has it now.
    pub(crate) async fn source(&self) -> String {
        self.c.source().await.unwrap()
    }

    /// The text of the first element matching `css`.
    pub(crate) async fn text(&self, css: &str) -> String {
        self.c
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} on the page: {e}"))
            .text()
            .await
            .unwrap()
    }

    /// Click the first element matching `css`.
    pub(crate) async fn click(&self, css: &str) {
        self.c
            .find(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("no {css} on the page: {e}"))
            .click()
            .await
            .unwrap();
    }

    /// Type into the first element matching `css`.
    pub(crate) async fn fill(&self, css: &str, text: &str) {
        let el = self.c.find(Locator::Css(css)).await.unwrap();
        el.clear().await.unwrap();
        el.send_keys(text).await.unwrap();
    }

    /// Write a PNG of the page to `target/serve-screenshots/NAME.png`.
    pub(crate) async fn shot(&self, name: &str) -> PathBuf {
        let dir = screenshot_dir();
        fs_err::create_dir_all(&dir).unwrap();
        let p = dir.join(format!("{name}.png"));
        fs_err::write(&p, self.c.screenshot().await.unwrap()).unwrap();
        p
    }

    /// End the session (and the browser).
    pub(crate) async fn close(self) {
        let _ = self.c.clone().close().await;
    }
}

fn kill_group(driver: &Child) {
    let pgid = i32::try_from(driver.id()).unwrap();
    // SAFETY: a signal to the process group this test started (chromedriver's own).
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        kill_group(&self.driver);
        let _ = self.driver.wait();
    }
}

/// A request on loopback with a cookie and an optional form body: status line, headers, body.
pub(crate) fn http(
    url: &str,
    method: &str,
    path: &str,
    cookie: &str,
    form: Option<&str>,
) -> (String, String) {
    let addr = url.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let body = form.unwrap_or("");
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nCookie: {cookie}\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap_or((&out, ""));
    (head.to_string(), body.to_string())
}
