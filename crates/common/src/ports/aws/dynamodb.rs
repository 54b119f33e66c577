use std::collections::{BTreeMap, HashMap};

use aws_sdk_dynamodb::types::{AttributeValue, Delete, Put, PutRequest, TransactWriteItem, Update, WriteRequest};

use crate::error::{PortError, classify_sdk_error};
use crate::ports::{AttrValue, Condition, Item, ItemStore, MAX_BATCH_WRITE, PortResult, WriteOp, transaction};

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

#[cfg(test)]
mod tests {
    use super::*;

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
