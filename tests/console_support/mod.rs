//! Shared by the console tests: a real headless Chromium driven over WebDriver
//! (`chromedriver`, Debian's `chromium-driver`, installed by `.ci/services.sh`), and a
//! shipment that a GT06 device makes late.
#![allow(dead_code)] // each test binary uses a different subset

pub mod browser;
pub mod late;
