//! Answers of the HTTP functions (API Gateway HTTP API, payload 2.0): JSON bodies, and
//! errors as `{"message": ...}` so a client always gets a sentence to show.

use aws_lambda_events::encodings::Body;
use aws_lambda_events::event::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::http::{HeaderMap, HeaderValue, header};
use serde_json::{Value, json};

/// A JSON answer with `status`.
pub fn respond(status: i64, body: Value) -> ApiGatewayV2httpResponse {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = status;
    response.headers = headers;
    response.body = Some(Body::Text(body.to_string()));
    response
}

/// An error answer: `{"message": message}` with `status`.
pub fn error(status: i64, message: impl Into<String>) -> ApiGatewayV2httpResponse {
    respond(status, json!({"message": message.into()}))
}

/// An event that is not an HTTP API request; still answered (as a 400), not failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an HTTP API request: {0}")]
pub struct NotAnHttpRequest(String);

impl NotAnHttpRequest {
    pub fn into_response(self) -> ApiGatewayV2httpResponse {
        error(400, self.to_string())
    }
}

/// The request in a Lambda event.
pub fn request_from(payload: Value) -> Result<ApiGatewayV2httpRequest, NotAnHttpRequest> {
    serde_json::from_value(payload).map_err(|e| NotAnHttpRequest(e.to_string()))
}

/// A query parameter given more than once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the query parameter {0} is given more than once; give it once")]
pub struct RepeatedParameter(pub String);

/// The value of the query parameter `name` (`None` when absent), refusing a repeat.
///
/// Payload 2.0 has no multi-value parameters: API Gateway joins repeats with commas
/// (`?userId=a&userId=b` arrives as `"userId": "a,b"`), and `aws_lambda_events` splits every
/// value on commas again, so `first` would silently pick one of two values a client sent,
/// perhaps not the one a filter in front checked. The raw query string tells a repeat from
/// one value holding an encoded comma; an event without one (made by hand) counts the parts.
pub fn single_query_parameter(
    request: &ApiGatewayV2httpRequest,
    name: &str,
) -> Result<Option<String>, RepeatedParameter> {
    let Some(parts) = request.query_string_parameters.all(name) else {
        return Ok(None);
    };
    let given = match request.raw_query_string.as_deref() {
        Some(raw) if !raw.is_empty() => raw.split('&').filter(|pair| form_decoded_name(pair) == name).count(),
        _ => parts.len(),
    };
    if given > 1 {
        return Err(RepeatedParameter(name.to_owned()));
    }
    Ok(Some(parts.join(",")))
}

/// The name of one `name=value` pair of a query string, decoded as API Gateway decodes it.
fn form_decoded_name(pair: &str) -> String {
    let name = pair.split_once('=').map_or(pair, |(name, _)| name).replace('+', " ");
    percent_encoding::percent_decode_str(&name).decode_utf8_lossy().into_owned()
}

/// Whether the request carries a body (an empty one counts as none, as API Gateway sends none).
pub fn has_body(request: &ApiGatewayV2httpRequest) -> bool {
    request.body.as_deref().is_some_and(|body| !body.is_empty())
}

/// Why a body is not taken for JSON; answered 415 Unsupported Media Type.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentTypeError {
    #[error("the Content-Type header is missing: send the body as application/json")]
    Missing,
    #[error("the Content-Type header is given more than once: send one, application/json")]
    Repeated,
    #[error("the Content-Type {0} is not supported: send the body as application/json")]
    NotJson(String),
    #[error("the charset {0} is not supported: send the body as UTF-8 (application/json; charset=utf-8)")]
    Charset(String),
}

/// Checks that the body is declared as JSON in UTF-8: `application/json`, with any parameters,
/// and a `charset` parameter (if any) of `utf-8`. API Gateway's HTTP APIs check no content type,
/// so the function must: a form post or a text/plain body is a client sending something else
/// than it thinks, and a repeated Content-Type (which API Gateway comma-joins) is ambiguous.
pub fn require_json(headers: &HeaderMap) -> Result<(), ContentTypeError> {
    let mut values = headers.get_all(header::CONTENT_TYPE).iter();
    let (Some(value), None) = (values.next(), values.next()) else {
        return match headers.contains_key(header::CONTENT_TYPE) {
            true => Err(ContentTypeError::Repeated),
            false => Err(ContentTypeError::Missing),
        };
    };
    let Ok(value) = value.to_str() else {
        return Err(ContentTypeError::NotJson("given".into()));
    };
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(ContentTypeError::NotJson(quoted(essence)));
    }
    for parameter in parts {
        let Some((key, charset)) = parameter.split_once('=') else { continue };
        let charset = charset.trim().trim_matches('"');
        if key.trim().eq_ignore_ascii_case("charset")
            && !(charset.eq_ignore_ascii_case("utf-8") || charset.eq_ignore_ascii_case("utf8"))
        {
            return Err(ContentTypeError::Charset(quoted(charset)));
        }
    }
    Ok(())
}

