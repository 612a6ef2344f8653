//! Inbound provider webhooks: verify the signature over the raw bytes, then parse the event into
//! what it says about a payment ([`EventEffect`]). INTERFACES.md §A; pure, no IO, no clock (the
//! caller passes `now_unix_s`).
//!
//! | provider | signature (REFERENCE.md) | `event_id` (dedup key) | `needs_fetch` |
//! |---|---|---|---|
//! | Stripe | `stripe-signature: t=…,v1=…`: hex HMAC-SHA256(`whsec_…`, `t + "." + body`), any `v1` may match, `v0` ignored, `|now − t| ≤ 300 s` (§1.6) | `evt_…` | false |
//! | Square | `x-square-hmacsha256-signature`: base64 HMAC-SHA256(signature key, notification URL + body) (§2.5) | `event_id` | false |
//! | Braintree | form body `bt_signature`/`bt_payload`: the `public_key|hex(HMAC-SHA1(SHA1(private_key), bt_payload))` pair of our public key; `bt_payload` or `bt_payload + "\n"` may match; payload limited to `[A-Za-z0-9+=/\n]` (§3.5). Secret = `"public_key:private_key"` | `bt:<kind>:<subject id>:<timestamp>` (Braintree has no event id; §3.5 "dedupe on kind+subject id", the timestamp keeps two different notifications of one kind apart) | false |
//! | Mollie signed (next-gen) | `x-mollie-signature: sha256=<hex HMAC-SHA256(secret, body)>`, several values allowed during rotation (§4.5) | `event_…` | false unless no entity is embedded |
//! | Mollie classic | none by design: form body `id=tr_…` (§4.5) | `mollie-classic:<tr_id>:<now_unix_s>` | **true** |
//!
//! Mollie classic dedup decision: the body carries only the payment id, so two deliveries for two
//! different state changes (authorized, then paid) are byte-identical; a key derived from the
//! body would drop the second. Each delivery is therefore its own event (keyed by the receive
//! second), and its effect is learned by the caller's retrieve (`needs_fetch`), which is
//! idempotent; a repeated delivery costs one GET and changes nothing.
//!
//! A Mollie request carrying an `x-mollie-signature` header is always verified (secret required);
//! without the header a form body `id=tr_…` is classic (Mollie's PHP SDK treats an unsigned
//! request as a legacy webhook, §4.5) even when a secret is configured: it can only trigger a
//! fetch with our own key. Comparisons are constant-time (`hmac`'s `verify_slice`). The secret is
//! never logged nor put in a [`WebhookRejection`].
//!
//! Effects ([`EventEffect`]) say what the event claims, nothing more; the caller applies them
//! through the guarded state machine. Unknown event types parse with [`EventEffect::Unknown`].

use crate::{braintree, mollie, square, stripe};
use base64::Engine;
use hmac::{Hmac, Mac};
use routing::{Currency, OutcomeClass, Provider};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use sha1::{Digest, Sha1};
use sha2::Sha256;

/// One inbound webhook HTTP request as the gateway received it.
#[derive(Debug, Clone, Copy)]
pub struct InboundWebhook<'a> {
    /// Headers, names lower-cased.
    pub headers: &'a [(String, String)],
    /// Raw body bytes, exactly as received.
    pub body: &'a [u8],
    /// The full URL the provider was told to call (Square signs it).
    pub notification_url: &'a str,
    /// Injected clock, Unix seconds UTC (Stripe 300 s tolerance).
    pub now_unix_s: i64,
}

