//! In-memory twins of the ports, for handler unit tests. They keep AWS's semantics
//! where handlers depend on them (conditional writes, idempotent starts, 25-item batches)
//! and can be told to fail, so error paths are tested too.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use super::*;

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A test that panicked while holding the lock already failed; keep going.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Queued failures: each call of a port takes the next one, if any.
#[derive(Default)]
pub struct Failures(Mutex<VecDeque<PortError>>);

impl Failures {
    pub fn push(&self, err: PortError) {
        lock(&self.0).push_back(err);
    }

    fn take(&self) -> PortResult<()> {
        match lock(&self.0).pop_front() {
            Some(err) => Err(err),
            None => Ok(()),
        }
    }
}

// ---------------------------------------------------------------- objects

#[derive(Debug, Clone)]
struct StoredObject {
    body: Vec<u8>,
    e_tag: String,
    version_id: Option<String>,
}

impl StoredObject {
    fn meta(&self) -> ObjectMeta {
        ObjectMeta {
            size: self.body.len() as u64,
            e_tag: Some(self.e_tag.clone()),
            version_id: self.version_id.clone(),
        }
    }
}

#[derive(Debug)]
struct PendingUpload {
    bucket: String,
    key: String,
    parts: BTreeMap<i32, Vec<u8>>,
}

#[derive(Default)]
struct ObjectState {
    /// Every version of every key, oldest first; an unversioned bucket keeps one.
    objects: BTreeMap<(String, String), Vec<StoredObject>>,
    versioned: std::collections::HashSet<String>,
    uploads: HashMap<String, PendingUpload>,
    next_id: u64,
}

/// S3 in memory: versions (per bucket), ETags, conditional reads and copies, multipart
/// uploads with S3's part-size rule.
#[derive(Default)]
pub struct MemoryObjectStore {
    state: Mutex<ObjectState>,
    pub failures: Failures,
}

impl MemoryObjectStore {
    pub fn new() -> Self {
        Self::default()
    }

    /// Turns versioning on for `bucket`: every later put adds a version.
    pub fn enable_versioning(&self, bucket: &str) {
        lock(&self.state).versioned.insert(bucket.to_owned());
    }

    /// Stores a new object (or version) at `key`; returns its metadata.
    pub fn insert(&self, bucket: &str, key: &str, body: impl Into<Vec<u8>>) -> ObjectMeta {
        let body = body.into();
        let mut state = lock(&self.state);
        state.next_id += 1;
        let versioned = state.versioned.contains(bucket);
        let e_tag = format!("\"{}-{}\"", short_hash(&String::from_utf8_lossy(&body)), body.len());
        let stored = StoredObject { body, e_tag, version_id: versioned.then(|| format!("v{:08}", state.next_id)) };
        let meta = stored.meta();
        let versions = state.objects.entry((bucket.to_owned(), key.to_owned())).or_default();
        if !versioned {
            versions.clear();
        }
        versions.push(stored);
        meta
    }

    /// The current body at `key`.
    pub fn get(&self, bucket: &str, key: &str) -> Option<Vec<u8>> {
        self.current(bucket, key, None).map(|o| o.body)
    }

    /// The keys that hold an object in `bucket`.
    pub fn keys(&self, bucket: &str) -> Vec<String> {
        lock(&self.state)
            .objects
            .iter()
            .filter(|((b, _), versions)| b == bucket && !versions.is_empty())
            .map(|((_, k), _)| k.clone())
            .collect()
    }

    /// Every stored version of `key`, oldest first.
    pub fn versions(&self, bucket: &str, key: &str) -> Vec<ObjectMeta> {
        lock(&self.state)
            .objects
            .get(&(bucket.to_owned(), key.to_owned()))
            .map(|v| v.iter().map(StoredObject::meta).collect())
            .unwrap_or_default()
    }

    /// Multipart uploads started and neither completed nor aborted.
    pub fn pending_uploads(&self) -> usize {
        lock(&self.state).uploads.len()
    }

