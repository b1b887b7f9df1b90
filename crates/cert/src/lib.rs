//! Certificate facts (work in progress).
