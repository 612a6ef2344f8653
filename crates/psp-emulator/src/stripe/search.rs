//! A subset of Stripe's search query language for `GET /v1/payment_intents/search`.
//!
//! Supported: clauses `metadata['key']:'value'` (single or double quotes), `status:'succeeded'`,
//! `currency:'usd'`, `customer:'cus_x'`, `amount:2000` / `amount>1000` / `amount<=5000`,
//! `created>1700000000`; a leading `-` negates a clause; clauses joined by `AND` or by `OR`
//! (not mixed, as in Stripe). Unlike Stripe, the index does not lag: a PaymentIntent is
//! searchable as soon as it is created.

use super::model::PaymentIntent;

/// A searchable field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Field {
    /// `metadata['key']`
    Metadata(String),
    /// `status`
    Status,
    /// `currency`
    Currency,
    /// `customer`
    Customer,
    /// `amount`
    Amount,
    /// `created`
    Created,
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// `:`
    Eq,
    /// `>`
    Gt,
    /// `<`
    Lt,
    /// `>=`
    Ge,
    /// `<=`
    Le,
}

/// One clause.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Clause {
    /// Leading `-`.
    pub negate: bool,
    /// The field.
    pub field: Field,
    /// The comparison.
    pub op: Op,
    /// The (unquoted) value.
    pub value: String,
}

/// A parsed query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The clauses.
    pub clauses: Vec<Clause>,
    /// Joined by `OR` (true) or `AND` (false).
    pub any: bool,
}

struct Parser<'a> {
    s: &'a str,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }

    fn skip_ws(&mut self) {
        let trimmed = self.rest().trim_start();
        self.pos = self.s.len() - trimmed.len();
    }

    fn eat(&mut self, tok: &str) -> bool {
        if self.rest().starts_with(tok) {
            self.pos += tok.len();
            true
        } else {
            false
        }
    }

    fn quoted(&mut self) -> Result<String, String> {
        let rest = self.rest();
        let quote = rest
            .chars()
            .next()
            .filter(|c| *c == '\'' || *c == '"')
            .ok_or_else(|| format!("expected a quoted value at position {}", self.pos))?;
        let body = &rest[1..];
        let end = body
            .find(quote)
            .ok_or_else(|| "unterminated quoted value".to_owned())?;
        self.pos += end + 2;
        Ok(body[..end].to_owned())
    }

    fn ident(&mut self) -> &'a str {
        let rest = self.rest();
        let len = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        self.pos += len;
        &rest[..len]
    }

    fn value(&mut self) -> Result<String, String> {
        if self.rest().starts_with(['\'', '"']) {
            return self.quoted();
        }
        let rest = self.rest();
        let len = rest.find(char::is_whitespace).unwrap_or(rest.len());
        if len == 0 {
            return Err(format!("expected a value at position {}", self.pos));
        }
        self.pos += len;
        Ok(rest[..len].to_owned())
    }

    fn clause(&mut self) -> Result<Clause, String> {
        let negate = self.eat("-");
        let name = self.ident();
        let field = match name {
            "metadata" => {
                if !self.eat("[") {
                    return Err("expected metadata['key']".into());
                }
                let key = self.quoted()?;
                if !self.eat("]") {
                    return Err("expected ] after the metadata key".into());
                }
                Field::Metadata(key)
            }
            "status" => Field::Status,
            "currency" => Field::Currency,
            "customer" => Field::Customer,
            "amount" => Field::Amount,
            "created" => Field::Created,
            "" => return Err(format!("expected a field at position {}", self.pos)),
            other => {
                return Err(format!(
                    "Field '{other}' is an unsupported search field for resource payment_intents"
                ));
            }
        };
        let op = if self.eat(">=") {
            Op::Ge
        } else if self.eat("<=") {
            Op::Le
        } else if self.eat(">") {
            Op::Gt
        } else if self.eat("<") {
            Op::Lt
        } else if self.eat(":") {
            Op::Eq
        } else {
            return Err(format!(
                "expected ':' or a comparison at position {}",
                self.pos
            ));
        };
        let numeric = matches!(field, Field::Amount | Field::Created);
        if op != Op::Eq && !numeric {
            return Err("comparisons other than ':' need a numeric field".into());
        }
        let value = self.value()?;
        if numeric && value.parse::<i64>().is_err() {
            return Err(format!("'{value}' is not a number"));
        }
        Ok(Clause {
            negate,
            field,
            op,
            value,
        })
    }
}

