//! Switchboard's headless gateway: the checkout-facing HTTP API (DESIGN.md §7a).
//!
//! Routes (JSON; amounts in integer minor units; every error is
//! `{"error":{"code","message","field"?}}` with a stable `code`):
//! - `POST /v1/payments` (header `Idempotency-Key` required)
//! - `GET /v1/payments/{id}`
//! - `POST /v1/payments/{id}/capture` (optional `amount`), `/void`,
//!   `/refunds` (`amount`, `reason`; its own `Idempotency-Key`, required)
//! - `POST /v1/routing/explain`: the route and trace for a payment body, without calling any
//!   provider or storing anything
//! - `POST /webhooks/{connector_id}`: provider webhooks (no API key: the provider's signature,
//!   checked with the connector's webhook secret, authenticates them; see `engine::webhooks`).
//!   Answers 200 `{"received":true,…}` (also for duplicates, unknown event types and events that
//!   match no payment), 400/401 `{"error":{code,message}}` when the signature or body is
//!   rejected (the delivery is recorded as rejected), 404 for an unknown connector.
//! - `GET /health`
//!
//! Authentication: `Authorization: Bearer <merchant API key>`; keys are stored as SHA-256 hashes.
//!
//! Notification URL: Square signs the URL it was told to call, so the gateway must know its own
//! public URL: [`AppState::with_public_base_url`] (binary: `PUBLIC_BASE_URL`, e.g.
//! `https://pay.example.com`); without it the URL is rebuilt as `http://{Host header}`.

use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use engine::EngineError;
use engine::payments::{ApiAnswer, MerchantAuth, Payments};
use engine::webhooks::{WebhookDelivery, Webhooks};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A verified API key's merchant and when it was verified.
type CachedKey = (MerchantAuth, Instant);

/// Shared state of the gateway.
#[derive(Clone)]
pub struct AppState {
    /// The payments service.
    pub payments: Payments,
    /// Provider webhook intake.
    pub webhooks: Webhooks,
    /// Public base URL of this gateway (no trailing slash), for webhook notification URLs.
    public_base_url: Option<String>,
    keys: Arc<Mutex<HashMap<[u8; 32], CachedKey>>>,
}

/// How long a verified API key is cached (a revoked key stops working within this time).
pub const API_KEY_CACHE_TTL: Duration = Duration::from_secs(30);

impl AppState {
    /// State over a payments service.
    pub fn new(payments: Payments) -> AppState {
        AppState {
            webhooks: Webhooks::new(payments.clone()),
            payments,
            public_base_url: None,
            keys: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Sets the public base URL providers call (e.g. `https://pay.example.com`); the
    /// notification URL of connector `c` is then `{base}/webhooks/{c}` (Square signs it).
    pub fn with_public_base_url(mut self, base: impl Into<String>) -> AppState {
        self.public_base_url = Some(base.into().trim_end_matches('/').to_owned());
        self
    }

    /// The URL a provider was told to call for `connector_id`.
    fn notification_url(&self, connector_id: &str, headers: &HeaderMap) -> String {
        let base = match &self.public_base_url {
            Some(b) => b.clone(),
            None => format!(
                "http://{}",
                headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("localhost")
            ),
        };
        format!("{base}/webhooks/{connector_id}")
    }
}

/// SHA-256 of a merchant API key, as stored in `api_keys.key_hash`.
pub fn hash_api_key(key: &str) -> [u8; 32] {
    Sha256::digest(key.as_bytes()).into()
}

/// The gateway's router.
pub fn router(state: AppState) -> Router {
    Router::new()
        .route(
            "/health",
            get(|| async { axum::Json(serde_json::json!({"status": "ok"})) }),
        )
        .route("/v1/payments", post(create_payment))
        .route("/v1/payments/{id}", get(get_payment))
        .route("/v1/payments/{id}/capture", post(capture))
        .route("/v1/payments/{id}/void", post(void))
        .route("/v1/payments/{id}/refunds", post(refund))
        .route("/v1/routing/explain", post(explain))
        .route("/webhooks/{connector_id}", post(provider_webhook))
        .fallback(|| async {
            error_response(
                StatusCode::NOT_FOUND,
                "route_not_found",
                "no such route",
                None,
            )
        })
        .method_not_allowed_fallback(|| async {
            error_response(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed on this route",
                None,
            )
        })
        .layer(DefaultBodyLimit::max(64 * 1024))
        .with_state(state)
}

/// An HTTP error with a stable code.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    code: String,
    message: String,
    field: Option<String>,
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        error_response(
            self.status,
            &self.code,
            &self.message,
            self.field.as_deref(),
        )
    }
}

fn error_response(status: StatusCode, code: &str, message: &str, field: Option<&str>) -> Response {
    let mut err = serde_json::json!({"code": code, "message": message});
    if let Some(f) = field {
        err["field"] = serde_json::Value::String(f.to_owned());
    }
    (status, axum::Json(serde_json::json!({"error": err}))).into_response()
}

