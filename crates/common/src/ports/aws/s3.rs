use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use crate::error::{PortError, classify_sdk_error};
use crate::ports::{
    MAX_COPY_OBJECT, ObjectMeta, ObjectPin, ObjectReader, ObjectStore, PortResult, copy_ranges, is_real_version,
};

pub struct S3ObjectStore {
    client: aws_sdk_s3::Client,
    /// Sources bigger than this are copied part by part (UploadPartCopy).
    multipart_copy_threshold: u64,
    multipart_copy_part_size: u64,
}

impl S3ObjectStore {
    pub fn new(client: aws_sdk_s3::Client) -> Self {
        Self { client, multipart_copy_threshold: MAX_COPY_OBJECT, multipart_copy_part_size: 512 * 1024 * 1024 }
    }

    /// Copies sources over `threshold` bytes (at most CopyObject's 5 GiB) in parts of
    /// `part_size` bytes (grown as needed to stay within 10,000 parts).
    pub fn with_multipart_copy(mut self, threshold: u64, part_size: u64) -> Self {
        self.multipart_copy_threshold = threshold.min(MAX_COPY_OBJECT);
        self.multipart_copy_part_size = part_size;
        self
    }

    async fn multipart_copy(
        &self,
        source: &str,
        pin: &ObjectPin,
        size: u64,
        target_bucket: &str,
        target_key: &str,
    ) -> PortResult<()> {
        let upload_id = self.start_upload(target_bucket, target_key, "application/octet-stream").await?;
        let mut parts = Vec::new();
        for (index, (first, last)) in copy_ranges(size, self.multipart_copy_part_size).into_iter().enumerate() {
            let number = i32::try_from(index + 1).unwrap_or(i32::MAX);
            let copied = self
                .client
                .upload_part_copy()
                .bucket(target_bucket)
                .key(target_key)
                .upload_id(&upload_id)
                .part_number(number)
                .copy_source(source)
                .copy_source_range(format!("bytes={first}-{last}"))
                .set_copy_source_if_match(pin.e_tag.clone())
                .send()
                .await;
            match copied {
                Ok(out) => {
                    let e_tag = out.copy_part_result().and_then(|r| r.e_tag()).unwrap_or_default().to_owned();
                    parts.push((number, e_tag));
                }
                Err(err) => {
                    // Parts of an abandoned upload are billed until aborted.
                    let _ = self.abort_upload(target_bucket, target_key, &upload_id).await;
                    return Err(classify_sdk_error("s3", &err));
                }
            }
        }
        if let Err(err) = self.complete_upload(target_bucket, target_key, &upload_id, &parts).await {
            let _ = self.abort_upload(target_bucket, target_key, &upload_id).await;
            return Err(err);
        }
        Ok(())
    }
}

/// `CopySource` is `bucket/key` with the key percent-encoded (its `/` kept).
const COPY_SOURCE_KEEP: &AsciiSet = &NON_ALPHANUMERIC.remove(b'/').remove(b'-').remove(b'_').remove(b'.').remove(b'~');

pub fn copy_source(bucket: &str, key: &str, version_id: Option<&str>) -> String {
    let source = format!("{bucket}/{}", utf8_percent_encode(key, COPY_SOURCE_KEEP));
    match version_id {
        Some(version) => format!("{source}?versionId={}", utf8_percent_encode(version, NON_ALPHANUMERIC)),
        None => source,
    }
}

impl ObjectStore for S3ObjectStore {
    async fn open(&self, bucket: &str, key: &str, pin: &ObjectPin) -> PortResult<ObjectReader> {
        let out = self
            .client
            .get_object()
            .bucket(bucket)
            .key(key)
            .set_version_id(pin.version().map(str::to_owned))
            .set_if_match(pin.e_tag.clone())
            .send()
            .await
            .map_err(|e| classify_sdk_error("s3", &e))?;
        Ok(Box::pin(out.body.into_async_read()))
    }

