//! [`Fleet`]: one env's fleet opened for a task (its settings, its state, the LXC backend here or
//! on `lxc_host`, and the balancer where it runs), with the moves every task is made of: the
//! balancer's container brought up, members made in parallel from a bake, and the balancer
//! switched to a set of members in one reload.

use std::sync::Mutex;
use std::time::Instant;

use crate::error::Result;
use crate::exec::step::RunCtx;
use crate::lxc::attach::Attach;
use crate::lxc::{self, Backend, LxcSpec};

use super::balancer::Nginx;
use super::error::FleetError;
use super::member::{self, Log};
use super::place::Place;
use super::settings::{Balancer, FleetSettings};
use super::state::{Bake, BalancerBox, FleetState, Member};

/// nginx's prefix directory inside a balancer container.
const CONTAINER_DIR: &str = "/var/lib/dfab/balancer";

/// An env's fleet, opened.
pub struct Fleet {
    pub fs: FleetSettings,
    pub state: FleetState,
    pub backend: Box<dyn Backend>,
    pub nginx: Nginx,
    /// Where the members' health is asked from: this machine, or on `lxc_host` (whose bridge
    /// this machine may not reach) the balancer's container, which is where their traffic
    /// comes from.
    pub health_from: Place,
    /// The lock file, held (`flock`) while a task may change the fleet; released when dropped.
    _lock: Option<fs_err::File>,
    /// The ssh connection to `lxc_host` every command shares; closed when dropped.
    _master: Option<super::ssh_master::Master>,
}

/// Take `.dfab/fleet/<env>.lock` (`flock`, not waiting): the kernel releases it when dfab ends,
/// however it ends.
fn lock(fs: &FleetSettings) -> Result<fs_err::File> {
    let path = fs.state_file().with_extension("lock");
    if let Some(d) = path.parent() {
        fs_err::create_dir_all(d)?;
    }
    let f = fs_err::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)?;
    // SAFETY: flock on a descriptor this process owns; it changes no memory.
    if unsafe {
        libc::flock(
            std::os::fd::AsRawFd::as_raw_fd(f.file()),
            libc::LOCK_EX | libc::LOCK_NB,
        )
    } != 0
    {
        return Err(FleetError::Busy {
            env: fs.env.clone(),
            lock: path,
        }
        .into());
    }
    Ok(f)
}

impl Fleet {
    /// Open `fs`'s fleet: read its state, and the LXC backend for this machine (root needed)
    /// or `lxc_host`. With `change`, take the fleet's lock first: a second dfab run that would
    /// change the same fleet is refused at once, naming the lock file.
    pub fn open(mut fs: FleetSettings, change: bool) -> Result<Fleet> {
        let lock = if change { Some(lock(&fs)?) } else { None };
        let state = FleetState::load(&fs.state_file())?;
        let master = match fs.lxc_host.clone() {
            Some(host) => {
                let m = super::ssh_master::Master::start(&fs.env, &host, &fs.lxc_host_ssh_options)?;
                fs.lxc_host_ssh_options.extend(m.options());
                if let Balancer::Container(spec) = &mut fs.balancer {
                    spec.host_ssh_options.extend(m.options());
                }
                Some(m)
            }
            None => None,
        };
        let mut spec = LxcSpec::new(&fs.template);
        spec.lxcpath.clone_from(&fs.lxcpath);
        spec.host.clone_from(&fs.lxc_host);
        spec.host_ssh_options.clone_from(&fs.lxc_host_ssh_options);
        let backend = lxc::backend::for_spec(&spec)?;
        let nginx = match &fs.balancer {
            Balancer::Host => Nginx::new(&fs.env, fs.balancer_dir(), &fs.listen),
            Balancer::Container(spec) => {
                // nginx listens on every address unless `listen` names one; the probe asks it
                // from inside the container.
                let probe = format!(
                    "{}:{}",
                    fs.listen_address().unwrap_or("127.0.0.1"),
                    fs.listen_port()
                );
                let place = Place::Container {
                    name: spec.name.clone(),
                    attach: Attach::new(spec)?,
                };
                let dir = std::path::Path::new(CONTAINER_DIR).join(&fs.env);
                Nginx::at(&fs.env, place, dir, &fs.listen, &probe)
            }
        };
        let health_from = if fs.lxc_host.is_some() {
            nginx.place.clone()
        } else {
            Place::Here
        };
        Ok(Fleet {
            fs,
            state,
            backend,
            nginx,
            health_from,
            _lock: lock,
            _master: master,
        })
    }

