//! Placeholder: being written (see the open issues); compiled only with its feature.
