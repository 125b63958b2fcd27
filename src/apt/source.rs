//! The env's APT source on a host, as `init` installs it with `deploy_strategy = 'apt'`:
//! the repository's public key at `/etc/apt/keyrings/dfab-<env>.asc` and a deb822 file
//! `/etc/apt/sources.list.d/dfab-<env>.sources` whose `Signed-By:` is that key, so apt trusts
//! the key for this source alone. Nothing else about the host's sources changes.

use std::sync::OnceLock;

use crate::error::Result;
use crate::exec::step::RunCtx;
use crate::hostside;
use crate::settings::apt::SigningKey;
use crate::transport::cmd::Cmd;

use super::gpg::Signer;

/// What `init` installs for the env's APT source.
#[derive(Debug)]
pub struct Source {
    pub env: String,
    /// `apt_url`.
    pub url: String,
    /// `apt_dist`.
    pub dist: String,
    /// `apt_component`.
    pub component: String,
    /// `apt_signing_key`, whose public part the hosts trust.
    pub key: SigningKey,
    /// The public key, exported once per run.
    public: OnceLock<Vec<u8>>,
}

impl Source {
    /// The source of `env`.
    #[must_use]
    pub fn new(env: &str, url: &str, dist: &str, component: &str, key: SigningKey) -> Source {
        Source {
            env: env.to_string(),
            url: url.to_string(),
            dist: dist.to_string(),
            component: component.to_string(),
            key,
            public: OnceLock::new(),
        }
    }

    /// `dfab-host apt-source`, the public key on its stdin (exported from `apt_signing_key`
    /// on this machine the first time; nothing is exported under `-n`).
    pub fn cmd(&self, cx: &RunCtx<'_>) -> Result<Cmd> {
        let public = if let Some(p) = self.public.get() {
            p.clone()
        } else {
            let mut local = cx.local();
            let t = local.as_mut();
            let signer = Signer::open(t, cx.rep, &self.key, &self.env)?;
            let p = signer.public_key(t, cx.rep)?;
            self.public.get_or_init(|| p).clone()
        };
        Ok(hostside::call([
            "apt-source",
            &super::source_name(&self.env),
            &self.url,
            &self.dist,
            &self.component,
        ])
        .sudo(None)
        .stdin(public))
    }
}

/// The deb822 text `dfab-host apt-source` writes, for the README and tests: the same fields
/// in the same order.
#[must_use]
pub fn sources_text(env: &str, url: &str, dist: &str, component: &str) -> String {
    format!(
        "Types: deb\nURIs: {url}\nSuites: {dist}\nComponents: {component}\nSigned-By: {}\n",
        super::host_key_path(env)
    )
}
