//! End-to-end tests of the Switchboard desktop console (`switchboard-console`), driven through
//! tauri-driver + WebKitWebDriver under Xvfb against a fresh Postgres database.
//!
//! The tests are in `tests/console.rs`; this library is intentionally empty. Run them with
//! `DATABASE_URL=postgres://… cargo nextest run -p e2e` after building the console with the UI
//! embedded (`scripts/build-console.sh`), or run everything with `scripts/test.sh`.
