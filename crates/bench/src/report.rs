//! What the bench measured: tables and target checks, printed as they come and written at
//! the end to the Markdown report and the JSON results.

use std::time::Duration;

use serde_json::{Value, json};

use crate::Args;

pub(crate) struct Check {
    pub(crate) name: String,
    pub(crate) target: String,
    pub(crate) measured: String,
    pub(crate) met: bool,
}

#[derive(Default)]
pub(crate) struct Report {
    pub(crate) sections: Vec<(String, Vec<String>, Vec<Vec<String>>)>,
    pub(crate) checks: Vec<Check>,
    pub(crate) json: serde_json::Map<String, Value>,
}

impl Report {
    pub(crate) fn table(&mut self, title: &str, header: &[&str], rows: Vec<Vec<String>>) {
        println!("\n## {title}\n");
        println!("| {} |", header.join(" | "));
        println!("|{}|", header.iter().map(|_| "---").collect::<Vec<_>>().join("|"));
        for row in &rows {
            println!("| {} |", row.join(" | "));
        }
        self.sections.push((title.to_owned(), header.iter().map(|h| (*h).to_owned()).collect(), rows));
    }

    pub(crate) fn check(&mut self, name: &str, target: &str, measured: String, met: bool) {
        self.checks.push(Check { name: name.into(), target: target.into(), measured, met });
    }
}

pub(crate) fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

pub(crate) fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn machine_description() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| s.lines().next().and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok()))
        .map(|kib| format!("{:.0} GiB", kib as f64 / 1024.0 / 1024.0))
        .unwrap_or_default();
    format!("{cpu}, {cores} cores, {memory} RAM, {} {}", std::env::consts::OS, std::env::consts::ARCH)
}

pub(crate) fn write_outputs(report: &Report, args: &Args) -> Result<(), String> {
    let date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC");
    let machine = machine_description();
    let mut md = format!(
        "# Benchmarks\n\nMeasured by `make bench` on {date}, on {machine}. Release binaries (LTO, stripped, panic=abort); \
         local stand-ins on loopback for the Lambda Runtime API and a delayed DynamoDB; the local stack (moto, sfn-local, \
         local-lambda) for the rest. Raw figures: `target/bench/results.json`.\n"
    );
    md.push_str("\n## Targets\n\n| target | goal | measured | met |\n|---|---|---|---|\n");
    for c in &report.checks {
        md.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            c.name,
            c.target,
            c.measured,
            if c.met { "yes" } else { "**no**" }
        ));
    }
    for (title, header, rows) in &report.sections {
        md.push_str(&format!(
            "\n## {title}\n\n| {} |\n|{}|\n",
            header.join(" | "),
            header.iter().map(|_| "---").collect::<Vec<_>>().join("|")
        ));
        for row in rows {
            md.push_str(&format!("| {} |\n", row.join(" | ")));
        }
    }
    if let Some(dir) = args.report.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    std::fs::write(&args.report, md).map_err(|e| format!("{}: {e}", args.report.display()))?;
    let mut json = report.json.clone();
    json.insert("date".into(), json!(date.to_string()));
    json.insert("machine".into(), json!(machine));
    json.insert(
        "targets".into(),
        Value::Array(
            report
                .checks
                .iter()
                .map(|c| json!({"name": c.name, "goal": c.target, "measured": c.measured, "met": c.met}))
                .collect(),
        ),
    );
    if let Some(dir) = args.results.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    std::fs::write(&args.results, serde_json::to_string_pretty(&Value::Object(json)).unwrap_or_default())
        .map_err(|e| format!("{}: {e}", args.results.display()))?;
    Ok(())
}
