//! The Switchboard desktop console binary.

#![cfg_attr(
    all(not(debug_assertions), target_os = "windows"),
    windows_subsystem = "windows"
)]

use std::process::ExitCode;

fn main() -> ExitCode {
    if let Some(problem) = switchboard_console::display_problem() {
        eprintln!("switchboard-console: {problem}");
        return ExitCode::from(2);
    }
    match switchboard_console::run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("switchboard-console: {e}");
            ExitCode::FAILURE
        }
    }
}
