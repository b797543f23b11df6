//! Paging of list endpoints by a cursor (`?limit=&after=`), the way `/api/devices` does it:
//! the body stays the contract's JSON array; when more follow, `Link: <…?after=…&limit=…>;
//! rel="next"` (RFC 8288) names the next page and `X-Next-After` its cursor.

use axum::http::header::HeaderValue;
use axum::response::Response;

/// `?limit=&after=`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Page {
    pub limit: Option<usize>,
    pub after: Option<String>,
}

impl Page {
    /// The page size: `limit`, or `default`, within 1..=`max`.
    pub fn size(&self, default: usize, max: usize) -> usize {
        self.limit.unwrap_or(default).clamp(1, max)
    }

    /// One page of `items` sorted by `key`, after the cursor; and whether more follow.
    pub fn of<T>(&self, items: Vec<T>, size: usize, key: impl Fn(&T) -> &str) -> (Vec<T>, bool) {
        let mut rest: Vec<T> = items
            .into_iter()
            .filter(|i| self.after.as_deref().is_none_or(|a| key(i) > a))
            .collect();
        let more = rest.len() > size;
        rest.truncate(size);
        (rest, more)
    }
}

/// Adds the next-page headers to `resp` when `next` (the last id of a full page) is set.
pub fn link_next(resp: &mut Response, path: &str, next: Option<&str>, limit: usize) {
    let Some(after) = next else { return };
    let q: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("after", after)
        .append_pair("limit", &limit.to_string())
        .finish();
    let link = format!("<{path}?{q}>; rel=\"next\"");
    for (k, v) in [("link", link.as_str()), ("x-next-after", after)] {
        if let Ok(v) = HeaderValue::from_str(v) {
            resp.headers_mut().insert(k, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_follow_the_cursor() {
        let items = vec!["a", "b", "c"];
        let p = Page::default();
        assert_eq!(p.of(items.clone(), 2, |s| s), (vec!["a", "b"], true));
        let p = Page {
            limit: None,
            after: Some("b".into()),
        };
        assert_eq!(p.of(items, 2, |s| s), (vec!["c"], false));
        assert_eq!(Page::default().size(100, 1000), 100);
        let big = Page {
            limit: Some(5000),
            after: None,
        };
        assert_eq!(big.size(100, 1000), 1000);
    }
}
