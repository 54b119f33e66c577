//! Ports: the small traits through which handlers reach the outside world. Handlers are
//! generic over them; [`aws`] holds the AWS adapters, [`memory`] in-memory twins for
//! unit tests.

#[cfg(feature = "aws")]
pub mod aws;
pub mod memory;
pub mod transaction;

use std::collections::BTreeMap;
use std::future::Future;

use crate::error::PortError;

pub type PortResult<T> = Result<T, PortError>;

// ---------------------------------------------------------------- objects (S3)

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    pub size: u64,
    /// The ETag as S3 gives it (with its quotes).
    pub e_tag: Option<String>,
    /// The version id in a versioned bucket.
    pub version_id: Option<String>,
}

/// The stored object an operation must act on: the upload an execution was started for,
/// not whatever the key holds by the time the operation runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectPin {
    pub version_id: Option<String>,
    pub e_tag: Option<String>,
}

impl ObjectPin {
    pub fn new(version_id: Option<&str>, e_tag: Option<&str>) -> Self {
        Self {
            version_id: version_id.filter(|v| is_real_version(v)).map(str::to_owned),
            // S3 events carry the ETag bare; `If-Match` wants it quoted, as S3 answers it.
            e_tag: e_tag.filter(|e| !unquote(e).is_empty()).map(|e| format!("\"{}\"", unquote(e))),
        }
    }

    /// A real version id: S3 writes `null` (or nothing) for an unversioned bucket, and
    /// every upload of a key there shares that "version".
    pub fn version(&self) -> Option<&str> {
        self.version_id.as_deref().filter(|v| is_real_version(v))
    }

    /// Whether `meta` is the pinned object (an ETag compared without its quotes).
    pub fn matches(&self, meta: &ObjectMeta) -> bool {
        let version_ok = match (self.version(), meta.version_id.as_deref()) {
            (Some(want), Some(have)) => want == have,
            _ => true,
        };
        let e_tag_ok = match (self.e_tag.as_deref(), meta.e_tag.as_deref()) {
            (Some(want), Some(have)) => unquote(want) == unquote(have),
            _ => true,
        };
        version_ok && e_tag_ok
    }
}

pub fn is_real_version(version_id: &str) -> bool {
    !version_id.trim().is_empty() && version_id != "null"
}

pub fn unquote(e_tag: &str) -> &str {
    e_tag.trim().trim_matches('"')
}

/// A streamed object body: read it incrementally, never whole.
pub type ObjectReader = std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send>>;

/// S3's smallest part of a multipart upload (all but the last part).
pub const MIN_PART_SIZE: usize = 5 * 1024 * 1024;
/// S3's most parts in one multipart upload.
pub const MAX_PARTS: u64 = 10_000;
/// CopyObject's largest source: bigger objects need a multipart copy.
pub const MAX_COPY_OBJECT: u64 = 5 * 1024 * 1024 * 1024;

