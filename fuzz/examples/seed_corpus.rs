//! Writes every target's seeds and regression cases into `fuzz/corpus/TARGET/`, the
//! folders `cargo fuzz run` starts from: `cargo run -p fuzz --example seed_corpus`.
#![allow(clippy::print_stdout)]

use std::io;

fn main() -> io::Result<()> {
    let root = fuzz::crate_dir().join("corpus");
    for target in fuzz::TARGETS {
        let dir = root.join(target.name);
        std::fs::create_dir_all(&dir)?;
        let inputs: Vec<(&str, Vec<u8>)> = target
            .seeds()
            .into_iter()
            .map(|s| ("seed", s))
            .chain(target.regressions().into_iter().map(|r| ("regression", r)))
            .collect();
        for (i, (kind, input)) in inputs.iter().enumerate() {
            std::fs::write(dir.join(format!("{kind}-{i}")), input)?;
        }
        println!(
            "{}: {} inputs in {}",
            target.name,
            inputs.len(),
            dir.display()
        );
    }
    Ok(())
}
