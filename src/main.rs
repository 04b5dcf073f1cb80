use clanforge_wait::cli::{Cli, LogFormat};
use clanforge_wait::report::{LogMode, log};
use clap::Parser;
use std::io::IsTerminal;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mode = LogMode::detect(
        cli.log_format == LogFormat::Json,
        std::io::stderr().is_terminal(),
        |name| std::env::var(name).ok(),
    );
    let log = log::init(mode);
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("Error: could not start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    let outcome = runtime.block_on(clanforge_wait::run(cli, log));
    // Don't wait for a request or resolver thread still in flight at the deadline.
    runtime.shutdown_background();
    ExitCode::from(outcome.exit_code())
}
