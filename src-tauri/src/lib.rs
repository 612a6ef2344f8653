//! Switchboard's desktop operations console (Tauri 2).
//!
//! This crate is deliberately thin: [`commands`] are `#[tauri::command]`s that call the engine's
//! [`engine::console::Console`] and map its errors to [`engine::views::CommandError`]; [`state`]
//! reads the environment (`DATABASE_URL`, optional `SWITCHBOARD_MERCHANT_ID`) and connects
//! lazily, so a missing or broken configuration is shown in the UI instead of crashing the app;
//! [`bindings`] writes the TypeScript IPC types into `ui/src/bindings/` (checked by the
//! `bindings_fresh` test).

pub mod bindings;
pub mod commands;
pub mod exports;
pub mod state;
pub mod vault_setup;

pub use state::{AppInfo, ConsoleState};

/// Runs the console until its window is closed.
///
/// # Errors
/// When Tauri cannot start (no display, webview failure).
pub fn run() -> Result<(), tauri::Error> {
    let state = ConsoleState::from_env();
    tauri::Builder::default()
        .plugin(tauri_plugin_notification::init())
        .manage(state)
        .manage(exports::ExportJobs::default())
        .invoke_handler(tauri::generate_handler![
            commands::app_info,
            commands::list_connectors,
            commands::set_connector_weight,
            commands::search_payments,
            commands::get_payment,
            commands::audit_log,
            commands::notify,
            commands::search_page,
            commands::payment_timeline,
            commands::fallback_matrix,
            commands::success_charts,
            commands::export_chart,
            commands::finance,
            commands::start_finance_export,
            commands::export_status,
            commands::connector_cards,
            commands::drain_connector,
            commands::restore_connector,
            commands::policy_state,
            commands::validate_policy,
            commands::simulate_policy,
            commands::publish_policy,
            commands::explain_route,
            commands::circuits,
            commands::force_circuit,
            commands::merchant_webhooks,
            commands::replay_merchant_webhook,
            vault_setup::vault_key_state,
            vault_setup::vault_create_key,
            vault_setup::vault_import_key,
            vault_setup::list_credentials,
            vault_setup::set_credential,
            vault_setup::list_members,
            vault_setup::set_member,
            vault_setup::rotate_master_key,
        ])
        .run(tauri::generate_context!())
}

/// Why a window cannot be opened here, if it cannot (GTK would panic without a display).
pub fn display_problem() -> Option<&'static str> {
    if cfg!(target_os = "linux") {
        let has = |k: &str| std::env::var_os(k).is_some_and(|v| !v.is_empty());
        if !has("DISPLAY") && !has("WAYLAND_DISPLAY") {
            return Some(
                "no display: set DISPLAY (or WAYLAND_DISPLAY), or run under `xvfb-run -a` / scripts/screenshot.sh",
            );
        }
    }
    None
}
