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

/// Longest notification title/body accepted (characters); longer text is cut.
const MAX_NOTIFICATION_CHARS: usize = 300;

/// Shows an OS notification (the Operators view calls it when a connector's approval rate or
/// health drops below its threshold). Errors: `notification_failed` when the desktop refuses.
#[tauri::command]
pub fn notify(app: tauri::AppHandle, title: String, body: String) -> Result<(), CommandError> {
    use tauri_plugin_notification::NotificationExt;
    let cut = |s: &str| s.chars().take(MAX_NOTIFICATION_CHARS).collect::<String>();
    app.notification()
        .builder()
        .title(cut(&title))
        .body(cut(&body))
        .show()
        .map_err(|e| CommandError {
            code: "notification_failed".to_owned(),
            message: format!("the desktop did not accept the notification: {e}"),
        })
}

// ---------------------------------------------------------------------------------------------
// Issue 4 views. Each command is a thin call into `Console` (engine::console); the periods the
// UI offers are turned into `[now - length, now)` here, exports are written where the user chose.

use crate::exports::{ExportJob, ExportJobs, Period, resolve_target};
use engine::views::{
    ChartFormat, ChartKind, ChartQuery, ConnectorAction, ConnectorCard, FallbackMatrixView,
    FinanceQuery, FinanceTable, PaymentPage, PaymentTimeline, PolicyState, PolicyValidation,
    SearchFilter, SimulationResult, SuccessRateCharts,
};
use routing::RouteTrace;
use tauri::{Emitter, Manager};

/// Event carrying an [`ExportJob`] each time a CSV export makes progress.
pub const EXPORT_PROGRESS_EVENT: &str = "finance-export-progress";
/// Roll used by the dry-run "explain route" (a weighted pick needs one; 0.5 = the middle).
const EXPLAIN_ROLL: f64 = 0.5;
/// Most days a simulation may look back.
const MAX_SIMULATION_DAYS: u32 = 90;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The user's downloads directory (else home, else the temp directory).
fn downloads(app: &tauri::AppHandle) -> std::path::PathBuf {
    app.path()
        .download_dir()
        .or_else(|_| app.path().home_dir())
        .unwrap_or_else(|_| std::env::temp_dir())
}

/// One keyset page of payments matching the filters, newest first.
#[tauri::command]
pub async fn search_page(
    state: State<'_, ConsoleState>,
    filter: SearchFilter,
) -> Result<PaymentPage, CommandError> {
    Ok(state.console().await?.search_page(filter).await?)
}

/// A payment's attempt lanes on one time axis, with who holds the money.
#[tauri::command]
pub async fn payment_timeline(
    state: State<'_, ConsoleState>,
    id: String,
) -> Result<PaymentTimeline, CommandError> {
    Ok(state.console().await?.payment_timeline(id.trim()).await?)
}

/// The fallback matrix of the period ending now.
#[tauri::command]
pub async fn fallback_matrix(
    state: State<'_, ConsoleState>,
    period: Period,
) -> Result<FallbackMatrixView, CommandError> {
    let (from, to) = period.range(now_ms());
    Ok(state.console().await?.fallback_matrix(from, to).await?)
}

fn chart_query(period: Period) -> ChartQuery {
    ChartQuery {
        period: period.chart(),
        end_ms: None,
        connector_ids: Vec::new(),
        currency: None,
    }
}

/// Approval-rate, traffic-share and p95-latency charts (SVG rendered in Rust) with their data.
#[tauri::command]
pub async fn success_charts(
    state: State<'_, ConsoleState>,
    period: Period,
) -> Result<SuccessRateCharts, CommandError> {
    Ok(state
        .console()
        .await?
        .success_rate_charts(&chart_query(period))
        .await?)
}

/// Writes one chart as SVG or PNG to `path` (a directory or a file; `null` = the downloads
/// directory) and returns the absolute path written.
#[tauri::command]
pub async fn export_chart(
    app: tauri::AppHandle,
    state: State<'_, ConsoleState>,
    period: Period,
    kind: ChartKind,
    format: ChartFormat,
    path: Option<String>,
) -> Result<String, CommandError> {
    let file = state
        .console()
        .await?
        .export_chart(&chart_query(period), kind, format)
        .await?;
    let target = resolve_target(path.as_deref(), &downloads(&app), &file.filename)?;
    std::fs::write(&target, &file.bytes).map_err(|e| CommandError {
        code: "export_failed".to_owned(),
        message: format!("could not write {}: {e}", target.display()),
    })?;
    Ok(target.display().to_string())
}