    async fn head(&self, bucket: &str, key: &str, version_id: Option<&str>) -> PortResult<Option<ObjectMeta>> {
        let version = version_id.filter(|v| is_real_version(v)).map(str::to_owned);
        match self.client.head_object().bucket(bucket).key(key).set_version_id(version).send().await {
            Ok(out) => Ok(Some(ObjectMeta {
                size: out.content_length().and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
                e_tag: out.e_tag().map(str::to_owned),
                version_id: out.version_id().filter(|v| is_real_version(v)).map(str::to_owned),
            })),
            Err(err) => match classify_sdk_error("s3", &err) {
                PortError::NotFound { .. } => Ok(None),
                PortError::Rejected { code, .. } if code == "Unknown" && is_404(&err) => Ok(None),
                other => Err(other),
            },
        }
    }

    async fn put(&self, bucket: &str, key: &str, body: Vec<u8>, content_type: &str) -> PortResult<()> {
        self.client
            .put_object()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .body(body.into())
            .send()
            .await
            .map_err(|e| classify_sdk_error("s3", &e))?;
        Ok(())
    }

    async fn copy(
        &self,
        source_bucket: &str,
        source_key: &str,
        pin: &ObjectPin,
        size: u64,
        target_bucket: &str,
        target_key: &str,
    ) -> PortResult<()> {
        let source = copy_source(source_bucket, source_key, pin.version());
        if size > self.multipart_copy_threshold {
            return self.multipart_copy(&source, pin, size, target_bucket, target_key).await;
        }
        self.client
            .copy_object()
            .copy_source(source)
            .set_copy_source_if_match(pin.e_tag.clone())
            .bucket(target_bucket)
            .key(target_key)
            .send()
            .await
            .map_err(|e| classify_sdk_error("s3", &e))?;
        Ok(())
    }

    async fn delete(&self, bucket: &str, key: &str, version_id: Option<&str>) -> PortResult<()> {
        let version = version_id.filter(|v| is_real_version(v)).map(str::to_owned);
        self.client
            .delete_object()
            .bucket(bucket)
            .key(key)
            .set_version_id(version)
            .send()
            .await
            .map_err(|e| classify_sdk_error("s3", &e))?;
        Ok(())
    }

    async fn start_upload(&self, bucket: &str, key: &str, content_type: &str) -> PortResult<String> {
        let out = self
            .client
            .create_multipart_upload()
            .bucket(bucket)
            .key(key)
            .content_type(content_type)
            .send()
            .await
            .map_err(|e| classify_sdk_error("s3", &e))?;
        out.upload_id().map(str::to_owned).ok_or_else(|| PortError::Rejected {
            service: "s3",
            code: "NoUploadId".into(),
            message: format!("CreateMultipartUpload for {bucket}/{key} returned no upload id"),
        })
    }

    async fn upload_part(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        number: i32,
        body: Vec<u8>,
    ) -> PortResult<String> {
        let out = self
            .client
            .upload_part()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .part_number(number)
            .body(body.into())
            .send()
            .await
            .map_err(|e| classify_sdk_error("s3", &e))?;
        Ok(out.e_tag().unwrap_or_default().to_owned())
    }

    async fn complete_upload(
        &self,
        bucket: &str,
        key: &str,
        upload_id: &str,
        parts: &[(i32, String)],
    ) -> PortResult<()> {
        use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
        let parts = parts
            .iter()
            .map(|(number, e_tag)| CompletedPart::builder().part_number(*number).e_tag(e_tag).build())
            .collect();
        self.client
            .complete_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .send()
            .await
            .map_err(|e| classify_sdk_error("s3", &e))?;
        Ok(())
    }

    async fn abort_upload(&self, bucket: &str, key: &str, upload_id: &str) -> PortResult<()> {
        self.client
            .abort_multipart_upload()
            .bucket(bucket)
            .key(key)
            .upload_id(upload_id)
            .send()
            .await
            .map_err(|e| classify_sdk_error("s3", &e))?;
        Ok(())
    }
}

/// HEAD answers carry no body, so a missing object shows only as a 404 status.
fn is_404<E>(
    err: &aws_smithy_runtime_api::client::result::SdkError<
        E,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> bool {
    err.raw_response().is_some_and(|r| r.status().as_u16() == 404)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_source_encodes_the_key_but_keeps_slashes() {
        assert_eq!(copy_source("b", "incoming/a b+c é.csv", None), "b/incoming/a%20b%2Bc%20%C3%A9.csv");
        assert_eq!(copy_source("b", "k.csv", Some("3/L4k+")), "b/k.csv?versionId=3%2FL4k%2B");
    }
}
