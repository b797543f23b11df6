//! The ops console: the web page people watch the fleet on (`GET /`), and the read-only
//! customer tracking page behind a share link (`/track/<token>`).
//!
//! ```text
//! assets/      the page: HTML, CSS, ES modules, the Natural Earth basemap (vendored)
//! assets.rs    the assets embedded in the binary, compressed once (gzip, br), with ETags
//! config.rs    [console]: tiles, attribution, share link lifetimes, history bounds
//! history.rs   ETA-over-time and vehicle trails for the shipment view (a log consumer)
//! ```
//! The HTTP routes live in `api/` (`console.rs` serves the pages, `exceptions.rs`,
//! `share.rs` and `history.rs` the data); this module knows nothing about HTTP routing.
//! The page reads only the public API (REST for the initial state, `/api/stream` for
//! changes), so anything it shows a script can read the same way.

pub mod assets;
pub mod config;
pub mod history;

pub use config::ConsoleConfig;
pub use history::{History, HistoryConsumer};

use crate::state::LiveState;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::sync::Arc;
use tokio::sync::broadcast;

/// Notices buffered per console page that reads slowly; one that falls further behind
/// reloads its state from the REST API.
const NOTICE_BUFFER: usize = 256;

/// A change made through the console's own routes (not in the log) that every open
/// console must see at once: an acknowledgement hides an exception "for everybody".
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Notice {
    /// An exception was acknowledged.
    Ack {
        /// The exception (alert) id.
        id: String,
        /// Who acknowledged it (token name, or `anonymous`).
        by: String,
        note: String,
        at: DateTime<Utc>,
    },
}

/// What the console's routes share: its settings, the rendered pages, the history.
pub struct Console {
    pub config: ConsoleConfig,
    /// The index and tracking pages rendered with this configuration.
    pub pages: assets::Pages,
    /// ETA history and trails for the shipment view.
    pub history: Arc<History>,
    /// Acknowledgements and other changes pushed to open pages.
    pub notices: broadcast::Sender<Notice>,
}

impl Console {
    /// The console for `cfg`; its history seeds trails from `live`.
    pub fn new(cfg: ConsoleConfig, offline_after_secs: u64, live: Arc<LiveState>) -> Console {
        let (notices, _) = broadcast::channel(NOTICE_BUFFER);
        Console {
            pages: assets::Pages::render(&cfg, offline_after_secs),
            history: Arc::new(History::new(&cfg, live)),
            config: cfg,
            notices,
        }
    }
}