fn finance_query(period: Period) -> FinanceQuery {
    let (from_ms, to_ms) = period.range(now_ms());
    FinanceQuery {
        from_ms,
        to_ms,
        connector_ids: Vec::new(),
    }
}

/// Approved volume, count and approval rate per connector account and currency.
#[tauri::command]
pub async fn finance(
    state: State<'_, ConsoleState>,
    period: Period,
) -> Result<FinanceTable, CommandError> {
    Ok(state
        .console()
        .await?
        .finance(&finance_query(period))
        .await?)
}

/// Starts the finance CSV export of the period in the background; poll `export_status` or
/// listen to [`EXPORT_PROGRESS_EVENT`]. `path`: a directory or file, `null` = downloads.
#[tauri::command]
pub async fn start_finance_export(
    app: tauri::AppHandle,
    state: State<'_, ConsoleState>,
    jobs: State<'_, ExportJobs>,
    period: Period,
    path: Option<String>,
) -> Result<ExportJob, CommandError> {
    let console = state.console().await?.clone();
    let query = finance_query(period);
    let name = format!(
        "switchboard-finance-{}-{}.csv",
        period.label(),
        query.to_ms / 1000
    );
    let target = resolve_target(path.as_deref(), &downloads(&app), &name)?;
    let job_id = uuid::Uuid::new_v4().to_string();
    let job = ExportJob {
        job_id: job_id.clone(),
        progress: engine::views::ExportProgress {
            rows_done: 0,
            rows_total: 0,
        },
        finished: false,
        path: Some(target.display().to_string()),
        error: None,
    };
    jobs.put(job.clone());
    let handle = app.clone();
    tauri::async_runtime::spawn(async move {
        let progress_handle = handle.clone();
        let progress_id = job_id.clone();
        let result = console
            .export_finance_csv(&query, &target, move |p| {
                let jobs = progress_handle.state::<ExportJobs>();
                if let Some(j) = jobs.update(&progress_id, |j| j.progress = p) {
                    let _ = progress_handle.emit(EXPORT_PROGRESS_EVENT, j);
                }
            })
            .await;
        let jobs = handle.state::<ExportJobs>();
        let done = jobs.update(&job_id, |j| {
            j.finished = true;
            match result {
                Ok(p) => j.progress = p,
                Err(e) => j.error = Some(CommandError::from(e).message),
            }
        });
        if let Some(j) = done {
            let _ = handle.emit(EXPORT_PROGRESS_EVENT, j);
        }
    });
    Ok(job)
}

/// The last state of an export job. Errors: `export_not_found`.
#[tauri::command]
pub fn export_status(
    jobs: State<'_, ExportJobs>,
    job_id: String,
) -> Result<ExportJob, CommandError> {
    jobs.get(&job_id)
}

/// Live connector cards: 24 h and 5-minute figures, thresholds, alerts, restore weight.
#[tauri::command]
pub async fn connector_cards(
    state: State<'_, ConsoleState>,
) -> Result<Vec<ConnectorCard>, CommandError> {
    Ok(state.console().await?.connector_cards().await?)
}

async fn card_of(
    console: &engine::console::Console,
    id: &str,
) -> Result<ConnectorCard, CommandError> {
    console
        .connector_cards()
        .await?
        .into_iter()
        .find(|c| c.connector.id == id)
        .ok_or_else(|| CommandError {
            code: "not_found".to_owned(),
            message: "connector not found".to_owned(),
        })
}

/// Drains a connector (weight 0) with an audited reason; returns its card.
#[tauri::command]
pub async fn drain_connector(
    state: State<'_, ConsoleState>,
    action: ConnectorAction,
) -> Result<ConnectorCard, CommandError> {
    let console = state.console().await?;
    let id = action.connector_id.clone();
    console.drain(action).await?;
    card_of(console, &id).await
}