pub trait ObjectStore: Send + Sync {
    /// Opens the pinned object for streaming: `NotFound` when it does not exist,
    /// `ConditionFailed` when the key now holds another object than the pinned one.
    fn open(&self, bucket: &str, key: &str, pin: &ObjectPin) -> impl Future<Output = PortResult<ObjectReader>> + Send;
    /// The object's (or the given version's) size, ETag and version, `None` when absent.
    fn head(
        &self,
        bucket: &str,
        key: &str,
        version_id: Option<&str>,
    ) -> impl Future<Output = PortResult<Option<ObjectMeta>>> + Send;
    fn put(
        &self,
        bucket: &str,
        key: &str,
        body: Vec<u8>,
        content_type: &str,
    ) -> impl Future<Output = PortResult<()>> + Send;
    /// Server-side copy of the pinned source of `size` bytes (a multipart copy when it is
    /// too big for CopyObject); `NotFound` when the source does not exist,
    /// `ConditionFailed` when it is no longer the pinned object.
    fn copy(
        &self,
        source_bucket: &str,
        source_key: &str,
        pin: &ObjectPin,
        size: u64,
        target_bucket: &str,
        target_key: &str,
    ) -> impl Future<Output = PortResult<()>> + Send;
    /// Deletes the object, or only the given version of it. Deleting an object that does
    /// not exist succeeds (as in S3).
    fn delete(&self, bucket: &str, key: &str, version_id: Option<&str>) -> impl Future<Output = PortResult<()>> + Send;
    /// Starts a multipart upload; returns its upload id.
    fn start_upload(
        &self,
        bucket: &str,
        key: &str,
        content_type: &str,
    ) -> impl Future<Output = PortResult<String>> + Send;
    /// Uploads part `number` (1-based); returns its ETag. Every part but the last must
    /// hold at least [`MIN_PART_SIZE`] bytes, or completing the upload fails.
    fn upload_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        number: i32,
        body: Vec<u8>,
    ) -> impl Future<Output = PortResult<String>> + Send;
    fn complete_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[(i32, String)],
    ) -> impl Future<Output = PortResult<()>> + Send;
    fn abort_upload(&self, bucket: &str, key: &str, upload_id: &str) -> impl Future<Output = PortResult<()>> + Send;
}

/// The byte ranges (inclusive ends, as HTTP ranges) of a multipart copy of `size` bytes
/// in parts of `preferred` bytes, grown when needed to stay within [`MAX_PARTS`].
pub fn copy_ranges(size: u64, preferred: u64) -> Vec<(u64, u64)> {
    let part = preferred.max(MIN_PART_SIZE as u64).max(size.div_ceil(MAX_PARTS));
    (0..size.div_ceil(part)).map(|i| (i * part, ((i + 1) * part).min(size) - 1)).collect()
}

// ---------------------------------------------------------------- items (DynamoDB)

/// An attribute value, free of SDK types so domain code and tests need no SDK.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum AttrValue {
    S(String),
    /// Numbers travel as their decimal text, as in DynamoDB.
    N(String),
    Bool(bool),
    Null,
    L(Vec<AttrValue>),
    M(BTreeMap<String, AttrValue>),
}