/// What one verified webhook says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderEvent {
    /// Provider event id, the dedup key (module table).
    pub event_id: String,
    /// The provider's type string (`payment_intent.succeeded`, `payment.updated`,
    /// `transaction_settled`, `payment.paid`; Mollie classic: `payment.classic`).
    pub event_type: String,
    /// The payment object it is about (`pi_…`, Square payment id, Braintree transaction id,
    /// `tr_…`); for refund events the refunded payment.
    pub provider_reference: Option<String>,
    /// OUR payment id when the object echoes it (Stripe/Mollie metadata
    /// `switchboard_payment_id`, Square `reference_id`, Braintree `order-id`), else `None`. A hint
    /// for matching; `provider_reference` stays the primary match.
    pub payment_id: Option<String>,
    /// What the event says about the payment.
    pub effect: EventEffect,
    /// Provider error code, when the event carries one.
    pub raw_code: Option<String>,
    /// Provider decline code, when the event carries one.
    pub decline_code: Option<String>,
    /// True when only an id arrived (Mollie classic): the caller must retrieve the payment.
    pub needs_fetch: bool,
    /// When the provider says the event happened, Unix seconds UTC.
    pub occurred_at_unix_s: Option<i64>,
}

/// What an event says about the payment, nothing more.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventEffect {
    /// Authorized, not captured.
    Authorized,
    /// Captured (amount in minor units, when the event says).
    Captured {
        /// Captured amount in minor units.
        amount_minor: Option<i64>,
    },
    /// Failed, with the class of the failure (REFERENCE.md §5).
    Failed {
        /// Classified failure.
        class: OutcomeClass,
    },
    /// Canceled / voided / expired.
    Canceled,
    /// Refunded (amount in minor units, when the event says).
    Refunded {
        /// Refunded amount in minor units.
        amount_minor: Option<i64>,
    },
    /// Still pending (customer step, processing).
    Pending,
    /// Stored, no effect (unknown or irrelevant type).
    Unknown,
}

/// Why a webhook was refused. `code` is machine-readable, `http_status` what to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookRejection {
    /// `signature_missing` (400), `signature_mismatch` (401), `timestamp_out_of_tolerance`
    /// (401), `malformed_webhook` (400), `webhook_secret_missing` (401).
    pub code: &'static str,
    /// HTTP status to answer.
    pub http_status: u16,
    /// Human message (never contains the secret).
    pub message: String,
}

impl WebhookRejection {
    fn new(code: &'static str, message: impl Into<String>) -> WebhookRejection {
        let http_status = match code {
            "signature_missing" | "malformed_webhook" => 400,
            _ => 401,
        };
        WebhookRejection {
            code,
            http_status,
            message: message.into(),
        }
    }
    fn missing(what: &str) -> WebhookRejection {
        WebhookRejection::new("signature_missing", format!("no {what}"))
    }
    fn mismatch(what: &str) -> WebhookRejection {
        WebhookRejection::new("signature_mismatch", format!("{what} does not match"))
    }
    fn malformed(message: impl Into<String>) -> WebhookRejection {
        WebhookRejection::new("malformed_webhook", message)
    }
    fn no_secret(provider: Provider) -> WebhookRejection {
        WebhookRejection::new(
            "webhook_secret_missing",
            format!(
                "no webhook secret is configured for this {} connector",
                provider.as_str()
            ),
        )
    }
}

/// Verify (constant-time) and parse one webhook (module table). `secret` is the connector's
/// webhook secret (Stripe `whsec_…`, Square signature key, Braintree `"public_key:private_key"`,
/// Mollie next-gen secret); `None` is accepted only for Mollie classic.
///
/// Errors: [`WebhookRejection`] with the codes listed on it; the simulator sends no webhooks
/// (`malformed_webhook`).
pub fn verify_and_parse(
    provider: Provider,
    secret: Option<&SecretString>,
    req: &InboundWebhook<'_>,
) -> Result<ProviderEvent, WebhookRejection> {
    match provider {
        Provider::Stripe => verify_stripe(secret, req),
        Provider::Square => verify_square(secret, req),
        Provider::Braintree => verify_braintree(secret, req),
        Provider::Mollie => verify_mollie(secret, req),
        Provider::Simulator => Err(WebhookRejection::malformed(
            "the simulator does not send webhooks",
        )),
    }
}

