//! The API Gateway HTTP API payload format 2.0 event, built from a request as API Gateway
//! builds it: header names lower-cased and repeated headers comma-joined, `cookie` headers
//! moved to `cookies`, repeated query parameters comma-joined in `queryStringParameters`,
//! absent fields left out, and a body that is not text base64-encoded.

use std::collections::BTreeMap;

use base64::Engine;
use chrono::{DateTime, Utc};
use percent_encoding::percent_decode_str;
use serde_json::{Map, Value, json};

/// What the gateway received, before any interpretation.
#[derive(Debug, Clone)]
pub struct IncomingRequest {
    pub method: String,
    /// The path as sent, still percent-encoded.
    pub raw_path: String,
    /// The query string as sent, without `?`.
    pub raw_query: String,
    /// Header names and values in the order received, names in any case.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    pub source_ip: String,
    pub protocol: String,
}

/// The gateway's own facts about the request.
#[derive(Debug, Clone)]
pub struct RequestContext<'a> {
    pub route_key: &'a str,
    pub path_parameters: &'a BTreeMap<String, String>,
    pub request_id: &'a str,
    pub api_id: &'a str,
    pub account_id: &'a str,
    pub received_at: DateTime<Utc>,
}

/// The payload 2.0 event for `request` routed as `context` says.
pub fn http_api_event(request: &IncomingRequest, context: &RequestContext<'_>) -> Value {
    let mut headers: Map<String, Value> = Map::new();
    let mut cookies: Vec<Value> = Vec::new();
    for (name, value) in &request.headers {
        let name = name.to_ascii_lowercase();
        if name == "cookie" {
            cookies.extend(value.split(';').map(str::trim).filter(|c| !c.is_empty()).map(|c| json!(c)));
            continue;
        }
        join_into(&mut headers, name, value);
    }
    let domain_name = header(&request.headers, "host").unwrap_or("localhost").to_owned();
    let domain_prefix = domain_name.split(['.', ':']).next().unwrap_or_default().to_owned();
    let user_agent = header(&request.headers, "user-agent").unwrap_or_default().to_owned();
    headers.entry("x-forwarded-for").or_insert_with(|| json!(request.source_ip));
    headers.entry("x-forwarded-proto").or_insert_with(|| json!("http"));

    let mut event = Map::new();
    event.insert("version".into(), json!("2.0"));
    event.insert("routeKey".into(), json!(context.route_key));
    event.insert("rawPath".into(), json!(request.raw_path));
    event.insert("rawQueryString".into(), json!(request.raw_query));
    if !cookies.is_empty() {
        event.insert("cookies".into(), Value::Array(cookies));
    }
    event.insert("headers".into(), Value::Object(headers));
    if let Some(parameters) = query_string_parameters(&request.raw_query) {
        event.insert("queryStringParameters".into(), Value::Object(parameters));
    }
    if !context.path_parameters.is_empty() {
        event.insert("pathParameters".into(), json!(context.path_parameters));
    }
    event.insert(
        "requestContext".into(),
        json!({
            "accountId": context.account_id,
            "apiId": context.api_id,
            "domainName": domain_name,
            "domainPrefix": domain_prefix,
            "http": {
                "method": request.method,
                "path": request.raw_path,
                "protocol": request.protocol,
                "sourceIp": request.source_ip,
                "userAgent": user_agent,
            },
            "requestId": context.request_id,
            "routeKey": context.route_key,
            "stage": "$default",
            "time": context.received_at.format("%d/%b/%Y:%H:%M:%S %z").to_string(),
            "timeEpoch": context.received_at.timestamp_millis(),
        }),
    );
    if !request.body.is_empty() {
        let content_type = header(&request.headers, "content-type").unwrap_or_default();
        let text = is_text(content_type).then(|| std::str::from_utf8(&request.body).ok()).flatten();
        match text {
            Some(text) => {
                event.insert("body".into(), json!(text));
                event.insert("isBase64Encoded".into(), json!(false));
            }
            None => {
                event.insert("body".into(), json!(base64::engine::general_purpose::STANDARD.encode(&request.body)));
                event.insert("isBase64Encoded".into(), json!(true));
            }
        }
    } else {
        event.insert("isBase64Encoded".into(), json!(false));
    }
    Value::Object(event)
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
}

fn join_into(map: &mut Map<String, Value>, name: String, value: &str) {
    match map.get_mut(&name) {
        Some(Value::String(existing)) => {
            existing.push(',');
            existing.push_str(value);
        }
        _ => {
            map.insert(name, json!(value));
        }
    }
}

/// Decoded names and values (`+` is a space, then percent-decoding), repeats comma-joined;
/// `None` when there is no query, as API Gateway leaves the field out.
fn query_string_parameters(raw_query: &str) -> Option<Map<String, Value>> {
    let mut parameters = Map::new();
    for pair in raw_query.split('&').filter(|pair| !pair.is_empty()) {
        let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
        join_into(&mut parameters, form_decode(name), &form_decode(value));
    }
    (!parameters.is_empty()).then_some(parameters)
}

