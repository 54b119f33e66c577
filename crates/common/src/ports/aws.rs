//! The AWS adapters of the ports.

use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, PutRequest, TransactWriteItem, Update, WriteRequest};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

use super::*;
use crate::error::classify_sdk_error;

// ---------------------------------------------------------------- S3

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

// ---------------------------------------------------------------- DynamoDB

pub struct DynamoItemStore {
    client: aws_sdk_dynamodb::Client,
}

impl DynamoItemStore {
    pub fn new(client: aws_sdk_dynamodb::Client) -> Self {
        Self { client }
    }
}

pub fn to_sdk(value: &AttrValue) -> AttributeValue {
    match value {
        AttrValue::S(s) => AttributeValue::S(s.clone()),
        AttrValue::N(n) => AttributeValue::N(n.clone()),
        AttrValue::Bool(b) => AttributeValue::Bool(*b),
        AttrValue::Null => AttributeValue::Null(true),
        AttrValue::L(list) => AttributeValue::L(list.iter().map(to_sdk).collect()),
        AttrValue::M(map) => AttributeValue::M(map.iter().map(|(k, v)| (k.clone(), to_sdk(v))).collect()),
    }
}

/// Attribute types the workflows never use (sets, binary) read as `Null`.
pub fn from_sdk(value: &AttributeValue) -> AttrValue {
    match value {
        AttributeValue::S(s) => AttrValue::S(s.clone()),
        AttributeValue::N(n) => AttrValue::N(n.clone()),
        AttributeValue::Bool(b) => AttrValue::Bool(*b),
        AttributeValue::L(list) => AttrValue::L(list.iter().map(from_sdk).collect()),
        AttributeValue::M(map) => AttrValue::M(map.iter().map(|(k, v)| (k.clone(), from_sdk(v))).collect()),
        _ => AttrValue::Null,
    }
}

fn item_to_sdk(item: &Item) -> HashMap<String, AttributeValue> {
    item.iter().map(|(k, v)| (k.clone(), to_sdk(v))).collect()
}

fn item_from_sdk(item: &HashMap<String, AttributeValue>) -> Item {
    item.iter().map(|(k, v)| (k.clone(), from_sdk(v))).collect()
}