    /// Where clients reach the balancer, `address:port`: `listen` on this machine, or when it
    /// names an address; else the container's address and the port.
    #[must_use]
    pub fn url(&self) -> String {
        match (&self.fs.balancer, &self.state.balancer) {
            (Balancer::Container(_), _) if self.fs.listen_address().is_some() => {
                self.fs.listen.clone()
            }
            (Balancer::Container(_), Some(b)) => format!("{}:{}", b.ipv4, self.fs.listen_port()),
            (Balancer::Container(spec), None) => {
                format!("{}:{} (not up yet)", spec.name, self.fs.listen_port())
            }
            (Balancer::Host, _) => self.fs.listen.clone(),
        }
    }

    /// Bring the balancer's container up (cloned from `lxc_template` when missing, started when
    /// stopped) and check it has nginx and curl; record it. Nothing to do for nginx on this
    /// machine, or under -n.
    pub fn balancer_up(&mut self, cx: &RunCtx<'_>) -> Result<()> {
        let Balancer::Container(spec) = &self.fs.balancer else {
            return Ok(());
        };
        if cx.dry_run {
            cx.rep.info(&format!(
                "balancer: would make sure container {} runs (cloned from {} when missing), with nginx",
                spec.name, spec.template
            ));
            return Ok(());
        }
        let before = self.backend.state(&spec.name)?;
        if before == lxc::State::Absent {
            // Recorded as dfab's before it is made, so that fleet.destroy removes it even when
            // this run stops half-way.
            self.state.balancer = Some(BalancerBox {
                name: spec.name.clone(),
                ipv4: String::new(),
                made: true,
            });
            self.save()?;
        }
        let t = Instant::now();
        let running = lxc::ensure(spec, &*self.backend, &mut |s| {
            cx.rep
                .command(&spec.name, "lxc", &s.command(spec.lxcpath.as_deref()));
        })?;
        let made = self
            .state
            .balancer
            .as_ref()
            .is_some_and(|b| b.made && b.name == spec.name);
        if before != lxc::State::Running {
            cx.rep.info(&format!(
                "balancer: container {} {} at {} ({:.1}s)",
                spec.name,
                if before == lxc::State::Absent {
                    format!("cloned from {} and started", spec.template)
                } else {
                    "started".to_owned()
                },
                running.ipv4,
                t.elapsed().as_secs_f64()
            ));
        }
        let out = Attach::new(spec)?
            .run("for p in nginx curl; do command -v \"$p\" >/dev/null || echo \"$p\"; done")?;
        let missing: Vec<String> = out.stdout_str().lines().map(str::to_owned).collect();
        let record = BalancerBox {
            name: spec.name.clone(),
            ipv4: running.ipv4,
            made,
        };
        if self.state.balancer.as_ref() != Some(&record) {
            self.state.balancer = Some(record);
            self.save()?;
        }
        if !missing.is_empty() {
            return Err(FleetError::BalancerTools {
                env: self.fs.env.clone(),
                container: spec.name.clone(),
                missing,
            }
            .into());
        }
        Ok(())
    }

    /// Save the state.
    pub fn save(&self) -> Result<()> {
        self.state.save(&self.fs.state_file())
    }

    /// Refuse when suspended (names who suspended it and when).
    pub fn check_not_suspended(&self) -> Result<()> {
        self.state.check_not_suspended(&self.fs.env)
    }

