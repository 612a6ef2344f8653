//! End-to-end test of the real desktop console binary (`switchboard-console`).
//!
//! Setup: a fresh Postgres database (`sb_e2e_<uuid>`, created from the admin `DATABASE_URL`,
//! migrated and seeded through the demo crate), the PSP emulator and the gateway in this process,
//! and one USD checkout that FELL BACK (Stripe US Primary is down, Stripe EU Backup is drained,
//! so the payment goes Stripe US Primary -> Square Fallback). Then Xvfb, and tauri-driver (which
//! starts WebKitWebDriver, which starts the console) under `dbus-run-session`, each in its own
//! process group that is always killed at the end.
//!
//! Plus ~80 generated checkouts (half during the outage, half after) so the analytics views have
//! data. One test per console view, each with its own database, display and WebDriver session;
//! each saves a screenshot of its view to `artifacts/console-<view>.png` (the workspace's
//! `artifacts/`, git-ignored):
//! payment detail (lanes + who charged), search (filters, keyboard), fallback matrix (cell ->
//! its payments), success-rate charts (Rust SVG + PNG export), finance (accounts side by side +
//! CSV export), operators (weight edit, drain/restore with reason + confirmation, audit),
//! policies (validation, simulate, publish, explain), audit log (filters).
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
/// Session requests tried when tauri-driver's native driver is not up yet.
const SESSION_ATTEMPTS: u32 = 4;

const MERCHANT_NAME: &str = "E2E Merchant";
const US: &str = "Stripe US Primary";
const FALLBACK: &str = "Square Fallback";
const EU: &str = "Stripe EU Backup";
/// Generated checkouts besides the one that fell back.
const TRAFFIC: usize = 80;

type CheckFuture<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<()>> + 'a>>;
type Check = for<'a> fn(&'a Ctx<'a>) -> CheckFuture<'a>;

/// What a view check gets: the WebDriver client and the seeded backend.
struct Ctx<'a> {
    client: &'a Client,
    backend: &'a Backend,
}

macro_rules! view_test {
    ($name:ident, $view:literal, $check:ident) => {
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            fn check<'a>(ctx: &'a Ctx<'a>) -> CheckFuture<'a> {
                Box::pin($check(ctx))
            }
            if let Err(e) = run($view, check).await {
                panic!("console end-to-end test ({}) failed: {e:#}", $view);
            }
        }
    };
}

view_test!(
    payment_detail_shows_lanes_and_who_charged,
    "payment-detail",
    check_payment_detail
);
view_test!(
    search_filters_and_keyboard_open_a_payment,
    "search",
    check_search
);
view_test!(
    fallback_matrix_cell_opens_its_payments,
    "matrix",
    check_matrix
);
view_test!(charts_show_rust_svgs_and_export_png, "charts", check_charts);
view_test!(
    finance_compares_accounts_and_exports_csv,
    "finance",
    check_finance
);
view_test!(
    operators_edit_drain_restore_with_reason_and_audit,
    "operators",
    check_operators
);
view_test!(
    policies_validate_simulate_publish_and_explain,
    "policies",
    check_policies
);
view_test!(
    security_masks_credentials_and_replaces_a_secret,
    "security",
    check_security
);
view_test!(
    audit_log_filters_show_who_changed_what,
    "audit",
    check_audit
);

async fn run(view: &str, check: Check) -> Result<()> {
    let admin_url = std::env::var("DATABASE_URL").map_err(|_| {
        anyhow!(
            "DATABASE_URL is not set: the end-to-end test needs a Postgres server where it may \
             CREATE DATABASE (e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres), \
             or run scripts/test.sh"
        )
    })?;
    let tools = Tools::find()?;
    // A screenshot left by an earlier failed run must not be mistaken for this run's.
    for stale in [
        format!("e2e-failure-{view}.png"),
        format!("e2e-failure-{view}.html"),
    ] {
        let _ = std::fs::remove_file(tools.target_dir.join(stale));
    }
    let db = FreshDb::create(&admin_url).await?;
    let outcome = tokio::time::timeout(SCENARIO_TIMEOUT, scenario(&tools, &db, view, check)).await;
    db.drop_best_effort().await;
    match outcome {
        Ok(r) => r,
        Err(_) => bail!(
            "the scenario did not finish within {SCENARIO_TIMEOUT:?} (logs: {})",
            tools.log_path("tauri-driver").display()
        ),
    }
}

