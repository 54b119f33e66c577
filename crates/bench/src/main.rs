//! `make bench`: cold start, binary size, memory and throughput, measured on this machine
//! against loopback stand-ins and the local stack, checked against the project's targets.
//! Writes `docs/benchmarks.md` and `target/bench/results.json`; exits 1 when a target is missed.

mod cold_start;
mod dynamo_stub;
mod fixtures;
mod ingest_bench;
mod invocation;
mod report;
mod runtime_api;
mod sfn_bench;
mod stack;

use std::path::PathBuf;
use std::time::Instant;

use clap::Parser;

use cold_start::cold_starts;
use fixtures::seed;
use ingest_bench::{csv_memory_and_end_to_end, csv_parsing, write_pipelining};
use report::{Report, write_outputs};
use sfn_bench::{sfn_transitions, workflows};
use stack::{local, s3_client, sdk_config};

#[derive(Parser)]
#[command(about = "Measure cold start, size, memory and throughput")]
struct Args {
    /// Where the release binaries are (this machine's architecture: the ones started here).
    #[arg(long, default_value = "target/release")]
    bin_dir: PathBuf,
    /// Where `cargo lambda build --release --arm64` put the binaries Lambda runs
    /// (`<dir>/<function>/bootstrap`): their sizes are the ones deployed.
    #[arg(long, default_value = "target/lambda")]
    arm64_dir: PathBuf,
    /// Cold starts per function.
    #[arg(long, default_value_t = 20)]
    starts: usize,
    /// Rows for the parsing benchmark and the large memory run.
    #[arg(long, default_value_t = 1_000_000)]
    big_rows: usize,
    #[arg(long, default_value = "docs/benchmarks.md")]
    report: PathBuf,
    #[arg(long, default_value = "target/bench/results.json")]
    results: PathBuf,
    /// Run only these steps (comma-separated: cold-starts, csv-parsing, csv-memory,
    /// pipelining, sfn-local, workflows); the report then holds only them.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
}

async fn run(args: &Args) -> Result<bool, String> {
    let moto = sdk_config(&local("MOTO_PORT", 4566)).await;
    let s3 = s3_client(&moto);
    let dynamodb = aws_sdk_dynamodb::Client::new(&moto);
    let sfn = aws_sdk_sfn::Client::new(&sdk_config(&local("SFN_PORT", 8083)).await);
    seed(&s3, &dynamodb, &sfn).await?;
    let mut report = Report::default();
    for step in ["cold-starts", "csv-parsing", "csv-memory", "pipelining", "sfn-local", "workflows"] {
        if !args.only.is_empty() && !args.only.iter().any(|s| s == step) {
            continue;
        }
        let started = Instant::now();
        eprintln!("[bench] {step}...");
        match step {
            "cold-starts" => cold_starts(&mut report, args, &s3).await?,
            "csv-parsing" => csv_parsing(&mut report, args).await?,
            "csv-memory" => csv_memory_and_end_to_end(&mut report, args, &s3).await?,
            "pipelining" => write_pipelining(&mut report).await?,
            "sfn-local" => sfn_transitions(&mut report).await?,
            _ => workflows(&mut report, &s3, &sfn).await?,
        }
        eprintln!("[bench] {step} done in {:.1} s", started.elapsed().as_secs_f64());
    }
    println!("\n## Targets\n");
    for c in &report.checks {
        println!(
            "{} {:<55} goal {:<38} measured {}",
            if c.met { "ok  " } else { "MISS" },
            c.name,
            c.target,
            c.measured
        );
    }
    write_outputs(&report, args)?;
    println!("\nwrote {} and {}", args.report.display(), args.results.display());
    Ok(report.checks.iter().all(|c| c.met))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(&args).await {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("bench: some targets were missed (see above)");
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
