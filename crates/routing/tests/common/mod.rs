//! Builders shared by the routing tests.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use routing::{
    Capabilities, CaptureMode, CircuitState, Condition, Connector, ConnectorId, ConnectorStatus,
    Country, Currency, Mode, PaymentContext, PaymentMethodType, PaymentToken, Policy, Provider,
    Rule, RuleAction, Test, TokenScope,
};
use std::collections::BTreeMap;

/// Connector id `n` (a UUID with value n).
pub fn id(n: u128) -> ConnectorId {
    ConnectorId(uuid::Uuid::from_u128(n))
}

/// An active, closed-circuit, live card connector that accepts portable tokens, created `n`-th.
pub fn conn(n: u128, name: &str, weight: u32) -> Connector {
    let mut capabilities = Capabilities::cards_anywhere();
    capabilities.accepts_portable_tokens = true;
    Connector {
        id: id(n),
        name: name.to_owned(),
        provider: Provider::Simulator,
        mode: Mode::Live,
        weight,
        is_primary: false,
        status: ConnectorStatus::Active,
        capabilities,
        circuit: CircuitState::Closed,
        created_seq: i64::try_from(n).unwrap(),
    }
}

/// Builder-style tweaks on a connector.
pub trait ConnExt: Sized {
    fn primary(self) -> Self;
    fn provider(self, p: Provider) -> Self;
    fn status(self, s: ConnectorStatus) -> Self;
    fn mode(self, m: Mode) -> Self;
    fn circuit(self, c: CircuitState) -> Self;
    fn currencies(self, cs: &[&str]) -> Self;
    fn countries(self, cs: &[&str]) -> Self;
    fn methods(self, ms: &[PaymentMethodType]) -> Self;
    fn captures(self, cs: &[CaptureMode]) -> Self;
    fn no_portable(self) -> Self;
    fn seq(self, s: i64) -> Self;
}

impl ConnExt for Connector {
    fn primary(mut self) -> Self {
        self.is_primary = true;
        self
    }
    fn provider(mut self, p: Provider) -> Self {
        self.provider = p;
        self
    }
    fn status(mut self, s: ConnectorStatus) -> Self {
        self.status = s;
        self
    }
    fn mode(mut self, m: Mode) -> Self {
        self.mode = m;
        self
    }
    fn circuit(mut self, c: CircuitState) -> Self {
        self.circuit = c;
        self
    }
    fn currencies(mut self, cs: &[&str]) -> Self {
        self.capabilities.currencies = cs.iter().map(|c| Currency::parse(c).unwrap()).collect();
        self
    }
    fn countries(mut self, cs: &[&str]) -> Self {
        self.capabilities.countries = cs.iter().map(|c| Country::parse(c).unwrap()).collect();
        self
    }
    fn methods(mut self, ms: &[PaymentMethodType]) -> Self {
        self.capabilities.methods = ms.iter().copied().collect();
        self
    }
    fn captures(mut self, cs: &[CaptureMode]) -> Self {
        self.capabilities.capture_modes = cs.iter().copied().collect();
        self
    }
    fn no_portable(mut self) -> Self {
        self.capabilities.accepts_portable_tokens = false;
        self
    }
    fn seq(mut self, s: i64) -> Self {
        self.created_seq = s;
        self
    }
}

pub fn portable() -> PaymentToken {
    PaymentToken {
        token: "tok_portable".into(),
        scope: TokenScope::Portable,
    }
}
pub fn provider_token(p: Provider) -> PaymentToken {
    PaymentToken {
        token: format!("tok_{}", p.as_str()),
        scope: TokenScope::Provider { provider: p },
    }
}
pub fn connector_token(n: u128) -> PaymentToken {
    PaymentToken {
        token: format!("tok_conn_{n}"),
        scope: TokenScope::Connector {
            connector_id: id(n),
        },
    }
}

/// A card payment with automatic capture and one portable token.
pub fn ctx(amount: i64, currency: &str, country: &str) -> PaymentContext {
    PaymentContext::new(
        amount,
        currency,
        country,
        PaymentMethodType::Card,
        Some("visa".into()),
        CaptureMode::Automatic,
        vec![portable()],
        BTreeMap::new(),
    )
    .unwrap()
}

/// Builder-style tweaks on a context.
pub trait CtxExt: Sized {
    fn tokens(self, t: Vec<PaymentToken>) -> Self;
    fn method(self, m: PaymentMethodType) -> Self;
    fn capture(self, c: CaptureMode) -> Self;
    fn brand(self, b: Option<&str>) -> Self;
    fn meta(self, k: &str, v: &str) -> Self;
}
impl CtxExt for PaymentContext {
    fn tokens(mut self, t: Vec<PaymentToken>) -> Self {
        self.tokens = t;
        self
    }
    fn method(mut self, m: PaymentMethodType) -> Self {
        self.method = m;
        self
    }
    fn capture(mut self, c: CaptureMode) -> Self {
        self.capture = c;
        self
    }
    fn brand(mut self, b: Option<&str>) -> Self {
        self.card_brand = b.map(str::to_owned);
        self
    }
    fn meta(mut self, k: &str, v: &str) -> Self {
        self.metadata.insert(k.into(), v.into());
        self
    }
}

pub fn path_rule(name: &str, conditions: Vec<Condition>, ids: &[u128]) -> Rule {
    Rule {
        name: name.into(),
        conditions,
        action: RuleAction::Path {
            connectors: ids.iter().map(|&n| id(n)).collect(),
        },
    }
}
pub fn split_rule(name: &str, conditions: Vec<Condition>, weights: &[(u128, u32)]) -> Rule {
    Rule {
        name: name.into(),
        conditions,
        action: RuleAction::Split {
            weights: weights.iter().map(|&(n, w)| (id(n), w)).collect(),
        },
    }
}
pub fn policy(rules: Vec<Rule>) -> Policy {
    Policy {
        rules,
        ..Policy::default()
    }
}
pub fn currency_is(c: &str) -> Condition {
    Condition::Currency {
        test: Test::Eq(Currency::parse(c).unwrap()),
    }
}
