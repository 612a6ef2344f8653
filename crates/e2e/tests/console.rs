//! End-to-end test of the real desktop console binary (`switchboard-console`).
//!
//! Setup: a fresh Postgres database (`sb_e2e_<uuid>`, created from the admin `DATABASE_URL`,
//! migrated and seeded through the demo crate), the PSP emulator and the gateway in this process,
//! and one USD checkout that FELL BACK (Stripe US Primary is down, Stripe EU Backup is drained,
//! so the payment goes Stripe US Primary -> Square Fallback). Then Xvfb, and tauri-driver (which
//! starts WebKitWebDriver, which starts the console) under `dbus-run-session`, each in its own
//! process group that is always killed at the end.
//!
//! Checks, in one WebDriver session:
//! 1. Payments view: search the payment, open it, two attempt columns (provider unavailable, then
//!    approved on Square Fallback) and the route trace.
//! 2. Connectors view: set "Stripe US Primary" to weight 0 with a reason; the card shows 0, and
//!    Postgres has the weight and an audit row with the reason and a `console:` actor.
//!
//! Requirements: Xvfb, tauri-driver (`cargo install tauri-driver --version '^2' --locked`),
//! WebKitWebDriver (Debian: webkit2gtk-driver), dbus-run-session, and the console built with the
//! UI embedded (`scripts/build-console.sh`). `scripts/test.sh` does all of it. Missing pieces
//! fail the test with a message; it never skips silently.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use anyhow::{Context, Result, anyhow, bail, ensure};
use engine::console::Console;
use engine::views::SetWeight;
use fantoccini::elements::Element;
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection, PgPool};
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use uuid::Uuid;

/// Whole scenario (setup, both checks, teardown of the browser side).
const SCENARIO_TIMEOUT: Duration = Duration::from_secs(240);
/// Creating the WebDriver session (starts the app; hangs forever without a display).
const SESSION_TIMEOUT: Duration = Duration::from_secs(90);
/// Waiting for one UI condition (React renders after load; IPC reads Postgres).
const UI_TIMEOUT: Duration = Duration::from_secs(30);
const POLL: Duration = Duration::from_millis(100);

const MERCHANT_NAME: &str = "E2E Merchant";
const US: &str = "Stripe US Primary";
const FALLBACK: &str = "Square Fallback";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn console_shows_a_fallback_and_persists_a_weight_change() {
    if let Err(e) = run().await {
        panic!("console end-to-end test failed: {e:#}");
    }
}

