//! The IPC commands. Each one is a thin call into [`engine::console::Console`]; engine errors
//! become [`CommandError`] `{code, message}` (which never contains secrets).
//!
//! Argument names are what the UI passes to `invoke` (`req`, `search`, `id`, `limit`).

use crate::state::{AppInfo, ConsoleState};
use engine::views::{
    AuditEntry, CommandError, ConnectorView, PaymentDetail, PaymentSearch, PaymentSummary,
    SetWeight,
};
use tauri::State;

/// Largest audit page the UI may ask for.
pub const MAX_AUDIT_LIMIT: u32 = 1000;

/// Who is connected to what, or why the console is not usable (never the database password).
#[tauri::command]
pub async fn app_info(state: State<'_, ConsoleState>) -> Result<AppInfo, CommandError> {
    Ok(state.info().await)
}

/// Connectors with their last-24 h figures.
#[tauri::command]
pub async fn list_connectors(
    state: State<'_, ConsoleState>,
) -> Result<Vec<ConnectorView>, CommandError> {
    let console = state.console().await?;
    Ok(console.connectors().await?)
}

/// Sets a connector's weight (0 = drain) with an audited reason.
#[tauri::command]
pub async fn set_connector_weight(
    state: State<'_, ConsoleState>,
    req: SetWeight,
) -> Result<ConnectorView, CommandError> {
    let console = state.console().await?;
    Ok(console.set_weight(req).await?)
}

/// Searches payments, newest first.
#[tauri::command]
pub async fn search_payments(
    state: State<'_, ConsoleState>,
    search: PaymentSearch,
) -> Result<Vec<PaymentSummary>, CommandError> {
    let console = state.console().await?;
    Ok(console.search_payments(search).await?)
}

/// One payment with its route trace, attempts and events.
#[tauri::command]
pub async fn get_payment(
    state: State<'_, ConsoleState>,
    id: String,
) -> Result<PaymentDetail, CommandError> {
    let console = state.console().await?;
    Ok(console.payment_detail(id.trim()).await?)
}

/// Latest audit entries, newest first (`limit` is clamped to 1..=1000).
#[tauri::command]
pub async fn audit_log(
    state: State<'_, ConsoleState>,
    limit: u32,
) -> Result<Vec<AuditEntry>, CommandError> {
    let console = state.console().await?;
    Ok(console.audit_log(limit.clamp(1, MAX_AUDIT_LIMIT)).await?)
}
