//! `local-lambda serve`: the stack's Lambda service on loopback.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use local_lambda::config::{parse_env_file, parse_functions};
use local_lambda::pool::{Pool, Settings};

#[derive(Parser)]
#[command(name = "local-lambda", about = "The local Lambda service of the stack (Invoke API and Runtime API)")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the Invoke API; each function runs as processes of `<bin-dir>/<name>`.
    Serve {
        #[arg(long, default_value = "127.0.0.1:9000")]
        listen: SocketAddr,
        /// JSON {"name": {"timeoutSeconds", "memoryMb", "environment"}} (`scripts/template.py lambda-functions`).
        #[arg(long)]
        functions: PathBuf,
        /// KEY=VALUE lines every function gets (endpoints, credentials, region).
        #[arg(long)]
        env_file: Option<PathBuf>,
        /// Where the function binaries are (`cargo build` puts them in target/debug).
        #[arg(long)]
        bin_dir: PathBuf,
        #[arg(long, default_value = "us-east-1")]
        region: String,
        #[arg(long, default_value = "123456789012")]
        account: String,
        /// Concurrent executions per function; past it invocations get TooManyRequestsException.
        #[arg(long, default_value_t = 64)]
        max_instances: usize,
        /// Seconds an environment may sit idle before its process is stopped (Lambda reclaims
        /// idle environments after minutes).
        #[arg(long, default_value_t = 300, value_parser = clap::value_parser!(u64).range(1..=86_400))]
        idle_seconds: u64,
    },
}

fn read(path: &std::path::Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

#[tokio::main]
async fn main() -> ExitCode {
    let Command::Serve { listen, functions, env_file, bin_dir, region, account, max_instances, idle_seconds } =
        Cli::parse().command;
    let functions = match read(&functions).and_then(|t| parse_functions(&t, &bin_dir)) {
        Ok(functions) => functions,
        Err(error) => {
            eprintln!("local-lambda: functions: {error}");
            return ExitCode::from(2);
        }
    };
    let shared_env = match env_file.as_deref().map(|p| read(p).and_then(|t| parse_env_file(&t))).transpose() {
        Ok(vars) => vars.unwrap_or_default(),
        Err(error) => {
            eprintln!("local-lambda: env file: {error}");
            return ExitCode::from(2);
        }
    };
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("local-lambda: cannot listen on {listen}: {error}");
            return ExitCode::from(2);
        }
    };
    let runtime_api = listener.local_addr().map(|a| a.to_string()).unwrap_or_else(|_| listen.to_string());
    let count = functions.len();
    let missing: Vec<String> =
        functions.values().filter(|f| !f.binary.is_file()).map(|f| f.binary.display().to_string()).collect();
    if !missing.is_empty() {
        eprintln!("local-lambda: not built yet (invocations fail until `cargo build`): {}", missing.join(", "));
    }
    let idle_limit = std::time::Duration::from_secs(idle_seconds);
    let pool = Pool::new(Settings { functions, shared_env, runtime_api, region, account, max_instances, idle_limit });
    pool.spawn_reaper();
    eprintln!("local-lambda: {count} function(s) on http://{listen}");
    let router = local_lambda::api::router(pool.clone());
    let served = axum::serve(listener, router)
        .with_graceful_shutdown(async move {
            stopped().await;
            pool.stop_all();
        })
        .await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("local-lambda: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn stopped() {
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate => {}
    }
}
