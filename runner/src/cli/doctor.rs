//! `isobench doctor`: print the checks of `run::doctor`.

use clap::Args;

use crate::cleanup::Cleanup;
use crate::run::doctor::checks;
use crate::workdir::Env;

#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Machine-readable output.
    #[arg(long)]
    pub json: bool,
}

/// `isobench doctor [--json]`. Exit code 0 whatever is missing: missing is information.
pub fn cmd(json: bool) -> anyhow::Result<i32> {
    let cleanup = Cleanup::in_memory();
    let env = Env::new(cleanup.clone(), None)?;
    let list = checks(&env);
    drop(env);
    for e in cleanup.release_all() {
        eprintln!("isobench: cleanup: {e}");
    }
    if json {
        println!("{}", serde_json::to_string_pretty(&list)?);
        return Ok(0);
    }
    let mut area = "";
    for c in &list {
        if c.area != area {
            area = c.area;
            println!("{area}:");
        }
        println!(
            "  [{}] {:<12} {}",
            if c.ok { " ok " } else { " no " },
            c.name,
            c.detail
        );
        if let Some(f) = &c.fix {
            println!("         fix: {f}");
        }
    }
    Ok(0)
}
