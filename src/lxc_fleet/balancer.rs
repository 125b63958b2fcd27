//! The fleet's load balancer: nginx as a plain process with its own prefix directory, on this
//! machine (`.dfab/balancer/<env>/`) or inside a container (`/var/lib/dfab/balancer/<env>/`),
//! every effect going through its [`Place`]. dfab writes its upstream file (the live members),
//! checks the candidate with `nginx -t` before it replaces the file (atomically), then reloads
//! with SIGHUP: nginx's graceful reload keeps the listening socket, starts new workers on the
//! new config and lets the old ones finish their requests. A `generation` served at
//! `/__dfab/generation` tells when the new config answers, which is how the switch is timed
//! (where the balancer runs). Maintenance is a flag file the config tests on each request (no
//! reload).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::error::Result;

use super::error::FleetError;
use super::place::{Place, Signal};

/// The probe path that answers the config's generation.
pub const GENERATION_PATH: &str = "/__dfab/generation";

/// The balancer of one env.
#[derive(Debug, Clone)]
pub struct Nginx {
    /// The env, for errors.
    pub env: String,
    /// Where nginx runs.
    pub place: Place,
    /// nginx's prefix directory (a path where it runs).
    pub dir: PathBuf,
    /// nginx's `listen` value: `address:port`, or a port alone (every address).
    pub listen: String,
    /// `address:port` the generation probe asks, from where nginx runs.
    pub probe: String,
}

/// What a switch took.
#[derive(Debug, Clone)]
pub struct Switch {
    /// `nginx -t` of the candidate config.
    pub check: Duration,
    /// From the reload signal until the new generation answered (timed where nginx runs).
    pub reload: Duration,
    /// The worker processes of the old config: they finish their requests, then exit
    /// ([`Nginx::wait_drained`]).
    pub old_workers: Vec<i32>,
}

impl Nginx {
    /// The balancer on this machine in `dir`, listening on `listen` (`address:port`).
    #[must_use]
    pub fn new(env: &str, dir: PathBuf, listen: &str) -> Self {
        Nginx {
            env: env.to_owned(),
            place: Place::Here,
            dir,
            listen: listen.to_owned(),
            probe: listen.to_owned(),
        }
    }

    /// The balancer in `place`: prefix `dir` there, nginx's `listen` value, and the address the
    /// probe asks from there.
    #[must_use]
    pub fn at(env: &str, place: Place, dir: PathBuf, listen: &str, probe: &str) -> Self {
        Nginx {
            env: env.to_owned(),
            place,
            dir,
            listen: listen.to_owned(),
            probe: probe.to_owned(),
        }
    }

    fn conf(&self) -> PathBuf {
        self.dir.join("nginx.conf")
    }

    fn upstream(&self) -> PathBuf {
        self.dir.join("upstream.conf")
    }

    /// The maintenance flag file.
    #[must_use]
    pub fn maintenance_flag(&self) -> PathBuf {
        self.dir.join("maintenance.on")
    }

    /// The main config, including `upstream` (the live one, or a candidate under test). The
    /// members see the client's `Host` (an app that checks it, as Django's `ALLOWED_HOSTS`
    /// does, would refuse nginx's default, the upstream's name `dfab_fleet`) and the usual
    /// `X-Forwarded-For` and `X-Forwarded-Proto`.
    fn main_conf(&self, upstream: &Path) -> String {
        let d = self.dir.display();
        format!(
            "# written by dfab for the fleet of `{env}`; the upstream is in {up}\n\
             daemon on;\nworker_processes 1;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 1024; }}\n\
             http {{\n  access_log off;\n\
             \x20 client_body_temp_path {d}/tmp/body;\n  proxy_temp_path {d}/tmp/proxy;\n\
             \x20 fastcgi_temp_path {d}/tmp/fastcgi;\n  uwsgi_temp_path {d}/tmp/uwsgi;\n\
             \x20 scgi_temp_path {d}/tmp/scgi;\n\
             \x20 include {up};\n\
             \x20 server {{\n    listen {listen};\n\
             \x20   location = {GENERATION_PATH} {{ return 200 \"$dfab_generation\\n\"; }}\n\
             \x20   location / {{\n      if (-f {d}/maintenance.on) {{ return 503; }}\n\
             \x20     proxy_pass http://dfab_fleet;\n      proxy_connect_timeout 2s;\n\
             \x20     proxy_set_header Host $http_host;\n\
             \x20     proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n\
             \x20     proxy_set_header X-Forwarded-Proto $scheme;\n\
             \x20     proxy_next_upstream error timeout http_502 http_503;\n    }}\n  }}\n}}\n",
            env = self.env,
            up = upstream.display(),
            listen = self.listen,
        )
    }

    /// The upstream file for `members` (`ip:port` each) at `generation`.
    #[must_use]
    pub fn upstream_conf(members: &[String], generation: u64) -> String {
        let mut s = format!(
            "# written by dfab: generation {generation}\nmap \"\" $dfab_generation {{ default \"{generation}\"; }}\nupstream dfab_fleet {{\n"
        );
        if members.is_empty() {
            // An upstream needs a server: one that is down answers 502 (no members yet).
            s.push_str("  server 127.0.0.1:1 down;\n");
        }
        for m in members {
            s.push_str("  server ");
            s.push_str(m);
            s.push_str(";\n");
        }
        s.push_str("}\n");
        s
    }

