//! `trackgate cluster status`: what the JetStream log looks like from outside a gateway —
//! the stream's replicas (leader, who is current, how far behind), its size, and each log
//! consumer's committed position and lag.

use super::super::backend::JetStreamConfig;
use super::{backend, connect};
use crate::pipeline::log::LogError;
use async_nats::jetstream::{self, stream};
use serde::Serialize;

/// The log as the cluster sees it.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ClusterStatus {
    pub stream: String,
    /// Stored records and bytes.
    pub messages: u64,
    pub bytes: u64,
    /// First stored sequence and the next to be written.
    pub first_sequence: u64,
    pub end_sequence: u64,
    /// The NATS cluster's name, if the servers are clustered.
    pub cluster: Option<String>,
    /// The server leading the stream.
    pub leader: Option<String>,
    /// Every replica: the leader first.
    pub replicas: Vec<Replica>,
    /// Each log consumer's committed position.
    pub consumers: Vec<ConsumerPosition>,
}

/// One copy of the stream.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Replica {
    pub server: String,
    pub leader: bool,
    /// Caught up with the leader.
    pub current: bool,
    /// Operations behind the leader.
    pub lag: u64,
}

/// Where one log consumer (influx, tracking, outputs, mqtt …) continues.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ConsumerPosition {
    pub consumer: String,
    /// The next sequence it reads.
    pub next: u64,
    /// Records stored after its position.
    pub lag: u64,
}

/// Reads the status of the log configured in `cfg`.
pub async fn cluster_status(cfg: &JetStreamConfig) -> Result<ClusterStatus, LogError> {
    let (tx, _rx) = tokio::sync::watch::channel(0);
    let js = jetstream::new(connect(cfg, tx).await?);
    let mut s = js
        .get_stream(&cfg.stream)
        .await
        .map_err(backend("open stream"))?;
    let info = s.info().await.map_err(backend("stream info"))?.clone();
    let end = info.state.last_sequence.saturating_add(1);
    let mut replicas = Vec::new();
    let (mut cluster, mut leader) = (None, None);
    if let Some(c) = &info.cluster {
        cluster = c.name.clone();
        leader = c.leader.clone();
        if let Some(l) = &c.leader {
            replicas.push(Replica {
                server: l.clone(),
                leader: true,
                current: true,
                lag: 0,
            });
        }
        replicas.extend(c.replicas.iter().map(|r| Replica {
            server: r.name.clone(),
            leader: false,
            current: r.current && !r.offline,
            lag: r.lag.unwrap_or(0),
        }));
    }
    let consumers = consumer_positions(&js, &cfg.stream, end).await?;
    Ok(ClusterStatus {
        stream: cfg.stream.clone(),
        messages: info.state.messages,
        bytes: info.state.bytes,
        first_sequence: info.state.first_sequence,
        end_sequence: end,
        cluster,
        leader,
        replicas,
        consumers,
    })
}

async fn consumer_positions(
    js: &jetstream::Context,
    name: &str,
    end: u64,
) -> Result<Vec<ConsumerPosition>, LogError> {
    let positions: stream::Stream = js
        .get_stream(format!("{name}_positions"))
        .await
        .map_err(backend("open position stream"))?;
    let prefix = format!("{name}.positions.");
    let mut out = Vec::new();
    let mut subjects = positions
        .info_with_subjects(format!("{prefix}>"))
        .await
        .map_err(backend("list positions"))?;
    let mut names = Vec::new();
    while let Some(item) = futures::StreamExt::next(&mut subjects).await {
        let (subject, _) = item.map_err(backend("list positions"))?;
        names.push(subject);
    }
    names.sort();
    for subject in names {
        let msg = positions
            .get_last_raw_message_by_subject(&subject)
            .await
            .map_err(backend("read position"))?;
        let next: u64 = std::str::from_utf8(&msg.payload)
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        out.push(ConsumerPosition {
            consumer: subject.trim_start_matches(&prefix).to_string(),
            next,
            lag: end.saturating_sub(next),
        });
    }
    Ok(out)
}

impl ClusterStatus {
    /// The text report `trackgate cluster status` prints.
    pub fn render(&self) -> String {
        let mut o = format!(
            "stream {}: {} records, {} bytes, sequences {}..{}\n",
            self.stream, self.messages, self.bytes, self.first_sequence, self.end_sequence
        );
        match &self.cluster {
            Some(c) => o.push_str(&format!(
                "cluster {c}, leader {}\n",
                self.leader.as_deref().unwrap_or("none (no quorum)")
            )),
            None => o.push_str("single server (not clustered)\n"),
        }
        for r in &self.replicas {
            o.push_str(&format!(
                "  replica {:<20} {}{}\n",
                r.server,
                if r.leader {
                    "leader"
                } else if r.current {
                    "current"
                } else {
                    "behind"
                },
                if r.lag > 0 {
                    format!(", {} behind", r.lag)
                } else {
                    String::new()
                }
            ));
        }
        o.push_str("consumers:\n");
        if self.consumers.is_empty() {
            o.push_str("  none\n");
        }
        for c in &self.consumers {
            o.push_str(&format!(
                "  {:<12} next {:>10}  lag {:>8} records\n",
                c.consumer, c.next, c.lag
            ));
        }
        o.push_str(
            "partition ownership: not built yet — every gateway's consumers read the whole stream\n",
        );
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_names_leader_replicas_and_lags() {
        let s = ClusterStatus {
            stream: "trackgate".into(),
            messages: 10,
            bytes: 2048,
            first_sequence: 1,
            end_sequence: 11,
            cluster: Some("c".into()),
            leader: Some("n0".into()),
            replicas: vec![
                Replica {
                    server: "n0".into(),
                    leader: true,
                    current: true,
                    lag: 0,
                },
                Replica {
                    server: "n1".into(),
                    leader: false,
                    current: false,
                    lag: 3,
                },
            ],
            consumers: vec![ConsumerPosition {
                consumer: "influx".into(),
                next: 8,
                lag: 3,
            }],
        };
        let text = s.render();
        assert!(text.contains("cluster c, leader n0"), "{text}");
        assert!(
            text.contains("n1") && text.contains("behind, 3 behind"),
            "{text}"
        );
        assert!(
            text.contains("influx") && text.contains("lag        3"),
            "{text}"
        );
    }
}
