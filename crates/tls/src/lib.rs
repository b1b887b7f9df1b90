//! Sans-IO TLS hello codec (work in progress).
