/// One state-changing API request, as the audit trail keeps it: who (the token's name, never
/// the token), what (method and path, without the query string), when, and the result.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AuditEntry {
    /// Unique id (replays of the log store an entry once).
    pub id: String,
    /// When the request was answered.
    pub time: chrono::DateTime<chrono::Utc>,
    /// Token name (`anonymous` on a loopback API without tokens).
    pub who: String,
    /// The token's customer, for tenant-scoped tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer: Option<String>,
    pub method: String,
    /// The path only: query strings may carry an access token.
    pub path: String,
    /// HTTP status of the answer.
    pub status: u16,
    /// The peer's address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub peer: Option<String>,
}
