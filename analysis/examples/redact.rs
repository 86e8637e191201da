//! Redacts standard input as one incident and prints the result; `--spans` also lists
//! what was found. `cargo run -p cali-analysis --example redact < app.log`

use std::io::Read;

use cali_analysis::redact::Redactor;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text)?;
    let redactor = Redactor::new(&[])?;
    if std::env::args().any(|a| a == "--spans") {
        for f in redactor.find(&text) {
            eprintln!("{:?} {:?}", f.kind, &text[f.start..f.end]);
        }
    }
    print!("{}", redactor.scope().redact(&text));
    Ok(())
}
