//! Configuration from environment variables, read once at start-up into typed structs.

use std::collections::HashMap;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("missing environment variable {name}")]
    Missing { name: String },
    #[error("environment variable {name} is invalid: {reason}")]
    Invalid { name: String, reason: String },
}

/// A source of variables: the process environment, or a map in tests.
#[derive(Debug, Clone, Default)]
pub struct Env {
    overrides: Option<HashMap<String, String>>,
}

impl Env {
    /// Reads the process environment.
    pub fn process() -> Self {
        Self { overrides: None }
    }

    /// Reads only the given pairs (for tests: no global state touched).
    pub fn from_pairs<I, K, V>(pairs: I) -> Self
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        Self { overrides: Some(pairs.into_iter().map(|(k, v)| (k.into(), v.into())).collect()) }
    }

    pub fn get(&self, name: &str) -> Option<String> {
        let value = match &self.overrides {
            Some(map) => map.get(name).cloned(),
            None => std::env::var(name).ok(),
        };
        value.filter(|v| !v.trim().is_empty())
    }

    /// A variable that must be set: its absence names it.
    pub fn require(&self, name: &str) -> Result<String, ConfigError> {
        self.get(name).ok_or_else(|| ConfigError::Missing { name: name.to_owned() })
    }

    pub fn or_default(&self, name: &str, default: &str) -> String {
        self.get(name).unwrap_or_else(|| default.to_owned())
    }

    /// A variable parsed into `T`, with `default` when it is unset.
    pub fn parse_or<T>(&self, name: &str, default: T) -> Result<T, ConfigError>
    where
        T: std::str::FromStr,
        T::Err: std::fmt::Display,
    {
        match self.get(name) {
            None => Ok(default),
            Some(raw) => raw
                .trim()
                .parse()
                .map_err(|e: T::Err| ConfigError::Invalid { name: name.to_owned(), reason: format!("{raw:?}: {e}") }),
        }
    }
}

/// The project's resource names (DESIGN.md, "Resource names"), each overridable by
/// its environment variable.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resources {
    pub source_bucket: String,
    pub target_bucket: String,
    pub sensor_table: String,
    pub users_table: String,
    pub customers_table: String,
    pub students_table: String,
    pub courses_table: String,
    pub payments_table: String,
    pub enrollments_table: String,
    pub public_base_url: String,
    pub sender_email: String,
    pub report_email: String,
    pub pinpoint_app_id: String,
}

impl Resources {
    pub fn from_env(env: &Env) -> Self {
        Self {
            source_bucket: env.or_default("SOURCE_BUCKET", "sensor-uploads"),
            target_bucket: env.or_default("TARGET_BUCKET", "sensor-archive"),
            sensor_table: env.or_default("SENSOR_TABLE", "sensor_data"),
            users_table: env.or_default("USERS_TABLE", "users"),
            customers_table: env.or_default("CUSTOMERS_TABLE", "customers"),
            students_table: env.or_default("STUDENTS_TABLE", "students"),
            courses_table: env.or_default("COURSES_TABLE", "courses"),
            payments_table: env.or_default("PAYMENTS_TABLE", "payments"),
            enrollments_table: env.or_default("ENROLLMENTS_TABLE", "enrollments"),
            public_base_url: env.or_default("PUBLIC_BASE_URL", "http://127.0.0.1:3000"),
            sender_email: env.or_default("SENDER_EMAIL", "no-reply@example.com"),
            report_email: env.or_default("REPORT_EMAIL", "ops@example.com"),
            pinpoint_app_id: env.or_default("PINPOINT_APP_ID", "local-app"),
        }
    }
}

/// `arn:aws:states:<region>:<account>:stateMachine:<name>` from a state machine ARN
/// variable, or built from its name and the region/account variables.
pub fn state_machine_arn(env: &Env, arn_var: &str, name: &str) -> Result<String, ConfigError> {
    if let Some(arn) = env.get(arn_var) {
        if !arn.starts_with("arn:") || !arn.contains(":stateMachine:") {
            return Err(ConfigError::Invalid {
                name: arn_var.to_owned(),
                reason: format!("{arn:?} is not a state machine ARN"),
            });
        }
        return Ok(arn);
    }
    Err(ConfigError::Missing { name: format!("{arn_var} (the ARN of state machine {name})") })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_variable_is_named() {
        let env = Env::from_pairs([("OTHER", "x")]);
        assert_eq!(env.require("SENSOR_TABLE").unwrap_err().to_string(), "missing environment variable SENSOR_TABLE");
    }

    #[test]
    fn blank_counts_as_missing() {
        let env = Env::from_pairs([("SENSOR_TABLE", "  ")]);
        assert!(matches!(env.require("SENSOR_TABLE"), Err(ConfigError::Missing { .. })));
    }

    #[test]
    fn defaults_follow_the_design_and_yield_to_variables() {
        let r = Resources::from_env(&Env::from_pairs([("SENSOR_TABLE", "readings")]));
        assert_eq!(r.sensor_table, "readings");
        assert_eq!(r.source_bucket, "sensor-uploads");
        assert_eq!(r.target_bucket, "sensor-archive");
        assert_eq!(r.report_email, "ops@example.com");
        assert_eq!(r.pinpoint_app_id, "local-app");
    }

    #[test]
    fn parse_or_names_the_bad_variable() {
        let env = Env::from_pairs([("WRITE_CONCURRENCY", "many")]);
        let err = env.parse_or("WRITE_CONCURRENCY", 8usize).unwrap_err();
        assert!(err.to_string().contains("WRITE_CONCURRENCY"), "{err}");
        assert_eq!(Env::from_pairs::<[(&str, &str); 0], _, _>([]).parse_or("X", 8usize), Ok(8));
    }

    #[test]
    fn state_machine_arn_is_checked() {
        let env = Env::from_pairs([("ARN", "nope")]);
        assert!(matches!(state_machine_arn(&env, "ARN", "m"), Err(ConfigError::Invalid { .. })));
        let env = Env::from_pairs([("ARN", "arn:aws:states:us-east-1:1:stateMachine:m")]);
        assert!(state_machine_arn(&env, "ARN", "m").is_ok());
        let err = state_machine_arn(&Env::from_pairs([("X", "y")]), "ARN", "m").unwrap_err();
        assert!(err.to_string().contains("ARN"));
    }
}
