//! The rejected-rows report, streamed to S3 as rows are rejected: memory holds at most
//! one part, whatever the number of bad rows, and nothing goes to `/tmp`.

use common::WorkflowError;
use common::ports::{MAX_PARTS, MIN_PART_SIZE, ObjectStore};
use tokio::sync::mpsc;

use crate::object_error;

/// The header of the report.
pub const HEADER: &[u8] = b"line,reason,row\n";
/// Bytes gathered before a part is uploaded (S3's minimum part is 5 MiB).
pub const PART_SIZE: usize = 8 * 1024 * 1024;

/// Receives report lines until every sender is gone, then leaves the report at
/// `bucket/key`: one PutObject when it fits in a part, a multipart upload otherwise.
/// Returns the number of lines, and writes nothing when there were none.
pub async fn stream_report<S: ObjectStore>(
    store: &S,
    bucket: &str,
    key: &str,
    part_size: usize,
    mut lines: mpsc::Receiver<Vec<u8>>,
) -> Result<u64, WorkflowError> {
    let part_size = part_size.max(MIN_PART_SIZE);
    let mut upload = Upload { store, bucket, key, id: None, parts: Vec::new() };
    let mut buffer = Vec::with_capacity(64 * 1024);
    buffer.extend_from_slice(HEADER);
    let mut count = 0u64;
    let result = async {
        while let Some(line) = lines.recv().await {
            count += 1;
            buffer.extend_from_slice(&line);
            if buffer.len() >= part_size {
                upload.part(std::mem::take(&mut buffer)).await?;
            }
        }
        if count == 0 {
            return Ok(());
        }
        upload.finish(buffer).await
    }
    .await;
    match result {
        Ok(()) => Ok(count),
        Err(e) => {
            // Closing the receiver stops the producers; an abandoned upload's parts
            // would be billed until aborted.
            lines.close();
            upload.abort().await;
            Err(e)
        }
    }
}

struct Upload<'a, S> {
    store: &'a S,
    bucket: &'a str,
    key: &'a str,
    id: Option<String>,
    parts: Vec<(i32, String)>,
}

impl<S: ObjectStore> Upload<'_, S> {
    async fn part(&mut self, body: Vec<u8>) -> Result<(), WorkflowError> {
        if self.parts.len() as u64 >= MAX_PARTS {
            return Err(WorkflowError::named(
                "StorageError",
                format!("the rejected-rows report outgrew S3's {MAX_PARTS} parts"),
            ));
        }
        let id = match &self.id {
            Some(id) => id.clone(),
            None => {
                let id = self
                    .store
                    .start_upload(self.bucket, self.key, "text/csv; charset=utf-8")
                    .await
                    .map_err(object_error)?;
                self.id = Some(id.clone());
                id
            }
        };
        let number = self.parts.len() as i32 + 1;
        let e_tag = self.store.upload_part(self.bucket, self.key, &id, number, body).await.map_err(object_error)?;
        self.parts.push((number, e_tag));
        Ok(())
    }

    async fn finish(&mut self, rest: Vec<u8>) -> Result<(), WorkflowError> {
        let Some(id) = self.id.clone() else {
            return self.store.put(self.bucket, self.key, rest, "text/csv; charset=utf-8").await.map_err(object_error);
        };
        if !rest.is_empty() {
            self.part(rest).await?;
        }
        self.store.complete_upload(self.bucket, self.key, &id, &self.parts).await.map_err(object_error)?;
        self.id = None;
        Ok(())
    }

    async fn abort(&mut self) {
        if let Some(id) = self.id.take()
            && let Err(e) = self.store.abort_upload(self.bucket, self.key, &id).await
        {
            tracing::warn!(error = %e, "aborting the rejected-rows upload failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use common::PortError;
    use common::ports::memory::MemoryObjectStore;

    use super::*;

    async fn send_lines(count: usize, line: &[u8]) -> mpsc::Receiver<Vec<u8>> {
        let (tx, rx) = mpsc::channel(count.max(1));
        for _ in 0..count {
            tx.send(line.to_vec()).await.expect("room");
        }
        rx
    }

    #[tokio::test]
    async fn no_rejected_row_writes_no_report() {
        let store = MemoryObjectStore::new();
        let lines = send_lines(0, b"").await;
        assert_eq!(stream_report(&store, "b", "rejected/a.csv", PART_SIZE, lines).await, Ok(0));
        assert!(store.keys("b").is_empty());
    }

    #[tokio::test]
    async fn a_small_report_is_one_put() {
        let store = MemoryObjectStore::new();
        let lines = send_lines(2, b"3,bad,x\n").await;
        assert_eq!(stream_report(&store, "b", "rejected/a.csv", PART_SIZE, lines).await, Ok(2));
        assert_eq!(store.get("b", "rejected/a.csv"), Some(b"line,reason,row\n3,bad,x\n3,bad,x\n".to_vec()));
    }

    #[tokio::test]
    async fn a_large_report_goes_up_in_parts_of_s3s_minimum_size() {
        let store = MemoryObjectStore::new();
        let line = vec![b'x'; 1024];
        let count = 12 * 1024; // 12 MiB of lines: three parts of 5 MiB at least, but the last
        let lines = send_lines(count, &line).await;
        assert_eq!(stream_report(&store, "b", "rejected/big.csv", MIN_PART_SIZE, lines).await, Ok(count as u64));
        let body = store.get("b", "rejected/big.csv").expect("completed");
        assert_eq!(body.len(), HEADER.len() + count * 1024);
        assert_eq!(store.pending_uploads(), 0);
    }

    #[tokio::test]
    async fn a_refused_upload_is_a_storage_error_and_leaves_nothing_pending() {
        let store = MemoryObjectStore::new();
        let lines = send_lines(6 * 1024, &[b'y'; 1024]).await;
        store.failures.push(PortError::Rejected { service: "s3", code: "AccessDenied".into(), message: "no".into() });
        let err = stream_report(&store, "b", "rejected/x.csv", MIN_PART_SIZE, lines).await.unwrap_err();
        assert_eq!(err.name, "StorageError");
        assert!(err.message.contains("AccessDenied"), "{}", err.message);
        assert_eq!(store.pending_uploads(), 0);
    }
}
