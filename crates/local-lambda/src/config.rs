//! What the local Lambda knows of each function: the template's configuration
//! (`scripts/template.py lambda-functions`) and the environment every function shares.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

/// One function's configuration, by binary name, as the template declares it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FunctionSpec {
    pub timeout_seconds: u64,
    pub memory_mb: u32,
    #[serde(default)]
    pub environment: BTreeMap<String, String>,
}

#[derive(Debug, Clone)]
pub struct Function {
    pub name: String,
    pub binary: PathBuf,
    pub timeout: Duration,
    pub memory_mb: u32,
    pub environment: BTreeMap<String, String>,
}

/// Lambda's own limits on a function's configuration.
const MAX_TIMEOUT_SECONDS: u64 = 900;
const MEMORY_MB: std::ops::RangeInclusive<u32> = 128..=10_240;

/// Reads the functions file: `{"name": {"timeoutSeconds", "memoryMb", "environment"}}`.
/// Each function's binary is `bin_dir/name`.
pub fn parse_functions(text: &str, bin_dir: &Path) -> Result<HashMap<String, Function>, String> {
    let specs: BTreeMap<String, FunctionSpec> = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let mut functions = HashMap::new();
    for (name, spec) in specs {
        if !(1..=MAX_TIMEOUT_SECONDS).contains(&spec.timeout_seconds) {
            return Err(format!("{name}: timeoutSeconds {} is outside Lambda's 1-900", spec.timeout_seconds));
        }
        if !MEMORY_MB.contains(&spec.memory_mb) {
            return Err(format!("{name}: memoryMb {} is outside Lambda's 128-10240", spec.memory_mb));
        }
        if name.is_empty() || name.contains(['/', '\\', '\0']) || name.starts_with('.') {
            return Err(format!("{name:?} is not a binary name"));
        }
        let function = Function {
            binary: bin_dir.join(&name),
            timeout: Duration::from_secs(spec.timeout_seconds),
            memory_mb: spec.memory_mb,
            environment: spec.environment,
            name: name.clone(),
        };
        functions.insert(name, function);
    }
    Ok(functions)
}

/// Reads `KEY=VALUE` lines; blank lines and `#` comments are skipped.
pub fn parse_env_file(text: &str) -> Result<Vec<(String, String)>, String> {
    let mut vars = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(format!("line {}: expected KEY=VALUE", number + 1));
        };
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(format!("line {}: {key:?} is not a variable name", number + 1));
        }
        vars.push((key.to_owned(), value.to_owned()));
    }
    Ok(vars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn functions_take_their_binary_from_the_bin_dir_and_keep_their_own_environment() {
        let text = r#"{"csv-processor": {"timeoutSeconds": 900, "memoryMb": 512, "environment": {"SENSOR_TABLE": "t"}},
                      "emailer": {"timeoutSeconds": 10, "memoryMb": 128}}"#;
        let functions = parse_functions(text, Path::new("/bin-dir")).unwrap();
        let processor = &functions["csv-processor"];
        assert_eq!(processor.binary, Path::new("/bin-dir/csv-processor"));
        assert_eq!(processor.timeout, Duration::from_secs(900));
        assert_eq!(processor.environment["SENSOR_TABLE"], "t");
        assert!(functions["emailer"].environment.is_empty());
    }

    #[test]
    fn a_configuration_lambda_would_refuse_is_refused_by_name() {
        let refused = [
            (r#"{"f": {"timeoutSeconds": 901, "memoryMb": 128}}"#, "timeoutSeconds 901"),
            (r#"{"f": {"timeoutSeconds": 0, "memoryMb": 128}}"#, "timeoutSeconds 0"),
            (r#"{"f": {"timeoutSeconds": 3, "memoryMb": 64}}"#, "memoryMb 64"),
            (r#"{"../x": {"timeoutSeconds": 3, "memoryMb": 128}}"#, "not a binary name"),
            (r#"{"f": {"timeoutSeconds": 3, "memoryMb": 128, "Timeout": 3}}"#, "unknown field"),
        ];
        for (text, expected) in refused {
            let error = parse_functions(text, Path::new("/b")).unwrap_err();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn env_files_skip_comments_and_keep_equals_signs_in_values() {
        let vars = parse_env_file("# note\n\nA=1\nURL=http://x/?a=b\n").unwrap();
        assert_eq!(vars, [("A".to_owned(), "1".to_owned()), ("URL".to_owned(), "http://x/?a=b".to_owned())]);
        assert!(parse_env_file("NOVALUE\n").unwrap_err().contains("line 1"));
    }
}
