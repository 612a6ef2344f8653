//! Writes of the durable payment protocol (DESIGN.md §6). The engine composes these inside its
//! transactions: T1 = idempotency claim + payment + attempt #1 + events; T2.. = attempt outcome
//! (+ next attempt) + events; the last one also sets the payment's final status and stores the
//! idempotency response. Status updates are guarded by the pure state machines in `routing`.

use routing::{AttemptStatus, PaymentStatus};
use sqlx::{PgConnection, Row};
use time::OffsetDateTime;
use uuid::Uuid;

/// Result of claiming an idempotency key.
#[derive(Debug, Clone, PartialEq)]
pub enum IdempotencyClaim {
    /// New key: this request owns it.
    Claimed,
    /// The key exists. `response` is `Some((http status, body))` once the first request finished.
    Existing {
        /// Fingerprint stored with the key.
        fingerprint: Vec<u8>,
        /// Stored response, when complete.
        response: Option<(i32, serde_json::Value)>,
        /// Payment created by the first request, if any.
        payment_id: Option<Uuid>,
    },
}

/// Claims `(merchant, mode, key)`. A concurrent claimant blocks until the first transaction
/// ends (unique index), then sees `Existing`.
pub async fn claim_idempotency(
    conn: &mut PgConnection,
    merchant_id: Uuid,
    mode: &str,
    key: &str,
    fingerprint: &[u8],
    payment_id: Option<Uuid>,
) -> Result<IdempotencyClaim, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO idempotency_keys (merchant_id, mode, key, fingerprint, payment_id)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING 1",
    )
    .bind(merchant_id)
    .bind(mode)
    .bind(key)
    .bind(fingerprint)
    .bind(payment_id)
    .fetch_optional(&mut *conn)
    .await?;
    if inserted.is_some() {
        return Ok(IdempotencyClaim::Claimed);
    }
    lookup_idempotency(conn, merchant_id, mode, key)
        .await
        .map(|o| {
            o.unwrap_or(IdempotencyClaim::Existing {
                fingerprint: Vec::new(),
                response: None,
                payment_id: None,
            })
        })
}

/// Reads an idempotency row (`None` when absent).
pub async fn lookup_idempotency(
    conn: &mut PgConnection,
    merchant_id: Uuid,
    mode: &str,
    key: &str,
) -> Result<Option<IdempotencyClaim>, sqlx::Error> {
    let row = sqlx::query(
        "SELECT fingerprint, response_status, response_body, payment_id FROM idempotency_keys
         WHERE merchant_id = $1 AND mode = $2 AND key = $3",
    )
    .bind(merchant_id)
    .bind(mode)
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match row {
        None => None,
        Some(r) => {
            let status: Option<i32> = r.try_get("response_status")?;
            let body: Option<serde_json::Value> = r.try_get("response_body")?;
            Some(IdempotencyClaim::Existing {
                fingerprint: r.try_get("fingerprint")?,
                response: status.zip(body),
                payment_id: r.try_get("payment_id")?,
            })
        }
    })
}

/// Stores the final response of an idempotent request.
pub async fn complete_idempotency(
    conn: &mut PgConnection,
    merchant_id: Uuid,
    mode: &str,
    key: &str,
    status: i32,
    body: &serde_json::Value,
    now: OffsetDateTime,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE idempotency_keys SET response_status = $4, response_body = $5, completed_at = $6
         WHERE merchant_id = $1 AND mode = $2 AND key = $3",
    )
    .bind(merchant_id)
    .bind(mode)
    .bind(key)
    .bind(status)
    .bind(body)
    .bind(now)
    .execute(conn)
    .await?;
    Ok(())
}

/// A new payment row.
#[derive(Debug, Clone)]
pub struct NewPayment {
    /// Merchant.
    pub merchant_id: Uuid,
    /// Payment id.
    pub id: Uuid,
    /// `test`/`live`.
    pub mode: String,
    /// Minor units.
    pub amount_minor: i64,
    /// ISO 4217.
    pub currency: String,
    /// ISO 3166 alpha-2.
    pub country: String,
    /// `card`…
    pub method: String,
    /// Card brand.
    pub card_brand: Option<String>,
    /// `automatic`/`manual`.
    pub capture_mode: String,
    /// Merchant reference.
    pub merchant_reference: Option<String>,
    /// Metadata object.
    pub metadata: serde_json::Value,
    /// Tokens (token + scope), as sent.
    pub tokens: serde_json::Value,
    /// Initial status (`processing`, or `failed` when no connector is eligible).
    pub status: PaymentStatus,
    /// Failure code when created failed.
    pub failure_code: Option<String>,
    /// Failure message when created failed.
    pub failure_message: Option<String>,
    /// Published policy used.
    pub policy_id: Option<Uuid>,
    /// Random roll used by routing.
    pub route_roll: f64,
    /// RouteTrace JSON.
    pub route: serde_json::Value,
    /// Creation time.
    pub created_at: OffsetDateTime,
}

