//! Loading definition files: `${...}` substitutions resolved (function ARNs by
//! convention, others given), and registration with the service.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::service::Service;

/// `CsvProcessorFunctionArn` -> `csv-processor`: the binary a placeholder names.
pub fn function_for_placeholder(placeholder: &str) -> Option<String> {
    let stem = placeholder.strip_suffix("FunctionArn")?;
    if stem.is_empty() || !stem.starts_with(|c: char| c.is_ascii_uppercase()) {
        return None;
    }
    let mut name = String::new();
    for (i, c) in stem.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                name.push('-');
            }
            name.push(c.to_ascii_lowercase());
        } else {
            name.push(c);
        }
    }
    Some(name)
}

/// Replaces every `${Name}`: from `vars` first, then `<Pascal>FunctionArn` as the local
/// function's ARN. An unknown placeholder is an error that names it.
pub fn substitute(
    definition: &str,
    vars: &HashMap<String, String>,
    region: &str,
    account: &str,
) -> Result<String, String> {
    let mut out = String::with_capacity(definition.len());
    let mut rest = definition;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let end = after.find('}').ok_or_else(|| "an unclosed '${' in the definition".to_owned())?;
        let name = &after[..end];
        let value = match vars.get(name) {
            Some(v) => v.clone(),
            None => match function_for_placeholder(name) {
                Some(function) => format!("arn:aws:lambda:{region}:{account}:function:{function}"),
                None => {
                    return Err(format!("no value for the substitution ${{{name}}} (give it with --var {name}=VALUE)"));
                }
            },
        };
        out.push_str(&value);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// The definition files under `paths` (files, or directories searched for `*.asl.json`).
pub fn definition_files(paths: &[PathBuf]) -> Result<Vec<PathBuf>, String> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|e| format!("{}: {e}", path.display()))?;
            let mut found: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.to_string_lossy().ends_with(".asl.json"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.clone());
        }
    }
    Ok(files)
}

/// `csv-ingest.asl.json` -> `csv-ingest`.
pub fn machine_name(file: &Path) -> String {
    let file_name = file.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
    file_name.strip_suffix(".asl.json").or_else(|| file_name.strip_suffix(".json")).unwrap_or(&file_name).to_owned()
}

/// Registers (creates or updates) each definition file as a state machine named after it.
pub fn register_files(
    service: &Service,
    files: &[PathBuf],
    vars: &HashMap<String, String>,
    region: &str,
    account: &str,
) -> Result<Vec<String>, String> {
    let mut arns = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let definition = substitute(&text, vars, region, account).map_err(|e| format!("{}: {e}", file.display()))?;
        let name = machine_name(file);
        let role = format!("arn:aws:iam::{account}:role/{name}-role");
        let arn = service.state_machine_arn(&name);
        let created = service.create_state_machine(&json!({"name": name, "definition": definition, "roleArn": role}));
        match created {
            Ok(_) => {}
            Err(e) if e.code == "StateMachineAlreadyExists" => {
                service
                    .update_state_machine(&json!({"stateMachineArn": arn, "definition": definition, "roleArn": role}))
                    .map_err(|e| format!("{}: {e}", file.display()))?;
            }
            Err(e) => return Err(format!("{}: {e}", file.display())),
        }
        arns.push(arn);
    }
    Ok(arns)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_name_binaries() {
        assert_eq!(function_for_placeholder("CsvProcessorFunctionArn").as_deref(), Some("csv-processor"));
        assert_eq!(
            function_for_placeholder("EnrollmentCheckNameFunctionArn").as_deref(),
            Some("enrollment-check-name")
        );
        assert_eq!(function_for_placeholder("TableName"), None);
    }

    #[test]
    fn substitution_uses_vars_then_convention_and_names_unknowns() {
        let vars = HashMap::from([("ReportEmail".to_owned(), "ops@example.com".to_owned())]);
        let out =
            substitute(r#"{"a":"${FileMoverFunctionArn}","b":"${ReportEmail}"}"#, &vars, "us-east-1", "123456789012")
                .unwrap();
        assert_eq!(out, r#"{"a":"arn:aws:lambda:us-east-1:123456789012:function:file-mover","b":"ops@example.com"}"#);
        let err = substitute("${Mystery}", &vars, "r", "a").unwrap_err();
        assert!(err.contains("${Mystery}"));
        assert!(substitute("${Open", &vars, "r", "a").is_err());
    }
}
