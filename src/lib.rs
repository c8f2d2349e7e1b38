//! pinpatch rewrites Linux kernel C code that releases get_user_pages*()
//! pages with put_page() so that it pins and unpins them instead, and turns
//! the result into per-subsystem patch series.
//!
//! The modules follow the pipeline: `rewrite` turns edits into new file
//! contents and diffs, `series` groups the changes into reviewable patch
//! series with their recipients and messages, and `sink` writes those series
//! out as format-patch files or git branches.

pub mod rewrite;
pub mod series;
pub mod sink;