/// A new attempt row, inserted `pending` before its provider call.
#[derive(Debug, Clone)]
pub struct NewAttempt {
    /// Merchant.
    pub merchant_id: Uuid,
    /// Attempt id (also the provider idempotency key).
    pub id: Uuid,
    /// Payment.
    pub payment_id: Uuid,
    /// 1-based order.
    pub seq: i32,
    /// Connector.
    pub connector_id: Uuid,
    /// Connector name at the time.
    pub connector_name: String,
    /// Provider.
    pub provider: String,
    /// Creation time.
    pub created_at: OffsetDateTime,
}

/// The answer to an attempt's provider call, and the decision taken after it.
#[derive(Debug, Clone, Default)]
pub struct AttemptUpdate {
    /// New status (guarded: only from the states `AttemptStatus::allowed_from` lists).
    pub status: Option<AttemptStatus>,
    /// Outcome class (`approved`…).
    pub outcome: Option<String>,
    /// Provider reference.
    pub provider_reference: Option<String>,
    /// Provider status string.
    pub provider_status: Option<String>,
    /// HTTP status.
    pub http_status: Option<i32>,
    /// Provider code.
    pub raw_code: Option<String>,
    /// Decline code.
    pub decline_code: Option<String>,
    /// Message.
    pub message: Option<String>,
    /// Request sent.
    pub requested_at: Option<OffsetDateTime>,
    /// Answer (or timeout).
    pub responded_at: Option<OffsetDateTime>,
    /// Latency, ms.
    pub latency_ms: Option<i32>,
    /// Decision after it.
    pub next_step: Option<String>,
    /// Human detail of the decision.
    pub next_step_detail: Option<String>,
    /// Reconciliation result.
    pub reconciliation: Option<String>,
}

/// A payment status change with its side fields.
#[derive(Debug, Clone)]
pub struct PaymentUpdate {
    /// Target status.
    pub status: PaymentStatus,
    /// Failure code (`card_declined`, `no_eligible_connector`…), for failed payments.
    pub failure_code: Option<String>,
    /// Failure message.
    pub failure_message: Option<String>,
    /// 3DS redirect.
    pub next_action_url: Option<String>,
    /// Added to captured_minor.
    pub captured_delta: i64,
    /// Added to refunded_minor.
    pub refunded_delta: i64,
    /// When.
    pub at: OffsetDateTime,
}

/// Guarded status change (`WHERE status = ANY(allowed_from(to))`). Returns the previous status
/// when applied, `None` when the guard refused it (nothing written).
pub async fn update_payment_status(
    conn: &mut PgConnection,
    merchant_id: Uuid,
    payment_id: Uuid,
    u: &PaymentUpdate,
) -> Result<Option<PaymentStatus>, sqlx::Error> {
    let mut allowed: Vec<&str> = PaymentStatus::allowed_from(u.status)
        .iter()
        .map(|s| s.as_str())
        .collect();
    // Amount-only changes (partial capture, refunds) keep the status.
    if u.captured_delta != 0 || u.refunded_delta != 0 {
        allowed.push(u.status.as_str());
    }
    let row = sqlx::query(
        "UPDATE payments p SET status = $3, failure_code = coalesce($4, p.failure_code),
            failure_message = coalesce($5, p.failure_message), next_action_url = coalesce($6, p.next_action_url),
            captured_minor = p.captured_minor + $7, refunded_minor = p.refunded_minor + $8, updated_at = $9
         FROM (SELECT status AS old_status FROM payments WHERE merchant_id = $1 AND id = $2 FOR UPDATE) old
         WHERE p.merchant_id = $1 AND p.id = $2 AND p.status = ANY($10)
         RETURNING old.old_status",
    )
    .bind(merchant_id)
    .bind(payment_id)
    .bind(u.status.as_str())
    .bind(&u.failure_code)
    .bind(&u.failure_message)
    .bind(&u.next_action_url)
    .bind(u.captured_delta)
    .bind(u.refunded_delta)
    .bind(u.at)
    .bind(&allowed)
    .fetch_optional(conn)
    .await?;
    Ok(match row {
        None => None,
        Some(r) => PaymentStatus::parse(&r.try_get::<String, _>("old_status")?),
    })
}