fn form_decode(text: &str) -> String {
    let spaced = text.replace('+', " ");
    percent_decode_str(&spaced).decode_utf8_lossy().into_owned()
}

/// Content types API Gateway passes as text; any other body reaches the function base64-encoded.
fn is_text(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence.starts_with("text/")
        || essence.ends_with("+json")
        || essence.ends_with("+xml")
        || matches!(essence.as_str(), "application/json" | "application/xml" | "application/javascript")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn request(method: &str, path: &str, query: &str, headers: &[(&str, &str)], body: &[u8]) -> IncomingRequest {
        IncomingRequest {
            method: method.into(),
            raw_path: path.into(),
            raw_query: query.into(),
            headers: headers.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect(),
            body: body.to_vec(),
            source_ip: "127.0.0.1".into(),
            protocol: "HTTP/1.1".into(),
        }
    }

    fn event_for(request: &IncomingRequest) -> Value {
        let parameters = BTreeMap::new();
        let at = Utc.with_ymd_and_hms(2020, 3, 12, 19, 3, 58).single().expect("instant");
        http_api_event(
            request,
            &RequestContext {
                route_key: "GET /friday",
                path_parameters: &parameters,
                request_id: "req-1",
                api_id: "localapi",
                account_id: "123456789012",
                received_at: at,
            },
        )
    }

    #[test]
    fn payload_2_0_event_has_api_gateways_fields() {
        let incoming = request(
            "GET",
            "/friday",
            "userId=ana%20b&x=1&x=2&flag",
            &[("Host", "127.0.0.1:3000"), ("User-Agent", "curl/8"), ("X-Dup", "a"), ("x-dup", "b")],
            b"",
        );
        let event = event_for(&incoming);
        assert_eq!(event["version"], "2.0");
        assert_eq!(event["routeKey"], "GET /friday");
        assert_eq!(event["rawPath"], "/friday");
        assert_eq!(event["rawQueryString"], "userId=ana%20b&x=1&x=2&flag");
        assert_eq!(event["queryStringParameters"], json!({"userId": "ana b", "x": "1,2", "flag": ""}));
        assert_eq!(event["headers"]["host"], "127.0.0.1:3000");
        assert_eq!(event["headers"]["user-agent"], "curl/8");
        assert_eq!(event["headers"]["x-dup"], "a,b", "repeated headers are comma-joined");
        assert!(event["headers"].get("Host").is_none(), "header names are lower-cased");
        let context = &event["requestContext"];
        assert_eq!(
            context["http"],
            json!({"method": "GET", "path": "/friday", "protocol": "HTTP/1.1",
            "sourceIp": "127.0.0.1", "userAgent": "curl/8"})
        );
        assert_eq!(context["stage"], "$default");
        assert_eq!(context["routeKey"], "GET /friday");
        assert_eq!(context["accountId"], "123456789012");
        assert_eq!(context["apiId"], "localapi");
        assert_eq!(context["requestId"], "req-1");
        assert_eq!(context["domainName"], "127.0.0.1:3000");
        assert_eq!(context["time"], "12/Mar/2020:19:03:58 +0000");
        assert_eq!(context["timeEpoch"], 1_584_039_838_000_i64);
        assert_eq!(event["isBase64Encoded"], false);
        assert!(event.get("body").is_none() && event.get("cookies").is_none() && event.get("pathParameters").is_none());
    }

    #[test]
    fn cookies_leave_the_headers_for_the_cookies_field() {
        let event = event_for(&request("GET", "/", "", &[("Cookie", "a=1; b=2"), ("cookie", "c=3")], b""));
        assert_eq!(event["cookies"], json!(["a=1", "b=2", "c=3"]));
        assert!(event["headers"].get("cookie").is_none());
    }

    #[test]
    fn no_query_string_leaves_query_string_parameters_out() {
        let event = event_for(&request("GET", "/friday", "", &[], b""));
        assert_eq!(event["rawQueryString"], "");
        assert!(event.get("queryStringParameters").is_none());
    }

    #[test]
    fn text_bodies_pass_as_text_and_others_base64_encoded() {
        let json_body =
            event_for(&request("POST", "/r", "", &[("Content-Type", "application/json; charset=utf-8")], b"{\"a\":1}"));
        assert_eq!(json_body["body"], "{\"a\":1}");
        assert_eq!(json_body["isBase64Encoded"], false);
        let binary =
            event_for(&request("POST", "/r", "", &[("Content-Type", "application/octet-stream")], &[0, 159, 255]));
        assert_eq!(binary["body"], "AJ//");
        assert_eq!(binary["isBase64Encoded"], true);
        let form =
            event_for(&request("POST", "/r", "", &[("Content-Type", "application/x-www-form-urlencoded")], b"a=1"));
        assert_eq!(form["body"], "YT0x", "HTTP APIs base64-encode form posts");
        assert_eq!(form["isBase64Encoded"], true);
        let untyped = event_for(&request("POST", "/r", "", &[], b"hi"));
        assert_eq!(untyped["isBase64Encoded"], true);
    }
}
