//! Deterministic in-process simulator (stub).