/// An event to append.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// Payment.
    pub payment_id: Uuid,
    /// When.
    pub at: OffsetDateTime,
    /// `api`, `provider_response`, `webhook`, `reconciler`, `operator`.
    pub cause: &'static str,
    /// Kind (`payment_created`, `attempt_started`, `attempt_finished`, `status_changed`…).
    pub kind: &'static str,
    /// Status before.
    pub from_status: Option<PaymentStatus>,
    /// Status after.
    pub to_status: Option<PaymentStatus>,
    /// Attempt.
    pub attempt_id: Option<Uuid>,
    /// Human detail.
    pub detail: String,
}

/// Appends events in one statement.
pub async fn insert_events(
    conn: &mut PgConnection,
    merchant_id: Uuid,
    events: &[NewEvent],
) -> Result<(), sqlx::Error> {
    if events.is_empty() {
        return Ok(());
    }
    let payment_ids: Vec<Uuid> = events.iter().map(|e| e.payment_id).collect();
    let ats: Vec<OffsetDateTime> = events.iter().map(|e| e.at).collect();
    let causes: Vec<&str> = events.iter().map(|e| e.cause).collect();
    let kinds: Vec<&str> = events.iter().map(|e| e.kind).collect();
    let froms: Vec<Option<&str>> = events
        .iter()
        .map(|e| e.from_status.map(|s| s.as_str()))
        .collect();
    let tos: Vec<Option<&str>> = events
        .iter()
        .map(|e| e.to_status.map(|s| s.as_str()))
        .collect();
    let attempts: Vec<Option<Uuid>> = events.iter().map(|e| e.attempt_id).collect();
    let details: Vec<&str> = events.iter().map(|e| e.detail.as_str()).collect();
    sqlx::query(
        "INSERT INTO payment_events (merchant_id, payment_id, at, cause, kind, from_status, to_status, attempt_id, detail)
         SELECT $1, * FROM UNNEST($2::uuid[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[], $8::uuid[], $9::text[])",
    )
    .bind(merchant_id)
    .bind(&payment_ids)
    .bind(&ats)
    .bind(&causes)
    .bind(&kinds)
    .bind(&froms)
    .bind(&tos)
    .bind(&attempts)
    .bind(&details)
    .execute(conn)
    .await?;
    Ok(())
}

/// A capture/void/refund operation row.
#[derive(Debug, Clone)]
pub struct NewOperation {
    /// Merchant.
    pub merchant_id: Uuid,
    /// Operation id (also the provider idempotency key).
    pub id: Uuid,
    /// Payment.
    pub payment_id: Uuid,
    /// `capture`, `void`, `refund`.
    pub kind: &'static str,
    /// Amount, minor units.
    pub amount_minor: Option<i64>,
    /// Reason.
    pub reason: Option<String>,
    /// The approved attempt it acts on.
    pub attempt_id: Uuid,
    /// When.
    pub created_at: OffsetDateTime,
}

/// Inserts a pending operation.
pub async fn insert_operation(
    conn: &mut PgConnection,
    o: &NewOperation,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO payment_operations (merchant_id, id, payment_id, kind, amount_minor, reason, attempt_id, status, created_at)
         VALUES ($1,$2,$3,$4,$5,$6,$7,'pending',$8)",
    )
    .bind(o.merchant_id)
    .bind(o.id)
    .bind(o.payment_id)
    .bind(o.kind)
    .bind(o.amount_minor)
    .bind(&o.reason)
    .bind(o.attempt_id)
    .bind(o.created_at)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records an operation's outcome (only from `pending`).
#[allow(clippy::too_many_arguments)]
pub async fn finish_operation(
    conn: &mut PgConnection,
    merchant_id: Uuid,
    id: Uuid,
    status: &str,
    outcome: &str,
    provider_reference: Option<&str>,
    raw_code: Option<&str>,
    message: Option<&str>,
    at: OffsetDateTime,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query(
        "UPDATE payment_operations SET status = $3, outcome = $4, provider_reference = $5, raw_code = $6,
            message = $7, responded_at = $8
         WHERE merchant_id = $1 AND id = $2 AND status = 'pending'",
    )
    .bind(merchant_id)
    .bind(id)
    .bind(status)
    .bind(outcome)
    .bind(provider_reference)
    .bind(raw_code)
    .bind(message)
    .bind(at)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n == 1)
}

