//! Stripe's form encoding: `application/x-www-form-urlencoded` with bracket nesting
//! (`metadata[order_id]=x`, `payment_method_types[]=card`, `items[0][price]=p`).
//!
//! Pairs are decoded with `serde_urlencoded`; the brackets are resolved here into a small tree.
//! `[]` appends to a list; any other segment (numeric ones included) is a map key, and
//! [`Param::as_list`] also reads a map with numeric keys as a list, so `a[0]=x&a[1]=y` works.
//! A repeated scalar keeps the last value.

use std::collections::BTreeMap;
use std::hash::{DefaultHasher, Hash, Hasher};

/// One decoded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    /// A plain value.
    Str(String),
    /// `name[key]=...`
    Map(BTreeMap<String, Param>),
    /// `name[]=...`
    List(Vec<Param>),
}

impl Param {
    /// The string value, if this is a scalar.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Param::Str(s) => Some(s),
            Param::Map(_) | Param::List(_) => None,
        }
    }

    /// The map, if this is a map.
    pub fn as_map(&self) -> Option<&BTreeMap<String, Param>> {
        match self {
            Param::Map(m) => Some(m),
            Param::Str(_) | Param::List(_) => None,
        }
    }

    /// The elements, if this is a list (or a map whose keys are all indices).
    pub fn as_list(&self) -> Option<Vec<&Param>> {
        match self {
            Param::List(l) => Some(l.iter().collect()),
            Param::Map(m) => {
                let mut indexed: Vec<(usize, &Param)> = Vec::with_capacity(m.len());
                for (k, v) in m {
                    indexed.push((k.parse().ok()?, v));
                }
                indexed.sort_by_key(|(i, _)| *i);
                Some(indexed.into_iter().map(|(_, v)| v).collect())
            }
            Param::Str(_) => None,
        }
    }
}

/// A decoded form body (or query string).
#[derive(Debug, Clone, Default)]
pub struct Form {
    root: BTreeMap<String, Param>,
    fingerprint: u64,
}

/// A body that is not valid form encoding, or whose brackets contradict each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormError(pub String);

fn split_key(key: &str) -> Result<(&str, Vec<&str>), FormError> {
    let bad = || FormError(format!("Invalid parameter name: {key}"));
    let (name, mut rest) = match key.find('[') {
        Some(i) => (&key[..i], &key[i..]),
        None => (key, ""),
    };
    if name.is_empty() {
        return Err(bad());
    }
    let mut segs = Vec::new();
    while !rest.is_empty() {
        let inner = rest.strip_prefix('[').ok_or_else(bad)?;
        let close = inner.find(']').ok_or_else(bad)?;
        segs.push(&inner[..close]);
        rest = &inner[close + 1..];
    }
    Ok((name, segs))
}

fn build(segs: &[&str], value: String) -> Param {
    match segs.split_first() {
        None => Param::Str(value),
        Some((&"", rest)) => Param::List(vec![build(rest, value)]),
        Some((seg, rest)) => Param::Map(BTreeMap::from([((*seg).to_owned(), build(rest, value))])),
    }
}

fn place(slot: &mut Param, segs: &[&str], value: String, key: &str) -> Result<(), FormError> {
    let conflict = || FormError(format!("Invalid parameter structure at {key}"));
    match (segs.split_first(), slot) {
        (None, slot @ Param::Str(_)) => {
            *slot = Param::Str(value);
            Ok(())
        }
        (Some((&"", rest)), Param::List(list)) => {
            list.push(build(rest, value));
            Ok(())
        }
        (Some((seg, rest)), Param::Map(map)) if !seg.is_empty() => match map.get_mut(*seg) {
            Some(child) => place(child, rest, value, key),
            None => {
                map.insert((*seg).to_owned(), build(rest, value));
                Ok(())
            }
        },
        _ => Err(conflict()),
    }
}

impl Form {
    /// Decodes a body. An empty body is an empty form.
    pub fn parse(body: &[u8]) -> Result<Self, FormError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_bytes(body)
            .map_err(|e| FormError(format!("Invalid request body: {e}")))?;
        let mut root: BTreeMap<String, Param> = BTreeMap::new();
        for (key, value) in &pairs {
            let (name, segs) = split_key(key)?;
            match root.get_mut(name) {
                Some(slot) => place(slot, &segs, value.clone(), key)?,
                None => {
                    root.insert(name.to_owned(), build(&segs, value.clone()));
                }
            }
        }
        let mut sorted: Vec<&(String, String)> = pairs.iter().collect();
        sorted.sort();
        let mut h = DefaultHasher::new();
        sorted.hash(&mut h);
        Ok(Self {
            root,
            fingerprint: h.finish(),
        })
    }

    /// A hash of the sorted pairs: equal for the same parameters in any order.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// A top-level parameter.
    pub fn get(&self, name: &str) -> Option<&Param> {
        self.root.get(name)
    }

    /// A top-level scalar parameter.
    pub fn str(&self, name: &str) -> Option<&str> {
        self.root.get(name).and_then(Param::as_str)
    }

    /// Top-level parameter names.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.root.keys().map(String::as_str)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn brackets() {
        let f = Form::parse(
            b"amount=2000&metadata%5Border_id%5D=ord_1&metadata[x]=y&payment_method_types[]=card&payment_method_types[]=link&a[0][b]=1&a[1][b]=2&automatic_payment_methods[enabled]=true",
        )
        .unwrap();
        assert_eq!(f.str("amount"), Some("2000"));
        let md = f.get("metadata").unwrap().as_map().unwrap();
        assert_eq!(md["order_id"].as_str(), Some("ord_1"));
        assert_eq!(md["x"].as_str(), Some("y"));
        let types: Vec<_> = f
            .get("payment_method_types")
            .unwrap()
            .as_list()
            .unwrap()
            .into_iter()
            .map(|p| p.as_str().unwrap())
            .collect();
        assert_eq!(types, vec!["card", "link"]);
        let a = f.get("a").unwrap().as_list().unwrap();
        assert_eq!(a[1].as_map().unwrap()["b"].as_str(), Some("2"));
    }

    #[test]
    fn fingerprint_ignores_order_and_conflicts_fail() {
        let a = Form::parse(b"a=1&b=2").unwrap();
        let b = Form::parse(b"b=2&a=1").unwrap();
        let c = Form::parse(b"b=2&a=3").unwrap();
        assert_eq!(a.fingerprint(), b.fingerprint());
        assert_ne!(a.fingerprint(), c.fingerprint());
        assert!(Form::parse(b"a=1&a[b]=2").is_err());
        assert!(Form::parse(b"a[b=2").is_err());
        assert!(Form::parse(b"[x]=2").is_err());
        assert!(Form::parse(b"").unwrap().names().next().is_none());
    }
}
