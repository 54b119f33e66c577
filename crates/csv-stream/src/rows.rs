//! Sensor readings: one CSV row `sensor_id,timestamp,value`, validated.

use common::ports::{AttrValue, Item};

#[derive(Debug, Clone, PartialEq)]
pub struct Reading {
    pub sensor_id: String,
    pub timestamp: i64,
    /// The value's text as given (validated finite), so DynamoDB stores it exactly.
    pub value: String,
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
    let Ok(timestamp) = timestamp.parse::<i64>() else {
        return Row::Rejected(format!("timestamp {timestamp:?} is not an integer"));
    };
    match value.parse::<f64>() {
        Ok(v) if v.is_finite() && !value.eq_ignore_ascii_case("infinity") => {}
        _ => return Row::Rejected(format!("value {value:?} is not a finite number")),
    }
    Row::Reading(Reading { sensor_id: sensor_id.to_owned(), timestamp, value: normalise_number(value) })
}

fn field_text<'a>(name: &str, raw: &'a [u8]) -> Result<&'a str, Row> {
    std::str::from_utf8(raw).map(str::trim).map_err(|_| Row::Rejected(format!("{name} is not UTF-8 text")))
}

/// DynamoDB numbers take plain decimal text: forms like `+1.5`, `.5` or `5.` are
/// rewritten; everything else (already validated finite) is kept as written.
fn normalise_number(raw: &str) -> String {
    let unsigned = raw.strip_prefix('+').unwrap_or(raw);
    let odd = unsigned.starts_with('.') || unsigned.starts_with("-.") || unsigned.ends_with('.');
    match unsigned.parse::<f64>() {
        Ok(v) if odd => v.to_string(),
        _ => unsigned.to_owned(),
    }
}

/// A line of the rejected-rows report: line number, reason, the raw row (CSV-quoted).
pub fn rejected_line(line: u64, reason: &str, raw: &[u8]) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    let raw_text = String::from_utf8_lossy(raw);
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
            Row::Reading(Reading { sensor_id: "s-1".into(), timestamp: 1_700_000_000, value: "21.5".into() })
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
        let r = Reading { sensor_id: "s".into(), timestamp: 7, value: "1.25".into() };
        let item = r.to_item();
        assert_eq!(item.get("timestamp"), Some(&AttrValue::N("7".into())));
        assert_eq!(item.get("value"), Some(&AttrValue::N("1.25".into())));
    }

    #[test]
    fn rejected_lines_quote_the_raw_row() {
        let line = rejected_line(4, "value \"x\" is not a finite number", b"s,1,x\r\n");
        assert_eq!(String::from_utf8(line).unwrap(), "4,\"value \"\"x\"\" is not a finite number\",\"s,1,x\"\n");
    }
}
