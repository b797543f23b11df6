//! What the HTTP sinks (InfluxDB writer, webhook dispatcher) share about responses and
//! errors: a peer's error body is read only up to a cap (a misbehaving server cannot make
//! the gateway buffer megabytes), and a client error is shown with its whole cause chain
//! (reqwest's top-level message alone says "error sending request").

/// Up to `cap` bytes of the response body as lossy UTF-8.
pub async fn read_capped(resp: &mut reqwest::Response, cap: usize) -> String {
    String::from_utf8_lossy(&read_capped_bytes(resp, cap).await).into_owned()
}

/// Up to `cap` bytes of the response body.
pub async fn read_capped_bytes(resp: &mut reqwest::Response, cap: usize) -> Vec<u8> {
    let mut buf = Vec::new();
    while buf.len() < cap {
        match resp.chunk().await {
            Ok(Some(c)) => buf.extend_from_slice(&c[..c.len().min(cap - buf.len())]),
            _ => break,
        }
    }
    buf
}

/// An error with every cause after it, `outer: inner: innermost`.
pub fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}
