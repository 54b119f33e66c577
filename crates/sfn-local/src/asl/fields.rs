//! Field values: paths, templates, numbers, texts, `Assign`, and JSONata `{% %}`
//! expressions, each checked where the definition gives it.

use serde_json::{Map, Value};

use super::validate::Validator;
use super::{Amount, Handling, QueryLanguage, ResultTarget, Selector, Template, Text};
use crate::intrinsics;
use crate::jsonata::{self, Expression};
use crate::path::{JsonPath, Query, ReferencePath, Root, is_variable_name};

impl Validator {
    pub(super) fn handling(&mut self, obj: &Map<String, Value>, at: &str) -> Handling {
        let parameters = match self.language {
            QueryLanguage::JsonPath => obj.get("Parameters").map(|p| self.template(p, &format!("{at}/Parameters"))),
            QueryLanguage::Jsonata => {
                obj.get("Arguments").map(|p| self.jsonata_template(p, &format!("{at}/Arguments")))
            }
        };
        Handling {
            parameters,
            result_selector: obj.get("ResultSelector").map(|p| self.template(p, &format!("{at}/ResultSelector"))),
            result_path: self.result_target(obj.get("ResultPath"), &format!("{at}/ResultPath")),
            retry: self.retriers(obj.get("Retry"), &format!("{at}/Retry")),
            catch: self.catchers(obj.get("Catch"), &format!("{at}/Catch")),
        }
    }

    /// A JSONata `{% %}` string in a JSONata state: `Ok(Some)` when it is one,
    /// `Err` when it is one that does not parse (reported).
    pub(super) fn expression_of(&mut self, value: &Value, at: &str) -> Result<Option<Expression>, ()> {
        if self.language != QueryLanguage::Jsonata {
            return Ok(None);
        }
        let Some(source) = value.as_str().and_then(jsonata::embedded) else { return Ok(None) };
        match Expression::parse(source) {
            // AWS accepts a JSONata expression reading a variable no Assign sets: it fails
            // when evaluated, "returned nothing (undefined)" (recorded: LocalStack's
            // test_assign_reference_variables snapshot, test_undefined_reference).
            Ok(e) => {
                let field = at.strip_prefix(self.state_at.as_str()).map_or(at, |f| f.trim_start_matches('/'));
                Ok(Some(e.at_field(field)))
            }
            Err(e) => {
                self.schema(format!("The JSONata expression '{source}' is invalid: {e}"), at);
                Err(())
            }
        }
    }

    /// A number: fixed, from a `...Path` (JSONPath) or a `{% %}` expression (JSONata).
    pub(super) fn amount(&mut self, obj: &Map<String, Value>, field: &str, at: &str) -> Option<Amount> {
        let path_field = format!("{field}Path");
        match (obj.get(field), obj.get(&path_field)) {
            (Some(_), Some(_)) => {
                self.schema(format!("'{field}' and '{path_field}' are exclusive"), at);
                None
            }
            (Some(v), None) => {
                let field_at = format!("{at}/{field}");
                if let Some(expr) = self.expression_of(v, &field_at).ok()? {
                    return Some(Amount::Jsonata(expr));
                }
                let n = v.as_f64().filter(|n| *n >= 0.0);
                if n.is_none() {
                    self.schema(format!("'{field}' must be a non-negative number, got {v}"), &field_at);
                }
                if field.ends_with("Seconds") && n == Some(0.0) {
                    self.schema(format!("'{field}' must be positive"), &field_at);
                }
                n.map(Amount::Fixed)
            }
            (None, Some(p)) => self.query(p, &format!("{at}/{path_field}")).map(Amount::FromPath),
            (None, None) => None,
        }
    }

