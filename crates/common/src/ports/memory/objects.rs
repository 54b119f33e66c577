use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use super::{Failures, lock};
use crate::error::PortError;
use crate::ports::{
    MAX_PARTS, MIN_PART_SIZE, ObjectMeta, ObjectPin, ObjectReader, ObjectStore, PortResult, is_real_version, short_hash,
};

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

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncReadExt;

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
}
