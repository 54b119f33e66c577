//! `local-gateway serve`: the template's HTTP API routes on loopback, and with `--pump` the
//! S3 event queues pumped into their functions.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use local_gateway::gateway::{Gateway, router};
use local_gateway::pump;
use local_gateway::routes::Routes;

#[derive(Parser)]
#[command(name = "local-gateway", about = "The local HTTP API and S3 event pump of the stack")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API: each route's requests invoke its function (payload format 2.0).
    Serve {
        #[arg(long, default_value = "127.0.0.1:3000")]
        listen: SocketAddr,
        /// JSON object {"GET /friday": "friday-api", ...} (scripts/provision.py writes it from the template).
        #[arg(long)]
        routes: PathBuf,
        #[arg(long, default_value = "http://127.0.0.1:9000")]
        lambda_endpoint: String,
        #[arg(long, default_value = "localapi")]
        api_id: String,
        /// JSON array of S3 event queues to pump into their functions (scripts/provision.py writes it).
        #[arg(long)]
        pump: Option<PathBuf>,
        /// The SQS endpoint of those queues (the emulator).
        #[arg(long, default_value = "http://127.0.0.1:4566")]
        sqs_endpoint: String,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Serve { listen, routes, lambda_endpoint, api_id, pump, sqs_endpoint } => {
            if let Some(pump) = pump {
                match start_pumps(&pump, &sqs_endpoint, &lambda_endpoint) {
                    Ok(count) => eprintln!("local-gateway: pumping {count} S3 event queue(s) from {sqs_endpoint}"),
                    Err(error) => {
                        eprintln!("local-gateway: cannot read the pump configuration {}: {error}", pump.display());
                        return ExitCode::from(2);
                    }
                }
            }
            serve(listen, routes, lambda_endpoint, api_id).await
        }
    }
}

fn start_pumps(file: &std::path::Path, sqs_endpoint: &str, lambda_endpoint: &str) -> Result<usize, String> {
    let text = std::fs::read_to_string(file).map_err(|e| e.to_string())?;
    let configs = pump::parse_configs(&text)?;
    let count = configs.len();
    for config in configs {
        let sqs = pump::Sqs { endpoint: sqs_endpoint.to_owned(), client: reqwest::Client::new() };
        tokio::spawn(pump::run(config, sqs, lambda_endpoint.to_owned()));
    }
    Ok(count)
}

async fn serve(listen: SocketAddr, routes_file: PathBuf, lambda_endpoint: String, api_id: String) -> ExitCode {
    let routes =
        match std::fs::read_to_string(&routes_file).map_err(|e| e.to_string()).and_then(|t| Routes::from_json(&t)) {
            Ok(routes) => routes,
            Err(error) => {
                eprintln!("local-gateway: cannot read routes from {}: {error}", routes_file.display());
                return ExitCode::from(2);
            }
        };
    let listener = match tokio::net::TcpListener::bind(listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("local-gateway: cannot listen on {listen}: {error}");
            return ExitCode::from(2);
        }
    };
    eprintln!("local-gateway: {} routes on http://{listen}, functions at {lambda_endpoint}", routes.len());
    let gateway =
        Gateway { routes, lambda_endpoint, api_id, account_id: "123456789012".into(), client: reqwest::Client::new() };
    let app = router(Arc::new(gateway)).into_make_service_with_connect_info::<SocketAddr>();
    match axum::serve(listener, app).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("local-gateway: {error}");
            ExitCode::FAILURE
        }
    }
}