async fn run() -> Result<()> {
    let admin_url = std::env::var("DATABASE_URL").map_err(|_| {
        anyhow!(
            "DATABASE_URL is not set: the end-to-end test needs a Postgres server where it may \
             CREATE DATABASE (e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres), \
             or run scripts/test.sh"
        )
    })?;
    let tools = Tools::find()?;
    // A screenshot left by an earlier failed run must not be mistaken for this run's.
    for stale in ["e2e-failure.png", "e2e-failure.html"] {
        let _ = std::fs::remove_file(tools.target_dir.join(stale));
    }
    let db = FreshDb::create(&admin_url).await?;
    let outcome = tokio::time::timeout(SCENARIO_TIMEOUT, scenario(&tools, &db)).await;
    db.drop_best_effort().await;
    match outcome {
        Ok(r) => r,
        Err(_) => bail!(
            "the scenario did not finish within {SCENARIO_TIMEOUT:?} (logs: {})",
            tools.log_path("tauri-driver").display()
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Tools

/// Everything the test runs, as absolute paths.
struct Tools {
    console: PathBuf,
    xvfb: PathBuf,
    dbus_run_session: PathBuf,
    tauri_driver: PathBuf,
    webkit_driver: PathBuf,
    target_dir: PathBuf,
}

impl Tools {
    fn find() -> Result<Tools> {
        let target_dir = target_dir();
        let console = std::env::var_os("SWITCHBOARD_CONSOLE_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| target_dir.join("debug").join("switchboard-console"));
        let mut missing = Vec::new();
        if !console.is_file() {
            missing.push(format!(
                "the console binary {} (build it with the UI embedded: scripts/build-console.sh, \
                 i.e. `cd ui && npm ci && npm run build` then `cargo build -p switchboard-console`; \
                 or set SWITCHBOARD_CONSOLE_BIN)",
                console.display()
            ));
        }
        let mut lookup = |name: &str, hint: &str| {
            let found = which(name);
            if found.is_none() {
                missing.push(format!("`{name}` ({hint})"));
            }
            found.unwrap_or_default()
        };
        let xvfb = lookup("Xvfb", "apt-get install xvfb");
        let dbus_run_session = lookup("dbus-run-session", "apt-get install dbus");
        let tauri_driver = lookup(
            "tauri-driver",
            "cargo install tauri-driver --version '^2' --locked",
        );
        let webkit_driver = lookup("WebKitWebDriver", "apt-get install webkit2gtk-driver");
        if !missing.is_empty() {
            bail!(
                "cannot run the console end-to-end test; missing: {}. \
                 scripts/test.sh installs and builds everything (scripts/install-deps.sh).",
                missing.join("; ")
            );
        }
        Ok(Tools {
            console: std::path::absolute(&console)?,
            xvfb,
            dbus_run_session,
            tauri_driver,
            webkit_driver,
            target_dir,
        })
    }

    fn log_path(&self, name: &str) -> PathBuf {
        self.target_dir.join(format!("e2e-{name}.log"))
    }
}

/// The workspace's target directory (`CARGO_TARGET_DIR` or `<workspace>/target`).
fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target"),
    }
}

/// An executable on `PATH`, or in Cargo's bin directory (where `cargo install` puts tauri-driver).
fn which(name: &str) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        dirs.push(PathBuf::from(home).join("bin"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        dirs.push(PathBuf::from(home).join(".cargo/bin"));
    }
    dirs.into_iter().map(|d| d.join(name)).find(|p| p.is_file())
}

// ---------------------------------------------------------------------------------------------
// Database

/// A database created for this run; dropped at the end (best effort).
struct FreshDb {
    admin_url: String,
    name: String,
    url: String,
}

impl FreshDb {
    async fn create(admin_url: &str) -> Result<FreshDb> {
        let name = format!("sb_e2e_{}", Uuid::new_v4().simple());
        let mut admin = PgConnection::connect(admin_url).await.context(
            "connecting to DATABASE_URL (is Postgres running? scripts/ensure-postgres.sh)",
        )?;
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&mut admin)
            .await
            .context("CREATE DATABASE (the DATABASE_URL role needs CREATEDB)")?;
        let _ = admin.close().await;
        let mut url = url::Url::parse(admin_url).context("DATABASE_URL is not a URL")?;
        url.set_path(&format!("/{name}"));
        Ok(FreshDb {
            admin_url: admin_url.to_owned(),
            name,
            url: url.to_string(),
        })
    }

    async fn drop_best_effort(self) {
        let dropped = async {
            let mut admin = PgConnection::connect(&self.admin_url).await?;
            sqlx::query(&format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin)
            .await?;
            admin.close().await
        };
        match tokio::time::timeout(Duration::from_secs(20), dropped).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("e2e: could not drop database {}: {e}", self.name),
            Err(_) => eprintln!("e2e: timed out dropping database {}", self.name),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Backend: seed, emulator, gateway, one payment that fell back

struct Backend {
    pool: PgPool,
    emulator: psp_emulator::Emulator,
    gateway: demo::stack::Gateway,
    seeded: demo::seed::Seeded,
    payment_id: String,
    merchant_reference: String,
}

impl Backend {
    async fn start(database_url: &str) -> Result<Backend> {
        let pool = store::connect(database_url, 4).await?;
        store::migrate(&pool).await?;
        let emulator = psp_emulator::spawn("127.0.0.1:0".parse()?).await?;
        let seeded = demo::seed::seed(&pool, MERCHANT_NAME, &emulator.base_url()).await?;
        // USD default route becomes Stripe US Primary -> Square Fallback (the primary).
        Console::new(pool.clone(), seeded.merchant_id, "e2e-setup")
            .set_weight(SetWeight {
                connector_id: seeded.stripe_eu.to_string(),
                weight: 0,
                reason: "e2e setup: USD goes to Stripe US, then the fallback".into(),
            })
            .await
            .context("draining Stripe EU Backup")?;
        demo::stack::set_outage(emulator.faults(), &seeded.stripe_us_key, true);
        let gateway = demo::stack::start_gateway(database_url, 4, Duration::from_secs(5)).await?;

        let merchant_reference = format!("e2e-order-{}", Uuid::new_v4().simple());
        let body = json!({
            "amount": 4_250,
            "currency": "USD",
            "capture_method": "automatic",
            "payment_method": {
                "type": "card",
                "card_brand": "visa",
                "tokens": [
                    {"token": "pm_card_visa", "scope": {"type": "provider", "provider": "stripe"}},
                    {"token": "sim_approve", "scope": {"type": "provider", "provider": "simulator"}},
                ],
            },
            "billing": {"country": "US"},
            "merchant_reference": merchant_reference,
        });
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()?;
        let created = http
            .post(format!("{}/v1/payments", gateway.url))
            .bearer_auth(&seeded.api_key)
            .header("idempotency-key", format!("e2e-{merchant_reference}"))
            .json(&body)
            .send()
            .await?;
        let status = created.status();
        let created: Value = created.json().await?;
        ensure!(status.is_success(), "checkout answered {status}: {created}");
        let payment_id = created["id"]
            .as_str()
            .ok_or_else(|| anyhow!("no id in {created}"))?
            .to_owned();

        let got: Value = http
            .get(format!("{}/v1/payments/{payment_id}", gateway.url))
            .bearer_auth(&seeded.api_key)
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        let attempts = got["attempts"]
            .as_array()
            .ok_or_else(|| anyhow!("no attempts in {got}"))?;
        ensure!(
            attempts.len() == 2,
            "expected 2 attempts (a fallback): {got}"
        );
        ensure!(
            attempts[0]["connector_name"] == US && attempts[0]["outcome"] == "provider_unavailable",
            "first attempt should be {US}, provider_unavailable: {got}"
        );
        ensure!(
            attempts[1]["connector_name"] == FALLBACK && attempts[1]["outcome"] == "approved",
            "second attempt should be {FALLBACK}, approved: {got}"
        );
        Ok(Backend {
            pool,
            emulator,
            gateway,
            seeded,
            payment_id,
            merchant_reference,
        })
    }

    async fn stop(self) {
        self.gateway.shutdown().await;
        self.emulator.shutdown().await;
        self.pool.close().await;
    }
}

// ---------------------------------------------------------------------------------------------
// Processes

/// A child started in its own process group; the whole group is killed on drop.
struct ProcessGroup {
    name: &'static str,
    child: Child,
}

impl ProcessGroup {
    fn spawn(name: &'static str, mut cmd: Command) -> Result<ProcessGroup> {
        cmd.process_group(0).stdin(Stdio::null());
        let child = cmd
            .spawn()
            .with_context(|| format!("starting {name}: {cmd:?}"))?;
        Ok(ProcessGroup { name, child })
    }

    fn pgid(&self) -> Option<rustix::process::Pid> {
        rustix::process::Pid::from_raw(self.child.id() as i32)
    }

    /// `Some(status)` when the group leader has exited.
    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGTERM to the group, up to 3 s for it to empty, then SIGKILL.
    fn kill(&mut self) {
        let Some(pgid) = self.pgid() else { return };
        use rustix::process::{Signal, kill_process_group, test_kill_process_group};
        let _ = kill_process_group(pgid, Signal::TERM);
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let _ = self.child.try_wait(); // reap the leader so it does not count as alive
            if test_kill_process_group(pgid).is_err() || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        if test_kill_process_group(pgid).is_ok() {
            eprintln!("e2e: {} group survived SIGTERM; sending SIGKILL", self.name);
            let _ = kill_process_group(pgid, Signal::KILL);
        }
        let _ = self.child.wait();
    }
}

impl Drop for ProcessGroup {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts Xvfb on a display it picks itself (`-displayfd`); returns it with `:N`.
fn start_xvfb(tools: &Tools) -> Result<(ProcessGroup, String)> {
    let mut cmd = Command::new(&tools.xvfb);
    cmd.args([
        "-displayfd",
        "1",
        "-screen",
        "0",
        "1280x800x24",
        "-nolisten",
        "tcp",
    ])
    .stdout(Stdio::piped())
    .stderr(std::fs::File::create(tools.log_path("xvfb"))?);
    let mut group = ProcessGroup::spawn("Xvfb", cmd)?;
    let stdout = group
        .child
        .stdout
        .take()
        .ok_or_else(|| anyhow!("no Xvfb stdout"))?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(15)).map_err(|_| {
        anyhow!(
            "Xvfb did not report a display within 15 s (log: {})",
            tools.log_path("xvfb").display()
        )
    })?;
    let n: u32 = line.trim().parse().map_err(|_| {
        anyhow!(
            "Xvfb exited or printed {line:?} instead of a display number (log: {})",
            tools.log_path("xvfb").display()
        )
    })?;
    Ok((group, format!(":{n}")))
}

/// A port that was free a moment ago.
fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// Starts `dbus-run-session -- tauri-driver` (own process group) and waits until it listens.
fn start_tauri_driver(
    tools: &Tools,
    display: &str,
    database_url: &str,
    merchant_id: Uuid,
) -> Result<(ProcessGroup, u16)> {
    let port = free_port()?;
    let mut native_port = free_port()?;
    while native_port == port {
        native_port = free_port()?;
    }
    let log = std::fs::File::create(tools.log_path("tauri-driver"))?;
    let mut cmd = Command::new(&tools.dbus_run_session);
    cmd.arg("--")
        .arg(&tools.tauri_driver)
        .arg("--port")
        .arg(port.to_string())
        .arg("--native-port")
        .arg(native_port.to_string())
        .arg("--native-driver")
        .arg(&tools.webkit_driver)
        .env("DISPLAY", display)
        .env_remove("WAYLAND_DISPLAY")
        .env("DATABASE_URL", database_url)
        .env("SWITCHBOARD_MERCHANT_ID", merchant_id.to_string())
        .stdout(log.try_clone()?)
        .stderr(log);
    let mut group = ProcessGroup::spawn("tauri-driver", cmd)?;
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok((group, port));
        }
        if let Some(status) = group.exited() {
            bail!(
                "tauri-driver exited ({status}) before listening on port {port}: {}",
                log_tail(&tools.log_path("tauri-driver"))
            );
        }
        if Instant::now() > deadline {
            bail!(
                "tauri-driver did not listen on port {port} within 20 s: {}",
                log_tail(&tools.log_path("tauri-driver"))
            );
        }
        std::thread::sleep(POLL);
    }
}

fn log_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(25)..].join("\n");
    format!("last lines of {}:\n{tail}", path.display())
}

