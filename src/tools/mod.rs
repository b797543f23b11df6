//! Operator tools run from the command line (`trackgate decode`, ...).
pub mod decode;
pub mod devices;
pub mod eval_eta;
pub mod replay;
