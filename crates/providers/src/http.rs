//! Plain HTTP request/response values that adapters build and parse (no IO here).
//!
//! A provider module turns a domain request into an [`HttpRequest`] and an [`HttpResponse`] into a
//! [`crate::ProviderResult`]; only [`crate::executor::Executor`] sends anything. These values are
//! safe to log: authentication is added by the executor at send time and is never part of an
//! [`HttpRequest`].

/// HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// GET
    Get,
    /// POST
    Post,
    /// DELETE (Mollie cancel, REFERENCE.md §4.1)
    Delete,
}

impl Method {
    /// Upper-case method name.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }
}

/// Request body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// No body.
    Empty,
    /// `application/x-www-form-urlencoded` pairs, in order.
    Form(Vec<(String, String)>),
    /// JSON.
    Json(serde_json::Value),
}

/// Content type of a form body.
pub const FORM_CONTENT_TYPE: &str = "application/x-www-form-urlencoded";
/// Content type of a JSON body.
pub const JSON_CONTENT_TYPE: &str = "application/json";

/// A body could not be encoded (cannot happen for string pairs; kept as an error, not a panic).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("could not encode request body: {0}")]
pub struct EncodeError(pub String);

impl Body {
    /// `(content type, bytes)` to send, or `None` for [`Body::Empty`].
    ///
    /// Form pairs are encoded with `serde_urlencoded` (WHATWG `application/x-www-form-urlencoded`:
    /// space as `+`, brackets percent-encoded as `%5B`/`%5D`, which is what stripe-python sends
    /// and what Stripe decodes back to `metadata[k]`).
    pub fn encode(&self) -> Result<Option<(&'static str, Vec<u8>)>, EncodeError> {
        match self {
            Body::Empty => Ok(None),
            Body::Form(pairs) => Ok(Some((FORM_CONTENT_TYPE, encode_form(pairs)?.into_bytes()))),
            Body::Json(v) => serde_json::to_vec(v)
                .map(|b| Some((JSON_CONTENT_TYPE, b)))
                .map_err(|e| EncodeError(e.to_string())),
        }
    }
}

/// Encodes ordered pairs as `application/x-www-form-urlencoded` (also usable for a query string).
pub fn encode_form(pairs: &[(String, String)]) -> Result<String, EncodeError> {
    serde_urlencoded::to_string(pairs).map_err(|e| EncodeError(e.to_string()))
}

/// Percent-encodes one URL path segment (everything but ASCII letters, digits, `-`, `_`, `~`;
/// dots too, so `..` cannot become a dot-segment), so a provider reference can never change the
/// path it is put in.
pub fn encode_path_segment(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A request value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpRequest {
    /// Method.
    pub method: Method,
    /// Path and query, starting with `/`.
    pub path: String,
    /// Headers other than auth.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Body,
}

impl HttpRequest {
    /// First value of a header, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The form pairs of the body, when it is a form.
    pub fn form(&self) -> Option<&[(String, String)]> {
        match &self.body {
            Body::Form(pairs) => Some(pairs),
            Body::Empty | Body::Json(_) => None,
        }
    }
}

/// A response value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    /// Status code.
    pub status: u16,
    /// Headers, lower-cased names.
    pub headers: Vec<(String, String)>,
    /// Raw body bytes.
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// A response with no headers.
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> HttpResponse {
        HttpResponse {
            status,
            headers: Vec::new(),
            body: body.into(),
        }
    }

    /// First value of a header, matched case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// Whether the status is 2xx.
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_encoding_escapes_brackets_and_separators() {
        let pairs = vec![
            ("metadata[a b]".to_owned(), "x&y=z".to_owned()),
            ("payment_method_types[]".to_owned(), "card".to_owned()),
        ];
        assert_eq!(
            encode_form(&pairs).ok().as_deref(),
            Some("metadata%5Ba+b%5D=x%26y%3Dz&payment_method_types%5B%5D=card")
        );
    }

    #[test]
    fn path_segments_cannot_escape() {
        assert_eq!(encode_path_segment("pi_123"), "pi_123");
        assert_eq!(encode_path_segment("../x?y"), "%2E%2E%2Fx%3Fy");
    }

    #[test]
    fn headers_match_case_insensitively() {
        let r = HttpResponse {
            status: 200,
            headers: vec![("request-id".into(), "req_1".into())],
            body: Vec::new(),
        };
        assert_eq!(r.header("Request-Id"), Some("req_1"));
        assert!(r.is_success());
    }
}