    fn current(&self, bucket: &str, key: &str, version_id: Option<&str>) -> Option<StoredObject> {
        let state = lock(&self.state);
        let versions = state.objects.get(&(bucket.to_owned(), key.to_owned()))?;
        match version_id.filter(|v| is_real_version(v)) {
            Some(id) => versions.iter().find(|o| o.version_id.as_deref() == Some(id)).cloned(),
            None => versions.last().cloned(),
        }
    }

    /// The pinned object, as S3 resolves a `VersionId` and an `If-Match` ETag.
    fn pinned(&self, bucket: &str, key: &str, pin: &ObjectPin) -> PortResult<StoredObject> {
        let object = self.current(bucket, key, pin.version()).ok_or_else(|| Self::not_found(bucket, key))?;
        if !pin.matches(&object.meta()) {
            return Err(PortError::ConditionFailed {
                service: "s3",
                message: format!("PreconditionFailed: {bucket}/{key} is no longer the pinned object"),
            });
        }
        Ok(object)
    }

    fn not_found(bucket: &str, key: &str) -> PortError {
        PortError::NotFound { service: "s3", message: format!("NoSuchKey: {bucket}/{key}") }
    }

    fn no_upload(upload_id: &str) -> PortError {
        PortError::Rejected {
            service: "s3",
            code: "NoSuchUpload".into(),
            message: format!("the upload {upload_id} does not exist"),
        }
    }
}

impl ObjectStore for MemoryObjectStore {
    async fn open(&self, bucket: &str, key: &str, pin: &ObjectPin) -> PortResult<ObjectReader> {
        self.failures.take()?;
        let object = self.pinned(bucket, key, pin)?;
        Ok(Box::pin(std::io::Cursor::new(object.body)))
    }

