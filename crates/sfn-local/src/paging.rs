//! Paging as Step Functions' List and history operations do it: `maxResults` (0 or
//! absent means 100, at most 1,000) and an opaque `nextToken`. A token names the last
//! item returned (an ARN, a start sequence number, an event id), never an offset, so a
//! page does not shift when items are added or dropped between calls; and it names the
//! request it belongs to, so a token reused with other arguments is `InvalidToken`.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use crate::limits::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use crate::service::ApiError;

/// One page's request: how many items, and after which one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub size: usize,
    /// The position the previous page's token named.
    pub after: Option<String>,
}

/// Reads `maxResults` and `nextToken`; `scope` names the request (operation and the
/// arguments a token must keep).
pub fn request(body: &Value, scope: &str) -> Result<PageRequest, ApiError> {
    let size = match body.get("maxResults") {
        None | Some(Value::Null) => DEFAULT_PAGE_SIZE,
        Some(v) => match v.as_u64() {
            Some(0) => DEFAULT_PAGE_SIZE,
            Some(n) if n <= MAX_PAGE_SIZE as u64 => n as usize,
            _ => {
                return Err(ApiError::new(
                    "ValidationException",
                    format!(
                        "1 validation error detected: Value '{v}' at 'maxResults' failed to satisfy constraint: Member must have value between 0 and {MAX_PAGE_SIZE}"
                    ),
                ));
            }
        },
    };
    let after = match body.get("nextToken") {
        None | Some(Value::Null) => None,
        Some(Value::String(token)) => Some(position(token, scope).ok_or_else(invalid_token)?),
        Some(_) => return Err(invalid_token()),
    };
    Ok(PageRequest { size, after })
}

/// The token for the page after the item at `position`.
pub fn token(scope: &str, position: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("{scope}\n{position}"))
}

fn position(token: &str, scope: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let (token_scope, position) = text.rsplit_once('\n')?;
    (token_scope == scope).then(|| position.to_owned())
}

/// A token that is not one of ours, belongs to another request or names a position
/// that no longer makes sense.
pub fn invalid_token() -> ApiError {
    ApiError::new("InvalidToken", "Invalid Token: the nextToken does not belong to this request")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn page_sizes_follow_aws_default_and_maximum() {
        let size = |body: Value| request(&body, "s").map(|p| p.size);
        assert_eq!(size(json!({})), Ok(100));
        assert_eq!(size(json!({"maxResults": 0})), Ok(100));
        assert_eq!(size(json!({"maxResults": 1000})), Ok(1000));
        for bad in [json!(1001), json!(-1), json!(2.5), json!("10")] {
            assert_eq!(size(json!({ "maxResults": bad })).map_err(|e| e.code), Err("ValidationException"));
        }
    }

    #[test]
    fn tokens_round_trip_only_within_their_request() {
        let t = token("ListExecutions arn:x", "42");
        let after = |body: Value, scope: &str| request(&body, scope).map(|p| p.after);
        assert_eq!(after(json!({ "nextToken": t }), "ListExecutions arn:x"), Ok(Some("42".into())));
        for (body, scope) in [
            (json!({ "nextToken": t }), "ListExecutions arn:y"),
            (json!({"nextToken": "garbage!"}), "ListExecutions arn:x"),
            (json!({"nextToken": 5}), "ListExecutions arn:x"),
        ] {
            assert_eq!(after(body, scope).map_err(|e| e.code), Err("InvalidToken"));
        }
    }
}
