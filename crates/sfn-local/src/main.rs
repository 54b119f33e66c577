//! `sfn-local`: serve the Step Functions API locally, run one execution, draw a graph,
//! or move a manual clock.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Instant;

use clap::{Parser, Subcommand};
use serde_json::{Value, json};

use sfn_local::clock::{Clock, ClockMode};
use sfn_local::engine::{Engine, HistoryEvent, Status};
use sfn_local::lambda::{Invoker, NoLambda, SdkInvoker};
use sfn_local::limits::DEFAULT_MAX_FINISHED_EXECUTIONS;
use sfn_local::service::Service;
use sfn_local::{api, asl, graph, register};

#[derive(Parser)]
#[command(name = "sfn-local", version, about = "A local AWS Step Functions: States Language engine and API server")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Args, Clone)]
struct EngineArgs {
    /// virtual: Waits complete at once (history shows simulated time); manual: Waits wait
    /// until the clock is advanced; real: Waits wait.
    #[arg(long, value_enum, default_value_t = ClockMode::Virtual, env = "SFN_LOCAL_CLOCK")]
    clock: ClockMode,
    /// Lambda Invoke API for Lambda tasks (e.g. the stack's `local-lambda` at
    /// http://127.0.0.1:9000). Without it, the AWS configuration of the environment is used.
    #[arg(long, env = "SFN_LOCAL_LAMBDA_ENDPOINT")]
    lambda_endpoint: Option<String>,
    /// A `${NAME}` substitution for definitions, as NAME=VALUE (repeatable).
    /// `${<Pascal>FunctionArn}` resolves to the local function's ARN without one.
    #[arg(long = "var", value_parser = parse_var)]
    vars: Vec<(String, String)>,
    #[arg(long, default_value = "us-east-1")]
    region: String,
    #[arg(long, default_value = "123456789012")]
    account: String,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the Step Functions API (JSON 1.0) over HTTP.
    Serve {
        #[arg(long, default_value = "127.0.0.1:8083")]
        listen: SocketAddr,
        /// Definition files or directories of `*.asl.json` to register at start-up
        /// (each named after its file).
        #[arg(long = "register")]
        register: Vec<PathBuf>,
        /// Finished executions to keep (with their histories) for Describe, List and
        /// GetExecutionHistory; past it the oldest finished are forgotten. Running
        /// executions are always kept.
        #[arg(long, default_value_t = DEFAULT_MAX_FINISHED_EXECUTIONS, env = "SFN_LOCAL_MAX_FINISHED_EXECUTIONS")]
        max_finished_executions: usize,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Run one execution of a definition and print its timeline and result.
    Run {
        definition: PathBuf,
        /// The execution input (JSON text).
        #[arg(long, default_value = "{}", conflicts_with = "input_file")]
        input: String,
        #[arg(long)]
        input_file: Option<PathBuf>,
        /// Print the full AWS-shaped history as JSON instead of the timeline.
        #[arg(long)]
        history: bool,
        #[command(flatten)]
        engine: EngineArgs,
    },
    /// Print a Mermaid flowchart of a definition.
    Graph { definition: PathBuf },
    /// Validate definitions as CreateStateMachine would.
    Validate {
        #[arg(required = true)]
        definitions: Vec<PathBuf>,
    },
    /// Read or advance the manual clock of a running server.
    Clock {
        #[command(subcommand)]
        action: ClockAction,
        #[arg(long, default_value = "http://127.0.0.1:8083", global = true)]
        endpoint: String,
    },
}

#[derive(Subcommand)]
enum ClockAction {
    /// Print the server's current time.
    Get,
    /// Move a manual clock forward by SECONDS.
    Advance { seconds: f64 },
}

fn parse_var(raw: &str) -> Result<(String, String), String> {
    raw.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())).ok_or_else(|| format!("'{raw}' is not NAME=VALUE"))
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_max_level(
            std::env::var("SFN_LOCAL_LOG")
                .ok()
                .and_then(|v| v.to_ascii_lowercase().parse::<tracing_subscriber::filter::LevelFilter>().ok())
                .unwrap_or(tracing_subscriber::filter::LevelFilter::INFO),
        )
        .with_writer(std::io::stderr)
        .with_target(false)
        .init();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve { listen, register, max_finished_executions, engine } => {
            serve(listen, register, max_finished_executions, engine).await
        }
        Command::Run { definition, input, input_file, history, engine } => {
            run(definition, input, input_file, history, engine).await
        }
        Command::Graph { definition } => draw(&definition),
        Command::Validate { definitions } => validate(&definitions),
        Command::Clock { action, endpoint } => clock(action, &endpoint).await,
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("sfn-local: {message}");
            ExitCode::from(2)
        }
    }
}