    async fn head(&self, bucket: &str, key: &str, version_id: Option<&str>) -> PortResult<Option<ObjectMeta>> {
        self.failures.take()?;
        Ok(self.current(bucket, key, version_id).map(|o| o.meta()))
    }

    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>, _content_type: &str) -> PortResult<()> {
        self.failures.take()?;
        self.insert(bucket, key, body);
        Ok(())
    }

    async fn copy(
        &self,
        source_bucket: &str,
        source_key: &str,
        pin: &ObjectPin,
        _size: u64,
        target_bucket: &str,
        target_key: &str,
    ) -> PortResult<()> {
        self.failures.take()?;
        let object = self.pinned(source_bucket, source_key, pin)?;
        self.insert(target_bucket, target_key, object.body);
        Ok(())
    }

    async fn delete(&self, bucket: &str, key: &str, version_id: Option<&str>) -> PortResult<()> {
        self.failures.take()?;
        let mut state = lock(&self.state);
        if let Some(versions) = state.objects.get_mut(&(bucket.to_owned(), key.to_owned())) {
            match version_id.filter(|v| is_real_version(v)) {
                Some(id) => versions.retain(|o| o.version_id.as_deref() != Some(id)),
                // S3 adds a delete marker in a versioned bucket: the key reads as absent,
                // which is what handlers see; the twin simply drops the versions.
                None => versions.clear(),
            }
        }
        Ok(())
    }

    async fn start_upload(&self, bucket: &str, key: &str, _content_type: &str) -> PortResult<String> {
        self.failures.take()?;
        let mut state = lock(&self.state);
        state.next_id += 1;
        let id = format!("upload-{}", state.next_id);
        state.uploads.insert(
            id.clone(),
            PendingUpload { bucket: bucket.to_owned(), key: key.to_owned(), parts: BTreeMap::new() },
        );
        Ok(id)
    }

    async fn upload_part(
        &self,
        _bucket: &str,
        _key: &str,
        upload_id: &str,
        number: i32,
        body: Vec<u8>,
    ) -> PortResult<String> {
        self.failures.take()?;
        if !(1..=MAX_PARTS as i32).contains(&number) {
            return Err(PortError::Rejected {
                service: "s3",
                code: "InvalidArgument".into(),
                message: format!("Part number must be an integer between 1 and 10000, inclusive (got {number})"),
            });
        }
        let mut state = lock(&self.state);
        let upload = state.uploads.get_mut(upload_id).ok_or_else(|| Self::no_upload(upload_id))?;
        let e_tag = format!("\"part-{number}-{}\"", body.len());
        upload.parts.insert(number, body);
        Ok(e_tag)
    }

    async fn complete_upload(
        &self,
        _bucket: &str,
        _key: &str,
        upload_id: &str,
        parts: &[(i32, String)],
    ) -> PortResult<()> {
        self.failures.take()?;
        let upload = {
            let mut state = lock(&self.state);
            let upload = state.uploads.get(upload_id).ok_or_else(|| Self::no_upload(upload_id))?;
            let numbers: Vec<i32> = parts.iter().map(|(n, _)| *n).collect();
            if numbers.is_empty() || numbers.windows(2).any(|w| w[0] >= w[1]) {
                return Err(PortError::Rejected {
                    service: "s3",
                    code: "InvalidPartOrder".into(),
                    message: "The list of parts was not in ascending order".into(),
                });
            }
            let mut sizes = Vec::with_capacity(numbers.len());
            for n in &numbers {
                let part = upload.parts.get(n).ok_or_else(|| PortError::Rejected {
                    service: "s3",
                    code: "InvalidPart".into(),
                    message: format!("part {n} was not uploaded"),
                })?;
                sizes.push(part.len());
            }
            if sizes[..sizes.len() - 1].iter().any(|&size| size < MIN_PART_SIZE) {
                return Err(PortError::Rejected {
                    service: "s3",
                    code: "EntityTooSmall".into(),
                    message: "Your proposed upload is smaller than the minimum allowed object size".into(),
                });
            }
            match state.uploads.remove(upload_id) {
                Some(upload) => (upload, numbers),
                None => return Err(Self::no_upload(upload_id)),
            }
        };
        let (upload, numbers) = upload;
        let body: Vec<u8> =
            numbers.iter().filter_map(|n| upload.parts.get(n)).flat_map(|p| p.iter().copied()).collect();
        self.insert(&upload.bucket, &upload.key, body);
        Ok(())
    }

    async fn abort_upload(&self, _bucket: &str, _key: &str, upload_id: &str) -> PortResult<()> {
        self.failures.take()?;
        lock(&self.state).uploads.remove(upload_id);
        Ok(())
    }
}

// ---------------------------------------------------------------- items

type ItemPredicate = dyn Fn(&Item) -> bool + Send + Sync;

/// Tables keyed by their key attributes (hash, then optional range), as declared.
#[derive(Default)]
pub struct MemoryItemStore {
    schemas: HashMap<String, Vec<String>>,
    tables: Mutex<HashMap<String, BTreeMap<Vec<AttrValue>, Item>>>,
    /// Items to leave unprocessed in the next `batch_put` calls, one count per call.
    unprocessed_plan: Mutex<VecDeque<usize>>,
    batch_sizes: Mutex<Vec<usize>>,
    /// Items a `batch_put` refuses as DynamoDB refuses an invalid item: the whole call.
    refuse: Option<Box<ItemPredicate>>,
    /// How many of the next `transact` calls another transaction conflicts with.
    conflicts: Mutex<usize>,
    pub failures: Failures,
}

fn take_one(counter: &Mutex<usize>) -> bool {
    let mut left = lock(counter);
    let took = *left > 0;
    *left = left.saturating_sub(1);
    took
}

impl MemoryItemStore {
    /// `batch_put` answers `ValidationException` for any call holding an item for which
    /// `refused` is true (DynamoDB validates every item before writing any).
    pub fn refusing(mut self, refused: impl Fn(&Item) -> bool + Send + Sync + 'static) -> Self {
        self.refuse = Some(Box::new(refused));
        self
    }

