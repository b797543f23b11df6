//! trackgate: a GPS/GPRS vehicle telematics ingestion server.
pub mod model;
pub mod protocol;
pub mod sinks;
