//! Vault commands of the console (issue 6): first-start master key setup (create or import into
//! the OS keyring), write-only connector credentials (set/replace; the list shows at most the
//! last 4 characters), memberships, and the "rotate master key" action. Thin calls into
//! `engine::secrets` / `engine::access`; errors are `CommandError {code, message}` without
//! secrets. The key source is the OS keyring, or `SWITCHBOARD_MASTER_KEY_FILE` /
//! `SWITCHBOARD_MASTER_KEY` when set (`engine::secrets::desktop_key_source`).
//!
//! Register in `lib.rs`'s `generate_handler!`: `vault_setup::vault_key_state`,
//! `vault_setup::vault_create_key`, `vault_setup::vault_import_key`,
//! `vault_setup::list_credentials`, `vault_setup::set_credential`, `vault_setup::list_members`,
//! `vault_setup::set_member`, `vault_setup::rotate_master_key`.

use crate::state::ConsoleState;
use engine::access::{MemberView, SetMember};
use engine::secrets::{CredentialView, KeySetupState, RotationReport, SetCredential};
use engine::views::CommandError;
use secrecy::SecretString;
use tauri::State;

/// Whether the master key is available (`ready`), `missing` (offer create/import), malformed
/// (`wrong_key`) or the keyring is `unavailable` (message says why). Never fails.
#[tauri::command]
pub async fn vault_key_state() -> Result<KeySetupState, CommandError> {
    Ok(engine::secrets::key_setup_state(
        &engine::secrets::desktop_key_source(),
    ))
}

/// Creates a fresh master key in the keyring (only when none exists).
#[tauri::command]
pub async fn vault_create_key() -> Result<KeySetupState, CommandError> {
    let source = engine::secrets::desktop_key_source();
    engine::secrets::create_master_key(&source)?;
    Ok(engine::secrets::key_setup_state(&source))
}

/// Imports an existing master key (`v1:<64 hex digits>`), checked against the database first
/// when connected. The text is never echoed back.
#[tauri::command]
pub async fn vault_import_key(
    state: State<'_, ConsoleState>,
    text: String,
) -> Result<KeySetupState, CommandError> {
    let source = engine::secrets::desktop_key_source();
    let text = SecretString::from(text);
    match state.console().await {
        Ok(console) => Ok(console.import_master_key(&source, &text).await?),
        Err(_) => {
            engine::secrets::import_master_key(&source, &text, None).await?;
            Ok(engine::secrets::key_setup_state(&source))
        }
    }
}

/// The merchant's stored secrets: connector, field, last 4 characters, key version, time.
#[tauri::command]
pub async fn list_credentials(
    state: State<'_, ConsoleState>,
) -> Result<Vec<CredentialView>, CommandError> {
    let console = state.console().await?;
    Ok(console.credentials().await?)
}

/// Sets or replaces one secret (write-only; admins).
#[tauri::command]
pub async fn set_credential(
    state: State<'_, ConsoleState>,
    req: SetCredential,
) -> Result<CredentialView, CommandError> {
    let console = state.console().await?;
    let keys = engine::secrets::desktop_key_source()
        .load()
        .map_err(engine::EngineError::from)?;
    Ok(console.set_credential(&keys, req).await?)
}

/// Members of the merchant (admins see all; others themselves).
#[tauri::command]
pub async fn list_members(state: State<'_, ConsoleState>) -> Result<Vec<MemberView>, CommandError> {
    let console = state.console().await?;
    Ok(console.members().await?)
}

/// Grants or changes a member's role (admins; enforced by Postgres).
#[tauri::command]
pub async fn set_member(
    state: State<'_, ConsoleState>,
    req: SetMember,
) -> Result<Vec<MemberView>, CommandError> {
    let console = state.console().await?;
    Ok(console.set_member(req).await?)
}

/// Re-wraps every data key with a new master key version (online, resumable).
#[tauri::command]
pub async fn rotate_master_key(
    state: State<'_, ConsoleState>,
) -> Result<RotationReport, CommandError> {
    let console = state.console().await?;
    Ok(console
        .rotate_master_key(&engine::secrets::desktop_key_source())
        .await?)
}
