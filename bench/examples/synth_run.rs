//! Write a SYNTHETIC run file (`isobench_bench::synth`): the shape of a real run with
//! seeded values, for timing `compare`, `history check` and `report` without running a
//! benchmark.
//!
//! Usage: `synth_run quick|clone:N OUT.json [--seed S] [--kernel K] [--slow TEXT=FACTOR]...`
//! e.g. `cargo run --release -p isobench-bench --example synth_run -- quick /tmp/a1.json --seed 1`.

use std::process::ExitCode;

use anyhow::Context;
use isobench_bench::synth::{self, Options, Shape};

fn parse(args: &[String]) -> anyhow::Result<(Options, String)> {
    let [shape, out, rest @ ..] = args else {
        anyhow::bail!("usage: synth_run quick|clone:N OUT.json [--seed S] [--kernel K] [--slow TEXT=FACTOR]...");
    };
    let shape = match shape.split_once(':') {
        None if shape == "quick" => Shape::Quick,
        Some(("clone", n)) => Shape::Clone {
            iterations: n
                .parse()
                .with_context(|| format!("clone:{n}: not a count"))?,
        },
        _ => anyhow::bail!("shape {shape:?}: give quick or clone:N"),
    };
    let mut opts = Options {
        shape,
        seed: 1,
        kernel: "6.1.0-synthetic".into(),
        slow: Vec::new(),
    };
    let mut it = rest.iter();
    while let Some(flag) = it.next() {
        let value = it.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--seed" => opts.seed = value.parse().with_context(|| format!("--seed {value}"))?,
            "--kernel" => opts.kernel = value.clone(),
            "--slow" => {
                let (text, factor) = value
                    .split_once('=')
                    .with_context(|| format!("--slow {value}: give TEXT=FACTOR"))?;
                let factor: f64 = factor
                    .parse()
                    .with_context(|| format!("--slow {value}: {factor} is not a number"))?;
                opts.slow.push((text.to_string(), factor));
            }
            other => anyhow::bail!("unknown option {other}"),
        }
    }
    Ok((opts, out.clone()))
}

fn run() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (opts, out) = parse(&args)?;
    let run = synth::run(&opts);
    let bytes = serde_json::to_vec_pretty(&run)?;
    std::fs::write(&out, bytes).with_context(|| format!("writing {out}"))?;
    let samples: usize = run.measurements.iter().map(|m| m.samples.len()).sum();
    eprintln!(
        "{out}: {} measurements, {samples} samples (synthetic, seed {})",
        run.measurements.len(),
        opts.seed
    );
    Ok(())
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
