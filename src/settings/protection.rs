//! `Protection`: whether an env is production (by name or by `protected = True`), decided once.

use crate::environments::Env;

/// How much care an env asks for: a protected env refuses `database.push`, `db_clone` and
/// `data_refresh` unless forced, and `deploy` puts it in maintenance by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    /// Any other env.
    Open,
    /// The env is named `production` (whatever its `protected` says).
    Production,
    /// The env sets `protected = True`.
    Flagged,
}

impl Protection {
    /// The protection of `env`.
    #[must_use]
    pub fn of(env: &Env) -> Protection {
        if env.name == "production" {
            Protection::Production
        } else if env.bool("protected") == Some(true) {
            Protection::Flagged
        } else {
            Protection::Open
        }
    }

    /// True for production and `protected = True` envs.
    #[must_use]
    pub fn is_protected(self) -> bool {
        self != Protection::Open
    }

    /// What the env is, for messages: `production` or `protected`.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            Protection::Production => "production",
            Protection::Flagged => "protected",
            Protection::Open => "unprotected",
        }
    }

    /// The question a change to a protected env asks first (`-y` answers it; without a
    /// terminal it is refused): "`what` on `hosts` of `production`, the production env?" or
    /// "… of env `live` (marked `protected`)?"; none for an open env.
    #[must_use]
    pub fn question(self, env: &str, what: &str, hosts: &[String]) -> Option<String> {
        let hosts = match hosts {
            [one] => one.clone(),
            many => format!("{} hosts ({})", many.len(), many.join(", ")),
        };
        match self {
            Protection::Open => None,
            Protection::Production => {
                Some(format!("{what} on {hosts} of `{env}`, the production env?"))
            }
            Protection::Flagged => Some(format!(
                "{what} on {hosts} of env `{env}` (marked `protected`)?"
            )),
        }
    }

    /// Why the env is protected, for a refusal: "it is production".
    #[must_use]
    pub fn reason(self) -> &'static str {
        match self {
            Protection::Production => "it is production",
            Protection::Flagged => "it is marked `protected`",
            Protection::Open => "it is not protected",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Protection;
    use crate::settings::testing::{env, env_named};

    // The refusal read "`production` is production (it is production)"; the question names
    // the env once.
    #[test]
    fn the_question_names_the_env_once() {
        let hosts = ["web1".to_string(), "web2".to_string()];
        assert_eq!(
            Protection::Production.question("production", "stop app", &hosts[..1]),
            Some("stop app on web1 of `production`, the production env?".into())
        );
        assert_eq!(
            Protection::Flagged.question("live", "stop app", &hosts),
            Some("stop app on 2 hosts (web1, web2) of env `live` (marked `protected`)?".into())
        );
        assert_eq!(Protection::Open.question("dev", "stop app", &hosts), None);
    }

    #[test]
    fn production_by_name_or_by_flag() {
        let p = Protection::of(&env("'hosts': ['h'],"));
        assert_eq!(p, Protection::Production);
        assert!(p.is_protected());
        assert_eq!(p.reason(), "it is production");
        // The name wins over an explicit False.
        let p = Protection::of(&env("'protected': False,"));
        assert_eq!(p, Protection::Production);
        let p = Protection::of(&env_named("live", "'protected': True,"));
        assert_eq!((p, p.label()), (Protection::Flagged, "protected"));
        assert_eq!(p.reason(), "it is marked `protected`");
        for body in [
            "'hosts': ['h'],",
            "'protected': False,",
            "'protected': None,",
        ] {
            let p = Protection::of(&env_named("staging", body));
            assert_eq!(p, Protection::Open, "{body}");
            assert!(!p.is_protected());
        }
    }
}
