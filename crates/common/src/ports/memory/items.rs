use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

use super::{Failures, lock};
use crate::error::PortError;
use crate::ports::{AttrValue, Condition, Item, ItemStore, MAX_BATCH_WRITE, PortResult, WriteOp, transaction};

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

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(id: &str, ts: i64) -> Item {
        Item::from([("sensor_id".to_owned(), AttrValue::string(id)), ("timestamp".to_owned(), AttrValue::number(ts))])
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
}