/// What the client sent, fit to be quoted in an answer: short printable ASCII as it is, anything
/// else described (the answer must not carry arbitrary bytes back, nor a megabyte of them).
fn quoted(text: &str) -> String {
    const LONGEST: usize = 100;
    if text.is_empty() {
        "(empty)".into()
    } else if text.len() <= LONGEST && text.bytes().all(|b| b.is_ascii_graphic() || b == b' ') {
        format!("'{text}'")
    } else {
        "given".into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(response: &ApiGatewayV2httpResponse) -> Value {
        match &response.body {
            Some(Body::Text(text)) => serde_json::from_str(text).expect("JSON body"),
            other => panic!("unexpected body {other:?}"),
        }
    }

    #[test]
    fn answers_are_json_and_errors_carry_a_message() {
        let ok = respond(201, json!({"id": "x"}));
        assert_eq!(ok.status_code, 201);
        assert_eq!(ok.headers.get(header::CONTENT_TYPE).map(|v| v.as_bytes()), Some(&b"application/json"[..]));
        let refused = error(409, "taken");
        assert_eq!((refused.status_code, body_of(&refused)), (409, json!({"message": "taken"})));
    }

    fn request(raw_query: Option<&str>, query: Value, headers: Value) -> ApiGatewayV2httpRequest {
        let mut event = json!({"version": "2.0", "routeKey": "GET /confirm", "rawPath": "/confirm",
            "headers": headers, "queryStringParameters": query, "requestContext": {"http": {"method": "GET"}},
            "isBase64Encoded": false});
        if let Some(raw) = raw_query {
            event["rawQueryString"] = json!(raw);
        }
        request_from(event).expect("a request")
    }

    #[test]
    fn a_repeated_query_parameter_is_refused_as_api_gateway_joins_repeats_with_commas() {
        // ?customerId=a&customerId=b arrives as {"customerId": "a,b"} (payload 2.0).
        let repeated =
            request(Some("customerId=a&customerId=b&token=t"), json!({"customerId": "a,b", "token": "t"}), json!({}));
        assert_eq!(single_query_parameter(&repeated, "customerId"), Err(RepeatedParameter("customerId".into())));
        assert_eq!(
            RepeatedParameter("userId".into()).to_string(),
            "the query parameter userId is given more than once; give it once"
        );
        assert_eq!(single_query_parameter(&repeated, "token"), Ok(Some("t".into())));
        assert_eq!(single_query_parameter(&repeated, "other"), Ok(None));
        let empty_twice = request(Some("userId=&userId="), json!({"userId": ","}), json!({}));
        assert!(single_query_parameter(&empty_twice, "userId").is_err());
        let encoded_name = request(Some("userId=a&user%49d=b"), json!({"userId": "a,b"}), json!({}));
        assert!(single_query_parameter(&encoded_name, "userId").is_err(), "names are compared decoded");
    }

    #[test]
    fn one_value_with_an_encoded_comma_is_one_value_and_hand_made_events_count_the_parts() {
        let comma = request(Some("userId=a%2Cb"), json!({"userId": "a,b"}), json!({}));
        assert_eq!(single_query_parameter(&comma, "userId"), Ok(Some("a,b".into())));
        let hand_made = request(None, json!({"userId": "a,b"}), json!({}));
        assert!(single_query_parameter(&hand_made, "userId").is_err());
        let hand_made_once = request(Some(""), json!({"userId": "ana"}), json!({}));
        assert_eq!(single_query_parameter(&hand_made_once, "userId"), Ok(Some("ana".into())));
    }

    #[test]
    fn json_in_utf_8_is_the_only_content_type_taken() {
        let check = |headers: Value| require_json(&request(None, json!({}), headers).headers);
        for fine in [
            "application/json",
            "application/json; charset=utf-8",
            "Application/JSON;charset=\"UTF-8\"",
            "application/json; charset=utf8",
            "application/json; boundary=x",
        ] {
            assert_eq!(check(json!({"content-type": fine})), Ok(()), "{fine}");
        }
        assert_eq!(check(json!({})), Err(ContentTypeError::Missing));
        assert_eq!(check(json!({"content-type": "text/plain"})), Err(ContentTypeError::NotJson("'text/plain'".into())));
        assert_eq!(
            check(json!({"content-type": "application/x-www-form-urlencoded"})).map_err(|e| e.to_string()),
            Err("the Content-Type 'application/x-www-form-urlencoded' is not supported: send the body as application/json".into())
        );
        assert_eq!(check(json!({"content-type": ""})), Err(ContentTypeError::NotJson("(empty)".into())));
        assert_eq!(
            check(json!({"content-type": "application/json; charset=iso-8859-1"})),
            Err(ContentTypeError::Charset("'iso-8859-1'".into()))
        );
        assert_eq!(
            check(json!({"content-type": "application/json,text/plain"})),
            Err(ContentTypeError::NotJson("'application/json,text/plain'".into())),
            "two Content-Type headers, as API Gateway joins them"
        );
        assert_eq!(
            check(json!({"content-type": format!("text/{}", "x".repeat(5000))})),
            Err(ContentTypeError::NotJson("given".into()))
        );
        let mut twice = HeaderMap::new();
        twice.append(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        twice.append(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
        assert_eq!(require_json(&twice), Err(ContentTypeError::Repeated));
        let mut binary = HeaderMap::new();
        binary.insert(header::CONTENT_TYPE, HeaderValue::from_bytes(b"application/\xffjson").expect("obs-text"));
        assert_eq!(require_json(&binary), Err(ContentTypeError::NotJson("given".into())));
    }

    #[test]
    fn an_empty_body_is_no_body() {
        let mut get = request(None, json!({}), json!({}));
        assert!(!has_body(&get));
        get.body = Some(String::new());
        assert!(!has_body(&get));
        get.body = Some("x".into());
        assert!(has_body(&get));
    }

    #[test]
    fn an_event_that_is_not_an_http_request_is_a_400() {
        let refused = request_from(json!(["not", "a", "request"])).expect_err("refused").into_response();
        assert_eq!(refused.status_code, 400);
        assert!(body_of(&refused)["message"].as_str().is_some_and(|m| m.starts_with("not an HTTP API request")));
    }
}