impl AttrValue {
    pub fn as_str(&self) -> Option<&str> {
        match self {
            AttrValue::S(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_number(&self) -> Option<&str> {
        match self {
            AttrValue::N(n) => Some(n),
            _ => None,
        }
    }

    pub fn number(n: impl ToString) -> Self {
        AttrValue::N(n.to_string())
    }

    pub fn string(s: impl Into<String>) -> Self {
        AttrValue::S(s.into())
    }
}

pub type Item = BTreeMap<String, AttrValue>;

/// A condition on the item a write targets (DynamoDB condition expressions, in the few
/// shapes the workflows need).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Condition {
    /// The item does not exist yet (`attribute_not_exists(<key attribute>)`).
    NotExists { attr: String },
    /// The item exists.
    Exists { attr: String },
    /// The attribute equals the value.
    Equals { attr: String, value: AttrValue },
    /// The numeric attribute is at least `min`.
    AtLeast { attr: String, min: i64 },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOp {
    Put {
        table: String,
        item: Item,
        conditions: Vec<Condition>,
    },
    /// Sets the `set` attributes and adds `add` deltas to numeric attributes.
    Update {
        table: String,
        key: Item,
        set: Item,
        add: BTreeMap<String, i64>,
        conditions: Vec<Condition>,
    },
    Delete {
        table: String,
        key: Item,
    },
}

/// The most items one `BatchWriteItem` call may carry (AWS rejects more).
pub const MAX_BATCH_WRITE: usize = 25;

pub trait ItemStore: Send + Sync {
    fn get(&self, table: &str, key: Item) -> impl Future<Output = PortResult<Option<Item>>> + Send;
    /// One conditional write; a false condition is `ConditionFailed`.
    fn write(&self, op: WriteOp) -> impl Future<Output = PortResult<()>> + Send;
    /// All writes or none; any false condition is `ConditionFailed` naming its index
    /// ([`transaction::failed_write`] reads it back); a cancellation for a conflict with
    /// another transaction is `Transient`.
    fn transact(&self, ops: Vec<WriteOp>) -> impl Future<Output = PortResult<()>> + Send;
    /// One `BatchWriteItem` of at most [`MAX_BATCH_WRITE`] puts; returns the items the
    /// service left unprocessed, for the caller to retry.
    fn batch_put(&self, table: &str, items: &[Item]) -> impl Future<Output = PortResult<Vec<Item>>> + Send;
}

// ---------------------------------------------------------------- e-mail (SES v2)

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    pub from: String,
    pub to: Vec<String>,
    pub subject: String,
    pub text: String,
}

pub trait EmailSender: Send + Sync {
    /// Sends a plain-text message; returns the message id.
    fn send(&self, email: &Email) -> impl Future<Output = PortResult<String>> + Send;
}

// ---------------------------------------------------------------- executions (Step Functions)

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartOutcome {
    Started {
        execution_arn: String,
    },
    /// An execution of that name exists already (same upload, same week, ...).
    AlreadyStarted {
        execution_arn: String,
    },
}

impl StartOutcome {
    pub fn execution_arn(&self) -> &str {
        match self {
            StartOutcome::Started { execution_arn } | StartOutcome::AlreadyStarted { execution_arn } => execution_arn,
        }
    }
}

pub trait WorkflowStarter: Send + Sync {
    fn start(
        &self,
        state_machine_arn: &str,
        name: &str,
        input: &serde_json::Value,
    ) -> impl Future<Output = PortResult<StartOutcome>> + Send;
}

/// The ARN of execution `name` of a state machine, as Step Functions forms it.
pub fn execution_arn(state_machine_arn: &str, name: &str) -> String {
    format!("{}:{name}", state_machine_arn.replacen(":stateMachine:", ":execution:", 1))
}

/// The longest execution name Step Functions accepts.
pub const MAX_EXECUTION_NAME: usize = 80;

/// An execution name for `raw`: 1-80 characters of `[A-Za-z0-9_-]` (AWS allows a little
/// more, but these survive every console and URL). Injective: when `raw` already fits it
/// is kept as it is; when a character had to be replaced or the text cut, a hash of the
/// raw value is appended, so `a.b`, `a_b` and `a@b` get three different names.
pub fn execution_name(raw: &str) -> String {
    bounded_execution_name(raw, MAX_EXECUTION_NAME)
}

/// [`execution_name`] within `max` characters (at least 19), for names that get a suffix.
pub fn bounded_execution_name(raw: &str, max: usize) -> String {
    let max = max.clamp(HASH_CHARS + 3, MAX_EXECUTION_NAME);
    let allowed = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
    // Kept names never hold `--` and hashed ones always do, so the two kinds never meet;
    // two hashed names meet only if 64 bits of SHA-256 do.
    if !raw.is_empty() && raw.len() <= max && raw.chars().all(allowed) && !raw.contains("--") {
        return raw.to_owned();
    }
    let cleaned: String = raw.chars().map(|c| if allowed(c) { c } else { '_' }).collect();
    let room = max - HASH_CHARS - 2;
    let stem: String = cleaned.chars().take(room).collect();
    format!("{}--{}", stem.trim_end_matches('-'), short_hash(raw))
}

const HASH_CHARS: usize = 16;

/// The first 64 bits of the raw value's SHA-256, as hex.
pub fn short_hash(raw: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(raw.as_bytes()).iter().take(HASH_CHARS / 2).map(|b| format!("{b:02x}")).collect()
}

// ---------------------------------------------------------------- push (Pinpoint)

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushChannel {
    Apns,
    Gcm,
}

impl PushChannel {
    pub fn as_str(self) -> &'static str {
        match self {
            PushChannel::Apns => "APNS",
            PushChannel::Gcm => "GCM",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "APNS" => Some(PushChannel::Apns),
            "GCM" => Some(PushChannel::Gcm),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushTarget {
    pub token: String,
    pub channel: PushChannel,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushMessage {
    pub title: String,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushDelivery {
    pub token: String,
    pub delivered: bool,
    /// Pinpoint's delivery status (`SUCCESSFUL`, `PERMANENT_FAILURE`, ...).
    pub status: String,
    pub message: Option<String>,
}

pub trait PushSender: Send + Sync {
    /// One `SendMessages` call with `Addresses`: a result per token.
    fn send(
        &self,
        app_id: &str,
        targets: &[PushTarget],
        message: &PushMessage,
    ) -> impl Future<Output = PortResult<Vec<PushDelivery>>> + Send;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multipart_copies_cover_the_object_in_at_most_10000_parts() {
        assert_eq!(copy_ranges(12 * 1024 * 1024, 5 * 1024 * 1024).len(), 3);
        let ranges = copy_ranges(12 * 1024 * 1024, 1);
        assert_eq!(ranges[0], (0, MIN_PART_SIZE as u64 - 1), "parts are at least 5 MiB");
        assert_eq!(ranges.last().map(|r| r.1), Some(12 * 1024 * 1024 - 1));
        let five_tib = 5u64 << 40;
        let ranges = copy_ranges(five_tib, 512 << 20);
        assert!(ranges.len() as u64 <= MAX_PARTS);
        assert!(ranges.windows(2).all(|w| w[0].1 + 1 == w[1].0), "contiguous");
        assert_eq!(ranges.last().map(|r| r.1), Some(five_tib - 1));
    }

    #[test]
    fn null_and_empty_versions_pin_nothing() {
        assert_eq!(ObjectPin::new(Some("null"), None).version(), None);
        assert_eq!(ObjectPin::new(Some(""), None).version(), None);
        assert_eq!(ObjectPin::new(Some("v1"), None).version(), Some("v1"));
        let meta = ObjectMeta { size: 1, e_tag: Some("\"abc\"".into()), version_id: None };
        assert!(ObjectPin::new(None, Some("abc")).matches(&meta), "quotes do not matter");
        assert!(!ObjectPin::new(None, Some("\"abd\"")).matches(&meta));
    }

    #[test]
    fn execution_arn_follows_step_functions() {
        assert_eq!(
            execution_arn("arn:aws:states:us-east-1:123456789012:stateMachine:csv-ingest", "run-1"),
            "arn:aws:states:us-east-1:123456789012:execution:csv-ingest:run-1"
        );
    }

    #[test]
    fn execution_names_are_safe_and_bounded() {
        let valid = |n: &str| n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        for raw in ["a b/c.csv", &"x".repeat(100), "é", "", "a--b.c", "-", "ana"] {
            let name = execution_name(raw);
            assert!(!name.is_empty() && name.len() <= 80 && valid(&name), "{raw:?} -> {name:?}");
        }
        assert_eq!(execution_name("ana-1_B"), "ana-1_B", "a name that fits is kept");
        assert_eq!(bounded_execution_name("ana", 40), "ana");
        assert!(bounded_execution_name(&"y".repeat(60), 40).len() <= 40);
    }

    #[test]
    fn execution_names_do_not_collide_for_distinct_users() {
        let raws = ["a.b", "a_b", "a@b", "a b", "a--b", "a-b", "a_b--x", &"x".repeat(80), &"x".repeat(81)];
        for max in [80, 40, 19] {
            let names: std::collections::HashSet<String> =
                raws.iter().map(|r| bounded_execution_name(r, max)).collect();
            assert_eq!(names.len(), raws.len(), "within {max}: {names:?}");
        }
        assert_eq!(execution_name("a.b"), execution_name("a.b"), "stable");
    }

    #[test]
    fn a_kept_name_never_equals_a_hashed_one() {
        // The hashed form of "a.b" written out literally is a valid name of its own:
        // it must be hashed again rather than kept, or the two would share an execution.
        let hashed = execution_name("a.b");
        assert!(hashed.contains("--"));
        assert_ne!(execution_name(&hashed), hashed);
    }
}
