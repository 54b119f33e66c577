//! A function's answer turned into the HTTP response, by payload format 2.0's rules: an
//! object with `statusCode` is a response (`headers`, `cookies` -> `Set-Cookie`, `body`,
//! `isBase64Encoded`); any other valid JSON is the body of a 200 `application/json` answer;
//! what API Gateway cannot use becomes its 500 `{"message":"Internal Server Error"}`.

use base64::Engine;
use serde_json::Value;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GatewayResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl GatewayResponse {
    fn message(status: u16, message: &str) -> Self {
        GatewayResponse {
            status,
            headers: vec![("content-type".into(), "application/json".into())],
            body: serde_json::json!({ "message": message }).to_string().into_bytes(),
        }
    }

    pub fn internal_server_error() -> Self {
        Self::message(500, "Internal Server Error")
    }

    pub fn not_found() -> Self {
        Self::message(404, "Not Found")
    }

    pub fn request_too_large() -> Self {
        Self::message(413, "Request Entity Too Large")
    }

    /// The integration did not answer within the HTTP API's 30 s limit.
    pub fn service_unavailable() -> Self {
        Self::message(503, "Service Unavailable")
    }
}

/// The response for a function's successful answer (its Invoke payload).
pub fn from_function_answer(payload: &[u8]) -> GatewayResponse {
    let Ok(answer) = serde_json::from_slice::<Value>(payload) else {
        return GatewayResponse::internal_server_error();
    };
    match answer.as_object() {
        Some(object) if object.contains_key("statusCode") => explicit_response(object),
        _ => inferred_response(&answer),
    }
}

/// "If your Lambda function returns valid JSON and doesn't return a statusCode", API Gateway
/// answers 200, `application/json`, with the answer as the body (a JSON string as its text).
fn inferred_response(answer: &Value) -> GatewayResponse {
    let body = match answer {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    GatewayResponse {
        status: 200,
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.into_bytes(),
    }
}

fn explicit_response(object: &serde_json::Map<String, Value>) -> GatewayResponse {
    let status = match object.get("statusCode").and_then(Value::as_u64) {
        Some(code @ 100..=599) => code as u16,
        _ => return GatewayResponse::internal_server_error(),
    };
    let mut headers = Vec::new();
    if let Some(map) = object.get("headers").and_then(Value::as_object) {
        for (name, value) in map {
            match scalar_text(value) {
                Some(text) => headers.push((name.to_ascii_lowercase(), text)),
                None => return GatewayResponse::internal_server_error(),
            }
        }
    }
    if let Some(cookies) = object.get("cookies").and_then(Value::as_array) {
        headers.extend(cookies.iter().filter_map(Value::as_str).map(|c| ("set-cookie".to_owned(), c.to_owned())));
    }
    let text = match object.get("body") {
        None | Some(Value::Null) => String::new(),
        Some(value) => match scalar_text(value) {
            Some(text) => text,
            None => value.to_string(),
        },
    };
    let body = if object.get("isBase64Encoded").and_then(Value::as_bool).unwrap_or(false) {
        match base64::engine::general_purpose::STANDARD.decode(text.as_bytes()) {
            Ok(bytes) => bytes,
            Err(_) => return GatewayResponse::internal_server_error(),
        }
    } else {
        text.into_bytes()
    };
    GatewayResponse { status, headers, body }
}

fn scalar_text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Bool(flag) => Some(flag.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn answer(value: Value) -> GatewayResponse {
        from_function_answer(value.to_string().as_bytes())
    }

    fn header<'r>(response: &'r GatewayResponse, name: &str) -> Vec<&'r str> {
        response.headers.iter().filter(|(n, _)| n == name).map(|(_, v)| v.as_str()).collect()
    }

    #[test]
    fn a_response_object_gives_status_headers_cookies_and_body() {
        let response = answer(json!({"statusCode": 202, "headers": {"Content-Type": "application/json", "X-N": 3},
            "cookies": ["a=1; Path=/", "b=2"], "body": "{\"friday\":false}"}));
        assert_eq!(response.status, 202);
        assert_eq!(header(&response, "content-type"), ["application/json"]);
        assert_eq!(header(&response, "x-n"), ["3"]);
        assert_eq!(header(&response, "set-cookie"), ["a=1; Path=/", "b=2"]);
        assert_eq!(response.body, b"{\"friday\":false}");
    }

    #[test]
    fn base64_bodies_are_decoded() {
        let response = answer(json!({"statusCode": 200, "body": "AJ//", "isBase64Encoded": true}));
        assert_eq!(response.body, [0, 159, 255]);
        let broken = answer(json!({"statusCode": 200, "body": "not base64!", "isBase64Encoded": true}));
        assert_eq!(broken.status, 500);
    }

    #[test]
    fn payload_2_0_infers_200_json_when_there_is_no_status_code() {
        let object = answer(json!({"friday": true}));
        assert_eq!((object.status, object.body.as_slice()), (200, b"{\"friday\":true}".as_slice()));
        assert_eq!(header(&object, "content-type"), ["application/json"]);
        let text = answer(json!("Hello from Lambda!"));
        assert_eq!(text.body, b"Hello from Lambda!");
        assert_eq!(answer(json!(null)).status, 200);
    }

    #[test]
    fn multi_value_headers_are_ignored_as_payload_2_0_has_none() {
        let response = answer(json!({"statusCode": 200, "multiValueHeaders": {"x-a": ["1", "2"]}}));
        assert!(header(&response, "x-a").is_empty());
        assert!(response.body.is_empty());
    }

    #[test]
    fn unusable_answers_are_api_gateways_internal_server_error() {
        for bad in [
            &b"not json"[..],
            br#"{"statusCode": "200"}"#,
            br#"{"statusCode": 99}"#,
            br#"{"statusCode": 200, "headers": {"a": {}}}"#,
        ] {
            let response = from_function_answer(bad);
            assert_eq!(response.status, 500, "{}", String::from_utf8_lossy(bad));
            assert_eq!(response.body, br#"{"message":"Internal Server Error"}"#);
        }
    }

    #[test]
    fn gateway_answers_have_api_gateways_messages() {
        assert_eq!(GatewayResponse::not_found().body, br#"{"message":"Not Found"}"#);
        assert_eq!(GatewayResponse::request_too_large().status, 413);
        assert_eq!(GatewayResponse::service_unavailable().status, 503);
    }
}
