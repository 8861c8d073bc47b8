//! The mount-table sweep (label `mounts`): clone(CLONE_NEWNS) `ready` and `total` against
//! the number of extra mounts in the creating thread's mount namespace, which the kernel
//! copies into the new namespace.

use super::draw;
use super::sweep::lines_over_label;
use super::{Chart, ChartError};
use crate::model::{Measurement, Run, Status};
use crate::report::select;

pub fn chart(run: &Run) -> Result<Vec<Chart>, ChartError> {
    let ms: Vec<&Measurement> = run
        .measurements
        .iter()
        .filter(|m| {
            m.labels.contains_key("mounts")
                && m.unit == "ns"
                && m.status == Status::Ok
                && select::has_data(m)
        })
        .collect();
    let Some(mut l) = lines_over_label(&ms, "mounts", |m| {
        format!("{} {}", super::sweep::case_name(m), m.metric)
    }) else {
        return Ok(Vec::new());
    };
    l.x_desc = "extra mounts in the parent's mount namespace".into();
    l.y_desc = "clone3(CLONE_NEWNS), p50".into();
    Ok(vec![Chart {
        id: "mounts".into(),
        title: "Mount namespace cost against the mount table".into(),
        caption: "clone3(CLONE_NEWNS) copies the parent's mount table: time to the child's ready \
                  byte and to its reaping, medians with 95% CI, against extra tmpfs mounts."
            .into(),
        svg: draw::lines("mounts", &l)?,
    }])
}