/// The idempotency key of a request: `(merchant, mode, key)` and its body fingerprint.
#[derive(Debug, Clone, Copy)]
pub struct IdemKey<'a> {
    /// Merchant.
    pub merchant_id: Uuid,
    /// `test`/`live`.
    pub mode: &'a str,
    /// The `Idempotency-Key` header.
    pub key: &'a str,
    /// SHA-256 of operation + canonical body.
    pub fingerprint: &'a [u8],
}

/// What [`start_payment`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StartOutcome {
    /// Idempotency row, payment, attempt #1 and events are committed.
    Started,
    /// Nothing written: the merchant's config version is no longer the one routing used.
    ConfigChanged,
    /// Nothing written: the idempotency key already exists.
    KeyExists,
}

/// Column arrays of a batch of events, for one `UNNEST` insert.
type EventColumns<'a> = (
    Vec<Uuid>,
    Vec<OffsetDateTime>,
    Vec<&'a str>,
    Vec<&'a str>,
    Vec<Option<&'a str>>,
    Vec<Option<&'a str>>,
    Vec<Option<Uuid>>,
    Vec<&'a str>,
);

fn event_arrays(events: &[NewEvent]) -> EventColumns<'_> {
    (
        events.iter().map(|e| e.payment_id).collect(),
        events.iter().map(|e| e.at).collect(),
        events.iter().map(|e| e.cause).collect(),
        events.iter().map(|e| e.kind).collect(),
        events
            .iter()
            .map(|e| e.from_status.map(|s| s.as_str()))
            .collect(),
        events
            .iter()
            .map(|e| e.to_status.map(|s| s.as_str()))
            .collect(),
        events.iter().map(|e| e.attempt_id).collect(),
        events.iter().map(|e| e.detail.as_str()).collect(),
    )
}

/// T1 of the durable protocol as ONE statement (one round trip, one commit): idempotency row +
/// payment + attempt #1 `pending` + events, written only if the key is new AND the merchant's
/// config version still equals `config_version` (optimistic check: a config change committed
/// before this statement makes it write nothing and answer [`StartOutcome::ConfigChanged`]).
/// When `response` is given (a payment that fails before any provider call), the idempotency
/// row is stored complete.
pub async fn start_payment(
    pool: &sqlx::PgPool,
    idem: IdemKey<'_>,
    config_version: i64,
    p: &NewPayment,
    attempt: Option<&NewAttempt>,
    events: &[NewEvent],
    response: Option<(i32, &serde_json::Value)>,
) -> Result<StartOutcome, sqlx::Error> {
    let (e_pay, e_at, e_cause, e_kind, e_from, e_to, e_att, e_detail) = event_arrays(events);
    let row = sqlx::query(
        "WITH v AS (SELECT coalesce((SELECT version FROM config_versions WHERE merchant_id = $1), 0) AS version),
         idem AS (
            INSERT INTO idempotency_keys (merchant_id, mode, key, fingerprint, payment_id, response_status, response_body, completed_at)
            SELECT $1, $2, $3, $4, $5, $6, $7, CASE WHEN $6::int IS NULL THEN NULL ELSE $8::timestamptz END
            FROM v WHERE v.version = $9
            ON CONFLICT DO NOTHING RETURNING 1),
         p AS (
            INSERT INTO payments (merchant_id, id, mode, amount_minor, currency, country, method, card_brand,
                capture_mode, merchant_reference, metadata, tokens, status, failure_code, failure_message,
                policy_id, route_roll, route, attempt_count, last_connector_id, created_at, updated_at)
            SELECT $1, $5, $2, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24,
                   CASE WHEN $25::uuid IS NULL THEN 0 ELSE 1 END, $26, $8, $8
            FROM idem RETURNING id),
         a AS (
            INSERT INTO attempts (merchant_id, id, payment_id, seq, connector_id, connector_name, provider, status, created_at)
            SELECT $1, $25, p.id, 1, $26, $27, $28, 'pending', $8 FROM p WHERE $25::uuid IS NOT NULL),
         e AS (
            INSERT INTO payment_events (merchant_id, payment_id, at, cause, kind, from_status, to_status, attempt_id, detail)
            SELECT $1, x.* FROM UNNEST($29::uuid[], $30::timestamptz[], $31::text[], $32::text[], $33::text[],
                                       $34::text[], $35::uuid[], $36::text[]) AS x
            WHERE EXISTS (SELECT 1 FROM p))
         SELECT EXISTS (SELECT 1 FROM idem) AS claimed, (SELECT version FROM v) AS version",
    )
    .bind(idem.merchant_id)
    .bind(idem.mode)
    .bind(idem.key)
    .bind(idem.fingerprint)
    .bind(p.id)
    .bind(response.map(|r| r.0))
    .bind(response.map(|r| r.1))
    .bind(p.created_at)
    .bind(config_version)
    .bind(p.amount_minor)
    .bind(&p.currency)
    .bind(&p.country)
    .bind(&p.method)
    .bind(&p.card_brand)
    .bind(&p.capture_mode)
    .bind(&p.merchant_reference)
    .bind(&p.metadata)
    .bind(&p.tokens)
    .bind(p.status.as_str())
    .bind(&p.failure_code)
    .bind(&p.failure_message)
    .bind(p.policy_id)
    .bind(p.route_roll)
    .bind(&p.route)
    .bind(attempt.map(|a| a.id))
    .bind(attempt.map(|a| a.connector_id))
    .bind(attempt.map(|a| a.connector_name.as_str()))
    .bind(attempt.map(|a| a.provider.as_str()))
    .bind(&e_pay)
    .bind(&e_at)
    .bind(&e_cause)
    .bind(&e_kind)
    .bind(&e_from)
    .bind(&e_to)
    .bind(&e_att)
    .bind(&e_detail)
    .fetch_one(pool)
    .await?;
    let claimed: bool = row.try_get("claimed")?;
    let version: i64 = row.try_get("version")?;
    Ok(if claimed {
        StartOutcome::Started
    } else if version != config_version {
        StartOutcome::ConfigChanged
    } else {
        StartOutcome::KeyExists
    })
}

