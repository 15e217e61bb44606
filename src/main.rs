//! The `jkjav` binary: configuration → telemetry → `Application::build` → serve until SIGTERM.

use clap::Parser;
use jkjav::app::Application;
use jkjav::config::{Cli, Command};

/// Every request allocates a little (JSON, headers, the booking and its event); glibc's malloc
/// spent about a fifth of a booking's CPU under load, mimalloc a fraction of that.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let Cli {
        command: Command::Serve(config),
    } = Cli::parse();
    jkjav::telemetry::init(&config.log, config.log_format);
    let removed = jkjav::config::removed_settings(|name| std::env::var_os(name));
    if !removed.is_empty() {
        for setting in removed {
            tracing::error!("cannot start: {setting}");
        }
        return std::process::ExitCode::FAILURE;
    }
    let app = match Application::build(config).await {
        Ok(app) => app,
        Err(error) => {
            tracing::error!(%error, "cannot start");
            return std::process::ExitCode::FAILURE;
        }
    };
    let addr = app.local_addr();
    let shown = if addr.ip().is_unspecified() {
        format!("127.0.0.1:{}", addr.port())
    } else {
        addr.to_string()
    };
    tracing::info!(%addr, "jkjav is listening: open http://{shown}/ (API reference at /docs)");
    let admin = app.admin_addr();
    tracing::info!(%admin, "operators' endpoints: http://{admin}/metrics and /readyz");
    match app.run_until(shutdown_signal()).await {
        Ok(()) => {
            tracing::info!("stopped");
            std::process::ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(%error, "server failed");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Completes on Ctrl-C or SIGTERM (what container runtimes send).
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
    tracing::info!("shutdown signal received; finishing in-flight requests");
}