    /// The master's pid, when it runs.
    #[must_use]
    pub fn pid(&self) -> Option<i32> {
        self.place.pid(&self.dir.join("nginx.pid"))
    }

    fn nginx(&self, args: &[&str]) -> Result<()> {
        let conf = self.conf();
        let mut all = vec!["-p".to_owned(), format!("{}/", self.dir.display())];
        all.extend(args.iter().map(|&a| a.to_owned()));
        if !args.contains(&"-c") {
            all.extend(["-c".to_owned(), conf.display().to_string()]);
        }
        let failed = |tail: String| FleetError::Balancer {
            env: self.env.clone(),
            command: format!("nginx {} (in {})", all.join(" "), self.place.describe()),
            tail,
        };
        let out = self
            .place
            .run("nginx", &all)
            .map_err(|e| failed(format!("{e} (install it: apt-get install nginx-light)")))?;
        if out.status == 0 {
            return Ok(());
        }
        Err(failed(crate::deploy::remote::tail(&out.stderr_str(), 5)).into())
    }

    /// Start nginx with `members` (when it does not run yet) at `generation`. Returns whether
    /// it was started.
    pub fn ensure(&self, members: &[String], generation: u64) -> Result<bool> {
        if self.pid().is_some() {
            return Ok(false);
        }
        self.place.mkdir(&self.dir.join("tmp"))?;
        self.place
            .write(&self.conf(), self.main_conf(&self.upstream()).as_bytes())?;
        self.place.write(
            &self.upstream(),
            Self::upstream_conf(members, generation).as_bytes(),
        )?;
        self.nginx(&["-t", "-q"])?;
        self.nginx(&[])?;
        self.wait_generation(None, generation, Duration::from_secs(5))?;
        Ok(true)
    }

    /// Point the balancer at `members` (`ip:port` each) in one graceful reload: the candidate
    /// upstream is checked with `nginx -t` first and, when it fails, the running balancer and
    /// its files stay as they were. Returns the timings once the new config answers.
    pub fn switch(&self, members: &[String], generation: u64) -> Result<Switch> {
        let next = self.dir.join("upstream.next.conf");
        let check_conf = self.dir.join("nginx.check.conf");
        self.place
            .write(&next, Self::upstream_conf(members, generation).as_bytes())?;
        self.place
            .write(&check_conf, self.main_conf(&next).as_bytes())?;
        let t = std::time::Instant::now();
        let checked = self.nginx(&["-t", "-q", "-c", &check_conf.display().to_string()]);
        let check = t.elapsed();
        let _ = self.place.remove(&check_conf);
        if let Err(e) = checked {
            let _ = self.place.remove(&next);
            return Err(e);
        }
        let pid = self.pid().ok_or_else(|| FleetError::Balancer {
            env: self.env.clone(),
            command: "kill -HUP <nginx master>".into(),
            tail: format!(
                "no nginx runs in {} ({})",
                self.dir.display(),
                self.place.describe()
            ),
        })?;
        let old = self.place.children(pid);
        self.place.rename(&next, &self.upstream())?;
        let reload = self.wait_generation(Some(pid), generation, Duration::from_secs(10))?;
        Ok(Switch {
            check,
            reload,
            old_workers: old,
        })
    }

    /// Wait until every process of `workers` has exited (their requests done), at most
    /// `timeout`; says whether they did.
    #[must_use]
    pub fn wait_drained(&self, workers: &[i32], timeout: Duration) -> bool {
        self.place.wait_gone(workers, timeout)
    }

    /// HUP `pid` when given, then poll the probe until it answers `generation`: how long that
    /// took.
    fn wait_generation(
        &self,
        pid: Option<i32>,
        generation: u64,
        within: Duration,
    ) -> Result<Duration> {
        self.place
            .reload_until(
                pid,
                &self.probe,
                GENERATION_PATH,
                &generation.to_string(),
                within,
            )
            .map_err(|last| {
                FleetError::Balancer {
                    env: self.env.clone(),
                    command: format!(
                        "GET http://{}{GENERATION_PATH} (from {})",
                        self.probe,
                        self.place.describe()
                    ),
                    tail: format!("generation {generation} never answered; {last}"),
                }
                .into()
            })
    }

    /// Turn maintenance on or off (the flag file; no reload).
    pub fn maintenance(&self, on: bool) -> Result<()> {
        let flag = self.maintenance_flag();
        if on {
            self.place.write(&flag, b"dfab\n")
        } else {
            self.place.remove(&flag)
        }
    }

    /// Stop nginx (gracefully) when it runs, and wait for it to go.
    pub fn stop(&self) -> Result<()> {
        let Some(pid) = self.pid() else {
            return Ok(());
        };
        self.place.signal(pid, Signal::Quit)?;
        if !self.wait_drained(&[pid], Duration::from_secs(10)) {
            // It did not stop gracefully in time.
            self.place.signal(pid, Signal::Kill)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::Nginx;

    #[test]
    fn the_upstream_lists_the_members_and_the_generation() {
        assert_eq!(
            Nginx::upstream_conf(&["10.0.3.5:8000".into()], 7),
            "# written by dfab: generation 7\nmap \"\" $dfab_generation { default \"7\"; }\n\
             upstream dfab_fleet {\n  server 10.0.3.5:8000;\n}\n"
        );
        assert!(Nginx::upstream_conf(&[], 1).contains("server 127.0.0.1:1 down;"));
    }
}
