//! Test bed (work in progress).
