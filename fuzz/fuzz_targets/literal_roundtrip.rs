//! Whatever parses renders back to Python source that parses to the same value, down to the
//! bits of every float (compared through the tagged JSON).

#![no_main]

use dfab::environments::literal::parse_module;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(module) = parse_module(src) else {
        return;
    };
    for a in &module.assignments {
        let rendered = format!("x = {}\n", a.value.to_python_source());
        let again = match parse_module(&rendered) {
            Ok(m) => m,
            Err(e) => panic!("rendered source does not parse: {e}\n{rendered}"),
        };
        let b = &again.assignments[0].value;
        assert_eq!(a.value, *b, "{rendered}");
        assert_eq!(a.value.to_tagged_json(), b.to_tagged_json(), "{rendered}");
    }
});