fn header<'a>(req: &'a InboundWebhook<'_>, name: &str) -> Option<&'a str> {
    req.headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn headers_all<'a>(req: &'a InboundWebhook<'_>, name: &str) -> Vec<&'a str> {
    req.headers
        .iter()
        .filter(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
        .collect()
}

fn need_secret(
    provider: Provider,
    secret: Option<&SecretString>,
) -> Result<&str, WebhookRejection> {
    match secret.map(|s| s.expose_secret()) {
        Some(s) if !s.is_empty() => Ok(s),
        Some(_) | None => Err(WebhookRejection::no_secret(provider)),
    }
}

fn json_body(body: &[u8]) -> Result<Value, WebhookRejection> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| WebhookRejection::malformed("the body is not a JSON object"))
}

fn str_at<'a>(v: &'a Value, pointer: &str) -> Option<&'a str> {
    v.pointer(pointer).and_then(Value::as_str)
}

fn owned(s: Option<&str>) -> Option<String> {
    s.map(str::to_owned)
}

fn rfc3339(s: Option<&str>) -> Option<i64> {
    let t = time::OffsetDateTime::parse(s?, &time::format_description::well_known::Rfc3339).ok()?;
    Some(t.unix_timestamp())
}

fn event(event_id: String, event_type: String) -> ProviderEvent {
    ProviderEvent {
        event_id,
        event_type,
        provider_reference: None,
        payment_id: None,
        effect: EventEffect::Unknown,
        raw_code: None,
        decline_code: None,
        needs_fetch: false,
        occurred_at_unix_s: None,
    }
}

// ---------------------------------------------------------------------------------------------
// Stripe (REFERENCE.md §1.6)
// ---------------------------------------------------------------------------------------------

fn verify_stripe(
    secret: Option<&SecretString>,
    req: &InboundWebhook<'_>,
) -> Result<ProviderEvent, WebhookRejection> {
    let secret = need_secret(Provider::Stripe, secret)?;
    let sig = header(req, "stripe-signature")
        .ok_or_else(|| WebhookRejection::missing("Stripe-Signature header"))?;
    stripe::verify_webhook(
        req.body,
        sig,
        secret,
        req.now_unix_s,
        stripe::WEBHOOK_TOLERANCE_SECS,
    )
    .map_err(|e| match e {
        stripe::WebhookError::MissingTimestamp => {
            WebhookRejection::missing("t= timestamp in Stripe-Signature")
        }
        stripe::WebhookError::MissingSignature => {
            WebhookRejection::missing("v1 signature in Stripe-Signature")
        }
        stripe::WebhookError::TimestampOutsideTolerance => WebhookRejection::new(
            "timestamp_out_of_tolerance",
            format!(
                "Stripe-Signature timestamp is more than {} s from now",
                stripe::WEBHOOK_TOLERANCE_SECS
            ),
        ),
        stripe::WebhookError::SignatureMismatch => WebhookRejection::mismatch("no v1 signature"),
        stripe::WebhookError::BadPayload(m) => WebhookRejection::malformed(m),
    })?;
    let ev =
        stripe::parse_event(req.body).map_err(|e| WebhookRejection::malformed(e.to_string()))?;
    Ok(stripe_event(&ev))
}

