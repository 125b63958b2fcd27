//! Any bytes: the environments.py parser returns a module or an error, and never panics.

#![no_main]

use libfuzzer_sys::fuzz_target;

use dfab::environments::literal::{parse_module, parse_module_bytes};

fuzz_target!(|data: &[u8]| {
    let _ = parse_module_bytes(data);
    let src = String::from_utf8_lossy(data);
    match parse_module(&src) {
        Ok(module) => {
            for a in &module.assignments {
                let _ = a.value.to_string();
                let _ = a.value.to_tagged_json();
            }
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
