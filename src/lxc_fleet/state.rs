//! The fleet's state on this machine (`.dfab/fleet/<env>.json`): its members and the bake each
//! came from, which of them the balancer sends traffic to, the earlier members kept stopped for
//! `rollback`, the bakes made, and a suspension. Written atomically after every change.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::error::Result;

use super::error::FleetError;

/// One member container.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// The container (`<env>-m<n>`).
    pub name: String,
    /// The bake it was cloned from.
    pub bake: String,
    /// The version that bake holds.
    pub version: String,
    /// Its IPv4 address (no prefix).
    pub ipv4: String,
    /// The static address with prefix it was given from `fleet['addresses']`, if any.
    pub address: Option<String>,
}

/// One bake (a stopped container kept as a versioned template).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bake {
    /// `<env>-<version>-<short build id>`.
    pub name: String,
    pub version: String,
    /// The sha256 over the build's `package version sha256` lines (`Release::build_id`).
    pub build_id: String,
}

/// The container the balancer runs in (`fleet['balancer']` naming one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BalancerBox {
    pub name: String,
    /// Its IPv4 address (no prefix): clients reach the balancer there.
    pub ipv4: String,
    /// dfab cloned it (from `lxc_template`), so `fleet.destroy` removes it; one that existed
    /// before stays.
    pub made: bool,
}

/// Who suspended the fleet, when, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suspension {
    /// `user@machine`.
    pub by: String,
    /// UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub at: String,
    pub reason: Option<String>,
}

/// The whole state.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FleetState {
    /// The number the next member's name takes.
    pub next: u32,
    /// Every member container that exists, running or kept stopped.
    pub members: Vec<Member>,
    /// The members the balancer sends traffic to.
    pub live: Vec<String>,
    /// Earlier live sets, stopped, newest first (a bluegreen deploy's `bluegreen_keep`).
    pub kept: Vec<Vec<String>>,
    /// The bakes made, oldest first.
    pub bakes: Vec<Bake>,
    pub suspended: Option<Suspension>,
    /// The balancer config's generation: one more at each switch.
    pub generation: u64,
    /// The balancer's container, once up (`None` for nginx on this machine).
    #[serde(default)]
    pub balancer: Option<BalancerBox>,
}

impl FleetState {
    /// The state in `path`; the empty state when there is none.
    pub fn load(path: &Path) -> Result<FleetState> {
        match fs_err::read_to_string(path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| {
                FleetError::BadState {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                }
                .into()
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FleetState::default()),
            Err(e) => Err(e.into()),
        }
    }

    /// Write the state to `path`, atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            fs_err::create_dir_all(dir)?;
        }
        let text = serde_json::to_string_pretty(self).expect("the state serializes");
        crate::fsutil::write_atomic(path, text.as_bytes())
    }

    /// Refuse when suspended, naming who suspended the fleet and when.
    pub fn check_not_suspended(&self, env: &str) -> Result<()> {
        match &self.suspended {
            None => Ok(()),
            Some(s) => Err(FleetError::Suspended {
                env: env.to_owned(),
                by: s.by.clone(),
                since: s.at.clone(),
                reason: s.reason.clone(),
            }
            .into()),
        }
    }

    /// The member called `name`.
    #[must_use]
    pub fn member(&self, name: &str) -> Option<&Member> {
        self.members.iter().find(|m| m.name == name)
    }

    /// The live members, in the balancer's order.
    #[must_use]
    pub fn live_members(&self) -> Vec<Member> {
        self.live
            .iter()
            .filter_map(|n| self.member(n).cloned())
            .collect()
    }

    /// A fresh member name, `<env>-m<n>`.
    pub fn new_name(&mut self, env: &str) -> String {
        self.next += 1;
        format!("{env}-m{}", self.next)
    }

    /// The first address of `pool` no member holds (`None` with an empty pool: DHCP).
    #[must_use]
    pub fn free_address(&self, pool: &[String], taken: &[String]) -> Option<Option<String>> {
        if pool.is_empty() {
            return Some(None);
        }
        pool.iter()
            .find(|a| {
                !self
                    .members
                    .iter()
                    .any(|m| m.address.as_deref() == Some(a.as_str()))
                    && !taken.contains(a)
            })
            .map(|a| Some(a.clone()))
    }

    /// The bakes some member (live or kept) came from: never pruned.
    #[must_use]
    pub fn bakes_in_use(&self) -> Vec<String> {
        let mut used: Vec<String> = self.members.iter().map(|m| m.bake.clone()).collect();
        used.dedup();
        used
    }

    /// The bakes to remove so that the newest and `keep` older ones stay, skipping any bake a
    /// member came from.
    #[must_use]
    pub fn bakes_to_prune(&self, keep: usize) -> Vec<String> {
        let used = self.bakes_in_use();
        let n = self.bakes.len();
        self.bakes
            .iter()
            .take(n.saturating_sub(keep + 1))
            .filter(|b| !used.contains(&b.name))
            .map(|b| b.name.clone())
            .collect()
    }
}

/// Now, in UTC, as `YYYY-MM-DDTHH:MM:SSZ` (from the system's `date`).
#[must_use]
pub fn now_utc() -> String {
    std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%dT%H:%M:%SZ"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| "an unknown time".into())
}

#[cfg(test)]
mod tests {
    use super::{Bake, FleetState, Member};

    fn bake(n: &str) -> Bake {
        Bake {
            name: n.into(),
            version: "1".into(),
            build_id: "x".into(),
        }
    }

    #[test]
    fn pruning_keeps_the_newest_and_keep_more_and_every_bake_in_use() {
        let mut s = FleetState {
            bakes: ["b1", "b2", "b3", "b4", "b5"].map(bake).to_vec(),
            ..FleetState::default()
        };
        assert_eq!(s.bakes_to_prune(2), vec!["b1", "b2"]);
        s.members.push(Member {
            name: "m1".into(),
            bake: "b1".into(),
            version: "1".into(),
            ipv4: "10.0.3.5".into(),
            address: None,
        });
        assert_eq!(s.bakes_to_prune(2), vec!["b2"]);
        assert_eq!(s.bakes_to_prune(9), Vec::<String>::new());
    }

    #[test]
    fn a_static_address_is_not_handed_out_twice() {
        let mut s = FleetState::default();
        let pool = vec!["10.0.3.150/24".to_owned(), "10.0.3.151/24".to_owned()];
        assert_eq!(s.free_address(&pool, &[]), Some(Some(pool[0].clone())));
        s.members.push(Member {
            name: "m1".into(),
            bake: "b".into(),
            version: "1".into(),
            ipv4: "10.0.3.150".into(),
            address: Some(pool[0].clone()),
        });
        assert_eq!(
            s.free_address(&pool, &[pool[1].clone()]),
            None,
            "both taken"
        );
        assert_eq!(s.free_address(&[], &[]), Some(None), "DHCP");
    }
}
