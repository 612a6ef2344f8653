//! Stripe webhook events derived from the answers of state-changing requests (REFERENCE.md §1.6):
//! `payment_intent.succeeded`, `payment_intent.amount_capturable_updated`,
//! `payment_intent.requires_action`, `payment_intent.canceled`, `payment_intent.payment_failed`
//! and `charge.refunded`.

use std::sync::Arc;

use serde_json::{Value, json};

use crate::App;
use crate::webhooks::{Notice, emit};

/// The events an answer (`status`, `body`) of a processed write announces.
pub(crate) fn announce(app: &Arc<App>, key: &str, status: u16, body: &[u8]) {
    let Ok(v) = serde_json::from_slice::<Value>(body) else {
        return;
    };
    let notice = match (status, v.get("object").and_then(Value::as_str)) {
        (200, Some("payment_intent")) => {
            let event_type = match v.get("status").and_then(Value::as_str) {
                Some("succeeded") => "payment_intent.succeeded",
                Some("requires_capture") => "payment_intent.amount_capturable_updated",
                Some("requires_action") => "payment_intent.requires_action",
                Some("canceled") => "payment_intent.canceled",
                Some(_) | None => return,
            };
            Notice::Stripe {
                event_type: event_type.into(),
                object: v,
            }
        }
        (200, Some("refund")) => {
            let Some(pi) = v.get("payment_intent").and_then(Value::as_str) else {
                return;
            };
            match charge_refunded(app, key, pi) {
                Ok(n) => n,
                Err(_) => return,
            }
        }
        (402, _) => match v.pointer("/error/payment_intent") {
            Some(pi @ Value::Object(_)) => Notice::Stripe {
                event_type: "payment_intent.payment_failed".into(),
                object: pi.clone(),
            },
            Some(_) | None => return,
        },
        _ => return,
    };
    emit(app, key, &notice);
}

fn charge_refunded(app: &App, key: &str, pi_id: &str) -> Result<Notice, String> {
    let (pi, refunded) = app
        .stripe
        .intent_with_refunds(key, pi_id)
        .ok_or(format!("no PaymentIntent {pi_id}"))?;
    let captured = pi
        .get("amount_received")
        .and_then(Value::as_i64)
        .unwrap_or(0);
    let charge = json!({
        "id": pi.get("latest_charge"),
        "object": "charge",
        "amount": pi.get("amount"),
        "amount_captured": captured,
        "amount_refunded": refunded,
        "captured": captured > 0,
        "currency": pi.get("currency"),
        "livemode": false,
        "metadata": pi.get("metadata"),
        "paid": true,
        "payment_intent": pi_id,
        "payment_method": pi.get("payment_method"),
        "refunded": refunded >= captured && captured > 0,
        "status": "succeeded"
    });
    Ok(Notice::Stripe {
        event_type: "charge.refunded".into(),
        object: charge,
    })
}

/// An on-demand event: `charge.refunded` about PaymentIntent `id`'s charge, any other type with
/// the PaymentIntent as `data.object`.
pub(crate) fn notice_for(
    app: &App,
    key: &str,
    event_type: &str,
    id: &str,
) -> Result<Notice, String> {
    if event_type == "charge.refunded" {
        return charge_refunded(app, key, id);
    }
    let (pi, _) = app
        .stripe
        .intent_with_refunds(key, id)
        .ok_or(format!("no PaymentIntent {id} for this key"))?;
    Ok(Notice::Stripe {
        event_type: event_type.to_owned(),
        object: pi,
    })
}
