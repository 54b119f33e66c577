//! Why a definition is refused: each problem with AWS's code, its place in the
//! definition and a message, written as `InvalidDefinition` writes them.

use std::fmt;

/// The codes `CreateStateMachine` gives in an `InvalidDefinition` message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
    InvalidJsonDescription,
    SchemaValidationFailed,
    MissingTransitionTarget,
    MissingEndState,
    UnreachableState,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::InvalidJsonDescription => "INVALID_JSON_DESCRIPTION",
            ErrorCode::SchemaValidationFailed => "SCHEMA_VALIDATION_FAILED",
            ErrorCode::MissingTransitionTarget => "MISSING_TRANSITION_TARGET",
            ErrorCode::MissingEndState => "MISSING_END_STATE",
            ErrorCode::UnreachableState => "UNREACHABLE_STATE",
        }
    }
}

/// One problem: `SCHEMA_VALIDATION_FAILED: <message> at /States/A/Next`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionError {
    pub code: ErrorCode,
    /// A JSON-pointer-like place (`/States/A/Next`); `/` for the whole definition.
    pub place: String,
    pub message: String,
}

impl fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.code {
            // AWS writes a JSON parse failure without a place.
            ErrorCode::InvalidJsonDescription => write!(f, "{}: {}", self.code.as_str(), self.message),
            _ => write!(f, "{}: {} at {}", self.code.as_str(), self.message, self.place),
        }
    }
}

/// Why a definition was refused, in the words `InvalidDefinition` uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionErrors(pub Vec<DefinitionError>);

impl DefinitionErrors {
    /// Each problem as AWS writes it (`CODE: message at place`).
    pub fn lines(&self) -> Vec<String> {
        self.0.iter().map(ToString::to_string).collect()
    }
}

impl fmt::Display for DefinitionErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let quoted: Vec<String> = self.0.iter().map(|e| format!("'{e}'")).collect();
        write!(f, "Invalid State Machine Definition: {}", quoted.join(", "))
    }
}

impl std::error::Error for DefinitionErrors {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_as_aws_writes_them() {
        let errors = DefinitionErrors(vec![
            DefinitionError {
                code: ErrorCode::MissingTransitionTarget,
                place: "/States/A/Next".into(),
                message: "Missing 'Next' target: B".into(),
            },
            DefinitionError {
                code: ErrorCode::SchemaValidationFailed,
                place: "/States/A/X".into(),
                message: "The field 'X' is not supported by Step Functions".into(),
            },
        ]);
        assert_eq!(
            errors.to_string(),
            "Invalid State Machine Definition: 'MISSING_TRANSITION_TARGET: Missing 'Next' target: B at /States/A/Next', \
             'SCHEMA_VALIDATION_FAILED: The field 'X' is not supported by Step Functions at /States/A/X'"
        );
    }
}