/// Restores a drained connector to its weight before the drain, with an audited reason.
#[tauri::command]
pub async fn restore_connector(
    state: State<'_, ConsoleState>,
    action: ConnectorAction,
) -> Result<ConnectorCard, CommandError> {
    let console = state.console().await?;
    let id = action.connector_id.clone();
    console.restore(action).await?;
    card_of(console, &id).await
}

/// Published policy, draft and the connectors rules may name.
#[tauri::command]
pub async fn policy_state(state: State<'_, ConsoleState>) -> Result<PolicyState, CommandError> {
    Ok(state.console().await?.policy_state().await?)
}

/// Static validation of a policy JSON (unknown connector, empty path, shadowed rule…).
#[tauri::command]
pub async fn validate_policy(
    state: State<'_, ConsoleState>,
    json: String,
) -> Result<PolicyValidation, CommandError> {
    Ok(state.console().await?.validate_policy(&json).await?)
}

/// Saves `json` as the draft and replays the last `days` days of stored payment contexts.
#[tauri::command]
pub async fn simulate_policy(
    state: State<'_, ConsoleState>,
    json: String,
    days: u32,
) -> Result<SimulationResult, CommandError> {
    if !(1..=MAX_SIMULATION_DAYS).contains(&days) {
        return Err(CommandError {
            code: "invalid_days".to_owned(),
            message: format!("simulate on 1 to {MAX_SIMULATION_DAYS} days"),
        });
    }
    let console = state.console().await?;
    console.save_draft(&json).await?;
    Ok(console.simulate_draft(days, None).await?)
}

/// Saves `json` as the draft and publishes it with `note`; returns the new state.
#[tauri::command]
pub async fn publish_policy(
    state: State<'_, ConsoleState>,
    json: String,
    note: String,
) -> Result<PolicyState, CommandError> {
    let console = state.console().await?;
    console.save_draft(&json).await?;
    console.publish_draft(&note).await?;
    Ok(console.policy_state().await?)
}

/// Dry-run route decision for a hand-typed `POST /v1/payments` body: with `policy_json` (saved
/// as the draft first) or the published policy. Nothing is charged or stored besides the draft.
#[tauri::command]
pub async fn explain_route(
    state: State<'_, ConsoleState>,
    context_json: String,
    policy_json: Option<String>,
) -> Result<RouteTrace, CommandError> {
    let console = state.console().await?;
    if let Some(json) = &policy_json {
        console.save_draft(json).await?;
    }
    let decision = console
        .explain_route(&context_json, policy_json.is_some(), EXPLAIN_ROLL)
        .await?;
    Ok(decision.trace)
}

// ---------------------------------------------------------------------------------------------
// Health (issue 5) console actions: circuit overrides and merchant webhook deliveries/replay.

use engine::console_ops::{CircuitView, ForceCircuit, MerchantWebhookView, WebhookDeliveryView};

/// Shared circuit-breaker state of every connector.
#[tauri::command]
pub async fn circuits(state: State<'_, ConsoleState>) -> Result<Vec<CircuitView>, CommandError> {
    Ok(state.console().await?.circuits().await?)
}

/// Forces a connector's circuit open or closed, or back to automatic (`mode`: `open`, `closed`,
/// `auto`), with an audited reason.
#[tauri::command]
pub async fn force_circuit(
    state: State<'_, ConsoleState>,
    req: ForceCircuit,
) -> Result<CircuitView, CommandError> {
    Ok(state.console().await?.force_circuit(req).await?)
}

/// The merchant webhooks of a payment with every delivery attempt.
#[tauri::command]
pub async fn merchant_webhooks(
    state: State<'_, ConsoleState>,
    id: String,
) -> Result<Vec<MerchantWebhookView>, CommandError> {
    Ok(state.console().await?.merchant_webhooks(id.trim()).await?)
}

/// Sends one merchant webhook again now (logged with the operator).
#[tauri::command]
pub async fn replay_merchant_webhook(
    state: State<'_, ConsoleState>,
    outbox_id: i64,
) -> Result<WebhookDeliveryView, CommandError> {
    let keys = engine::secrets::desktop_key_source()
        .load()
        .map_err(engine::EngineError::from)?;
    Ok(state
        .console()
        .await?
        .replay_merchant_webhook(&keys, outbox_id)
        .await?)
}
