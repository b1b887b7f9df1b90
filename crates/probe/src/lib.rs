//! Mail protocol probes (work in progress).
