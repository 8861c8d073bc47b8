//! The `isobench` binary: parse the command line, run it, print `Error: ...` and exit 1
//! on failure (exit codes are part of the public contract, see `cli`).

fn main() {
    match isobench::cli::main() {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("Error: {}", isobench::cli::error_chain(&e));
            std::process::exit(1);
        }
    }
}
