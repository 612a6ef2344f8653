//! Stripe's documented test PaymentMethods (REFERENCE.md §1.5) and what each one does.
//!
//! Older aliases without `visa_` (`pm_card_chargeDeclinedInsufficientFunds`) and the `visa_` forms
//! of the cards documented without it (`pm_card_visa_chargeDeclinedExpiredCard`) are both accepted.
//!
//! Emulator extension: `pm_card_doNotHonor` declines with `do_not_honor`. Stripe has no test card
//! for that issuer code, so the emulator synthesizes one.

/// A card decline: the `code`, `decline_code` and `message` of Stripe's `card_error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decline {
    /// `error.code`: `card_declined`, or a specific code (`expired_card`, `incorrect_cvc`,
    /// `processing_error`, `authentication_required`).
    pub code: &'static str,
    /// `error.decline_code`.
    pub decline_code: String,
    /// `error.message`.
    pub message: &'static str,
}

impl Decline {
    /// The decline Stripe gives for `decline_code` (unknown codes get `card_declined` and the
    /// generic message).
    pub fn for_code(decline_code: &str) -> Self {
        let (code, message) = match decline_code {
            "insufficient_funds" => ("card_declined", "Your card has insufficient funds."),
            "card_velocity_exceeded" => (
                "card_declined",
                "Your card was declined for making repeated attempts too frequently or exceeding its amount limit.",
            ),
            "expired_card" => ("expired_card", "Your card has expired."),
            "incorrect_cvc" => ("incorrect_cvc", "Your card's security code is incorrect."),
            "processing_error" => (
                "processing_error",
                "An error occurred while processing your card. Try again in a little while.",
            ),
            "authentication_required" => (
                "authentication_required",
                "Your card was declined. This transaction requires authentication.",
            ),
            _ => ("card_declined", "Your card was declined."),
        };
        Self {
            code,
            decline_code: decline_code.to_owned(),
            message,
        }
    }

    /// `https://stripe.com/docs/error-codes/<code with dashes>`.
    pub fn doc_url(&self) -> String {
        format!(
            "https://stripe.com/docs/error-codes/{}",
            self.code.replace('_', "-")
        )
    }
}

/// What confirming a payment with a test card does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Behavior {
    /// Authorized (and captured with automatic capture).
    Approve,
    /// Declined with this decline code.
    Decline(&'static str),
    /// 3-D Secure required: `requires_action` with a redirect.
    RequireAction,
}

/// A test card behind a `pm_card_…` id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestCard {
    /// The canonical test PaymentMethod id.
    pub pm: &'static str,
    /// `card.brand`.
    pub brand: &'static str,
    /// `card.last4`.
    pub last4: &'static str,
    /// `card.funding`: credit, debit, prepaid.
    pub funding: &'static str,
    /// What confirming does.
    pub behavior: Behavior,
}

const fn card(
    pm: &'static str,
    brand: &'static str,
    last4: &'static str,
    funding: &'static str,
    behavior: Behavior,
) -> TestCard {
    TestCard {
        pm,
        brand,
        last4,
        funding,
        behavior,
    }
}

use Behavior::{Approve, Decline as D, RequireAction};

/// Every test card the emulator knows.
pub const CARDS: &[TestCard] = &[
    card("pm_card_visa", "visa", "4242", "credit", Approve),
    card("pm_card_visa_debit", "visa", "5556", "debit", Approve),
    card(
        "pm_card_mastercard",
        "mastercard",
        "4444",
        "credit",
        Approve,
    ),
    card(
        "pm_card_mastercard_debit",
        "mastercard",
        "8210",
        "debit",
        Approve,
    ),
    card(
        "pm_card_mastercard_prepaid",
        "mastercard",
        "5100",
        "prepaid",
        Approve,
    ),
    card("pm_card_amex", "amex", "8431", "credit", Approve),
    card("pm_card_discover", "discover", "1117", "credit", Approve),
    card("pm_card_diners", "diners", "0004", "credit", Approve),
    card("pm_card_jcb", "jcb", "0505", "credit", Approve),
    card("pm_card_unionpay", "unionpay", "0005", "credit", Approve),
    card(
        "pm_card_visa_chargeDeclined",
        "visa",
        "0002",
        "credit",
        D("generic_decline"),
    ),
    card(
        "pm_card_visa_chargeDeclinedInsufficientFunds",
        "visa",
        "9995",
        "credit",
        D("insufficient_funds"),
    ),
    card(
        "pm_card_visa_chargeDeclinedLostCard",
        "visa",
        "9987",
        "credit",
        D("lost_card"),
    ),
    card(
        "pm_card_visa_chargeDeclinedStolenCard",
        "visa",
        "9979",
        "credit",
        D("stolen_card"),
    ),
    card(
        "pm_card_chargeDeclinedExpiredCard",
        "visa",
        "0069",
        "credit",
        D("expired_card"),
    ),
    card(
        "pm_card_chargeDeclinedIncorrectCvc",
        "visa",
        "0127",
        "credit",
        D("incorrect_cvc"),
    ),
    card(
        "pm_card_chargeDeclinedProcessingError",
        "visa",
        "0119",
        "credit",
        D("processing_error"),
    ),
    card(
        "pm_card_visa_chargeDeclinedVelocityLimitExceeded",
        "visa",
        "6975",
        "credit",
        D("card_velocity_exceeded"),
    ),
    card(
        "pm_card_radarBlock",
        "visa",
        "0019",
        "credit",
        D("fraudulent"),
    ),
    card(
        "pm_card_riskLevelHighest",
        "visa",
        "4954",
        "credit",
        D("fraudulent"),
    ),
    card(
        "pm_card_chargeCustomerFail",
        "visa",
        "0341",
        "credit",
        D("generic_decline"),
    ),
    // Emulator extension: Stripe has no test card for do_not_honor.
    card(
        "pm_card_doNotHonor",
        "visa",
        "0002",
        "credit",
        D("do_not_honor"),
    ),
    card(
        "pm_card_authenticationRequired",
        "visa",
        "3184",
        "credit",
        RequireAction,
    ),
    card(
        "pm_card_threeDSecure2Required",
        "visa",
        "3220",
        "credit",
        RequireAction,
    ),
];

/// The test card behind `pm`, accepting the `visa_`-less and `visa_` aliases of the decline cards.
pub fn lookup(pm: &str) -> Option<&'static TestCard> {
    if let Some(c) = CARDS.iter().find(|c| c.pm == pm) {
        return Some(c);
    }
    let alias = if let Some(rest) = pm.strip_prefix("pm_card_visa_chargeDeclined") {
        format!("pm_card_chargeDeclined{rest}")
    } else if let Some(rest) = pm.strip_prefix("pm_card_chargeDeclined") {
        format!("pm_card_visa_chargeDeclined{rest}")
    } else {
        return None;
    };
    CARDS.iter().find(|c| c.pm == alias)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases() {
        assert_eq!(
            lookup("pm_card_chargeDeclinedInsufficientFunds").map(|c| c.behavior),
            Some(Behavior::Decline("insufficient_funds"))
        );
        assert_eq!(
            lookup("pm_card_visa_chargeDeclinedExpiredCard").map(|c| c.behavior),
            Some(Behavior::Decline("expired_card"))
        );
        assert!(lookup("pm_card_nope").is_none());
        assert!(lookup("pm_card_visa_chargeDeclinedNope").is_none());
    }
}
