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