/// One step after a provider call (T2.. of the protocol), as ONE statement: the attempt's
/// outcome (guarded), optionally the next `pending` attempt, optionally the payment's final
/// status (guarded by `PaymentStatus::allowed_from`, with a `status_changed` event written only
/// if the guard let it through), the events, and optionally the stored idempotency response.
#[derive(Debug, Clone)]
pub struct Step<'a> {
    /// Merchant.
    pub merchant_id: Uuid,
    /// Payment.
    pub payment_id: Uuid,
    /// The attempt just answered.
    pub attempt_id: Uuid,
    /// Its outcome.
    pub attempt: &'a AttemptUpdate,
    /// The next attempt to insert `pending` (fallback or retry).
    pub next_attempt: Option<&'a NewAttempt>,
    /// Final payment status change.
    pub payment: Option<&'a PaymentUpdate>,
    /// Status the payment is expected to leave (for the status event).
    pub from_status: PaymentStatus,
    /// Detail text of the status event.
    pub status_detail: String,
    /// Events to append unconditionally.
    pub events: &'a [NewEvent],
    /// `(mode, key, http status, body)` to store as the idempotent response.
    pub response: Option<(&'a str, &'a str, i32, &'a serde_json::Value)>,
    /// Time of the step.
    pub at: OffsetDateTime,
}

/// What [`record_step`] changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepResult {
    /// The attempt guard let the update through.
    pub attempt_updated: bool,
    /// The payment guard let the status change through (false when no change was asked).
    pub payment_updated: bool,
}

