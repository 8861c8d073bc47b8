//! `isobench clean`: remove what a crashed or killed run left behind.

use std::path::PathBuf;

use clap::Args;

#[derive(Debug, Args)]
pub struct CleanArgs {
    /// Journal directory (default: /run/isobench for root).
    #[arg(long)]
    pub journal_dir: Option<PathBuf>,
}

pub fn cmd_clean(a: CleanArgs) -> anyhow::Result<i32> {
    let dir = a.journal_dir.unwrap_or_else(crate::cleanup::journal_dir);
    // The error names the directory (and why it is refused).
    let r = crate::cleanup::clean_leftovers(&dir)?;
    for (p, pid) in &r.active {
        println!("skipped {} (run {pid} is still alive)", p.display());
    }
    for x in &r.removed {
        println!("removed {x}");
    }
    for x in &r.skipped {
        println!("{x}");
    }
    for x in &r.failed {
        println!("FAILED  {x}");
    }
    let extra: Vec<String> = crate::subject::SubjectKind::all()
        .iter()
        .flat_map(|k| k.create().clean_unjournalled())
        .collect();
    for x in &extra {
        println!("removed {x}");
    }
    if r.removed.is_empty() && r.skipped.is_empty() && r.failed.is_empty() && extra.is_empty() {
        println!(
            "nothing to clean ({} journals in {})",
            r.journals.len(),
            dir.display()
        );
    }
    Ok(if r.failed.is_empty() { 0 } else { 1 })
}