    pub fn new() -> Self {
        Self::default()
    }

    /// Declares a table and its key attributes (`["sensor_id", "timestamp"]`).
    pub fn with_table(mut self, table: &str, key_attrs: &[&str]) -> Self {
        self.schemas.insert(table.to_owned(), key_attrs.iter().map(|s| (*s).to_owned()).collect());
        self
    }

    /// The next `batch_put` calls leave this many items unprocessed (one entry per call).
    pub fn leave_unprocessed(&self, counts: &[usize]) {
        lock(&self.unprocessed_plan).extend(counts);
    }

    /// The next `times` `transact` calls are cancelled as DynamoDB cancels a transaction
    /// that conflicts with another one on the same item (`TransactionConflict`), writing
    /// nothing.
    pub fn conflict_next_transactions(&self, times: usize) {
        *lock(&self.conflicts) += times;
    }

    /// The sizes of every `batch_put` call so far.
    pub fn batch_sizes(&self) -> Vec<usize> {
        lock(&self.batch_sizes).clone()
    }

    pub fn items(&self, table: &str) -> Vec<Item> {
        lock(&self.tables).get(table).map(|t| t.values().cloned().collect()).unwrap_or_default()
    }

    pub fn insert(&self, table: &str, item: Item) -> PortResult<()> {
        let key = self.key_of(table, &item)?;
        lock(&self.tables).entry(table.to_owned()).or_default().insert(key, item);
        Ok(())
    }

    fn key_of(&self, table: &str, item: &Item) -> PortResult<Vec<AttrValue>> {
        let schema = self.schemas.get(table).ok_or_else(|| PortError::NotFound {
            service: "dynamodb",
            message: format!("ResourceNotFoundException: table {table}"),
        })?;
        schema
            .iter()
            .map(|attr| {
                item.get(attr).cloned().ok_or_else(|| PortError::Rejected {
                    service: "dynamodb",
                    code: "ValidationException".into(),
                    message: format!("missing key attribute {attr} for table {table}"),
                })
            })
            .collect()
    }

    fn holds(item: Option<&Item>, condition: &Condition) -> bool {
        match condition {
            Condition::NotExists { attr } => item.is_none_or(|i| !i.contains_key(attr)),
            Condition::Exists { attr } => item.is_some_and(|i| i.contains_key(attr)),
            Condition::Equals { attr, value } => item.and_then(|i| i.get(attr)) == Some(value),
            Condition::AtLeast { attr, min } => item
                .and_then(|i| i.get(attr))
                .and_then(AttrValue::as_number)
                .and_then(|n| n.parse::<f64>().ok())
                .is_some_and(|n| n >= *min as f64),
        }
    }

    /// Checks `op` against `tables` and returns the change to make, without making it.
    fn plan(
        &self,
        tables: &HashMap<String, BTreeMap<Vec<AttrValue>, Item>>,
        op: &WriteOp,
    ) -> PortResult<(String, Vec<AttrValue>, Option<Item>)> {
        let condition_failed =
            || PortError::ConditionFailed { service: "dynamodb", message: "The conditional request failed".into() };
        match op {
            WriteOp::Put { table, item, conditions } => {
                let key = self.key_of(table, item)?;
                let current = tables.get(table).and_then(|t| t.get(&key));
                if !conditions.iter().all(|c| Self::holds(current, c)) {
                    return Err(condition_failed());
                }
                Ok((table.clone(), key, Some(item.clone())))
            }
            WriteOp::Update { table, key, set, add, conditions } => {
                let key_values = self.key_of(table, key)?;
                let current = tables.get(table).and_then(|t| t.get(&key_values));
                if !conditions.iter().all(|c| Self::holds(current, c)) {
                    return Err(condition_failed());
                }
                let mut next = current.cloned().unwrap_or_else(|| key.clone());
                next.extend(set.clone());
                for (attr, delta) in add {
                    let base =
                        next.get(attr).and_then(AttrValue::as_number).and_then(|n| n.parse::<i64>().ok()).unwrap_or(0);
                    next.insert(attr.clone(), AttrValue::number(base + delta));
                }
                Ok((table.clone(), key_values, Some(next)))
            }
            WriteOp::Delete { table, key } => Ok((table.clone(), self.key_of(table, key)?, None)),
        }
    }