fn stripe_event(ev: &stripe::StripeEvent) -> ProviderEvent {
    let o = &ev.object;
    let mut out = event(ev.id.clone(), ev.event_type.clone());
    out.occurred_at_unix_s = ev.created;
    out.payment_id = owned(str_at(o, &format!("/metadata/{}", stripe::META_PAYMENT_ID)));
    let object = str_at(o, "/object");
    out.provider_reference = match object {
        Some("payment_intent") => owned(str_at(o, "/id")),
        Some(_) | None => owned(str_at(o, "/payment_intent")),
    };
    let amount = |k: &str| o.get(k).and_then(Value::as_i64);
    out.effect = match ev.event_type.as_str() {
        "payment_intent.succeeded" => EventEffect::Captured {
            amount_minor: amount("amount_received"),
        },
        "payment_intent.amount_capturable_updated" => EventEffect::Authorized,
        "payment_intent.canceled" => EventEffect::Canceled,
        "payment_intent.processing" | "payment_intent.requires_action" => EventEffect::Pending,
        "payment_intent.payment_failed" => {
            let err = o.get("last_payment_error");
            let code = err.and_then(|e| str_at(e, "/code"));
            let decline = err.and_then(|e| str_at(e, "/decline_code"));
            let advice = err.and_then(|e| str_at(e, "/advice_code"));
            out.raw_code = owned(code);
            out.decline_code = owned(decline);
            EventEffect::Failed {
                class: stripe::classify_card_error(decline, code, advice),
            }
        }
        "charge.refunded" => EventEffect::Refunded {
            amount_minor: amount("amount_refunded"),
        },
        "refund.created" | "refund.updated" | "charge.refund.updated"
            if str_at(o, "/status") == Some("succeeded") =>
        {
            EventEffect::Refunded {
                amount_minor: amount("amount"),
            }
        }
        _ => EventEffect::Unknown,
    };
    out
}

// ---------------------------------------------------------------------------------------------
// Square (REFERENCE.md §2.5)
// ---------------------------------------------------------------------------------------------

