//! `trackgate-sim`: virtual trackers for load tests and demos.
//!
//! Not built yet (issue "Fleet simulator"): today it only lists the protocols it will be able
//! to speak, read from trackgate's protocol registry so the list can never drift.

fn main() {
    println!("trackgate-sim is not implemented yet; protocols in the registry:");
    for p in trackgate::protocol::REGISTRY {
        println!("  {}", p.name());
    }
}
