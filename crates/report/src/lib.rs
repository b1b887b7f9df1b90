//! Reports (work in progress).
