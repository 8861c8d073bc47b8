//! Fuzz the run-file parser: any bytes must give a `Run` or a `RunFileError`, never a
//! panic, an abort, or unbounded memory. A parsed run must survive a comparison with
//! itself and a round trip through JSON.
#![no_main]

use isobench_reports::compare::{compare, CompareOptions, Input};
use isobench_reports::Run;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(run) = Run::parse(data, "fuzz") {
        let inputs = [
            Input { origin: "a", run: &run },
            Input { origin: "b", run: &run },
        ];
        let _ = compare(&inputs, &CompareOptions::default());
        if let Ok(text) = serde_json::to_vec(&run) {
            let _ = Run::parse(&text, "fuzz round trip");
        }
    }
});