/// Writes a [`Step`] in one statement (one round trip, one commit).
pub async fn record_step(pool: &sqlx::PgPool, s: &Step<'_>) -> Result<StepResult, sqlx::Error> {
    let a = s.attempt;
    let a_status = a.status.unwrap_or(AttemptStatus::Pending);
    let a_allowed: Vec<&str> = AttemptStatus::allowed_from(a_status)
        .iter()
        .map(|x| x.as_str())
        .collect();
    let p_allowed: Vec<&str> = s
        .payment
        .map(|p| {
            PaymentStatus::allowed_from(p.status)
                .iter()
                .map(|x| x.as_str())
                .collect()
        })
        .unwrap_or_default();
    let (e_pay, e_at, e_cause, e_kind, e_from, e_to, e_att, e_detail) = event_arrays(s.events);
    let n = s.next_attempt;
    let row = sqlx::query(
        "WITH a AS (
            UPDATE attempts SET status = $3, outcome = $4, provider_reference = coalesce($5, provider_reference),
                provider_status = $6, http_status = $7, raw_code = $8, decline_code = $9, message = $10,
                requested_at = coalesce($11, requested_at), responded_at = $12, latency_ms = $13,
                next_step = $14, next_step_detail = $15, reconciliation = coalesce($16, reconciliation)
            WHERE merchant_id = $1 AND id = $2 AND status = ANY($17) RETURNING 1),
         n AS (
            INSERT INTO attempts (merchant_id, id, payment_id, seq, connector_id, connector_name, provider, status, created_at)
            SELECT $1, $18, $19, $20, $21, $22, $23, 'pending', $24 WHERE $18::uuid IS NOT NULL),
         p AS (
            UPDATE payments SET status = coalesce($25, status),
                failure_code = coalesce($26, failure_code), failure_message = coalesce($27, failure_message),
                next_action_url = coalesce($28, next_action_url), captured_minor = captured_minor + $29,
                attempt_count = coalesce($20, attempt_count), last_connector_id = coalesce($21, last_connector_id),
                updated_at = $24
            WHERE merchant_id = $1 AND id = $19 AND ($25::text IS NULL OR status = ANY($30))
            RETURNING 1),
         e AS (
            INSERT INTO payment_events (merchant_id, payment_id, at, cause, kind, from_status, to_status, attempt_id, detail)
            SELECT $1, x.* FROM UNNEST($31::uuid[], $32::timestamptz[], $33::text[], $34::text[], $35::text[],
                                       $36::text[], $37::uuid[], $38::text[]) AS x
            UNION ALL
            SELECT $1, $19, $24, 'provider_response', 'status_changed', $39, $25, $2, $40
            FROM p WHERE $25::text IS NOT NULL),
         i AS (
            UPDATE idempotency_keys SET response_status = $43, response_body = $44, completed_at = $24
            WHERE merchant_id = $1 AND mode = $41 AND key = $42 AND $43::int IS NOT NULL)
         SELECT EXISTS (SELECT 1 FROM a) AS attempt_updated,
                ($25::text IS NOT NULL AND EXISTS (SELECT 1 FROM p)) AS payment_updated",
    )
    .bind(s.merchant_id)
    .bind(s.attempt_id)
    .bind(a_status.as_str())
    .bind(&a.outcome)
    .bind(&a.provider_reference)
    .bind(&a.provider_status)
    .bind(a.http_status)
    .bind(&a.raw_code)
    .bind(&a.decline_code)
    .bind(&a.message)
    .bind(a.requested_at)
    .bind(a.responded_at)
    .bind(a.latency_ms)
    .bind(&a.next_step)
    .bind(&a.next_step_detail)
    .bind(&a.reconciliation)
    .bind(&a_allowed)
    .bind(n.map(|n| n.id))
    .bind(s.payment_id)
    .bind(n.map(|n| n.seq))
    .bind(n.map(|n| n.connector_id))
    .bind(n.map(|n| n.connector_name.as_str()))
    .bind(n.map(|n| n.provider.as_str()))
    .bind(s.at)
    .bind(s.payment.map(|p| p.status.as_str()))
    .bind(s.payment.and_then(|p| p.failure_code.as_deref()))
    .bind(s.payment.and_then(|p| p.failure_message.as_deref()))
    .bind(s.payment.and_then(|p| p.next_action_url.as_deref()))
    .bind(s.payment.map(|p| p.captured_delta).unwrap_or(0))
    .bind(&p_allowed)
    .bind(&e_pay)
    .bind(&e_at)
    .bind(&e_cause)
    .bind(&e_kind)
    .bind(&e_from)
    .bind(&e_to)
    .bind(&e_att)
    .bind(&e_detail)
    .bind(s.from_status.as_str())
    .bind(&s.status_detail)
    .bind(s.response.map(|r| r.0))
    .bind(s.response.map(|r| r.1))
    .bind(s.response.map(|r| r.2))
    .bind(s.response.map(|r| r.3))
    .fetch_one(pool)
    .await?;
    Ok(StepResult {
        attempt_updated: row.try_get("attempt_updated")?,
        payment_updated: row.try_get("payment_updated")?,
    })
}
