//! The upload events `ingest-starter` accepts, read tolerantly: only the fields it needs,
//! so an S3-compatible store, a test tool or a hand-written event that leaves out
//! `userIdentity`, `requestParameters` or `responseElements` is still understood.
//!
//! Two shapes: S3's own notification (`{"Records": [...]}`, keys form-urlencoded) and
//! EventBridge's "Object Created" event from `aws.s3` (one object, key as stored).

use serde::Deserialize;
use serde_json::Value;

use crate::keys::decode_event_key;

/// One uploaded object, as the starter needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// `ObjectCreated:Put`, ... (EventBridge's reason is mapped to the same names).
    pub event_name: String,
    pub bucket: String,
    /// The decoded key; `None` when the event's key does not decode to UTF-8.
    pub key: Option<String>,
    /// The key as the event gave it.
    pub raw_key: String,
    pub size: u64,
    pub e_tag: Option<String>,
    pub version_id: Option<String>,
    pub sequencer: Option<String>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum EventError {
    #[error("the event is neither an S3 notification (Records) nor an EventBridge S3 event (detail-type, detail)")]
    UnknownShape,
    #[error("{0}")]
    Field(String),
}

#[derive(Deserialize)]
struct Notification {
    #[serde(rename = "Records")]
    records: Vec<NotificationRecord>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NotificationRecord {
    #[serde(default)]
    event_name: String,
    s3: NotificationEntity,
}

#[derive(Deserialize)]
struct NotificationEntity {
    bucket: Named,
    object: NotificationObject,
}

#[derive(Deserialize)]
struct Named {
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NotificationObject {
    key: String,
    #[serde(default, deserialize_with = "size_of")]
    size: u64,
    #[serde(default)]
    e_tag: Option<String>,
    #[serde(default)]
    version_id: Option<String>,
    #[serde(default)]
    sequencer: Option<String>,
}

#[derive(Deserialize)]
struct BridgeEvent {
    #[serde(rename = "detail-type")]
    detail_type: String,
    detail: BridgeDetail,
}

#[derive(Deserialize)]
struct BridgeDetail {
    bucket: Named,
    object: BridgeObject,
    #[serde(default)]
    reason: Option<String>,
}

#[derive(Deserialize)]
struct BridgeObject {
    key: String,
    #[serde(default, deserialize_with = "size_of")]
    size: u64,
    #[serde(default)]
    etag: Option<String>,
    #[serde(default, rename = "version-id")]
    version_id: Option<String>,
    #[serde(default)]
    sequencer: Option<String>,
}

/// Sizes arrive as numbers, and from some tools as numeric text.
fn size_of<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    match Option::<Value>::deserialize(d)? {
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| serde::de::Error::custom("size must be a whole number")),
        Some(Value::String(s)) => s.trim().parse().map_err(|_| serde::de::Error::custom("size must be a whole number")),
        _ => Ok(0),
    }
}

/// The uploads an event announces, in its order.
pub fn uploads(event: &Value) -> Result<Vec<Upload>, EventError> {
    let field = |e: serde_json::Error| EventError::Field(e.to_string());
    if event.get("Records").is_some() {
        let notification: Notification = serde_json::from_value(event.clone()).map_err(field)?;
        return Ok(notification
            .records
            .into_iter()
            .map(|r| Upload {
                event_name: r.event_name,
                bucket: r.s3.bucket.name,
                key: decode_event_key(&r.s3.object.key),
                raw_key: r.s3.object.key,
                size: r.s3.object.size,
                e_tag: r.s3.object.e_tag,
                version_id: r.s3.object.version_id,
                sequencer: r.s3.object.sequencer,
            })
            .collect());
    }
    if event.get("detail-type").is_some() && event.get("detail").is_some() {
        let bridge: BridgeEvent = serde_json::from_value(event.clone()).map_err(field)?;
        let event_name = match (bridge.detail_type.as_str(), bridge.detail.reason.as_deref()) {
            ("Object Created", Some(reason)) => format!("ObjectCreated:{}", bridge_reason(reason)),
            ("Object Created", None) => "ObjectCreated:Put".to_owned(),
            (other, _) => other.to_owned(),
        };
        let object = bridge.detail.object;
        return Ok(vec![Upload {
            event_name,
            bucket: bridge.detail.bucket.name,
            key: Some(object.key.clone()),
            raw_key: object.key,
            size: object.size,
            e_tag: object.etag,
            version_id: object.version_id,
            sequencer: object.sequencer,
        }]);
    }
    Err(EventError::UnknownShape)
}

/// EventBridge's `reason` (`PutObject`, `CopyObject`, `CompleteMultipartUpload`) in the
/// notification's event-name form.
fn bridge_reason(reason: &str) -> &str {
    match reason {
        "PutObject" => "Put",
        "CopyObject" => "Copy",
        "POST Object" | "PostObject" => "Post",
        "CompleteMultipartUpload" => "CompleteMultipartUpload",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_minimal_notification_record_is_enough() {
        // No userIdentity, requestParameters, responseElements, eventTime: S3-compatible
        // stores and hand-written events leave them out.
        let event = json!({"Records": [{"eventName": "ObjectCreated:Put",
            "s3": {"bucket": {"name": "b"}, "object": {"key": "incoming/a+b.csv", "size": "12"}}}]});
        let uploads = uploads(&event).expect("understood");
        assert_eq!(uploads[0].key.as_deref(), Some("incoming/a b.csv"));
        assert_eq!(uploads[0].size, 12);
        assert_eq!(uploads[0].e_tag, None);
    }

    #[test]
    fn eventbridge_object_created_events_are_understood() {
        let event = json!({"version": "0", "detail-type": "Object Created", "source": "aws.s3",
            "detail": {"version": "0", "bucket": {"name": "b"},
                "object": {"key": "incoming/a b.csv", "size": 5, "etag": "e1", "version-id": "v1", "sequencer": "0A"},
                "reason": "CompleteMultipartUpload"}});
        let upload = &uploads(&event).expect("understood")[0];
        assert_eq!(upload.event_name, "ObjectCreated:CompleteMultipartUpload");
        assert_eq!(upload.key.as_deref(), Some("incoming/a b.csv"), "EventBridge keys are not form-encoded");
        assert_eq!((upload.e_tag.as_deref(), upload.version_id.as_deref()), (Some("e1"), Some("v1")));
    }

    #[test]
    fn other_shapes_are_named_errors() {
        assert_eq!(uploads(&json!({"hello": 1})), Err(EventError::UnknownShape));
        assert!(matches!(uploads(&json!({"Records": [{"s3": {}}]})), Err(EventError::Field(_))));
    }
}
