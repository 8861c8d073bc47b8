//! cgroups: detecting the host's layout (v1, v2, hybrid) by statfs magic, as youki's
//! libcgroups does, and (in later modules) creating, limiting and reading cgroups.

pub mod detect;

pub use detect::{detect, Layout};
