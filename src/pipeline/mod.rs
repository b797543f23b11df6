//! The pipeline: the durability point between ingest and every consumer (ACK release waits on
//! the write-ahead log; sinks, live state and tracking read it from their own offsets).
pub mod wal;