    /// Fail's `Error`/`Cause`: a string, a `...Path` (JSONPath) or an expression (JSONata).
    pub(super) fn text(&mut self, obj: &Map<String, Value>, field: &str, at: &str) -> Option<Text> {
        let path_field = format!("{field}Path");
        match (obj.get(field), obj.get(&path_field)) {
            (Some(_), Some(_)) => {
                self.schema(format!("'{field}' and '{path_field}' are exclusive"), at);
                None
            }
            (Some(v @ Value::String(s)), None) => match self.expression_of(v, &format!("{at}/{field}")).ok()? {
                Some(expr) => Some(Text::Jsonata(expr)),
                None => Some(Text::Fixed(s.clone())),
            },
            (Some(v), None) => {
                self.schema(format!("'{field}' must be a string, got {v}"), &format!("{at}/{field}"));
                None
            }
            (None, Some(Value::String(raw))) if intrinsics::looks_like_call(raw) => match intrinsics::parse(raw) {
                Ok(call) => {
                    self.note_call(&call, &format!("{at}/{path_field}"));
                    Some(Text::Intrinsic(call))
                }
                Err(e) => {
                    self.schema(e, &format!("{at}/{path_field}"));
                    None
                }
            },
            (None, Some(p)) => self.query(p, &format!("{at}/{path_field}")).map(Text::Path),
            (None, None) => None,
        }
    }

    pub(super) fn positive_int(&mut self, v: &Value, at: &str) -> Option<u64> {
        match v.as_u64() {
            Some(n) if n > 0 => Some(n),
            _ => {
                self.schema(format!("expected a positive integer, got {v}"), at);
                None
            }
        }
    }

    pub(super) fn non_negative_int(&mut self, v: &Value, at: &str) -> Option<u64> {
        let n = v.as_u64();
        if n.is_none() {
            self.schema(format!("expected a non-negative integer, got {v}"), at);
        }
        n
    }

    fn path(&mut self, v: &Value, at: &str) -> Option<JsonPath> {
        self.path_text(v, at, JsonPath::parse)
    }

    /// A path on the input, the context object (`$$`) or a variable (`$name`).
    pub(super) fn query(&mut self, v: &Value, at: &str) -> Option<Query> {
        let q = self.path_text(v, at, Query::parse)?;
        self.note_query(&q, at);
        Some(q)
    }

    /// A JSONPath string parsed by `parse`; anything else is a schema error at `at`.
    fn path_text<T>(&mut self, v: &Value, at: &str, parse: fn(&str) -> Result<T, String>) -> Option<T> {
        let Some(text) = v.as_str() else {
            self.schema(format!("expected a JSONPath string, got {v}"), at);
            return None;
        };
        parse(text).map_err(|e| self.schema(e, at)).ok()
    }

    pub(super) fn selector(&mut self, v: Option<&Value>, at: &str) -> Selector {
        match v {
            None => Selector::root(),
            Some(Value::Null) => Selector::Discard,
            Some(v) => self.path(v, at).map(Selector::Path).unwrap_or_else(Selector::root),
        }
    }

    pub(super) fn result_target(&mut self, v: Option<&Value>, at: &str) -> ResultTarget {
        match v {
            None => ResultTarget::Path(ReferencePath::root()),
            Some(Value::Null) => ResultTarget::Discard,
            Some(Value::String(raw)) => match ReferencePath::parse(raw) {
                Ok(p) => ResultTarget::Path(p),
                Err(e) => {
                    self.schema(e, at);
                    ResultTarget::Discard
                }
            },
            Some(other) => {
                self.schema(format!("'ResultPath' must be a string or null, got {other}"), at);
                ResultTarget::Discard
            }
        }
    }

    /// `Assign`: an object whose fields name variables; values as the state's query
    /// language writes them.
    pub(super) fn assign(&mut self, v: &Value, at: &str) -> Option<Template> {
        let Some(fields) = v.as_object() else {
            self.schema(format!("'Assign' must be an object, got {v}"), at);
            return None;
        };
        for key in fields.keys() {
            let name = match self.language {
                QueryLanguage::JsonPath => key.strip_suffix(".$").unwrap_or(key),
                QueryLanguage::Jsonata => key,
            };
            if !is_variable_name(name) {
                self.schema(format!("The variable name '{name}' is invalid"), &format!("{at}/{key}"));
            } else if name == "states" {
                self.schema("The variable name 'states' is reserved", &format!("{at}/{key}"));
            } else {
                self.scopes.assign(name);
            }
        }
        Some(match self.language {
            QueryLanguage::JsonPath => self.template(v, at),
            QueryLanguage::Jsonata => self.jsonata_template(v, at),
        })
    }