/// `<workspace>/artifacts`, where the view screenshots go.
fn artifacts_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../artifacts")
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

        // Traffic for the analytics views: half during the outage (fallbacks), half after.
        let run = Uuid::new_v4().simple().to_string();
        let mut generated = demo::traffic::checkouts(TRAFFIC, 7, &run[..8]).into_iter();
        let during: Vec<_> = generated.by_ref().take(TRAFFIC / 2).collect();
        let after: Vec<_> = generated.collect();
        let noop: std::sync::Arc<dyn Fn(usize) + Send + Sync> = std::sync::Arc::new(|_| {});
        demo::traffic::send(&gateway.url, &seeded.api_key, during, 4, noop.clone()).await?;
        demo::stack::set_outage(emulator.faults(), &seeded.stripe_us_key, false);
        demo::traffic::send(&gateway.url, &seeded.api_key, after, 4, noop).await?;
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
        // The master key the demo seed encrypted the credentials with (unless one is given).
        .env(
            "SWITCHBOARD_MASTER_KEY_FILE",
            std::env::var_os("SWITCHBOARD_MASTER_KEY_FILE")
                .unwrap_or_else(|| demo::keys::default_key_file().into_os_string()),
        )
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

async fn scenario(tools: &Tools, db: &FreshDb, view: &str, check: Check) -> Result<()> {
    let backend = Backend::start(&db.url)
        .await
        .context("setting up the backend")?;
    let result = browser_checks(tools, db, &backend, view, check).await;
    backend.stop().await;
    result
}

