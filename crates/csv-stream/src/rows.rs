//! Sensor readings: one CSV row `sensor_id,timestamp,value`, validated.

use common::ports::{AttrValue, Item};

#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub sensor_id: String,
    pub timestamp: i64,
    /// The value's text as given (validated as a number DynamoDB stores exactly).
    pub value: String,
    /// The file line it came from (1-based), for the report when DynamoDB refuses it.
    pub line: u64,
}

impl Reading {
    pub fn key(&self) -> (&str, i64) {
        (&self.sensor_id, self.timestamp)
    }

    pub fn to_item(&self) -> Item {
        Item::from([
            ("sensor_id".to_owned(), AttrValue::string(&self.sensor_id)),
            ("timestamp".to_owned(), AttrValue::number(self.timestamp)),
            ("value".to_owned(), AttrValue::N(self.value.clone())),
        ])
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Row {
    Header,
    Reading(Reading),
    Rejected(String),
}

const UTF8_BOM: &[u8] = b"\xEF\xBB\xBF";

/// Classifies one CSV record. `first` is true for the file's first record, which may be
/// a header and may start with a UTF-8 byte order mark.
pub fn classify(fields: &[&[u8]], first: bool) -> Row {
    let [sensor_id, timestamp, value] = fields else {
        return Row::Rejected(format!("expected 3 fields (sensor_id,timestamp,value), found {}", fields.len()));
    };
    let sensor_id = if first { sensor_id.strip_prefix(UTF8_BOM).unwrap_or(sensor_id) } else { sensor_id };
    let (sensor_id, timestamp, value) =
        match (field_text("sensor_id", sensor_id), field_text("timestamp", timestamp), field_text("value", value)) {
            (Ok(a), Ok(b), Ok(c)) => (a, b, c),
            (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => return e,
        };
    if first && sensor_id.eq_ignore_ascii_case("sensor_id") && timestamp.eq_ignore_ascii_case("timestamp") {
        return Row::Header;
    }
    if sensor_id.is_empty() {
        return Row::Rejected("sensor_id is empty".into());
    }
    if sensor_id.len() > MAX_PARTITION_KEY {
        return Row::Rejected(format!(
            "sensor_id is {} bytes long; DynamoDB takes at most {MAX_PARTITION_KEY} in a partition key",
            sensor_id.len()
        ));
    }
    let Ok(timestamp) = timestamp.parse::<i64>() else {
        return Row::Rejected(format!("timestamp {} is not an integer", shown(timestamp)));
    };
    match crate::number::check(value) {
        Ok(value) => Row::Reading(Reading { sensor_id: sensor_id.to_owned(), timestamp, value, line: 0 }),
        Err(crate::number::NumberError::NotANumber) => {
            Row::Rejected(format!("value {} is not a finite number", shown(value)))
        }
        Err(problem) => Row::Rejected(format!("value {} {problem}", shown(value))),
    }
}

/// DynamoDB's limit on a partition key value, in bytes.
pub const MAX_PARTITION_KEY: usize = 2048;

/// A field quoted for a reason, cut to a readable length.
fn shown(text: &str) -> String {
    if text.len() <= 40 {
        return format!("{text:?}");
    }
    let cut: String = text.chars().take(40).collect();
    format!("{cut:?}... ({} bytes)", text.len())
}

fn field_text<'a>(name: &str, raw: &'a [u8]) -> Result<&'a str, Row> {
    std::str::from_utf8(raw).map(str::trim).map_err(|_| Row::Rejected(format!("{name} is not UTF-8 text")))
}

/// The most of a rejected row the report keeps.
pub const MAX_REPORTED_ROW: usize = 1024;

/// A line of the rejected-rows report: line number, reason, the raw row (CSV-quoted, at
/// most [`MAX_REPORTED_ROW`] bytes of it, bytes that are not UTF-8 replaced).
pub fn rejected_line(line: u64, reason: &str, raw: &[u8]) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    let raw_text = if raw.len() > MAX_REPORTED_ROW {
        format!("{}... [cut: {} bytes in all]", String::from_utf8_lossy(&raw[..MAX_REPORTED_ROW]), raw.len())
    } else {
        String::from_utf8_lossy(raw).into_owned()
    };
    // Writing into a Vec cannot fail; an error would only drop this line's quoting.
    let _ = writer.write_record([line.to_string().as_str(), reason, raw_text.trim_end_matches(['\r', '\n'])]);
    writer.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(line: &str, first: bool) -> Row {
        let fields: Vec<&[u8]> = line.split(',').map(str::as_bytes).collect();
        classify(&fields, first)
    }