/// Builds condition and update expressions with placeholder names, so attribute names
/// that are reserved words (`timestamp`, `status`, `name`, ...) need no care.
#[derive(Default)]
struct Expression {
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Expression {
    fn name(&mut self, attr: &str) -> String {
        let placeholder = format!("#n{}", self.names.len());
        self.names.insert(placeholder.clone(), attr.to_owned());
        placeholder
    }

    fn value(&mut self, value: AttributeValue) -> String {
        let placeholder = format!(":v{}", self.values.len());
        self.values.insert(placeholder.clone(), value);
        placeholder
    }

    fn conditions(&mut self, conditions: &[Condition]) -> Option<String> {
        let parts: Vec<String> = conditions
            .iter()
            .map(|c| match c {
                Condition::NotExists { attr } => format!("attribute_not_exists({})", self.name(attr)),
                Condition::Exists { attr } => format!("attribute_exists({})", self.name(attr)),
                Condition::Equals { attr, value } => {
                    format!("{} = {}", self.name(attr), self.value(to_sdk(value)))
                }
                Condition::AtLeast { attr, min } => {
                    format!("{} >= {}", self.name(attr), self.value(AttributeValue::N(min.to_string())))
                }
            })
            .collect();
        (!parts.is_empty()).then(|| parts.join(" AND "))
    }

    fn update(&mut self, set: &Item, add: &BTreeMap<String, i64>) -> String {
        let mut clauses = Vec::new();
        if !set.is_empty() {
            let sets: Vec<String> =
                set.iter().map(|(k, v)| format!("{} = {}", self.name(k), self.value(to_sdk(v)))).collect();
            clauses.push(format!("SET {}", sets.join(", ")));
        }
        if !add.is_empty() {
            let adds: Vec<String> = add
                .iter()
                .map(|(k, d)| format!("{} {}", self.name(k), self.value(AttributeValue::N(d.to_string()))))
                .collect();
            clauses.push(format!("ADD {}", adds.join(", ")));
        }
        clauses.join(" ")
    }

    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    fn values(&self) -> Option<HashMap<String, AttributeValue>> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

fn transact_item(op: &WriteOp) -> PortResult<TransactWriteItem> {
    let invalid = |e: aws_sdk_dynamodb::error::BuildError| PortError::Rejected {
        service: "dynamodb",
        code: "ValidationException".into(),
        message: e.to_string(),
    };
    let mut expr = Expression::default();
    let item = match op {
        WriteOp::Put { table, item, conditions } => {
            let condition = expr.conditions(conditions);
            TransactWriteItem::builder()
                .put(
                    Put::builder()
                        .table_name(table)
                        .set_item(Some(item_to_sdk(item)))
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(expr.names())
                        .set_expression_attribute_values(expr.values())
                        .build()
                        .map_err(invalid)?,
                )
                .build()
        }
        WriteOp::Update { table, key, set, add, conditions } => {
            let update = expr.update(set, add);
            let condition = expr.conditions(conditions);
            TransactWriteItem::builder()
                .update(
                    Update::builder()
                        .table_name(table)
                        .set_key(Some(item_to_sdk(key)))
                        .update_expression(update)
                        .set_condition_expression(condition)
                        .set_expression_attribute_names(expr.names())
                        .set_expression_attribute_values(expr.values())
                        .build()
                        .map_err(invalid)?,
                )
                .build()
        }
        WriteOp::Delete { table, key } => TransactWriteItem::builder()
            .delete(Delete::builder().table_name(table).set_key(Some(item_to_sdk(key))).build().map_err(invalid)?)
            .build(),
    };
    Ok(item)
}

impl ItemStore for DynamoItemStore {
    async fn get(&self, table: &str, key: Item) -> PortResult<Option<Item>> {
        let out = self
            .client
            .get_item()
            .table_name(table)
            .set_key(Some(item_to_sdk(&key)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| classify_sdk_error("dynamodb", &e))?;
        Ok(out.item().map(item_from_sdk))
    }

    async fn write(&self, op: WriteOp) -> PortResult<()> {
        let mut expr = Expression::default();
        match &op {
            WriteOp::Put { table, item, conditions } => {
                let condition = expr.conditions(conditions);
                self.client
                    .put_item()
                    .table_name(table)
                    .set_item(Some(item_to_sdk(item)))
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(expr.names())
                    .set_expression_attribute_values(expr.values())
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| classify_sdk_error("dynamodb", &e))
            }
            WriteOp::Update { table, key, set, add, conditions } => {
                let update = expr.update(set, add);
                let condition = expr.conditions(conditions);
                self.client
                    .update_item()
                    .table_name(table)
                    .set_key(Some(item_to_sdk(key)))
                    .update_expression(update)
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(expr.names())
                    .set_expression_attribute_values(expr.values())
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| classify_sdk_error("dynamodb", &e))
            }
            WriteOp::Delete { table, key } => self
                .client
                .delete_item()
                .table_name(table)
                .set_key(Some(item_to_sdk(key)))
                .send()
                .await
                .map(|_| ())
                .map_err(|e| classify_sdk_error("dynamodb", &e)),
        }
    }

    async fn transact(&self, ops: Vec<WriteOp>) -> PortResult<()> {
        let items = ops.iter().map(transact_item).collect::<PortResult<Vec<_>>>()?;
        match self.client.transact_write_items().set_transact_items(Some(items)).send().await {
            Ok(_) => Ok(()),
            Err(err) => {
                use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
                match err.as_service_error() {
                    Some(TransactWriteItemsError::TransactionCanceledException(c)) => {
                        let reasons: Vec<Option<&str>> = c.cancellation_reasons().iter().map(|r| r.code()).collect();
                        Err(transaction::cancelled(&reasons))
                    }
                    _ => Err(classify_sdk_error("dynamodb", &err)),
                }
            }
        }
    }

    async fn batch_put(&self, table: &str, items: &[Item]) -> PortResult<Vec<Item>> {
        if items.len() > MAX_BATCH_WRITE {
            return Err(PortError::Rejected {
                service: "dynamodb",
                code: "ValidationException".into(),
                message: format!("{} items in one BatchWriteItem; at most {MAX_BATCH_WRITE}", items.len()),
            });
        }
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let requests = items
            .iter()
            .map(|item| {
                PutRequest::builder()
                    .set_item(Some(item_to_sdk(item)))
                    .build()
                    .map(|put| WriteRequest::builder().put_request(put).build())
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| PortError::Rejected {
                service: "dynamodb",
                code: "ValidationException".into(),
                message: e.to_string(),
            })?;
        let out = self
            .client
            .batch_write_item()
            .request_items(table, requests)
            .send()
            .await
            .map_err(|e| classify_sdk_error("dynamodb", &e))?;
        let unprocessed = out
            .unprocessed_items()
            .and_then(|by_table| by_table.get(table))
            .map(|requests| requests.iter().filter_map(|r| r.put_request().map(|p| item_from_sdk(p.item()))).collect())
            .unwrap_or_default();
        Ok(unprocessed)
    }
}

// ---------------------------------------------------------------- SES v2

pub struct SesEmailSender {
    client: aws_sdk_sesv2::Client,
}

impl SesEmailSender {
    pub fn new(client: aws_sdk_sesv2::Client) -> Self {
        Self { client }
    }
}

impl EmailSender for SesEmailSender {
    async fn send(&self, email: &Email) -> PortResult<String> {
        use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message};
        let invalid = |e: aws_sdk_sesv2::error::BuildError| PortError::Rejected {
            service: "sesv2",
            code: "BadRequestException".into(),
            message: e.to_string(),
        };
        let text = |data: &str| Content::builder().data(data).charset("UTF-8").build().map_err(invalid);
        let message = Message::builder()
            .subject(text(&email.subject)?)
            .body(Body::builder().text(text(&email.text)?).build())
            .build();
        let out = self
            .client
            .send_email()
            .from_email_address(&email.from)
            .destination(Destination::builder().set_to_addresses(Some(email.to.clone())).build())
            .content(EmailContent::builder().simple(message).build())
            .send()
            .await
            .map_err(|e| classify_sdk_error("sesv2", &e))?;
        Ok(out.message_id().unwrap_or_default().to_owned())
    }
}

// ---------------------------------------------------------------- Step Functions

pub struct SfnWorkflowStarter {
    client: aws_sdk_sfn::Client,
}

impl SfnWorkflowStarter {
    pub fn new(client: aws_sdk_sfn::Client) -> Self {
        Self { client }
    }
}

impl WorkflowStarter for SfnWorkflowStarter {
    async fn start(&self, state_machine_arn: &str, name: &str, input: &serde_json::Value) -> PortResult<StartOutcome> {
        let result = self
            .client
            .start_execution()
            .state_machine_arn(state_machine_arn)
            .name(name)
            .input(input.to_string())
            .send()
            .await;
        match result {
            Ok(out) => Ok(StartOutcome::Started { execution_arn: out.execution_arn().to_owned() }),
            Err(err)
                if matches!(
                    err.as_service_error(),
                    Some(aws_sdk_sfn::operation::start_execution::StartExecutionError::ExecutionAlreadyExists(_))
                ) =>
            {
                Ok(StartOutcome::AlreadyStarted { execution_arn: execution_arn(state_machine_arn, name) })
            }
            Err(err) => Err(classify_sdk_error("sfn", &err)),
        }
    }
}

// ---------------------------------------------------------------- Pinpoint

pub struct PinpointPushSender {
    client: aws_sdk_pinpoint::Client,
}

impl PinpointPushSender {
    pub fn new(client: aws_sdk_pinpoint::Client) -> Self {
        Self { client }
    }
}

impl PushSender for PinpointPushSender {
    async fn send(&self, app_id: &str, targets: &[PushTarget], message: &PushMessage) -> PortResult<Vec<PushDelivery>> {
        use aws_sdk_pinpoint::types::{
            Action, AddressConfiguration, ApnsMessage, ChannelType, DirectMessageConfiguration, GcmMessage,
            MessageRequest,
        };
        let addresses = targets
            .iter()
            .map(|t| {
                let channel = match t.channel {
                    PushChannel::Apns => ChannelType::Apns,
                    PushChannel::Gcm => ChannelType::Gcm,
                };
                (t.token.clone(), AddressConfiguration::builder().channel_type(channel).build())
            })
            .collect::<HashMap<_, _>>();
        let config = DirectMessageConfiguration::builder()
            .apns_message(
                ApnsMessage::builder().title(&message.title).body(&message.body).action(Action::OpenApp).build(),
            )
            .gcm_message(
                GcmMessage::builder().title(&message.title).body(&message.body).action(Action::OpenApp).build(),
            )
            .build();
        let request = MessageRequest::builder().set_addresses(Some(addresses)).message_configuration(config).build();
        let out = self
            .client
            .send_messages()
            .application_id(app_id)
            .message_request(request)
            .send()
            .await
            .map_err(|e| classify_sdk_error("pinpoint", &e))?;
        let results = out.message_response().and_then(|r| r.result());
        Ok(targets
            .iter()
            .map(|t| match results.and_then(|r| r.get(&t.token)) {
                Some(result) => {
                    let status = result.delivery_status().map(|s| s.as_str()).unwrap_or("UNKNOWN").to_owned();
                    PushDelivery {
                        token: t.token.clone(),
                        delivered: status == "SUCCESSFUL",
                        status,
                        message: result.status_message().map(str::to_owned),
                    }
                }
                None => PushDelivery {
                    token: t.token.clone(),
                    delivered: false,
                    status: "NO_RESULT".into(),
                    message: Some("Pinpoint returned no result for this address".into()),
                },
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_source_encodes_the_key_but_keeps_slashes() {
        assert_eq!(copy_source("b", "incoming/a b+c é.csv", None), "b/incoming/a%20b%2Bc%20%C3%A9.csv");
        assert_eq!(copy_source("b", "k.csv", Some("3/L4k+")), "b/k.csv?versionId=3%2FL4k%2B");
    }

    #[test]
    fn expressions_use_placeholders_for_every_name() {
        let mut expr = Expression::default();
        let cond = expr.conditions(&[
            Condition::NotExists { attr: "timestamp".into() },
            Condition::AtLeast { attr: "seatsAvailable".into(), min: 1 },
        ]);
        assert_eq!(cond.as_deref(), Some("attribute_not_exists(#n0) AND #n1 >= :v0"));
        let update = expr.update(
            &Item::from([("status".to_owned(), AttrValue::string("CONFIRMED"))]),
            &BTreeMap::from([("seats".to_owned(), -1)]),
        );
        assert_eq!(update, "SET #n2 = :v1 ADD #n3 :v2");
        assert_eq!(expr.names().map(|n| n.len()), Some(4));
    }

    #[test]
    fn attribute_values_round_trip() {
        let value = AttrValue::M(BTreeMap::from([
            ("devices".to_owned(), AttrValue::L(vec![AttrValue::string("t"), AttrValue::number(3)])),
            ("ok".to_owned(), AttrValue::Bool(true)),
            ("none".to_owned(), AttrValue::Null),
        ]));
        assert_eq!(from_sdk(&to_sdk(&value)), value);
    }
}
