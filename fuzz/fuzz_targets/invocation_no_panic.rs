//! Any text as a `task:a,b,key=value` word: parsed or refused, never a panic; and re-escaping
//! what was parsed gives the same call back.

#![no_main]

use libfuzzer_sys::fuzz_target;

use dfab::invocation::parse_task;

fn escape(s: &str) -> String {
    s.replace(',', "\\,").replace('=', "\\=")
}

fuzz_target!(|data: &[u8]| {
    let Ok(word) = std::str::from_utf8(data) else { return };
    let Ok(call) = parse_task(word) else { return };
    // Only calls whose values hold no backslash round-trip exactly (a lone `\` stays literal).
    if call.args.iter().chain(call.kwargs.iter().map(|(_, v)| v)).any(|a| a.contains('\\'))
        || call.kwargs.iter().any(|(k, _)| k.contains('\\'))
    {
        return;
    }
    let mut parts: Vec<String> = call.args.iter().map(|a| escape(a)).collect();
    parts.extend(call.kwargs.iter().map(|(k, v)| format!("{}={}", escape(k), escape(v))));
    let again = if word.contains(':') { format!("{}:{}", call.name, parts.join(",")) } else { call.name.clone() };
    assert_eq!(parse_task(&again).expect("re-parse"), call, "{word:?} -> {again:?}");
});