fn verify_square(
    secret: Option<&SecretString>,
    req: &InboundWebhook<'_>,
) -> Result<ProviderEvent, WebhookRejection> {
    let key = need_secret(Provider::Square, secret)?;
    let sig = header(req, "x-square-hmacsha256-signature")
        .ok_or_else(|| WebhookRejection::missing("x-square-hmacsha256-signature header"))?;
    let sig = base64::engine::general_purpose::STANDARD
        .decode(sig.trim())
        .map_err(|_| WebhookRejection::mismatch("x-square-hmacsha256-signature"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes())
        .map_err(|_| WebhookRejection::mismatch("x-square-hmacsha256-signature"))?;
    mac.update(req.notification_url.as_bytes());
    mac.update(req.body);
    mac.verify_slice(&sig)
        .map_err(|_| WebhookRejection::mismatch("x-square-hmacsha256-signature"))?;
    let v = json_body(req.body)?;
    square_event(&v)
}

fn square_event(v: &Value) -> Result<ProviderEvent, WebhookRejection> {
    let id = str_at(v, "/event_id").ok_or_else(|| WebhookRejection::malformed("no event_id"))?;
    let kind = str_at(v, "/type").ok_or_else(|| WebhookRejection::malformed("no type"))?;
    let mut out = event(id.to_owned(), kind.to_owned());
    out.occurred_at_unix_s = rfc3339(str_at(v, "/created_at"));
    if let Some(p) = v.pointer("/data/object/payment").filter(|p| p.is_object()) {
        out.provider_reference = owned(str_at(p, "/id"));
        out.payment_id = owned(str_at(p, "/reference_id"));
        let amount = p
            .pointer("/total_money/amount")
            .or_else(|| p.pointer("/amount_money/amount"))
            .and_then(Value::as_i64);
        out.effect = match str_at(p, "/status") {
            Some("APPROVED") => EventEffect::Authorized,
            Some("COMPLETED") => EventEffect::Captured {
                amount_minor: amount,
            },
            Some("CANCELED") => EventEffect::Canceled,
            Some("PENDING") => EventEffect::Pending,
            Some("FAILED") => {
                let r = square::classify_payment(crate::Operation::Retrieve, p);
                out.raw_code = r.raw_code;
                out.decline_code = r.decline_code;
                EventEffect::Failed { class: r.class }
            }
            Some(_) | None => EventEffect::Unknown,
        };
    } else if let Some(rf) = v.pointer("/data/object/refund").filter(|r| r.is_object()) {
        out.provider_reference = owned(str_at(rf, "/payment_id"));
        out.effect = match str_at(rf, "/status") {
            Some("COMPLETED") => EventEffect::Refunded {
                amount_minor: rf.pointer("/amount_money/amount").and_then(Value::as_i64),
            },
            Some(_) | None => EventEffect::Unknown,
        };
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Braintree (REFERENCE.md §3.5)
// ---------------------------------------------------------------------------------------------

fn verify_braintree(
    secret: Option<&SecretString>,
    req: &InboundWebhook<'_>,
) -> Result<ProviderEvent, WebhookRejection> {
    let secret = need_secret(Provider::Braintree, secret)?;
    let (public_key, private_key) = secret
        .split_once(':')
        .filter(|(p, k)| !p.is_empty() && !k.is_empty())
        .ok_or_else(|| WebhookRejection::no_secret(Provider::Braintree))?;
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(req.body)
        .map_err(|_| WebhookRejection::malformed("the body is not a form"))?;
    let field = |name: &str| {
        form.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let signature =
        field("bt_signature").ok_or_else(|| WebhookRejection::missing("bt_signature field"))?;
    let payload =
        field("bt_payload").ok_or_else(|| WebhookRejection::malformed("no bt_payload field"))?;
    if !payload
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'=' | b'/' | b'\n'))
    {
        return Err(WebhookRejection::malformed(
            "bt_payload has characters outside [A-Za-z0-9+=/\\n]",
        ));
    }
    let hex_sig = signature
        .split('&')
        .filter_map(|pair| pair.split_once('|'))
        .find(|(p, _)| *p == public_key)
        .map(|(_, s)| s)
        .ok_or_else(|| WebhookRejection::mismatch("no bt_signature pair for our public key"))?;
    let sig = hex::decode(hex_sig).map_err(|_| WebhookRejection::mismatch("bt_signature"))?;
    let key = Sha1::digest(private_key.as_bytes());
    let mac = Hmac::<Sha1>::new_from_slice(&key)
        .map_err(|_| WebhookRejection::mismatch("bt_signature"))?;
    let matches = |p: &[u8]| {
        let mut m = mac.clone();
        m.update(p);
        m.verify_slice(&sig).is_ok()
    };
    let with_newline = format!("{payload}\n");
    if !(matches(payload.as_bytes()) || matches(with_newline.as_bytes())) {
        return Err(WebhookRejection::mismatch("bt_signature"));
    }
    let compact: String = payload.chars().filter(|c| *c != '\n').collect();
    let xml = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| WebhookRejection::malformed("bt_payload is not base64 XML"))?;
    braintree_event(&xml)
}

fn braintree_event(xml: &str) -> Result<ProviderEvent, WebhookRejection> {
    let kind =
        braintree::xml_tag(xml, "kind").ok_or_else(|| WebhookRejection::malformed("no kind"))?;
    let timestamp = braintree::xml_tag(xml, "timestamp");
    let subject = xml.find("<subject>").map(|i| &xml[i..]).unwrap_or("");
    let subject_id = braintree::xml_tag(subject, "id");
    let mut out = event(
        format!(
            "bt:{kind}:{}:{}",
            subject_id.unwrap_or(""),
            timestamp.unwrap_or("")
        ),
        kind.to_owned(),
    );
    out.occurred_at_unix_s = rfc3339(timestamp);
    out.provider_reference = owned(subject_id);
    out.payment_id = owned(braintree::xml_tag(subject, "order-id"));
    let amount = || {
        let currency = Currency::parse(braintree::xml_tag(subject, "currency-iso-code")?).ok()?;
        crate::amount::parse_decimal(braintree::xml_tag(subject, "amount")?, &currency)
    };
    out.effect = match kind {
        "transaction_settled" => EventEffect::Captured {
            amount_minor: amount(),
        },
        "transaction_settlement_declined" => EventEffect::Failed {
            class: OutcomeClass::HardDecline,
        },
        _ => EventEffect::Unknown,
    };
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Mollie (REFERENCE.md §4.5)
// ---------------------------------------------------------------------------------------------

fn verify_mollie(
    secret: Option<&SecretString>,
    req: &InboundWebhook<'_>,
) -> Result<ProviderEvent, WebhookRejection> {
    let sigs = headers_all(req, "x-mollie-signature");
    if sigs.is_empty() {
        return mollie_classic(req);
    }
    let secret = need_secret(Provider::Mollie, secret)?;
    let mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes())
        .map_err(|_| WebhookRejection::mismatch("X-Mollie-Signature"))?;
    let ok = sigs
        .iter()
        .flat_map(|h| h.split(','))
        .filter_map(|s| {
            let s = s.trim();
            hex::decode(s.strip_prefix("sha256=").unwrap_or(s)).ok()
        })
        .any(|bytes| {
            let mut m = mac.clone();
            m.update(req.body);
            m.verify_slice(&bytes).is_ok()
        });
    if !ok {
        return Err(WebhookRejection::mismatch("X-Mollie-Signature"));
    }
    let v = json_body(req.body)?;
    mollie_event(&v)
}

fn mollie_classic(req: &InboundWebhook<'_>) -> Result<ProviderEvent, WebhookRejection> {
    let form: Vec<(String, String)> = serde_urlencoded::from_bytes(req.body).map_err(|_| {
        WebhookRejection::malformed("neither a signed event nor a classic id=tr_… form")
    })?;
    let id = form
        .iter()
        .find(|(k, _)| k == "id")
        .map(|(_, v)| v.as_str())
        .filter(|v| {
            v.starts_with("tr_")
                && v.len() > 3
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        })
        .ok_or_else(|| {
            WebhookRejection::malformed("classic Mollie webhook without a valid id=tr_…")
        })?;
    let mut out = event(
        format!("mollie-classic:{id}:{}", req.now_unix_s),
        "payment.classic".to_owned(),
    );
    out.provider_reference = Some(id.to_owned());
    out.needs_fetch = true;
    out.occurred_at_unix_s = Some(req.now_unix_s);
    Ok(out)
}

fn mollie_event(v: &Value) -> Result<ProviderEvent, WebhookRejection> {
    let id = str_at(v, "/id").ok_or_else(|| WebhookRejection::malformed("no id"))?;
    let kind = str_at(v, "/type").ok_or_else(|| WebhookRejection::malformed("no type"))?;
    let mut out = event(id.to_owned(), kind.to_owned());
    out.occurred_at_unix_s = rfc3339(str_at(v, "/createdAt"));
    let entity = v.pointer("/_embedded/entity").filter(|e| e.is_object());
    let entity_id = str_at(v, "/entityId");
    let amount = entity
        .and_then(|e| e.get("amount"))
        .and_then(mollie::amount_minor);
    out.payment_id =
        entity.and_then(|e| owned(str_at(e, &format!("/metadata/{}", mollie::META_PAYMENT_ID))));
    let (resource, action) = kind.split_once('.').unwrap_or((kind, ""));
    match resource {
        "payment" => {
            out.provider_reference = owned(entity_id);
            out.needs_fetch = entity.is_none();
            out.effect = match action {
                "paid" => EventEffect::Captured {
                    amount_minor: amount,
                },
                "authorized" => EventEffect::Authorized,
                "canceled" | "expired" => EventEffect::Canceled,
                "open" | "pending" => EventEffect::Pending,
                "failed" => {
                    let reason = entity.and_then(|e| str_at(e, "/details/failureReason"));
                    out.decline_code = owned(reason);
                    EventEffect::Failed {
                        class: mollie::classify_failure_reason(reason),
                    }
                }
                _ => EventEffect::Unknown,
            };
        }
        "refund" => {
            out.provider_reference = entity.and_then(|e| owned(str_at(e, "/paymentId")));
            out.effect = match action {
                "refunded" | "settled" => EventEffect::Refunded {
                    amount_minor: amount,
                },
                _ => EventEffect::Unknown,
            };
        }
        "capture" => {
            out.provider_reference = entity.and_then(|e| owned(str_at(e, "/paymentId")));
            out.effect = match action {
                "created" | "succeeded" => EventEffect::Captured {
                    amount_minor: amount,
                },
                _ => EventEffect::Unknown,
            };
        }
        _ => out.effect = EventEffect::Unknown,
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn missing_secret_and_simulator() {
        let h = vec![("stripe-signature".to_owned(), "t=1,v1=00".to_owned())];
        let req = InboundWebhook {
            headers: &h,
            body: b"{}",
            notification_url: "",
            now_unix_s: 1,
        };
        let e = verify_and_parse(Provider::Stripe, None, &req).unwrap_err();
        assert_eq!((e.code, e.http_status), ("webhook_secret_missing", 401));
        let e = verify_and_parse(Provider::Simulator, None, &req).unwrap_err();
        assert_eq!(e.code, "malformed_webhook");
        let e = verify_and_parse(Provider::Square, Some(&secret("k")), &req).unwrap_err();
        assert_eq!((e.code, e.http_status), ("signature_missing", 400));
    }

    #[test]
    fn mollie_classic_needs_fetch_and_rejects_junk() {
        let req = InboundWebhook {
            headers: &[],
            body: b"id=tr_abc123",
            notification_url: "",
            now_unix_s: 77,
        };
        let ev = verify_and_parse(Provider::Mollie, None, &req).unwrap();
        assert!(ev.needs_fetch);
        assert_eq!(ev.provider_reference.as_deref(), Some("tr_abc123"));
        assert_eq!(ev.event_id, "mollie-classic:tr_abc123:77");
        assert_eq!(ev.effect, EventEffect::Unknown);
        for body in [&b"id=../x"[..], b"foo=bar", b"{\"id\":\"tr_1\"}"] {
            let req = InboundWebhook {
                headers: &[],
                body,
                notification_url: "",
                now_unix_s: 1,
            };
            assert_eq!(
                verify_and_parse(Provider::Mollie, None, &req)
                    .unwrap_err()
                    .code,
                "malformed_webhook"
            );
        }
    }

    #[test]
    fn mollie_signed_payment_paid() {
        let body = br#"{"resource":"event","id":"event_1","type":"payment.paid","entityId":"tr_9","createdAt":"2026-11-21T15:00:00+00:00","_embedded":{"entity":{"resource":"payment","id":"tr_9","status":"paid","amount":{"currency":"EUR","value":"10.50"},"metadata":{"switchboard_payment_id":"p1"}}}}"#;
        let mut mac = Hmac::<Sha256>::new_from_slice(b"sec").unwrap();
        mac.update(body);
        let sig = format!("sha256={}", hex::encode(mac.finalize().into_bytes()));
        let h = vec![("x-mollie-signature".to_owned(), format!("sha256=00, {sig}"))];
        let req = InboundWebhook {
            headers: &h,
            body,
            notification_url: "",
            now_unix_s: 1,
        };
        let ev = verify_and_parse(Provider::Mollie, Some(&secret("sec")), &req).unwrap();
        assert_eq!(
            ev.effect,
            EventEffect::Captured {
                amount_minor: Some(1050)
            }
        );
        assert_eq!(ev.payment_id.as_deref(), Some("p1"));
        assert_eq!(ev.provider_reference.as_deref(), Some("tr_9"));
        assert!(!ev.needs_fetch);
        let e = verify_and_parse(Provider::Mollie, None, &req).unwrap_err();
        assert_eq!(e.code, "webhook_secret_missing");
    }
}
