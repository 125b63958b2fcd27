//! The buttons of an environment's page (Eden's management tasks) and the `dfab` task words
//! each runs.

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Deploy,
    DebDeploy,
    Rollback,
    Maintenance,
    Live,
    DbClone,
    DataRefresh,
    /// `deploy:resume=yes`: the rest of an interrupted or failed deploy.
    Resume,
    /// `releases`: read each host's releases again (changes nothing).
    Releases,
}

impl Action {
    /// The actions an environment's page offers, in order.
    pub const OFFERED: [Action; 8] = [
        Action::Deploy,
        Action::DebDeploy,
        Action::Rollback,
        Action::Maintenance,
        Action::Live,
        Action::DbClone,
        Action::DataRefresh,
        Action::Releases,
    ];

    /// The actions that change what an env runs: the "last deploy" the pages show is the
    /// newest of these.
    pub const DEPLOYS: [Action; 4] = [
        Action::Deploy,
        Action::DebDeploy,
        Action::Rollback,
        Action::Resume,
    ];

    /// The name in forms and the jobs table: the task as the CLI writes it.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Action::Deploy => "deploy",
            Action::DebDeploy => "deb.deploy",
            Action::Rollback => "rollback",
            Action::Maintenance => "web_mode:maintenance",
            Action::Live => "web_mode:live",
            Action::DbClone => "db_clone",
            Action::DataRefresh => "data_refresh",
            Action::Resume => "deploy:resume=yes",
            Action::Releases => "releases",
        }
    }

    /// The action named `s`.
    #[must_use]
    pub fn parse(s: &str) -> Option<Action> {
        Action::OFFERED
            .into_iter()
            .chain([Action::Resume])
            .find(|a| a.name() == s)
    }

    /// What it does, for the confirmation page.
    #[must_use]
    pub fn doc(self) -> &'static str {
        match self {
            Action::Deploy => "the env's deploy sequence, under the deploy lock, with its journal",
            Action::DebDeploy => "install the built packages on the env's hosts",
            Action::Rollback => "go back to each host's previous release",
            Action::Maintenance => "put the site into maintenance mode",
            Action::Live => "take the site out of maintenance mode",
            Action::DbClone => "copy another env's database into this env's",
            Action::DataRefresh => "copy another env's media into this env's",
            Action::Resume => "finish the interrupted or failed deploy from its journal",
            Action::Releases => "read each host's installed release and history",
        }
    }

    /// Whether it changes the env (and so is asked for twice on a protected env).
    #[must_use]
    pub fn changes(self) -> bool {
        self != Action::Releases
    }

    /// The task words `dfab` runs. `forced`: the page's second confirmation naming a protected
    /// env was given, which stands for the CLI's `force=yes` where a task refuses without it.
    #[must_use]
    pub fn words(self, forced: bool) -> String {
        match (self, forced) {
            (Action::DbClone, true) => "db_clone:force=yes".into(),
            (Action::DataRefresh, true) => "data_refresh:force=yes".into(),
            _ => self.name().into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Action;

    #[test]
    fn every_action_parses_back_from_its_name() {
        for a in Action::OFFERED.into_iter().chain([Action::Resume]) {
            assert_eq!(Action::parse(a.name()), Some(a));
        }
        assert_eq!(Action::parse("deploy; rm -rf /"), None);
        assert_eq!(Action::DataRefresh.words(true), "data_refresh:force=yes");
        assert_eq!(Action::DataRefresh.words(false), "data_refresh");
    }
}
