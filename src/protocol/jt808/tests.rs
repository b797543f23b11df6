//! Unit tests: exact ACK bytes, framing, decode of hand-built frames.