async fn browser_checks(
    tools: &Tools,
    db: &FreshDb,
    backend: &Backend,
    view: &str,
    check: Check,
) -> Result<()> {
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
    // tauri-driver listens before its WebKitWebDriver does: a session request in that gap fails
    // with "did not respond". Retry that (only that) a few times.
    let mut attempt = 0;
    let client = loop {
        attempt += 1;
        match tokio::time::timeout(SESSION_TIMEOUT, builder.connect(&webdriver_url)).await {
            Ok(Ok(c)) => break c,
            Ok(Err(e))
                if attempt < SESSION_ATTEMPTS && e.to_string().contains("did not respond") =>
            {
                eprintln!("e2e: session attempt {attempt} failed ({e}); retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Ok(Err(e)) => bail!(
                "WebDriver session creation failed: {e}\n{}",
                log_tail(&tools.log_path("tauri-driver"))
            ),
            Err(_) => bail!(
                "WebDriver session creation took more than {SESSION_TIMEOUT:?}\n{}",
                log_tail(&tools.log_path("tauri-driver"))
            ),
        }
    };

    let started = Instant::now();
    wait_for(&client, "[data-testid=nav-payments]")
        .await
        .context(
            "the console UI never rendered: was the binary built with the UI embedded \
         (scripts/build-console.sh; `custom-protocol` feature)?",
        )?;
    let ctx = Ctx {
        client: &client,
        backend,
    };
    let result = check(&ctx).await;
    match &result {
        Ok(()) => {
            eprintln!("e2e: {view} passed after {:?}", started.elapsed());
            // The view from its top (clicks scroll the page to what they touch).
            let _ = client
                .execute(
                    "document.querySelector('main.content')?.scrollTo(0, 0); window.scrollTo(0, 0);",
                    vec![],
                )
                .await;
            save_screenshot(
                &client,
                &artifacts_dir().join(format!("console-{view}.png")),
            )
            .await;
        }
        Err(_) => save_failure_artifacts(tools, &client, view).await,
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

async fn save_screenshot(client: &Client, png: &Path) {
    if let Some(dir) = png.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    // Let images (the chart SVGs) and the last re-render settle.
    tokio::time::sleep(Duration::from_millis(400)).await;
    match tokio::time::timeout(Duration::from_secs(15), client.screenshot()).await {
        Ok(Ok(bytes)) => match std::fs::write(png, bytes) {
            Ok(()) => eprintln!("e2e: screenshot saved to {}", png.display()),
            Err(e) => eprintln!("e2e: cannot write {}: {e}", png.display()),
        },
        Ok(Err(e)) => eprintln!("e2e: screenshot failed: {e}"),
        Err(_) => eprintln!("e2e: screenshot timed out"),
    }
}

async fn save_failure_artifacts(tools: &Tools, client: &Client, view: &str) {
    save_screenshot(
        client,
        &tools.target_dir.join(format!("e2e-failure-{view}.png")),
    )
    .await;
    let html = tools.target_dir.join(format!("e2e-failure-{view}.html"));
    if let Ok(Ok(source)) = tokio::time::timeout(Duration::from_secs(15), client.source()).await
        && std::fs::write(&html, source).is_ok()
    {
        eprintln!("e2e: page source saved to {}", html.display());
    }
}

async fn nav(client: &Client, view: &str) -> Result<()> {
    wait_for(client, &format!("[data-testid=nav-{view}]"))
        .await?
        .click()
        .await?;
    Ok(())
}

/// Sets a React-controlled input/textarea's value the way typing would (native setter + input event).
async fn set_value(client: &Client, el: &Element, value: &str) -> Result<()> {
    client
        .execute(
            "const el = arguments[0]; \
             const proto = el.tagName === 'TEXTAREA' ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype; \
             Object.getOwnPropertyDescriptor(proto, 'value').set.call(el, arguments[1]); \
             el.dispatchEvent(new Event('input', { bubbles: true }));",
            vec![serde_json::to_value(el)?, json!(value)],
        )
        .await?;
    Ok(())
}

async fn search_and_open(client: &Client, backend: &Backend) -> Result<Element> {
    nav(client, "payments").await?;
    let search = wait_for(client, "[data-testid=search-input]").await?;
    search.click().await?;
    search.send_keys(&backend.merchant_reference).await?;
    search.send_keys(&Key::Enter.to_string()).await?;
    let row_css = format!(
        "[data-testid=payment-row][data-id=\"{}\"]",
        backend.payment_id
    );
    wait_for(client, &row_css).await?.click().await?;
    wait_for(client, "[data-testid=payment-detail]").await
}

/// Check 1: Payment detail: lanes on one axis, who charged, attempt columns, route trace.
async fn check_payment_detail(ctx: &Ctx<'_>) -> Result<()> {
    let (client, backend) = (ctx.client, ctx.backend);
    let detail = search_and_open(client, backend).await?;
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
    ensure!(
        first.contains(&US.to_lowercase()) && first.contains("provider unavailable"),
        "first attempt column: {first}"
    );

    // One lane per attempt plus the payment lane, on one axis.
    let lanes = client.find_all(Locator::Css("[data-testid=lane]")).await?;
    let mut names = Vec::new();
    for l in &lanes {
        names.push(l.attr("data-lane").await?.unwrap_or_default());
    }
    ensure!(
        names == ["payment", "attempt-1", "attempt-2"],
        "lanes: {names:?}"
    );
    let marks = client
        .find_all(Locator::Css("[data-testid=lane] [data-testid=lane-mark]"))
        .await?;
    ensure!(marks.len() >= 4, "only {} marks on the lanes", marks.len());

    // Who holds the money: exactly one charge, on the fallback, with a copyable reference.
    let summary = wait_for(client, "[data-testid=charge-summary]").await?;
    ensure!(
        summary.attr("data-charges").await?.as_deref() == Some("1")
            && summary.attr("data-double").await?.as_deref() == Some("false"),
        "charge summary attributes"
    );
    let verdict = text_of(client, "[data-testid=charge-verdict]")
        .await
        .unwrap_or_default();
    ensure!(
        verdict.starts_with("Charged once") && verdict.contains(FALLBACK),
        "verdict: {verdict}"
    );
    summary
        .find(Locator::Css("[data-testid=charge-row] button"))
        .await
        .context("no copy button for the provider reference")?;

    let trace = detail
        .find(Locator::Css("[data-testid=route-trace]"))
        .await
        .context("no route trace in the detail")?;
    let trace_text = trace.text().await?.to_lowercase();
    ensure!(
        trace_text.contains(&US.to_lowercase()) && trace_text.contains(&FALLBACK.to_lowercase()),
        "route trace: {trace_text}"
    );
    let source = client.source().await?;
    ensure!(
        !source.contains(&backend.seeded.api_key)
            && !source.contains(&backend.seeded.stripe_us_key),
        "a secret is in the page"
    );
    Ok(())
}

/// Check 2: Search: `/` focuses the box, filters go to the backend, arrows + Enter open a payment.
async fn check_search(ctx: &Ctx<'_>) -> Result<()> {
    let (client, backend) = (ctx.client, ctx.backend);
    nav(client, "payments").await?;
    wait_for(client, "[data-testid=payment-row]").await?;
    let total = TRAFFIC + 1;
    wait_until("all payments loaded", || async {
        Ok(text_of(client, ".view-head .muted")
            .await
            .filter(|t| t.starts_with(&format!("{total} payments loaded"))))
    })
    .await?;

    // `/` from the list focuses the search box.
    client
        .find(Locator::Css("[data-testid=payments-list]"))
        .await?
        .send_keys("/")
        .await?;
    let active = client
        .execute("return document.activeElement.dataset.testid || ''", vec![])
        .await?;
    ensure!(
        active == json!("search-input"),
        "focused after '/': {active}"
    );

    // Filter: Square Fallback attempts that were approved -> only payments that touched it.
    let connector = wait_for(client, "[data-testid=connector-filter]").await?;
    connector.select_by_label(FALLBACK).await?;
    wait_for(client, "[data-testid=outcome-filter]")
        .await?
        .select_by_value("approved")
        .await?;
    wait_for(client, "[data-testid=search-submit]")
        .await?
        .click()
        .await?;
    let (expected,): (i64,) = sqlx::query_as(
        "SELECT count(DISTINCT a.payment_id) FROM attempts a \
         WHERE a.merchant_id = $1 AND a.connector_id = $2 AND a.outcome = 'approved'",
    )
    .bind(backend.seeded.merchant_id)
    .bind(backend.seeded.square_fallback.0)
    .fetch_one(&backend.pool)
    .await?;
    wait_until("the filtered count", || async {
        Ok(text_of(client, ".view-head .muted")
            .await
            .filter(|t| t.starts_with(&format!("{expected} payment"))))
    })
    .await
    .with_context(|| format!("expected {expected} payments approved on {FALLBACK}"))?;

    // The fallback payment is among them: the merchant reference narrows the list to it.
    let search = wait_for(client, "[data-testid=search-input]").await?;
    set_value(client, &search, &backend.merchant_reference).await?;
    wait_for(client, "[data-testid=search-submit]")
        .await?
        .click()
        .await?;
    let row_css = format!(
        "[data-testid=payment-row][data-id=\"{}\"]",
        backend.payment_id
    );
    wait_for(client, &row_css).await?;

    // Keyboard: from the search box, ArrowDown selects the first row, Enter opens it.
    let search = wait_for(client, "[data-testid=search-input]").await?;
    search.click().await?;
    search.send_keys(&Key::Down.to_string()).await?;
    client
        .find(Locator::Css("[data-testid=payments-list]"))
        .await?
        .send_keys(&Key::Enter.to_string())
        .await?;
    wait_for(client, "[data-testid=payment-detail]").await?;
    wait_for(client, "[data-testid=back-to-payments]")
        .await?
        .click()
        .await?;
    wait_for(client, &row_css).await?;
    Ok(())
}

/// Check 3: Fallback matrix: the provider_unavailable x Stripe US cell counts the outage's failures,
/// shows the policy's action, and opens the list of its payments.
async fn check_matrix(ctx: &Ctx<'_>) -> Result<()> {
    let (client, backend) = (ctx.client, ctx.backend);
    nav(client, "matrix").await?;
    let cell_css = format!(
        "[data-testid=matrix-cell][data-class=provider_unavailable][data-connector=\"{US}\"]"
    );
    let cell = wait_for(client, &cell_css).await?;
    let observed: i64 = cell
        .attr("data-observed")
        .await?
        .unwrap_or_default()
        .parse()
        .unwrap_or(0);
    let (expected,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM attempts WHERE merchant_id = $1 AND connector_id = $2 \
         AND outcome = 'provider_unavailable'",
    )
    .bind(backend.seeded.merchant_id)
    .bind(backend.seeded.stripe_us.0)
    .fetch_one(&backend.pool)
    .await?;
    ensure!(
        observed == expected && observed > 0,
        "cell shows {observed}, database has {expected}"
    );
    let action = text_of(
        client,
        "[data-testid=matrix-row][data-class=provider_unavailable] [data-testid=policy-action]",
    )
    .await
    .unwrap_or_default()
    .to_lowercase();
    ensure!(action.contains("fall"), "policy action: {action}");
    let elsewhere = text_of(
        client,
        &format!("{cell_css} [data-testid=succeeded-elsewhere]"),
    )
    .await
    .unwrap_or_default();
    ensure!(
        elsewhere.contains("succeeded elsewhere"),
        "no 'succeeded elsewhere' count in the cell: {elsewhere:?}"
    );

    cell.click().await?;
    wait_for(client, "[data-testid=base-filter]").await?;
    let row_css = format!(
        "[data-testid=payment-row][data-id=\"{}\"]",
        backend.payment_id
    );
    wait_for(client, &row_css)
        .await
        .context("the fallback payment is not in the cell's list")?;
    save_screenshot(client, &artifacts_dir().join("console-matrix-drill.png")).await;
    // Back to the matrix for the view's own screenshot.
    nav(client, "matrix").await?;
    wait_for(client, &cell_css).await?;
    Ok(())
}

/// Check 4: Charts: three SVGs rendered in Rust, the approval-rate definition, PNG export to a path.
async fn check_charts(ctx: &Ctx<'_>) -> Result<()> {
    let client = ctx.client;
    nav(client, "charts").await?;
    for kind in ["approval_rate", "traffic_share", "p95_latency"] {
        let img = wait_for(client, &format!("[data-testid=chart-{kind}]")).await?;
        let src = img.attr("src").await?.unwrap_or_default();
        ensure!(
            src.starts_with("data:image/svg+xml") && src.contains("svg") && src.len() > 2_000,
            "chart {kind} src: {}…",
            &src[..src.len().min(80)]
        );
    }
    let definition = text_of(client, "[data-testid=rate-definition]")
        .await
        .unwrap_or_default();
    ensure!(definition.contains("approved"), "definition: {definition}");
    let rows = client
        .find_all(Locator::Css("[data-testid=series-row]"))
        .await?;
    ensure!(rows.len() >= 2, "{} series rows", rows.len());

    wait_for(client, "[data-testid=period-7d]")
        .await?
        .click()
        .await?;
    let dir = std::env::temp_dir().join(format!("sb-e2e-charts-{}", Uuid::new_v4().simple()));
    let input = wait_for(client, "[data-testid=export-path]").await?;
    set_value(client, &input, &format!("{}/", dir.display())).await?;
    wait_for(client, "[data-testid=export-approval_rate-png]")
        .await?
        .click()
        .await?;
    let done = wait_until("the export message", || async {
        Ok(text_of(client, "[data-testid=export-done]").await)
    })
    .await?;
    let written = done.trim_start_matches("Saved to").trim().to_owned();
    ensure!(
        Path::new(&written).starts_with(&dir),
        "export written to {written}, not under {}",
        dir.display()
    );
    let bytes = std::fs::read(&written).with_context(|| format!("reading {written}"))?;
    ensure!(
        bytes.starts_with(b"\x89PNG\r\n\x1a\n") && bytes.len() > 1_000,
        "{written} is not a PNG ({} bytes)",
        bytes.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

/// Check 5: Finance: two or more accounts side by side; CSV export with progress to a chosen path.
async fn check_finance(ctx: &Ctx<'_>) -> Result<()> {
    let client = ctx.client;
    nav(client, "finance").await?;
    let accounts = wait_until("two finance accounts", || async {
        let a = client
            .find_all(Locator::Css("[data-testid=finance-account]"))
            .await?;
        Ok((a.len() >= 2).then_some(a))
    })
    .await?;
    let mut names = Vec::new();
    for a in &accounts {
        names.push(a.attr("data-name").await?.unwrap_or_default());
    }
    ensure!(
        names.iter().any(|n| n == US) && names.iter().any(|n| n == FALLBACK),
        "accounts: {names:?}"
    );
    let dir = std::env::temp_dir().join(format!("sb-e2e-finance-{}", Uuid::new_v4().simple()));
    let input = wait_for(client, "[data-testid=csv-path]").await?;
    set_value(client, &input, &format!("{}/", dir.display())).await?;
    wait_for(client, "[data-testid=export-csv]")
        .await?
        .click()
        .await?;
    wait_for(client, "[data-testid=export-progress]").await?;
    let done = wait_until("the CSV to finish", || async {
        Ok(text_of(client, "[data-testid=csv-done]").await)
    })
    .await?;
    save_screenshot(client, &artifacts_dir().join("console-finance-export.png")).await;
    let written = done.trim_start_matches("Saved to").trim().to_owned();
    let csv = std::fs::read_to_string(&written).with_context(|| format!("reading {written}"))?;
    let mut lines = csv.lines();
    let header = lines.next().unwrap_or_default();
    ensure!(
        header.contains("amount_minor")
            && header.contains("amount_decimal")
            && header.contains("currency"),
        "CSV header: {header}"
    );
    let progress = text_of(client, "[data-testid=export-progress]")
        .await
        .unwrap_or_default();
    let rows = lines.count();
    ensure!(
        rows > 0 && progress.contains(&format!("{rows} / {rows} rows")),
        "{rows} CSV rows, progress shows {progress:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

async fn card_weight(client: &Client, name: &str) -> Option<String> {
    text_of(
        client,
        &format!("[data-testid=connector-card][data-name=\"{name}\"] [data-testid=weight-value]"),
    )
    .await
    .map(|t| t.trim().to_owned())
}

async fn db_weight(backend: &Backend, id: Uuid) -> Result<i32> {
    let (weight,): (i32,) =
        sqlx::query_as("SELECT weight FROM connectors WHERE merchant_id = $1 AND id = $2")
            .bind(backend.seeded.merchant_id)
            .bind(id)
            .fetch_one(&backend.pool)
            .await?;
    Ok(weight)
}

/// Check 6: Operators: edit a weight (reason + confirmation), restore a drained connector, and the
/// audit entry shows on the card and in Postgres.
async fn check_operators(ctx: &Ctx<'_>) -> Result<()> {
    let (client, backend) = (ctx.client, ctx.backend);
    nav(client, "connectors").await?;
    let card_css = format!("[data-testid=connector-card][data-name=\"{US}\"]");
    wait_until("the Stripe US Primary card with weight 70", || async {
        Ok(card_weight(client, US).await.filter(|t| t == "70"))
    })
    .await?;

    let card = wait_for(client, &card_css).await?;
    card.find(Locator::Css("[data-testid=edit-weight]"))
        .await?
        .click()
        .await?;
    let input = wait_for(client, &format!("{card_css} [data-testid=weight-input]")).await?;
    set_value(client, &input, "0").await?;
    let reason = format!(
        "e2e: drain Stripe US during the outage {}",
        Uuid::new_v4().simple()
    );
    let reason_input = card
        .find(Locator::Css("[data-testid=reason-input]"))
        .await?;
    set_value(client, &reason_input, &reason).await?;
    card.find(Locator::Css("[data-testid=save-weight]"))
        .await?
        .click()
        .await?;
    // The confirmation step: nothing is written before it.
    wait_for(client, &format!("{card_css} [data-testid=confirm-weight]")).await?;
    ensure!(
        db_weight(backend, backend.seeded.stripe_us.0).await? == 70,
        "written before confirming"
    );
    card.find(Locator::Css("[data-testid=save-weight]"))
        .await?
        .click()
        .await?;
    wait_until("the card to show weight 0", || async {
        Ok(card_weight(client, US).await.filter(|t| t == "0"))
    })
    .await?;
    ensure!(
        db_weight(backend, backend.seeded.stripe_us.0).await? == 0,
        "weight not persisted"
    );
    let audit: Vec<(String, Option<Value>, Option<Value>)> = sqlx::query_as(
        "SELECT actor, before, after FROM audit_log \
         WHERE merchant_id = $1 AND entity = 'connector' AND entity_id = $2 AND reason = $3",
    )
    .bind(backend.seeded.merchant_id)
    .bind(backend.seeded.stripe_us.to_string())
    .bind(&reason)
    .fetch_all(&backend.pool)
    .await?;
    ensure!(
        audit.len() == 1,
        "expected one audit row with the reason, found {audit:?}"
    );
    let (actor, before, after) = &audit[0];
    ensure!(actor.starts_with("console:"), "audit actor is {actor:?}");
    ensure!(
        before.as_ref().map(|b| &b["weight"]) == Some(&json!(70))
            && after.as_ref().map(|a| &a["weight"]) == Some(&json!(0)),
        "audit before/after: {before:?} -> {after:?}"
    );
    wait_until("the audit entry on the card", || async {
        Ok(
            text_of(client, &format!("{card_css} [data-testid=card-audit]"))
                .await
                .filter(|t| t.contains(&reason)),
        )
    })
    .await?;

    // Restore Stripe EU Backup (drained to 0 by the setup, from 30).
    let eu_css = format!("[data-testid=connector-card][data-name=\"{EU}\"]");
    let eu = wait_for(client, &eu_css).await?;
    eu.find(Locator::Css("[data-testid=restore]"))
        .await?
        .click()
        .await?;
    let restore_reason = format!("e2e: outage over {}", Uuid::new_v4().simple());
    let eu_reason = wait_for(client, &format!("{eu_css} [data-testid=reason-input]")).await?;
    set_value(client, &eu_reason, &restore_reason).await?;
    let restore_to = wait_for(client, &format!("{eu_css} [data-testid=weight-input]"))
        .await?
        .prop("value")
        .await?
        .unwrap_or_default();
    ensure!(restore_to == "30", "restore proposes weight {restore_to:?}");
    eu.find(Locator::Css("[data-testid=save-weight]"))
        .await?
        .click()
        .await?;
    wait_for(client, &format!("{eu_css} [data-testid=confirm-weight]")).await?;
    eu.find(Locator::Css("[data-testid=save-weight]"))
        .await?
        .click()
        .await?;
    wait_until("Stripe EU Backup restored to 30", || async {
        Ok(card_weight(client, EU).await.filter(|t| t == "30"))
    })
    .await?;
    save_screenshot(
        client,
        &artifacts_dir().join("console-operators-restore.png"),
    )
    .await;
    ensure!(
        db_weight(backend, backend.seeded.stripe_eu.0).await? == 30,
        "restore not persisted"
    );
    wait_until("the restore audit entry on the card", || async {
        Ok(
            text_of(client, &format!("{eu_css} [data-testid=card-audit]"))
                .await
                .filter(|t| t.contains(&restore_reason)),
        )
    })
    .await?;

    // Force Stripe EU Backup's circuit open (reason + confirmation), then back to automatic.
    let circuit_reason = format!("e2e: EU 5xx {}", Uuid::new_v4().simple());
    wait_for(client, &format!("{eu_css} [data-testid=circuit-override]"))
        .await?
        .select_by_value("open")
        .await?;
    let why = wait_for(client, &format!("{eu_css} [data-testid=circuit-reason]")).await?;
    set_value(client, &why, &circuit_reason).await?;
    wait_for(client, &format!("{eu_css} [data-testid=save-circuit]"))
        .await?
        .click()
        .await?;
    wait_for(client, &format!("{eu_css} [data-testid=confirm-circuit]")).await?;
    wait_for(client, &format!("{eu_css} [data-testid=save-circuit]"))
        .await?
        .click()
        .await?;
    wait_until("the circuit forced open in Postgres", || async {
        let (forced,): (Option<String>,) = sqlx::query_as(
            "SELECT circuit_forced::text FROM connectors WHERE merchant_id = $1 AND id = $2",
        )
        .bind(backend.seeded.merchant_id)
        .bind(backend.seeded.stripe_eu.0)
        .fetch_one(&backend.pool)
        .await?;
        Ok((forced.as_deref() == Some("open")).then_some(()))
    })
    .await?;
    wait_until("the card to show the open circuit", || async {
        Ok(text_of(client, &eu_css)
            .await
            .filter(|t| t.contains("circuit open")))
    })
    .await?;
    Ok(())
}

/// Check 7: Policies: validation of an unknown connector, simulate a valid draft, publish with a
/// note (confirmed), explain a hand-typed context.
async fn check_policies(ctx: &Ctx<'_>) -> Result<()> {
    let (client, backend) = (ctx.client, ctx.backend);
    nav(client, "policies").await?;
    wait_for(client, "[data-testid=rule]").await?;
    wait_for(client, "[data-testid=tab-json]")
        .await?
        .click()
        .await?;
    let editor = wait_for(client, "[data-testid=policy-json]").await?;
    let unknown = json!({
        "rules": [{"name": "USD to nowhere", "conditions": [{"field": "currency", "op": "eq", "value": "USD"}],
                   "action": {"type": "path", "connectors": ["00000000-0000-4000-8000-000000000000"]}}],
        "max_attempts": 3
    });
    set_value(client, &editor, &serde_json::to_string_pretty(&unknown)?).await?;
    wait_for(
        client,
        "[data-testid=policy-issue][data-code=unknown_connector]",
    )
    .await
    .context("no unknown_connector issue shown")?;

    let valid = json!({
        "rules": [
            {"name": "EUR to EU", "conditions": [{"field": "currency", "op": "eq", "value": "EUR"}],
             "action": {"type": "path", "connectors": [backend.seeded.stripe_eu.to_string()]}},
            {"name": "USD to Braintree only", "conditions": [{"field": "currency", "op": "eq", "value": "USD"}],
             "action": {"type": "path", "connectors": [backend.seeded.braintree_us.to_string()]}}
        ],
        "max_attempts": 3
    });
    set_value(client, &editor, &serde_json::to_string_pretty(&valid)?).await?;
    wait_for(client, "[data-testid=policy-valid]").await?;
    wait_for(client, "[data-testid=tab-diff]")
        .await?
        .click()
        .await?;
    wait_for(client, "[data-testid=policy-diff] .diff-add").await?;

    wait_for(client, "[data-testid=simulate]")
        .await?
        .click()
        .await?;
    let changed: i64 = wait_until("the simulation", || async {
        Ok(text_of(client, "[data-testid=sim-changed]").await)
    })
    .await?
    .replace(',', "")
    .trim()
    .parse()
    .unwrap_or(-1);
    save_screenshot(
        client,
        &artifacts_dir().join("console-policies-simulation.png"),
    )
    .await;
    ensure!(
        changed > 0,
        "simulation changed {changed} paths (USD payments must change)"
    );

    let note = format!("e2e: USD to Braintree only {}", Uuid::new_v4().simple());
    let note_input = wait_for(client, "[data-testid=publish-note]").await?;
    set_value(client, &note_input, &note).await?;
    wait_for(client, "[data-testid=publish]")
        .await?
        .click()
        .await?;
    wait_for(client, "[data-testid=publish-confirm-yes]")
        .await?
        .click()
        .await?;
    wait_for(client, "[data-testid=published]").await?;
    let state = Console::new(
        backend.pool.clone(),
        backend.seeded.merchant_id,
        "e2e-check",
    )
    .policy_state()
    .await?;
    let published = state
        .published
        .ok_or_else(|| anyhow!("no published policy"))?;
    ensure!(
        published.note == note,
        "published note: {:?}",
        published.note
    );
    ensure!(
        published
            .json
            .contains(&backend.seeded.braintree_us.to_string())
            && published.json.contains("USD to Braintree only"),
        "published policy: {}",
        published.json
    );

    wait_for(client, "[data-testid=explain]")
        .await?
        .click()
        .await?;
    let trace = wait_for(
        client,
        "[data-testid=policies-explain] [data-testid=route-trace]",
    )
    .await?;
    let text = trace.text().await?;
    ensure!(
        text.contains("USD to Braintree only") && text.contains("Braintree US"),
        "explained route: {text}"
    );
    Ok(())
}

/// Check 9: Security: the master key is ready, stored secrets show at most their last 4 characters,
/// and a webhook secret is replaced with a reason (audited; never echoed).
async fn check_security(ctx: &Ctx<'_>) -> Result<()> {
    let (client, backend) = (ctx.client, ctx.backend);
    nav(client, "security").await?;
    let panel = wait_for(client, "[data-testid=key-panel][data-state=ready]")
        .await
        .context("the master key is not ready")?;
    drop(panel);
    let row_css = format!(
        "[data-testid=credential-row][data-connector=\"{US}\"][data-field=api_key] [data-testid=masked]"
    );
    let masked = wait_until("the masked Stripe US API key", || async {
        Ok(text_of(client, &row_css).await)
    })
    .await?;
    let key_tail: String = backend
        .seeded
        .stripe_us_key
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    ensure!(
        masked == format!("••••{key_tail}"),
        "masked API key shows {masked:?}"
    );

    let secret = format!("whsec_e2e_{}", Uuid::new_v4().simple());
    let reason = format!("e2e: rotate the webhook secret {}", Uuid::new_v4().simple());
    let fb_css = format!(
        "[data-testid=credential-row][data-connector=\"{FALLBACK}\"][data-field=webhook_secret]"
    );
    wait_for(client, &format!("{fb_css} [data-testid=replace-secret]"))
        .await?
        .click()
        .await?;
    let input = wait_for(client, &format!("{fb_css} [data-testid=secret-input]")).await?;
    set_value(client, &input, &secret).await?;
    let why = wait_for(client, &format!("{fb_css} [data-testid=secret-reason]")).await?;
    set_value(client, &why, &reason).await?;
    wait_for(client, &format!("{fb_css} [data-testid=save-secret]"))
        .await?
        .click()
        .await?;
    wait_for(client, &format!("{fb_css} [data-testid=confirm-secret]")).await?;
    wait_for(client, &format!("{fb_css} [data-testid=save-secret]"))
        .await?
        .click()
        .await?;
    let tail = &secret[secret.len() - 4..];
    wait_until("the new secret's last 4 characters", || async {
        Ok(text_of(client, &format!("{fb_css} [data-testid=masked]"))
            .await
            .filter(|t| t == &format!("••••{tail}")))
    })
    .await?;
    let source = client.source().await?;
    ensure!(
        !source.contains(&secret) && !source.contains(&backend.seeded.stripe_us_key),
        "a secret is in the page"
    );
    let (audited,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM audit_log WHERE merchant_id = $1 AND entity = 'credential' AND reason = $2",
    )
    .bind(backend.seeded.merchant_id)
    .bind(&reason)
    .fetch_one(&backend.pool)
    .await?;
    ensure!(
        audited == 1,
        "{audited} credential audit rows with the reason"
    );
    let (leaked,): (i64,) = sqlx::query_as(
        "SELECT count(*) FROM audit_log WHERE merchant_id = $1 AND (before::text LIKE $2 OR after::text LIKE $2)",
    )
    .bind(backend.seeded.merchant_id)
    .bind(format!("%{secret}%"))
    .fetch_one(&backend.pool)
    .await?;
    ensure!(leaked == 0, "the secret is in the audit log");
    Ok(())
}

/// Check 8: Audit log: the setup's drain is listed with who, what and why; filters narrow it.
async fn check_audit(ctx: &Ctx<'_>) -> Result<()> {
    let client = ctx.client;
    nav(client, "audit").await?;
    wait_for(client, "[data-testid=audit-row]").await?;
    let total = client
        .find_all(Locator::Css("[data-testid=audit-row]"))
        .await?
        .len();
    let actor = wait_for(client, "[data-testid=audit-actor]").await?;
    set_value(client, &actor, "nobody-such").await?;
    wait_until("no rows for an unknown actor", || async {
        Ok(client
            .find_all(Locator::Css("[data-testid=audit-row]"))
            .await?
            .is_empty()
            .then_some(()))
    })
    .await?;
    set_value(client, &actor, "e2e-setup").await?;
    let rows = wait_until("the setup's row alone", || async {
        let rows = client
            .find_all(Locator::Css("[data-testid=audit-row]"))
            .await?;
        Ok((rows.len() == 1).then_some(rows))
    })
    .await?;
    let text = rows[0].text().await?;
    ensure!(
        text.contains("weight: 30 → 0") && text.contains("e2e setup: USD goes"),
        "the setup's drain of {EU}: {text}"
    );
    let who = rows[0]
        .find(Locator::Css("[data-testid=audit-actor-cell]"))
        .await?
        .attr("title")
        .await?;
    ensure!(who.as_deref() == Some("e2e-setup"), "actor cell: {who:?}");
    let count = text_of(client, "[data-testid=audit-count]")
        .await
        .unwrap_or_default();
    ensure!(
        count == format!("1 of {total}"),
        "audit count with the actor filter: {count}"
    );
    set_value(client, &actor, "").await?;
    wait_for(client, "[data-testid=audit-entity]")
        .await?
        .select_by_value("connector")
        .await?;
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