    #[test]
    fn valid_rows_become_readings() {
        assert_eq!(
            row("s-1,1700000000,21.5", false),
            Row::Reading(Reading { sensor_id: "s-1".into(), timestamp: 1_700_000_000, value: "21.5".into(), line: 0 })
        );
        assert!(matches!(row(" s-1 , -5 , -0.25 ", false), Row::Reading(r) if r.timestamp == -5 && r.value == "-0.25"));
        assert!(matches!(row("s,1,+.5", false), Row::Reading(r) if r.value == "0.5"));
        assert!(matches!(row("s,1,1e3", false), Row::Reading(r) if r.value == "1e3"));
    }

    #[test]
    fn header_is_optional_and_only_first() {
        assert_eq!(row("sensor_id,timestamp,value", true), Row::Header);
        assert_eq!(row("\u{feff}sensor_id,timestamp,value", true), Row::Header);
        assert!(matches!(row("\u{feff}s-1,1,2", true), Row::Reading(r) if r.sensor_id == "s-1"));
        assert!(matches!(row("sensor_id,timestamp,value", false), Row::Rejected(_)));
    }

    #[test]
    fn invalid_rows_say_why() {
        let reason = |line: &str| match row(line, false) {
            Row::Rejected(r) => r,
            other => panic!("{line} accepted as {other:?}"),
        };
        assert!(reason(",1,2").contains("sensor_id is empty"));
        assert!(reason("s,1.5,2").contains("not an integer"));
        assert!(reason("s,abc,2").contains("not an integer"));
        assert!(reason("s,1,NaN").contains("finite"));
        assert!(reason("s,1,inf").contains("finite"));
        assert!(reason("s,1,infinity").contains("finite"));
        assert!(reason("s,1,").contains("finite"));
        assert!(reason("s,1").contains("3 fields"));
        assert!(reason("s,1,2,3").contains("found 4"));
        assert!(matches!(classify(&[b"s\xff", b"1", b"2"], false), Row::Rejected(r) if r.contains("UTF-8")));
    }

    #[test]
    fn items_match_the_table_schema() {
        let r = Reading { sensor_id: "s".into(), timestamp: 7, value: "1.25".into(), line: 1 };
        let item = r.to_item();
        assert_eq!(item.get("timestamp"), Some(&AttrValue::N("7".into())));
        assert_eq!(item.get("value"), Some(&AttrValue::N("1.25".into())));
    }

    #[test]
    fn rows_dynamodb_would_refuse_are_rejected_with_the_reason() {
        let reason = |line: &str| match row(line, false) {
            Row::Rejected(r) => r,
            other => panic!("{line} accepted as {other:?}"),
        };
        assert!(reason(&format!("{},1,2", "s".repeat(2049))).contains("at most 2048"));
        assert!(matches!(row(&format!("{},1,2", "s".repeat(2048)), false), Row::Reading(_)));
        assert!(reason("s,1,1.23456789012345678901234567890123456789").contains("38 significant digits"));
        assert!(reason("s,1,1e126").contains("range"));
        assert!(reason("s,1,-1e-131").contains("range"));
        assert!(matches!(row("s,1,9.9999999999999999999999999999999999999e125", false), Row::Reading(_)));
        assert!(matches!(row("s,1,1e-130", false), Row::Reading(_)));
    }

    #[test]
    fn long_rejected_rows_are_cut_in_the_report() {
        let line = rejected_line(9, "too long", &vec![b'x'; 100_000]);
        assert!(line.len() < MAX_REPORTED_ROW + 200, "{} bytes", line.len());
        assert!(String::from_utf8_lossy(&line).contains("100000 bytes in all"));
    }

    #[test]
    fn rejected_lines_quote_the_raw_row() {
        let line = rejected_line(4, "value \"x\" is not a finite number", b"s,1,x\r\n");
        assert_eq!(String::from_utf8(line).unwrap(), "4,\"value \"\"x\"\" is not a finite number\",\"s,1,x\"\n");
    }
}