// ---------------------------------------------------------------------------------------------
// The scenario

async fn scenario(tools: &Tools, db: &FreshDb) -> Result<()> {
    let backend = Backend::start(&db.url)
        .await
        .context("setting up the backend")?;
    let result = browser_checks(tools, db, &backend).await;
    backend.stop().await;
    result
}

async fn browser_checks(tools: &Tools, db: &FreshDb, backend: &Backend) -> Result<()> {
    // Declared first so they are dropped (killed) last: Xvfb outlives the app.
    let (_xvfb, display) = start_xvfb(tools)?;
    let (_driver, port) = start_tauri_driver(tools, &display, &db.url, backend.seeded.merchant_id)?;

    let mut caps = serde_json::Map::new();
    caps.insert(
        "tauri:options".into(),
        json!({"application": tools.console.to_string_lossy()}),
    );
    caps.insert("browserName".into(), json!("wry"));
    let mut builder = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new());
    builder.capabilities(caps);
    let webdriver_url = format!("http://127.0.0.1:{port}");
    let connecting = builder.connect(&webdriver_url);
    let client = match tokio::time::timeout(SESSION_TIMEOUT, connecting).await {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => bail!(
            "WebDriver session creation failed: {e}\n{}",
            log_tail(&tools.log_path("tauri-driver"))
        ),
        Err(_) => bail!(
            "WebDriver session creation took more than {SESSION_TIMEOUT:?}\n{}",
            log_tail(&tools.log_path("tauri-driver"))
        ),
    };

    let started = Instant::now();
    let result = async {
        fallback_detail(&client, backend)
            .await
            .context("check 1 (fallback detail)")?;
        eprintln!(
            "e2e: check 1 (fallback detail) passed after {:?}",
            started.elapsed()
        );
        weight_persisted(&client, backend)
            .await
            .context("check 2 (weight persisted)")?;
        eprintln!(
            "e2e: check 2 (weight persisted) passed after {:?}",
            started.elapsed()
        );
        Ok::<(), anyhow::Error>(())
    }
    .await;

    if result.is_err() {
        save_failure_artifacts(tools, &client).await;
    }
    if tokio::time::timeout(Duration::from_secs(15), client.close())
        .await
        .is_err()
    {
        eprintln!(
            "e2e: closing the WebDriver session timed out (the process groups are killed anyway)"
        );
    }
    result
}