    /// The newest bake.
    pub fn newest_bake(&self) -> Result<Bake> {
        self.state.bakes.last().cloned().ok_or_else(|| {
            FleetError::NoBake {
                env: self.fs.env.clone(),
            }
            .into()
        })
    }

    /// Make `n` new members from `bake` in parallel (each with its own log), out of the
    /// balancer, and wait for their health. They are recorded once healthy. When any fails,
    /// every new member is removed (a failed one kept with `keep_failed`) and the error names
    /// each failed member with its log.
    pub fn create_members(
        &mut self,
        cx: &RunCtx<'_>,
        bake: &Bake,
        n: usize,
    ) -> Result<Vec<Member>> {
        let mut plan = Vec::new();
        let mut taken = Vec::new();
        for _ in 0..n {
            let name = self.state.new_name(&self.fs.env);
            let address = self
                .state
                .free_address(&self.fs.addresses, &taken)
                .ok_or_else(|| FleetError::NoAddress {
                    env: self.fs.env.clone(),
                    used: self.state.members.len() + taken.len(),
                })?;
            taken.extend(address.clone());
            plan.push((name, address));
        }
        if cx.dry_run {
            // What would be made, shown and handed on; nothing is recorded.
            let mut would = Vec::new();
            for (name, address) in plan {
                cx.rep.info(&format!(
                    "[{name}] would clone {} (overlay){}, start, run user_data, wait for health",
                    bake.name,
                    address
                        .as_deref()
                        .map(|a| format!(" with address {a}"))
                        .unwrap_or_default()
                ));
                would.push(Member {
                    name,
                    bake: bake.name.clone(),
                    version: bake.version.clone(),
                    ipv4: address.clone().unwrap_or_default(),
                    address,
                });
            }
            self.state.members.extend(would.iter().cloned());
            return Ok(would);
        }
        // The names and addresses are taken before anything is made; the balancer's container
        // is up first (on `lxc_host` the members' health is asked from it).
        self.save()?;
        self.balancer_up(cx)?;
        let lock = Mutex::new(());
        let t = Instant::now();
        let fs = &self.fs;
        let probe = &self.health_from;
        let backend = &*self.backend;
        let results: Vec<(String, std::path::PathBuf, Result<Member, String>)> =
            std::thread::scope(|s| {
                let handles: Vec<_> = plan
                    .iter()
                    .map(|(name, address)| {
                        let lock = &lock;
                        s.spawn(move || {
                            let path = fs.log_file(name);
                            let made = match Log::open(&path) {
                                Ok(log) => member::create(
                                    fs,
                                    probe,
                                    lock,
                                    name,
                                    &bake.name,
                                    &bake.version,
                                    address.clone(),
                                    &log,
                                ),
                                Err(e) => Err(e.to_string()),
                            };
                            (name.clone(), path, made)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("a member's thread does not panic"))
                    .collect()
            });
        let mut made = Vec::new();
        let mut failed = Vec::new();
        for (name, log, r) in results {
            match r {
                Ok(m) => {
                    cx.rep.info(&format!(
                        "[{name}] created from {} at {}, healthy ({:.1}s; log {})",
                        bake.name,
                        m.ipv4,
                        t.elapsed().as_secs_f64(),
                        self.fs.shown(&log)
                    ));
                    made.push(m);
                }
                Err(why) => {
                    cx.rep.warn(&format!(
                        "[{name}] failed: {why} (log {})",
                        self.fs.shown(&log)
                    ));
                    failed.push((name, why, std::path::PathBuf::from(self.fs.shown(&log))));
                }
            }
        }
        if failed.is_empty() {
            self.state.members.extend(made.iter().cloned());
            self.save()?;
            return Ok(made);
        }
        for m in &made {
            member::destroy(backend, &m.name)?;
        }
        for (name, _, _) in &failed {
            if !self.fs.keep_failed {
                member::destroy(backend, name)?;
                continue;
            }
            // Kept for debugging: recorded, so that fleet.status shows it and fleet.destroy
            // removes it, with no traffic.
            let address = plan
                .iter()
                .find(|(n, _)| n == name)
                .and_then(|(_, a)| a.clone());
            let ipv4 = address
                .as_deref()
                .and_then(|a| a.split('/').next())
                .unwrap_or("(DHCP)")
                .to_owned();
            self.state.members.push(Member {
                name: name.clone(),
                bake: bake.name.clone(),
                version: bake.version.clone(),
                ipv4,
                address,
            });
        }
        self.save()?;
        Err(FleetError::MembersFailed {
            env: self.fs.env.clone(),
            failed,
            kept: self.fs.keep_failed,
        }
        .into())
    }

    /// Remove the members that are neither live nor kept for rollback (failed ones kept with
    /// `keep_failed` by an earlier run), saying so.
    pub fn remove_leftovers(&mut self, cx: &RunCtx<'_>) -> Result<()> {
        let left: Vec<String> = self
            .state
            .members
            .iter()
            .map(|m| m.name.clone())
            .filter(|n| {
                !self.state.live.contains(n) && !self.state.kept.iter().flatten().any(|k| k == n)
            })
            .collect();
        if left.is_empty() || cx.dry_run {
            return Ok(());
        }
        self.destroy_members(&left)?;
        cx.rep.info(&format!(
            "fleet: removed {} (kept by keep_failed after a failed run)",
            left.join(", ")
        ));
        Ok(())
    }

    /// `ip:port` of each named member.
    fn upstreams(&self, names: &[String]) -> Vec<String> {
        names
            .iter()
            .filter_map(|n| self.state.member(n))
            .map(|m| format!("{}:{}", m.ipv4, self.fs.port))
            .collect()
    }

    /// Send the balancer's traffic to `live` (starting the balancer when it does not run), in
    /// one reload; record and report it. Returns the old config's workers, which finish their
    /// requests before the members they served may stop.
    pub fn switch(&mut self, cx: &RunCtx<'_>, live: Vec<String>) -> Result<Vec<i32>> {
        let members = self.upstreams(&live);
        if cx.dry_run {
            cx.rep.info(&format!(
                "balancer: would send traffic to {} in one reload",
                live.join(", ")
            ));
            // In memory only, for what the run shows next; never saved under -n.
            self.state.live = live;
            return Ok(Vec::new());
        }
        self.balancer_up(cx)?;
        let generation = self.state.generation + 1;
        let t = Instant::now();
        if self.nginx.ensure(&members, generation)? {
            self.state.generation = generation;
            self.state.live = live;
            self.save()?;
            cx.rep.info(&format!(
                "balancer: nginx started in {} on http://{} with {} members in {} ms",
                self.nginx.place.describe(),
                self.url(),
                members.len(),
                t.elapsed().as_millis()
            ));
            return Ok(Vec::new());
        }
        let sw = self.nginx.switch(&members, generation)?;
        self.state.generation = generation;
        self.state.live.clone_from(&live);
        self.save()?;
        cx.rep.info(&format!(
            "balancer: switched to {} in one reload: {:.1} ms (nginx -t {:.1} ms)",
            live.join(", "),
            sw.reload.as_secs_f64() * 1000.0,
            sw.check.as_secs_f64() * 1000.0
        ));
        Ok(sw.old_workers)
    }

    /// Stop and destroy the members `names` and forget them.
    pub fn destroy_members(&mut self, names: &[String]) -> Result<()> {
        for n in names {
            member::destroy(&*self.backend, n)?;
            self.state.members.retain(|m| &m.name != n);
            self.state.live.retain(|l| l != n);
            for set in &mut self.state.kept {
                set.retain(|k| k != n);
            }
        }
        self.state.kept.retain(|s| !s.is_empty());
        self.save()
    }
}