async fn build_service(args: &EngineArgs, max_finished_executions: usize) -> Arc<Service> {
    let invoker: Arc<dyn Invoker> = match &args.lambda_endpoint {
        Some(url) => Arc::new(SdkInvoker::new(Some(url)).await),
        None if std::env::var("AWS_REGION").is_ok() || std::env::var("AWS_DEFAULT_REGION").is_ok() => {
            Arc::new(SdkInvoker::new(None).await)
        }
        None => Arc::new(NoLambda),
    };
    let engine = Engine::new(Clock::new(args.clock), invoker, args.region.clone());
    Service::keeping(engine, args.region.clone(), args.account.clone(), max_finished_executions)
}

async fn serve(
    listen: SocketAddr,
    register: Vec<PathBuf>,
    max_finished_executions: usize,
    args: EngineArgs,
) -> Result<ExitCode, String> {
    let service = build_service(&args, max_finished_executions).await;
    let vars: HashMap<String, String> = args.vars.iter().cloned().collect();
    let files = register::definition_files(&register)?;
    for arn in register::register_files(&service, &files, &vars, &args.region, &args.account)? {
        tracing::info!(%arn, "registered");
    }
    let listener =
        tokio::net::TcpListener::bind(listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    tracing::info!(%listen, clock = %args.clock, max_finished_executions, lambda = args.lambda_endpoint.as_deref().unwrap_or("(none)"), "sfn-local serving the Step Functions API");
    let shutdown = async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => return std::future::pending::<()>().await,
            };
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        #[cfg(not(unix))]
        {
            let _ = ctrl_c.await;
        }
    };
    axum::serve(listener, api::router(service)).with_graceful_shutdown(shutdown).await.map_err(|e| e.to_string())?;
    Ok(ExitCode::SUCCESS)
}

fn load(definition: &PathBuf, args: Option<&EngineArgs>) -> Result<String, String> {
    let text = std::fs::read_to_string(definition).map_err(|e| format!("{}: {e}", definition.display()))?;
    match args {
        Some(a) => {
            let vars: HashMap<String, String> = a.vars.iter().cloned().collect();
            register::substitute(&text, &vars, &a.region, &a.account)
                .map_err(|e| format!("{}: {e}", definition.display()))
        }
        None => Ok(text),
    }
}

