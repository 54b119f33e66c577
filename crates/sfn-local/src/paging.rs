//! Paging as Step Functions' List and history operations do it: `maxResults` (0 or
//! absent means 100, at most 1,000) and an opaque `nextToken`. A token names the last
//! item returned (an ARN, a start sequence number, an event id), never an offset, so a
//! page does not shift when items are added or dropped between calls; and it names the
//! request it belongs to, so a token reused with other arguments is `InvalidToken`.

use crate::limits::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};
use crate::requests::{Int, Text};
use crate::service::ApiError;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// One page's request: how many items, and after which one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub size: usize,
    /// The position the previous page's token named.
    pub after: Option<String>,
}

/// Reads `maxResults` (already checked to be 0 to 1,000) and `nextToken`; `scope`
/// names the request (operation and the arguments a token must keep).
pub fn request(max_results: Option<Int>, next_token: Option<&Text>, scope: &str) -> Result<PageRequest, ApiError> {
    let size = match max_results {
        Some(Int(n)) if n > 0 => usize::try_from(n).unwrap_or(MAX_PAGE_SIZE).min(MAX_PAGE_SIZE),
        _ => DEFAULT_PAGE_SIZE,
    };
    let after = match next_token {
        None => None,
        Some(Text(token)) => Some(position(token, scope).ok_or_else(invalid_token)?),
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
    use super::*;

    #[test]
    fn page_sizes_follow_aws_default_and_maximum() {
        let size = |n: Option<i64>| request(n.map(Int), None, "s").map(|p| p.size);
        assert_eq!(size(None), Ok(100));
        assert_eq!(size(Some(0)), Ok(100));
        assert_eq!(size(Some(7)), Ok(7));
        assert_eq!(size(Some(1000)), Ok(1000));
    }

    #[test]
    fn tokens_round_trip_only_within_their_request() {
        let t = Text(token("ListExecutions arn:x", "42"));
        let after = |t: &Text, scope: &str| request(None, Some(t), scope).map(|p| p.after);
        assert_eq!(after(&t, "ListExecutions arn:x"), Ok(Some("42".into())));
        assert_eq!(after(&t, "ListExecutions arn:y").map_err(|e| e.code), Err("InvalidToken"));
        assert_eq!(after(&Text("garbage!".into()), "ListExecutions arn:x").map_err(|e| e.code), Err("InvalidToken"));
    }
}
