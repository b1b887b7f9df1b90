//! Rules (work in progress).