async fn save_failure_artifacts(tools: &Tools, client: &Client) {
    let png = tools.target_dir.join("e2e-failure.png");
    match tokio::time::timeout(Duration::from_secs(15), client.screenshot()).await {
        Ok(Ok(bytes)) => match std::fs::write(&png, bytes) {
            Ok(()) => eprintln!("e2e: screenshot saved to {}", png.display()),
            Err(e) => eprintln!("e2e: cannot write {}: {e}", png.display()),
        },
        Ok(Err(e)) => eprintln!("e2e: screenshot failed: {e}"),
        Err(_) => eprintln!("e2e: screenshot timed out"),
    }
    let html = tools.target_dir.join("e2e-failure.html");
    if let Ok(Ok(source)) = tokio::time::timeout(Duration::from_secs(15), client.source()).await
        && std::fs::write(&html, source).is_ok()
    {
        eprintln!("e2e: page source saved to {}", html.display());
    }
}

/// Check 1: search the payment, open it, two attempt columns and the route trace.
async fn fallback_detail(client: &Client, backend: &Backend) -> Result<()> {
    let nav = wait_for(client, "[data-testid=nav-payments]")
        .await
        .context(
            "the console UI never rendered: was the binary built with the UI embedded \
         (scripts/build-console.sh; `custom-protocol` feature)?",
        )?;
    nav.click().await?;

    let search = wait_for(client, "[data-testid=search-input]").await?;
    search.click().await?;
    search.send_keys(&backend.merchant_reference).await?;
    search.send_keys(&Key::Enter.to_string()).await?;

    let row_css = format!(
        "[data-testid=payment-row][data-id=\"{}\"]",
        backend.payment_id
    );
    let row = wait_for(client, &row_css).await?;
    row.click().await?;

    let detail = wait_for(client, "[data-testid=payment-detail]").await?;
    let columns = wait_until("two attempt columns", || async {
        let cols = client
            .find_all(Locator::Css("[data-testid=attempt-column]"))
            .await?;
        Ok((cols.len() == 2).then_some(cols))
    })
    .await?;

    let mut outcomes = Vec::new();
    for c in &columns {
        outcomes.push(c.attr("data-outcome").await?.unwrap_or_default());
    }
    ensure!(
        outcomes == ["provider_unavailable", "approved"],
        "attempt outcomes in the UI: {outcomes:?}"
    );
    let first = columns[0].text().await?.to_lowercase();
    let second = columns[1].text().await?.to_lowercase();
    ensure!(
        first.contains(&US.to_lowercase()) && first.contains("provider unavailable"),
        "first attempt column: {first}"
    );
    ensure!(
        second.contains(&FALLBACK.to_lowercase()),
        "second attempt column: {second}"
    );

    let text = detail.text().await?.to_lowercase();
    let source = client.source().await?;
    ensure!(
        text.contains("provider unavailable") && source.contains("provider_unavailable"),
        "the detail does not show the provider_unavailable outcome: {text}"
    );
    ensure!(
        text.contains(&FALLBACK.to_lowercase()),
        "the detail does not name {FALLBACK}: {text}"
    );

    let trace = detail
        .find(Locator::Css("[data-testid=route-trace]"))
        .await
        .context("no route trace in the detail")?;
    let entries = trace
        .find_all(Locator::Css("[data-testid=trace-entry]"))
        .await?;
    let trace_text = trace.text().await?.to_lowercase();
    ensure!(
        entries.len() >= 2
            && trace_text.contains(&US.to_lowercase())
            && trace_text.contains(&FALLBACK.to_lowercase()),
        "route trace ({} entries): {trace_text}",
        entries.len()
    );
    Ok(())
}

