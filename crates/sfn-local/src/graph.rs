//! A Mermaid flowchart of a state machine, for READMEs and reviews.

use std::fmt::Write;

use crate::asl::{Comparison, Operand, Rule, StateKind, StateMachine, Template};

/// Renders `machine` as a Mermaid `flowchart TD`. Catch edges are dashed and labelled
/// with the errors they catch; Parallel branches and Map processors are subgraphs.
pub fn mermaid(machine: &StateMachine) -> String {
    let mut out = String::from("flowchart TD\n");
    let mut ids = Ids::default();
    render(machine, "", &mut ids, &mut out, 1);
    out
}

#[derive(Default)]
struct Ids {
    next: usize,
}

impl Ids {
    fn fresh(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}{}", self.next)
    }
}

fn label(text: &str) -> String {
    text.replace('"', "#quot;")
}

/// A short reading of a choice rule: `$.status == "FRIDAY"`.
pub fn describe(rule: &Rule) -> String {
    let text = match rule {
        Rule::And(rules) => rules.iter().map(describe).collect::<Vec<_>>().join(" and "),
        Rule::Or(rules) => rules.iter().map(describe).collect::<Vec<_>>().join(" or "),
        Rule::Not(inner) => format!("not ({})", describe(inner)),
        Rule::Condition(Template::Jsonata(expr)) => expr.source().to_owned(),
        Rule::Condition(Template::Literal(v)) => v.to_string(),
        Rule::Condition(_) => "Condition".to_owned(),
        Rule::Compare { variable, op, operand } => {
            let var = variable.as_str().to_owned();
            let operand = match operand {
                Operand::Literal(v) => v.to_string(),
                Operand::Path(p) => p.as_str().to_owned(),
            };
            let symbol = match op {
                Comparison::StringEquals
                | Comparison::NumericEquals
                | Comparison::BooleanEquals
                | Comparison::TimestampEquals => "==",
                Comparison::StringLessThan | Comparison::NumericLessThan | Comparison::TimestampLessThan => "<",
                Comparison::StringGreaterThan | Comparison::NumericGreaterThan | Comparison::TimestampGreaterThan => {
                    ">"
                }
                Comparison::StringLessThanEquals
                | Comparison::NumericLessThanEquals
                | Comparison::TimestampLessThanEquals => "<=",
                Comparison::StringGreaterThanEquals
                | Comparison::NumericGreaterThanEquals
                | Comparison::TimestampGreaterThanEquals => ">=",
                Comparison::StringMatches => "matches",
                other => return format!("{var} {other:?} {operand}"),
            };
            format!("{var} {symbol} {operand}")
        }
    };
    if text.chars().count() > 60 { format!("{}…", text.chars().take(59).collect::<String>()) } else { text }
}

fn id_of(scope: &str, name: &str) -> String {
    let clean: String = name.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    format!("{scope}{clean}")
}

fn render(machine: &StateMachine, scope: &str, ids: &mut Ids, out: &mut String, depth: usize) {
    let pad = "    ".repeat(depth);
    let start = ids.fresh(&format!("{scope}start"));
    let end = ids.fresh(&format!("{scope}end"));
    let _ = writeln!(out, "{pad}{start}((start)) --> {}", id_of(scope, &machine.start_at));
    let mut ends = false;
    for (name, state) in &machine.states {
        let id = id_of(scope, name);
        let kind = state.kind.type_name();
        match &state.kind {
            StateKind::Choice { choices, default } => {
                let _ = writeln!(out, "{pad}{id}{{\"{}\"}}", label(name));
                for crate::asl::Choice { rule, next, .. } in choices {
                    let _ = writeln!(out, "{pad}{id} -->|\"{}\"| {}", label(&describe(rule)), id_of(scope, next));
                }
                if let Some(d) = default {
                    let _ = writeln!(out, "{pad}{id} -->|default| {}", id_of(scope, d));
                }
            }
            StateKind::Parallel { branches, .. } => {
                let _ = writeln!(out, "{pad}subgraph {id}[\"{} (Parallel)\"]", label(name));
                for branch in branches {
                    let inner = ids.fresh(&format!("{id}_b"));
                    render(branch, &format!("{inner}_"), ids, out, depth + 1);
                }
                let _ = writeln!(out, "{pad}end");
            }
            StateKind::Map(map) => {
                let _ = writeln!(out, "{pad}subgraph {id}[\"{} (Map)\"]", label(name));
                let inner = ids.fresh(&format!("{id}_m"));
                render(&map.processor, &format!("{inner}_"), ids, out, depth + 1);
                let _ = writeln!(out, "{pad}end");
            }
            StateKind::Succeed => {
                let _ = writeln!(out, "{pad}{id}([\"{}\"])", label(name));
            }
            StateKind::Fail { .. } => {
                let _ = writeln!(out, "{pad}{id}[/\"{} (Fail)\"/]", label(name));
            }
            _ => {
                let _ = writeln!(out, "{pad}{id}[\"{} ({kind})\"]", label(name));
            }
        }
        if let Some(next) = &state.next {
            let _ = writeln!(out, "{pad}{id} --> {}", id_of(scope, next));
        }
        let catchers = match &state.kind {
            StateKind::Task { handling, .. } | StateKind::Parallel { handling, .. } => handling.catch.as_slice(),
            StateKind::Map(map) => map.handling.catch.as_slice(),
            _ => &[],
        };
        for c in catchers {
            let _ =
                writeln!(out, "{pad}{id} -. \"{}\" .-> {}", label(&c.error_equals.join(", ")), id_of(scope, &c.next));
        }
        let terminal = match &state.kind {
            StateKind::Choice { .. } | StateKind::Fail { .. } => false,
            StateKind::Succeed => true,
            _ => state.next.is_none(),
        };
        if terminal {
            ends = true;
            let _ = writeln!(out, "{pad}{id} --> {end}");
        }
    }
    if ends {
        let _ = writeln!(out, "{pad}{end}((end))");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asl::parse_definition;

    #[test]
    fn draws_states_edges_catches_and_subgraphs() {
        let m = parse_definition(
            r#"{"StartAt":"Check","States":{
                "Check":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Next":"Is it?",
                         "Catch":[{"ErrorEquals":["UserNotFound"],"Next":"Failed"}]},
                "Is it?":{"Type":"Choice","Choices":[{"Variable":"$.x","BooleanEquals":true,"Next":"Done"}],"Default":"Each"},
                "Each":{"Type":"Map","ItemProcessor":{"StartAt":"One","States":{"One":{"Type":"Pass","End":true}}},"Next":"Done"},
                "Done":{"Type":"Succeed"},
                "Failed":{"Type":"Fail","Error":"X"}}}"#,
        )
        .unwrap();
        let g = mermaid(&m);
        assert!(g.starts_with("flowchart TD\n"));
        assert!(g.contains("Check[\"Check (Task)\"]"));
        assert!(g.contains("Is_it_{\"Is it?\"}"));
        assert!(g.contains("Check -. \"UserNotFound\" .-> Failed"));
        assert!(g.contains("Is_it_ -->|default| Each"));
        assert!(g.contains("Is_it_ -->|\"$.x == true\"| Done"), "{g}");
        assert!(g.contains("subgraph Each[\"Each (Map)\"]"));
        assert!(g.contains("Failed[/\"Failed (Fail)\"/]"));
    }
}
