//! Building blocks of the demo (`switchboard-demo`) and load (`switchboard-load`) commands.
//!
//! - [`database`]: `DATABASE_URL` if given, else an embedded Postgres (system binaries via
//!   `pgtemp`; as root the server runs as the `postgres` user through sudo).
//! - [`keys`]: the demo's master keys (key file or environment) for credential encryption.
//! - [`seed`]: the demo merchant, its API key, connectors and published policy.
//! - [`stack`]: the PSP emulator and the gateway on loopback ports, in this process.
//! - [`traffic`]: the checkout mix sent over HTTP, with a Stripe US outage window.
//! - [`summary`]: figures read back from Postgres.
//! - [`merchant_hooks`]: the demo merchant's webhook receiver (verifies signatures).

pub mod database;
pub mod keys;
pub mod merchant_hooks;
pub mod seed;
pub mod stack;
pub mod summary;
pub mod traffic;