/// Check 2: set Stripe US Primary to weight 0 with a reason; UI, connectors row and audit row.
async fn weight_persisted(client: &Client, backend: &Backend) -> Result<()> {
    wait_for(client, "[data-testid=nav-connectors]")
        .await?
        .click()
        .await?;
    let card_css = format!("[data-testid=connector-card][data-name=\"{US}\"]");
    let weight_css = format!("{card_css} [data-testid=weight-value]");
    wait_until("the Stripe US Primary card with weight 70", || async {
        Ok(text_of(client, &weight_css)
            .await
            .filter(|t| t.trim() == "70"))
    })
    .await?;

    let card = wait_for(client, &card_css).await?;
    card.find(Locator::Css("[data-testid=edit-weight]"))
        .await?
        .click()
        .await?;
    let input = wait_for(client, &format!("{card_css} [data-testid=weight-input]")).await?;
    input.clear().await?;
    // Whatever clear() left in React's state, leave an empty field before typing.
    input
        .send_keys(&format!(
            "{}{}",
            Key::End,
            Key::Backspace.to_string().repeat(6)
        ))
        .await?;
    input.send_keys("0").await?;
    let value = input.prop("value").await?.unwrap_or_default();
    ensure!(value == "0", "weight input holds {value:?} after typing 0");

    let reason = format!(
        "e2e: drain Stripe US during the outage {}",
        Uuid::new_v4().simple()
    );
    card.find(Locator::Css("[data-testid=reason-input]"))
        .await?
        .send_keys(&reason)
        .await?;
    card.find(Locator::Css("[data-testid=save-weight]"))
        .await?
        .click()
        .await?;

    wait_until("the card to show weight 0", || async {
        Ok(text_of(client, &weight_css)
            .await
            .filter(|t| t.trim() == "0"))
    })
    .await
    .context("after saving the weight form")?;

    let (weight,): (i32,) =
        sqlx::query_as("SELECT weight FROM connectors WHERE merchant_id = $1 AND id = $2")
            .bind(backend.seeded.merchant_id)
            .bind(backend.seeded.stripe_us.0)
            .fetch_one(&backend.pool)
            .await?;
    ensure!(weight == 0, "connectors.weight of {US} is {weight}");

    let audit: Vec<(String, Option<Value>, Option<Value>)> = sqlx::query_as(
        "SELECT actor, before, after FROM audit_log \
         WHERE merchant_id = $1 AND entity = 'connector' AND entity_id = $2 \
           AND action = 'set_weight' AND reason = $3",
    )
    .bind(backend.seeded.merchant_id)
    .bind(backend.seeded.stripe_us.to_string())
    .bind(&reason)
    .fetch_all(&backend.pool)
    .await?;
    ensure!(
        audit.len() == 1,
        "expected one set_weight audit row with the reason, found {audit:?}"
    );
    let (actor, before, after) = &audit[0];
    ensure!(actor.starts_with("console:"), "audit actor is {actor:?}");
    ensure!(
        before.as_ref().map(|b| &b["weight"]) == Some(&json!(70))
            && after.as_ref().map(|a| &a["weight"]) == Some(&json!(0)),
        "audit before/after: {before:?} -> {after:?}"
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Waiting

/// Polls `probe` until it yields `Some`, for at most [`UI_TIMEOUT`]. WebDriver errors while
/// polling (stale elements during a re-render) count as "not yet"; the last one is reported.
async fn wait_until<T, F, Fut>(what: &str, mut probe: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<Option<T>>>,
{
    let deadline = Instant::now() + UI_TIMEOUT;
    let mut last_error = None;
    loop {
        match probe().await {
            Ok(Some(v)) => return Ok(v),
            Ok(None) => {}
            Err(e) => last_error = Some(e),
        }
        if Instant::now() > deadline {
            let why = last_error
                .map(|e| format!(" (last error: {e:#})"))
                .unwrap_or_default();
            bail!("timed out after {UI_TIMEOUT:?} waiting for {what}{why}");
        }
        tokio::time::sleep(POLL).await;
    }
}

/// The first element matching `css`, once it exists.
async fn wait_for(client: &Client, css: &str) -> Result<Element> {
    wait_until(css, || async {
        Ok(client.find_all(Locator::Css(css)).await?.into_iter().next())
    })
    .await
}

/// The text of the first element matching `css`, if any.
async fn text_of(client: &Client, css: &str) -> Option<String> {
    let el = client.find(Locator::Css(css)).await.ok()?;
    el.text().await.ok()
}
