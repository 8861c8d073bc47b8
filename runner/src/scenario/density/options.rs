//! Options of the `density` scenario: its command-line flags (flattened into
//! `isobench run`), their ranges, and what the run file records under `config.options`.

use clap::builder::RangedU64ValueParser;
use serde::Serialize;

/// The most instances one level may hold. A level launches its instances one after
/// another and keeps all of them alive: 1024 containers is an hour of launches here and
/// past the default `ulimit -u`/`pids.max` of many hosts, so a larger number is a typo.
pub const MAX_LEVEL: u64 = 1024;

/// Levels of a quick run, for every subject.
pub const QUICK_LEVELS: &[u64] = &[1, 8];
/// Levels of a full run (VM levels are then capped by memory, see `budget`).
pub const FULL_LEVELS: &[u64] = &[1, 8, 32, 64];
/// Guest RAM of a density VM by default (MiB): small, so that levels of VMs fit.
pub const DEFAULT_GUEST_MIB: u64 = 128;

/// The density levels and how they run.
#[derive(Debug, Clone, PartialEq, Serialize, clap::Args)]
pub struct DensityOptions {
    /// Instances alive at once per density level (comma list; each 1–1024; sorted and
    /// deduplicated; default: 1,8 with --quick, else 1,8,32,64, VM levels capped by memory).
    #[arg(long, value_delimiter = ',', value_parser = parse_level)]
    pub levels: Vec<u64>,
    /// Guest RAM of each density VM in MiB (64–65536).
    #[arg(long, default_value_t = DEFAULT_GUEST_MIB,
          value_parser = RangedU64ValueParser::<u64>::new().range(64..=65_536))]
    pub guest_mib: u64,
    /// Drop the host's page cache (sync; echo 3 > /proc/sys/vm/drop_caches) before every
    /// density level, as gVisor's density benchmark does. It changes the host's state, so
    /// it is opt-in; the output says whether it was used.
    #[arg(long)]
    pub drop_caches: bool,
    /// Run the density VM levels with KSM merging on (/sys/kernel/mm/ksm/run = 1); the
    /// previous setting is restored afterwards, on every exit path.
    #[arg(long)]
    pub ksm: bool,
    /// Run density levels whose memory estimate exceeds half of MemAvailable.
    #[arg(long)]
    pub force: bool,
    /// Parallel launches in flight in the density burst (1–256; default: number of CPUs).
    #[arg(long, value_parser = RangedU64ValueParser::<usize>::new().range(1..=256))]
    pub parallel: Option<usize>,
}

impl Default for DensityOptions {
    fn default() -> Self {
        DensityOptions {
            levels: Vec::new(),
            guest_mib: DEFAULT_GUEST_MIB,
            drop_caches: false,
            ksm: false,
            force: false,
            parallel: None,
        }
    }
}

impl DensityOptions {
    /// The levels to run, ascending and without repeats: the given ones, else the defaults.
    pub fn levels(&self, quick: bool) -> Vec<u64> {
        let mut v = if self.levels.is_empty() {
            if quick { QUICK_LEVELS } else { FULL_LEVELS }.to_vec()
        } else {
            self.levels.clone()
        };
        v.sort_unstable();
        v.dedup();
        v
    }

    /// Launches in flight in the burst.
    pub fn parallel(&self) -> usize {
        self.parallel.unwrap_or_else(|| {
            std::thread::available_parallelism()
                .map(|n| n.get())
                .unwrap_or(1)
        })
    }
}

/// One `--levels` value: a whole number of instances, 1 to [`MAX_LEVEL`].
fn parse_level(s: &str) -> Result<u64, String> {
    let n: u64 = s
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a whole number of instances"))?;
    match n {
        0 => Err("a level of 0 instances measures nothing; the smallest level is 1".into()),
        n if n > MAX_LEVEL => Err(format!(
            "{n} instances in one level is past the limit of {MAX_LEVEL}: a level launches them \
             one by one and keeps them all alive (hours of launches, past many hosts' process limits)"
        )),
        n => Ok(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Flags {
        #[command(flatten)]
        o: DensityOptions,
    }

    fn parse(args: &[&str]) -> Result<DensityOptions, clap::Error> {
        Flags::try_parse_from(std::iter::once("isobench").chain(args.iter().copied())).map(|f| f.o)
    }

    #[test]
    fn levels_are_sorted_and_deduplicated() {
        let o = parse(&["--levels", "32,1,8,8,1"]).expect("valid");
        assert_eq!(o.levels(true), vec![1, 8, 32]);
        assert_eq!(o.levels(false), vec![1, 8, 32]);
        let d = parse(&[]).expect("defaults");
        assert_eq!(d.levels(true), QUICK_LEVELS);
        assert_eq!(d.levels(false), FULL_LEVELS);
        assert_eq!(d, DensityOptions::default());
        assert!(d.parallel() >= 1);
    }

    #[test]
    fn absurd_levels_are_refused_with_the_reason() {
        for (bad, why) in [
            ("0", "smallest level is 1"),
            ("1025", "past the limit of 1024"),
            ("-3", "not a whole number"),
            ("many", "not a whole number"),
        ] {
            let arg = format!("--levels={bad}");
            let e = parse(&[&arg]).expect_err(bad).to_string();
            assert!(e.contains(why), "{bad}: {e}");
        }
        for bad in [
            &["--guest-mib", "8"][..],
            &["--parallel", "0"],
            &["--parallel", "999"],
        ] {
            assert!(parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