    /// A JSONata state's payload: literals, with `{% %}` strings as expressions.
    pub(super) fn jsonata_template(&mut self, v: &Value, at: &str) -> Template {
        match v {
            Value::String(_) => match self.expression_of(v, at) {
                Ok(Some(expr)) => Template::Jsonata(expr),
                _ => Template::Literal(v.clone()),
            },
            Value::Object(map) => {
                let fields: Vec<(String, Template)> = map
                    .iter()
                    .map(|(key, value)| (key.clone(), self.jsonata_template(value, &format!("{at}/{key}"))))
                    .collect();
                if fields.iter().all(|(_, t)| matches!(t, Template::Literal(_))) {
                    Template::Literal(v.clone())
                } else {
                    Template::Object(fields)
                }
            }
            Value::Array(items) => {
                let items: Vec<Template> = items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.jsonata_template(item, &format!("{at}[{i}]")))
                    .collect();
                if items.iter().all(|t| matches!(t, Template::Literal(_))) {
                    Template::Literal(v.clone())
                } else {
                    Template::Array(items)
                }
            }
            other => Template::Literal(other.clone()),
        }
    }

    /// A JSONPath state's payload: `.$` fields are paths or intrinsic functions.
    pub(super) fn template(&mut self, v: &Value, at: &str) -> Template {
        fn has_dynamic(v: &Value) -> bool {
            match v {
                Value::Object(m) => m.iter().any(|(k, v)| k.ends_with(".$") || has_dynamic(v)),
                Value::Array(a) => a.iter().any(has_dynamic),
                _ => false,
            }
        }
        if !has_dynamic(v) {
            return Template::Literal(v.clone());
        }
        match v {
            Value::Object(map) => Template::Object(
                map.iter()
                    .map(|(key, value)| {
                        let field_at = format!("{at}/{key}");
                        match key.strip_suffix(".$") {
                            Some(field) => (field.to_owned(), self.dynamic_field(key, value, &field_at)),
                            None => (key.clone(), self.template(value, &field_at)),
                        }
                    })
                    .collect(),
            ),
            Value::Array(items) => Template::Array(
                items.iter().enumerate().map(|(i, item)| self.template(item, &format!("{at}[{i}]"))).collect(),
            ),
            other => Template::Literal(other.clone()),
        }
    }

    fn dynamic_field(&mut self, key: &str, value: &Value, at: &str) -> Template {
        let Some(raw) = value.as_str() else {
            self.schema(format!("The value of '{key}' must be a path or intrinsic function string"), at);
            return Template::Literal(Value::Null);
        };
        let field = key.strip_suffix(".$").unwrap_or(key).to_owned();
        if intrinsics::looks_like_call(raw) {
            return match intrinsics::parse(raw) {
                Ok(call) => {
                    self.note_call(&call, at);
                    Template::Intrinsic { field, call }
                }
                Err(e) => {
                    self.schema(e, at);
                    Template::Literal(Value::Null)
                }
            };
        }
        match Query::parse(raw) {
            Ok(query) => {
                self.note_query(&query, at);
                Template::Path { field, query }
            }
            Err(e) => {
                self.schema(e, at);
                Template::Literal(Value::Null)
            }
        }
    }

    /// A path rooted in a variable is a reference to it.
    fn note_query(&mut self, query: &Query, at: &str) {
        if let Root::Variable(name) = &query.root {
            self.scopes.reference(name, at);
        }
    }

    /// The variables an intrinsic function's arguments read, nested calls included.
    fn note_call(&mut self, call: &intrinsics::Call, at: &str) {
        for arg in &call.args {
            match arg {
                intrinsics::Arg::Path(query) => self.note_query(query, at),
                intrinsics::Arg::Call(inner) => self.note_call(inner, at),
                intrinsics::Arg::Literal(_) => {}
            }
        }
    }
}