    fn apply(
        tables: &mut HashMap<String, BTreeMap<Vec<AttrValue>, Item>>,
        change: (String, Vec<AttrValue>, Option<Item>),
    ) {
        let (table, key, item) = change;
        let rows = tables.entry(table).or_default();
        match item {
            Some(item) => {
                rows.insert(key, item);
            }
            None => {
                rows.remove(&key);
            }
        }
    }
}

impl ItemStore for MemoryItemStore {
    async fn get(&self, table: &str, key: Item) -> PortResult<Option<Item>> {
        self.failures.take()?;
        let key = self.key_of(table, &key)?;
        Ok(lock(&self.tables).get(table).and_then(|t| t.get(&key)).cloned())
    }

    async fn write(&self, op: WriteOp) -> PortResult<()> {
        self.failures.take()?;
        let mut tables = lock(&self.tables);
        let change = self.plan(&tables, &op)?;
        Self::apply(&mut tables, change);
        Ok(())
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> PortResult<()> {
        self.failures.take()?;
        if take_one(&self.conflicts) {
            // DynamoDB names the conflicting write; the first stands for it here.
            let reasons: Vec<Option<&str>> =
                (0..ops.len()).map(|i| (i == 0).then_some("TransactionConflict")).collect();
            return Err(transaction::cancelled(&reasons));
        }
        let mut tables = lock(&self.tables);
        let mut changes = Vec::with_capacity(ops.len());
        for (index, op) in ops.iter().enumerate() {
            match self.plan(&tables, op) {
                Ok(change) => changes.push(change),
                Err(PortError::ConditionFailed { .. }) => return Err(transaction::condition_failed(index)),
                Err(other) => return Err(other),
            }
        }
        for change in changes {
            Self::apply(&mut tables, change);
        }
        Ok(())
    }

    async fn batch_put(&self, table: &str, items: &[Item]) -> PortResult<Vec<Item>> {
        self.failures.take()?;
        if items.len() > MAX_BATCH_WRITE {
            return Err(PortError::Rejected {
                service: "dynamodb",
                code: "ValidationException".into(),
                message: format!("{} items in one BatchWriteItem; at most {MAX_BATCH_WRITE}", items.len()),
            });
        }
        let keys = items.iter().map(|i| self.key_of(table, i)).collect::<PortResult<Vec<_>>>()?;
        let mut distinct = keys.clone();
        distinct.sort();
        distinct.dedup();
        if distinct.len() != keys.len() {
            return Err(PortError::Rejected {
                service: "dynamodb",
                code: "ValidationException".into(),
                message: "Provided list of item keys contains duplicates".into(),
            });
        }
        if let Some(refused) = &self.refuse
            && items.iter().any(refused)
        {
            return Err(PortError::Rejected {
                service: "dynamodb",
                code: "ValidationException".into(),
                message: "One or more parameter values were invalid".into(),
            });
        }
        lock(&self.batch_sizes).push(items.len());
        let leave = lock(&self.unprocessed_plan).pop_front().unwrap_or(0).min(items.len());
        let (written, unprocessed) = items.split_at(items.len() - leave);
        let mut tables = lock(&self.tables);
        let rows = tables.entry(table.to_owned()).or_default();
        for (item, key) in written.iter().zip(keys) {
            rows.insert(key, item.clone());
        }
        Ok(unprocessed.to_vec())
    }
}

// ---------------------------------------------------------------- e-mail

#[derive(Default)]
pub struct RecordingEmailSender {
    sent: Mutex<Vec<Email>>,
    pub failures: Failures,
}

impl RecordingEmailSender {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn sent(&self) -> Vec<Email> {
        lock(&self.sent).clone()
    }
}

impl EmailSender for RecordingEmailSender {
    async fn send(&self, email: &Email) -> PortResult<String> {
        self.failures.take()?;
        let mut sent = lock(&self.sent);
        sent.push(email.clone());
        Ok(format!("local-message-{}", sent.len()))
    }
}

// ---------------------------------------------------------------- executions

#[derive(Debug, Clone, PartialEq)]
pub struct StartedExecution {
    pub state_machine_arn: String,
    pub name: String,
    pub input: serde_json::Value,
}

/// Starts nothing; records starts and answers a repeated name as Step Functions does.
#[derive(Default)]
pub struct MemoryWorkflowStarter {
    started: Mutex<Vec<StartedExecution>>,
    pub failures: Failures,
}

impl MemoryWorkflowStarter {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn started(&self) -> Vec<StartedExecution> {
        lock(&self.started).clone()
    }
}

impl WorkflowStarter for MemoryWorkflowStarter {
    async fn start(&self, state_machine_arn: &str, name: &str, input: &serde_json::Value) -> PortResult<StartOutcome> {
        self.failures.take()?;
        let execution_arn = execution_arn(state_machine_arn, name);
        let mut started = lock(&self.started);
        if started.iter().any(|s| s.state_machine_arn == state_machine_arn && s.name == name) {
            return Ok(StartOutcome::AlreadyStarted { execution_arn });
        }
        started.push(StartedExecution {
            state_machine_arn: state_machine_arn.to_owned(),
            name: name.to_owned(),
            input: input.clone(),
        });
        Ok(StartOutcome::Started { execution_arn })
    }
}

// ---------------------------------------------------------------- push

#[derive(Debug, Clone, PartialEq)]
pub struct SentPush {
    pub app_id: String,
    pub targets: Vec<PushTarget>,
    pub message: PushMessage,
}

/// Records pushes; a token starting with `invalid` is refused as Pinpoint refuses a
/// dead token (`PERMANENT_FAILURE`).
#[derive(Default)]
pub struct RecordingPushSender {
    sent: Mutex<Vec<SentPush>>,
    pub failures: Failures,
}

impl RecordingPushSender {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn sent(&self) -> Vec<SentPush> {
        lock(&self.sent).clone()
    }
}

impl PushSender for RecordingPushSender {
    async fn send(&self, app_id: &str, targets: &[PushTarget], message: &PushMessage) -> PortResult<Vec<PushDelivery>> {
        self.failures.take()?;
        lock(&self.sent).push(SentPush {
            app_id: app_id.to_owned(),
            targets: targets.to_vec(),
            message: message.clone(),
        });
        Ok(targets
            .iter()
            .map(|t| {
                let delivered = !t.token.starts_with("invalid");
                PushDelivery {
                    token: t.token.clone(),
                    delivered,
                    status: if delivered { "SUCCESSFUL" } else { "PERMANENT_FAILURE" }.into(),
                    message: None,
                }
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

    fn reading(id: &str, ts: i64) -> Item {
        Item::from([("sensor_id".to_owned(), AttrValue::string(id)), ("timestamp".to_owned(), AttrValue::number(ts))])
    }

    #[tokio::test]
    async fn objects_stream_copy_and_vanish() {
        let store = MemoryObjectStore::new();
        let meta = store.insert("in", "incoming/a.csv", "x,1,2\n");
        let pin = ObjectPin::new(None, meta.e_tag.as_deref());
        let mut body = String::new();
        store.open("in", "incoming/a.csv", &pin).await.unwrap().read_to_string(&mut body).await.unwrap();
        assert_eq!(body, "x,1,2\n");
        store.copy("in", "incoming/a.csv", &pin, 6, "out", "processed/a.csv").await.unwrap();
        store.delete("in", "incoming/a.csv", None).await.unwrap();
        assert!(store.head("in", "incoming/a.csv", None).await.unwrap().is_none());
        assert_eq!(store.head("out", "processed/a.csv", None).await.unwrap().map(|m| m.size), Some(6));
        assert!(matches!(store.open("in", "incoming/a.csv", &pin).await, Err(PortError::NotFound { .. })));
        store.delete("in", "incoming/a.csv", None).await.unwrap();
    }

    #[tokio::test]
    async fn pinned_reads_refuse_a_replaced_object_as_s3_does_with_if_match() {
        let store = MemoryObjectStore::new();
        let first = store.insert("in", "k", "old");
        store.insert("in", "k", "new");
        let pin = ObjectPin::new(None, first.e_tag.as_deref());
        assert!(matches!(store.open("in", "k", &pin).await, Err(PortError::ConditionFailed { .. })));
        assert!(matches!(store.copy("in", "k", &pin, 3, "out", "k").await, Err(PortError::ConditionFailed { .. })));
    }

    #[tokio::test]
    async fn versioned_buckets_keep_the_pinned_version_readable() {
        let store = MemoryObjectStore::new();
        store.enable_versioning("in");
        let first = store.insert("in", "k", "old");
        store.insert("in", "k", "new");
        let pin = ObjectPin::new(first.version_id.as_deref(), first.e_tag.as_deref());
        let mut body = String::new();
        store.open("in", "k", &pin).await.unwrap().read_to_string(&mut body).await.unwrap();
        assert_eq!(body, "old");
        store.delete("in", "k", first.version_id.as_deref()).await.unwrap();
        assert_eq!(store.get("in", "k"), Some(b"new".to_vec()), "only the pinned version is deleted");
    }

    #[tokio::test]
    async fn multipart_uploads_follow_s3s_part_rules() {
        let store = MemoryObjectStore::new();
        let id = store.start_upload("b", "k", "text/csv").await.unwrap();
        let small = store.upload_part("b", "k", &id, 1, vec![b'a'; 10]).await.unwrap();
        let last = store.upload_part("b", "k", &id, 2, vec![b'b'; 10]).await.unwrap();
        let err = store.complete_upload("b", "k", &id, &[(1, small), (2, last.clone())]).await.unwrap_err();
        assert!(matches!(err, PortError::Rejected { ref code, .. } if code == "EntityTooSmall"), "{err:?}");
        let big = store.upload_part("b", "k", &id, 1, vec![b'a'; MIN_PART_SIZE]).await.unwrap();
        store.complete_upload("b", "k", &id, &[(1, big), (2, last)]).await.unwrap();
        assert_eq!(store.get("b", "k").map(|b| b.len()), Some(MIN_PART_SIZE + 10));
        assert_eq!(store.pending_uploads(), 0);
        assert!(store.upload_part("b", "k", &id, 3, vec![]).await.is_err(), "a completed upload takes no parts");
    }

    #[tokio::test]
    async fn injected_failures_come_first() {
        let store = MemoryObjectStore::new();
        store.failures.push(PortError::Transient { service: "s3", message: "503".into() });
        assert!(store.head("b", "k", None).await.unwrap_err().is_transient());
        assert!(store.head("b", "k", None).await.unwrap().is_none());
    }

    #[tokio::test]
    async fn batches_obey_dynamodb_limits() {
        let db = MemoryItemStore::new().with_table("t", &["sensor_id", "timestamp"]);
        let too_many: Vec<Item> = (0..26).map(|i| reading("s", i)).collect();
        assert!(db.batch_put("t", &too_many).await.is_err());
        assert!(db.batch_put("t", &[reading("s", 1), reading("s", 1)]).await.is_err());
        db.leave_unprocessed(&[2]);
        let five: Vec<Item> = (0..5).map(|i| reading("s", i)).collect();
        let left = db.batch_put("t", &five).await.unwrap();
        assert_eq!(left.len(), 2);
        assert_eq!(db.items("t").len(), 3);
        assert_eq!(db.batch_sizes(), vec![5]);
    }

    #[tokio::test]
    async fn conditional_and_transactional_writes() {
        let db = MemoryItemStore::new()
            .with_table("courses", &["courseId"])
            .with_table("enrollments", &["courseId", "email"]);
        db.insert(
            "courses",
            Item::from([("courseId".to_owned(), AttrValue::string("c1")), ("seats".to_owned(), AttrValue::number(1))]),
        )
        .unwrap();
        let enroll = |email: &str| {
            vec![
                WriteOp::Put {
                    table: "enrollments".into(),
                    item: Item::from([
                        ("courseId".to_owned(), AttrValue::string("c1")),
                        ("email".to_owned(), AttrValue::string(email)),
                    ]),
                    conditions: vec![Condition::NotExists { attr: "email".into() }],
                },
                WriteOp::Update {
                    table: "courses".into(),
                    key: Item::from([("courseId".to_owned(), AttrValue::string("c1"))]),
                    set: Item::new(),
                    add: BTreeMap::from([("seats".to_owned(), -1)]),
                    conditions: vec![Condition::AtLeast { attr: "seats".into(), min: 1 }],
                },
            ]
        };
        db.transact(enroll("a@x")).await.unwrap();
        let err = db.transact(enroll("b@x")).await.unwrap_err();
        assert!(matches!(err, PortError::ConditionFailed { ref message, .. } if message.contains("write 1")));
        assert_eq!(db.items("enrollments").len(), 1, "a failed transaction writes nothing");
        let seats = db.get("courses", Item::from([("courseId".to_owned(), AttrValue::string("c1"))])).await.unwrap();
        assert_eq!(seats.and_then(|i| i.get("seats").cloned()), Some(AttrValue::number(0)));
    }

    #[tokio::test]
    async fn an_injected_transaction_conflict_is_transient_and_writes_nothing() {
        let db = MemoryItemStore::new().with_table("t", &["id"]);
        let put = |id: &str| WriteOp::Put {
            table: "t".into(),
            item: Item::from([("id".to_owned(), AttrValue::string(id))]),
            conditions: vec![Condition::NotExists { attr: "id".into() }],
        };
        db.conflict_next_transactions(1);
        let err = db.transact(vec![put("a"), put("b")]).await.unwrap_err();
        assert!(err.is_transient() && err.to_string().contains("TransactionConflict"), "{err}");
        assert!(db.items("t").is_empty());
        db.transact(vec![put("a"), put("b")]).await.unwrap();
        let err = db.transact(vec![put("c"), put("a")]).await.unwrap_err();
        assert_eq!(transaction::failed_write(&err), Some(1));
        assert_eq!(db.items("t").len(), 2);
    }

    #[tokio::test]
    async fn repeated_start_is_recognised() {
        let sfn = MemoryWorkflowStarter::new();
        let arn = "arn:aws:states:us-east-1:123456789012:stateMachine:m";
        let first = sfn.start(arn, "n", &serde_json::json!({})).await.unwrap();
        let second = sfn.start(arn, "n", &serde_json::json!({})).await.unwrap();
        assert!(matches!(first, StartOutcome::Started { .. }));
        assert!(matches!(second, StartOutcome::AlreadyStarted { .. }));
        assert_eq!(first.execution_arn(), second.execution_arn());
        assert_eq!(sfn.started().len(), 1);
    }

    #[tokio::test]
    async fn push_results_per_token() {
        let push = RecordingPushSender::new();
        let targets = [
            PushTarget { token: "good".into(), channel: PushChannel::Apns },
            PushTarget { token: "invalid-1".into(), channel: PushChannel::Gcm },
        ];
        let msg = PushMessage { title: "t".into(), body: "b".into() };
        let results = push.send("app", &targets, &msg).await.unwrap();
        assert_eq!(results.iter().map(|r| r.delivered).collect::<Vec<_>>(), vec![true, false]);
        assert_eq!(push.sent().len(), 1);
    }
}