async fn run(
    definition: PathBuf,
    input: String,
    input_file: Option<PathBuf>,
    print_history: bool,
    args: EngineArgs,
) -> Result<ExitCode, String> {
    let text = load(&definition, Some(&args))?;
    let input = match input_file {
        Some(f) => std::fs::read_to_string(&f).map_err(|e| format!("{}: {e}", f.display()))?,
        None => input,
    };
    let service = build_service(&args, DEFAULT_MAX_FINISHED_EXECUTIONS).await;
    let name = register::machine_name(&definition);
    let arn = service
        .create_state_machine(
            &json!({"name": name, "definition": text, "roleArn": format!("arn:aws:iam::{}:role/local", args.account)}),
        )
        .map_err(|e| e.to_string())?["stateMachineArn"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let wall = Instant::now();
    let started =
        service.start_execution(&json!({"stateMachineArn": arn, "input": input})).map_err(|e| e.to_string())?;
    let execution =
        service.execution(started["executionArn"].as_str().unwrap_or_default()).map_err(|e| e.to_string())?;
    let outcome = execution.wait().await;
    let history = execution.history();
    if print_history {
        let body = service
            .get_execution_history(&json!({"executionArn": execution.arn, "maxResults": 1000}))
            .map_err(|e| e.to_string())?;
        println!("{}", serde_json::to_string_pretty(&body).unwrap_or_default());
    } else {
        print_timeline(&history);
    }
    let simulated =
        outcome.stop_date.map(|s| (s - execution.start_date).num_milliseconds() as f64 / 1000.0).unwrap_or(0.0);
    println!(
        "{} {} in {simulated:.3} s of execution time ({:.3} s wall, {} events)",
        name,
        outcome.status.as_str(),
        wall.elapsed().as_secs_f64(),
        history.len()
    );
    if let Some(output) = &outcome.output {
        println!("output: {output}");
    }
    if let Some(error) = &outcome.error {
        println!("error: {error}");
        println!("cause: {}", outcome.cause.unwrap_or_default());
    }
    Ok(if outcome.status == Status::Succeeded { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

fn short(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(max).collect::<String>())
    }
}

/// One line per state entered and left, with simulated time since the start.
pub fn print_timeline(history: &[HistoryEvent]) {
    let Some(first) = history.first() else { return };
    for event in history {
        let offset = (event.timestamp - first.timestamp).num_milliseconds() as f64 / 1000.0;
        let details = event.details.as_ref().map(|(_, d)| d);
        let name = details.and_then(|d| d.get("name")).and_then(Value::as_str).unwrap_or("");
        let line = if event.event_type.ends_with("StateEntered") {
            format!("▶ {name} ({})", event.event_type.trim_end_matches("StateEntered"))
        } else if event.event_type.ends_with("StateExited") {
            let output = details.and_then(|d| d.get("output")).and_then(Value::as_str).unwrap_or("");
            format!("✓ {name} → {}", short(output, 100))
        } else if event.event_type.ends_with("Failed") || event.event_type.ends_with("TimedOut") {
            let error = details.and_then(|d| d.get("error")).and_then(Value::as_str).unwrap_or("");
            format!("✗ {} {error}", event.event_type)
        } else if event.event_type.starts_with("Execution") {
            format!("● {}", event.event_type)
        } else {
            continue;
        };
        println!("{offset:>12.3}s  {line}");
    }
}

fn draw(definition: &PathBuf) -> Result<ExitCode, String> {
    let text = load(definition, None)?;
    let machine = asl::parse_definition(&text).map_err(|e| e.to_string())?;
    print!("{}", graph::mermaid(&machine));
    Ok(ExitCode::SUCCESS)
}

fn validate(definitions: &[PathBuf]) -> Result<ExitCode, String> {
    let mut ok = true;
    for file in register::definition_files(definitions)? {
        let text = load(&file, None)?;
        match asl::parse_definition(&text) {
            Ok(m) => println!("{}: valid ({} states)", file.display(), m.states.len()),
            Err(e) => {
                ok = false;
                println!("{}: {e}", file.display());
            }
        }
    }
    Ok(if ok { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

async fn clock(action: ClockAction, endpoint: &str) -> Result<ExitCode, String> {
    let url = format!("{}/_sfn-local/clock", endpoint.trim_end_matches('/'));
    let client = reqwest::Client::new();
    let request = match action {
        ClockAction::Get => client.get(&url),
        ClockAction::Advance { seconds } => client.post(&url).json(&json!({"advanceSeconds": seconds})),
    };
    let response = request.send().await.map_err(|e| format!("{url}: {e}"))?;
    let status = response.status();
    let body: Value = response.json().await.map_err(|e| format!("{url}: {e}"))?;
    if !status.is_success() {
        return Err(body.get("message").and_then(Value::as_str).unwrap_or("clock request failed").to_owned());
    }
    println!("{}", body.get("now").and_then(Value::as_str).unwrap_or_default());
    Ok(ExitCode::SUCCESS)
}