/// Parses a query; the error is a human-readable reason.
pub fn parse(q: &str) -> Result<Query, String> {
    let mut p = Parser { s: q, pos: 0 };
    let mut clauses = Vec::new();
    let mut joiner: Option<bool> = None;
    loop {
        p.skip_ws();
        clauses.push(p.clause()?);
        let before = p.pos;
        p.skip_ws();
        if p.rest().is_empty() {
            break;
        }
        if p.pos == before {
            return Err(format!("unexpected text at position {}", p.pos));
        }
        let any = if p.eat("AND ") {
            false
        } else if p.eat("OR ") {
            true
        } else {
            return Err(format!("expected AND or OR at position {}", p.pos));
        };
        if joiner.is_some_and(|j| j != any) {
            return Err("AND and OR cannot be mixed in one query".into());
        }
        joiner = Some(any);
    }
    Ok(Query {
        clauses,
        any: joiner.unwrap_or(false),
    })
}

fn cmp(op: Op, actual: i64, value: &str) -> bool {
    let Ok(v) = value.parse::<i64>() else {
        return false;
    };
    match op {
        Op::Eq => actual == v,
        Op::Gt => actual > v,
        Op::Lt => actual < v,
        Op::Ge => actual >= v,
        Op::Le => actual <= v,
    }
}

impl Clause {
    fn matches(&self, pi: &PaymentIntent) -> bool {
        let hit = match &self.field {
            Field::Metadata(k) => pi.metadata.get(k).is_some_and(|v| *v == self.value),
            Field::Status => pi.status.as_str() == self.value,
            Field::Currency => pi.currency.eq_ignore_ascii_case(&self.value),
            Field::Customer => pi.customer.as_deref() == Some(self.value.as_str()),
            Field::Amount => cmp(self.op, pi.amount, &self.value),
            Field::Created => cmp(self.op, pi.created, &self.value),
        };
        hit != self.negate
    }
}

impl Query {
    /// Whether `pi` matches.
    pub fn matches(&self, pi: &PaymentIntent) -> bool {
        if self.any {
            self.clauses.iter().any(|c| c.matches(pi))
        } else {
            self.clauses.iter().all(|c| c.matches(pi))
        }
    }

    /// A positive metadata equality every match must satisfy, to use the metadata index.
    pub fn metadata_hint(&self) -> Option<(&str, &str)> {
        if self.any && self.clauses.len() > 1 {
            return None;
        }
        self.clauses.iter().find_map(|c| match &c.field {
            Field::Metadata(k) if !c.negate => Some((k.as_str(), c.value.as_str())),
            Field::Metadata(_)
            | Field::Status
            | Field::Currency
            | Field::Customer
            | Field::Amount
            | Field::Created => None,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn parses() {
        let q = parse("metadata['order_id']:'ord_1'").unwrap();
        assert_eq!(q.metadata_hint(), Some(("order_id", "ord_1")));
        let q = parse(r#"metadata["a"]:"b" AND status:'succeeded' AND amount>=100"#).unwrap();
        assert_eq!(q.clauses.len(), 3);
        assert!(!q.any);
        assert_eq!(q.clauses[2].op, Op::Ge);
        assert!(parse("status:'a' AND currency:'usd' OR amount:1").is_err());
        assert!(parse("foo:'x'").is_err());
        assert!(parse("metadata['x']:'y' trailing").is_err());
        assert!(parse("amount>abc").is_err());
        let q = parse("-status:'canceled' OR currency:'eur'").unwrap();
        assert!(q.any && q.clauses[0].negate);
        assert_eq!(q.metadata_hint(), None);
    }
}