impl From<EngineError> for ApiError {
    fn from(e: EngineError) -> Self {
        let status = match &e {
            EngineError::InvalidInput { .. } => StatusCode::BAD_REQUEST,
            EngineError::NotFound { .. } => StatusCode::NOT_FOUND,
            EngineError::IdempotencyKeyReused
            | EngineError::IdempotencyKeyInUse
            | EngineError::InvalidState { .. } => StatusCode::CONFLICT,
            EngineError::Database(err) => {
                tracing::error!(error = %err, "database error");
                StatusCode::SERVICE_UNAVAILABLE
            }
            EngineError::Internal(err) => {
                tracing::error!(error = %err, "internal error");
                StatusCode::INTERNAL_SERVER_ERROR
            }
            EngineError::Vault(err) => {
                tracing::error!(error = %err, "credential vault error");
                StatusCode::SERVICE_UNAVAILABLE
            }
            EngineError::Forbidden { .. } => StatusCode::FORBIDDEN,
        };
        let field = match &e {
            EngineError::InvalidInput { field, .. } => field.clone(),
            EngineError::IdempotencyKeyReused | EngineError::IdempotencyKeyInUse => {
                Some("Idempotency-Key".into())
            }
            EngineError::NotFound { .. }
            | EngineError::InvalidState { .. }
            | EngineError::Database(_)
            | EngineError::Internal(_)
            | EngineError::Vault(_)
            | EngineError::Forbidden { .. } => None,
        };
        let message = match &e {
            EngineError::Database(_) => {
                "the payment store is unavailable; retry with the same Idempotency-Key".to_owned()
            }
            EngineError::Internal(_) => {
                "internal error; retry with the same Idempotency-Key".to_owned()
            }
            EngineError::Vault(_) => {
                "connector credentials cannot be decrypted on this gateway (master key); retry with the same Idempotency-Key".to_owned()
            }
            other @ (EngineError::InvalidInput { .. }
            | EngineError::NotFound { .. }
            | EngineError::IdempotencyKeyReused
            | EngineError::IdempotencyKeyInUse
            | EngineError::InvalidState { .. }
            | EngineError::Forbidden { .. }) => other.to_string(),
        };
        ApiError {
            status,
            code: e.code().to_owned(),
            message,
            field,
        }
    }
}

fn answer(a: ApiAnswer) -> Response {
    let status = StatusCode::from_u16(a.status).unwrap_or(StatusCode::OK);
    let mut resp = (status, axum::Json(a.body)).into_response();
    if a.replayed {
        resp.headers_mut().insert(
            "idempotent-replayed",
            header::HeaderValue::from_static("true"),
        );
    }
    resp
}

async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<MerchantAuth, ApiError> {
    let unauthorized = |msg: &str| ApiError {
        status: StatusCode::UNAUTHORIZED,
        code: "unauthorized".into(),
        message: msg.into(),
        field: Some("Authorization".into()),
    };
    let value = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| unauthorized("missing Authorization: Bearer <API key> header"))?;
    let key = value
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|k| !k.is_empty())
        .ok_or_else(|| unauthorized("Authorization must be `Bearer <API key>`"))?;
    let hash = hash_api_key(key);
    if let Ok(cache) = state.keys.lock()
        && let Some((auth, at)) = cache.get(&hash)
        && at.elapsed() < API_KEY_CACHE_TTL
    {
        return Ok(*auth);
    }
    let found = store::config::merchant_for_api_key(state.payments.pool(), &hash)
        .await
        .map_err(|e| ApiError::from(EngineError::Database(e)))?;
    let (merchant_id, mode) = found.ok_or_else(|| unauthorized("invalid API key"))?;
    let auth = MerchantAuth { merchant_id, mode };
    if let Ok(mut cache) = state.keys.lock() {
        cache.insert(hash, (auth, Instant::now()));
    }
    Ok(auth)
}

fn idempotency_key(headers: &HeaderMap) -> Result<Option<&str>, ApiError> {
    match headers.get("idempotency-key") {
        None => Ok(None),
        Some(v) => v.to_str().map(Some).map_err(|_| ApiError {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_idempotency_key".into(),
            message: "Idempotency-Key must be visible ASCII".into(),
            field: Some("Idempotency-Key".into()),
        }),
    }
}

fn required_key(headers: &HeaderMap) -> Result<&str, ApiError> {
    idempotency_key(headers)?.ok_or_else(|| ApiError {
        status: StatusCode::BAD_REQUEST,
        code: "idempotency_key_required".into(),
        message: "this request needs an Idempotency-Key header".into(),
        field: Some("Idempotency-Key".into()),
    })
}

async fn create_payment(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let auth = authenticate(&state, &headers).await?;
    let key = required_key(&headers)?;
    Ok(answer(state.payments.create(auth, key, &body).await?))
}

async fn get_payment(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let auth = authenticate(&state, &headers).await?;
    Ok(answer(state.payments.get(auth, &id).await?))
}

async fn capture(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let auth = authenticate(&state, &headers).await?;
    let key = idempotency_key(&headers)?;
    Ok(answer(state.payments.capture(auth, &id, key, &body).await?))
}

async fn void(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let auth = authenticate(&state, &headers).await?;
    let key = idempotency_key(&headers)?;
    Ok(answer(state.payments.void(auth, &id, key, &body).await?))
}

async fn refund(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Response, ApiError> {
    let auth = authenticate(&state, &headers).await?;
    let key = required_key(&headers)?;
    Ok(answer(state.payments.refund(auth, &id, key, &body).await?))
}

async fn explain(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let auth = authenticate(&state, &headers).await?;
    Ok(answer(state.payments.explain(auth, &body).await?))
}

async fn provider_webhook(
    State(state): State<AppState>,
    Path(connector_id): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let pairs: Vec<(String, String)> = headers
        .iter()
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (k.as_str().to_owned(), v.to_owned()))
        })
        .collect();
    let url = state.notification_url(&connector_id, &headers);
    let a = state
        .webhooks
        .receive(WebhookDelivery {
            connector_id: &connector_id,
            headers: &pairs,
            body: &body,
            notification_url: &url,
        })
        .await?;
    let status = StatusCode::from_u16(a.status).unwrap_or(StatusCode::OK);
    Ok((status, axum::Json(a.body)).into_response())
}

/// Serves the gateway on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown)
        .await
}
