//! A table of common Unicode character names for `\N{NAME}` escapes.
//!
//! Python knows every name in the Unicode database; dfab carries only common ones and reports
//! any other name as unsupported rather than guessing. Lookup ignores letter case, as Python's does.

/// Names (upper case) and their characters, checked against Python's `unicodedata.lookup`.
const NAMES: &[(&str, char)] = &[
    ("SPACE", '\u{20}'),
    ("NO-BREAK SPACE", '\u{a0}'),
    ("NULL", '\u{0}'),
    ("CHARACTER TABULATION", '\u{9}'),
    ("LINE FEED", '\u{a}'),
    ("CARRIAGE RETURN", '\u{d}'),
    ("ESCAPE", '\u{1b}'),
    ("DELETE", '\u{7f}'),
    ("EN DASH", '\u{2013}'),
    ("EM DASH", '\u{2014}'),
    ("HYPHEN", '\u{2010}'),
    ("NON-BREAKING HYPHEN", '\u{2011}'),
    ("MINUS SIGN", '\u{2212}'),
    ("HORIZONTAL ELLIPSIS", '\u{2026}'),
    ("BULLET", '\u{2022}'),
    ("MIDDLE DOT", '\u{b7}'),
    ("LEFT SINGLE QUOTATION MARK", '\u{2018}'),
    ("RIGHT SINGLE QUOTATION MARK", '\u{2019}'),
    ("LEFT DOUBLE QUOTATION MARK", '\u{201c}'),
    ("RIGHT DOUBLE QUOTATION MARK", '\u{201d}'),
    ("LEFT-POINTING DOUBLE ANGLE QUOTATION MARK", '\u{ab}'),
    ("RIGHT-POINTING DOUBLE ANGLE QUOTATION MARK", '\u{bb}'),
    ("SECTION SIGN", '\u{a7}'),
    ("PILCROW SIGN", '\u{b6}'),
    ("COPYRIGHT SIGN", '\u{a9}'),
    ("REGISTERED SIGN", '\u{ae}'),
    ("TRADE MARK SIGN", '\u{2122}'),
    ("DEGREE SIGN", '\u{b0}'),
    ("PLUS-MINUS SIGN", '\u{b1}'),
    ("MULTIPLICATION SIGN", '\u{d7}'),
    ("DIVISION SIGN", '\u{f7}'),
    ("MICRO SIGN", '\u{b5}'),
    ("EURO SIGN", '\u{20ac}'),
    ("POUND SIGN", '\u{a3}'),
    ("YEN SIGN", '\u{a5}'),
    ("CENT SIGN", '\u{a2}'),
    ("DOLLAR SIGN", '\u{24}'),
    ("ZERO WIDTH SPACE", '\u{200b}'),
    ("ZERO WIDTH NON-JOINER", '\u{200c}'),
    ("ZERO WIDTH JOINER", '\u{200d}'),
    ("ZERO WIDTH NO-BREAK SPACE", '\u{feff}'),
    ("BYTE ORDER MARK", '\u{feff}'),
    ("REPLACEMENT CHARACTER", '\u{fffd}'),
    ("RIGHTWARDS ARROW", '\u{2192}'),
    ("LEFTWARDS ARROW", '\u{2190}'),
    ("UPWARDS ARROW", '\u{2191}'),
    ("DOWNWARDS ARROW", '\u{2193}'),
    ("CHECK MARK", '\u{2713}'),
    ("HEAVY CHECK MARK", '\u{2714}'),
    ("BALLOT X", '\u{2717}'),
    ("MULTIPLICATION X", '\u{2715}'),
    ("BLACK STAR", '\u{2605}'),
    ("WHITE STAR", '\u{2606}'),
    ("SNOWMAN", '\u{2603}'),
    ("BLACK HEART SUIT", '\u{2665}'),
    ("HEAVY BLACK HEART", '\u{2764}'),
    ("GREEK SMALL LETTER ALPHA", '\u{3b1}'),
    ("GREEK SMALL LETTER BETA", '\u{3b2}'),
    ("GREEK SMALL LETTER GAMMA", '\u{3b3}'),
    ("GREEK SMALL LETTER DELTA", '\u{3b4}'),
    ("GREEK SMALL LETTER PI", '\u{3c0}'),
    ("GREEK SMALL LETTER MU", '\u{3bc}'),
    ("GREEK SMALL LETTER LAMDA", '\u{3bb}'),
    ("GREEK CAPITAL LETTER OMEGA", '\u{3a9}'),
    ("GREEK CAPITAL LETTER DELTA", '\u{394}'),
    ("GREEK CAPITAL LETTER SIGMA", '\u{3a3}'),
    ("LATIN SMALL LETTER A WITH GRAVE", '\u{e0}'),
    ("LATIN SMALL LETTER A WITH ACUTE", '\u{e1}'),
    ("LATIN SMALL LETTER A WITH CIRCUMFLEX", '\u{e2}'),
    ("LATIN SMALL LETTER A WITH DIAERESIS", '\u{e4}'),
    ("LATIN SMALL LETTER A WITH RING ABOVE", '\u{e5}'),
    ("LATIN SMALL LETTER C WITH CEDILLA", '\u{e7}'),
    ("LATIN SMALL LETTER E WITH GRAVE", '\u{e8}'),
    ("LATIN SMALL LETTER E WITH ACUTE", '\u{e9}'),
    ("LATIN SMALL LETTER E WITH CIRCUMFLEX", '\u{ea}'),
    ("LATIN SMALL LETTER I WITH ACUTE", '\u{ed}'),
    ("LATIN SMALL LETTER N WITH TILDE", '\u{f1}'),
    ("LATIN SMALL LETTER O WITH ACUTE", '\u{f3}'),
    ("LATIN SMALL LETTER O WITH DIAERESIS", '\u{f6}'),
    ("LATIN SMALL LETTER U WITH ACUTE", '\u{fa}'),
    ("LATIN SMALL LETTER U WITH DIAERESIS", '\u{fc}'),
    ("LATIN SMALL LETTER SHARP S", '\u{df}'),
    ("LATIN CAPITAL LETTER A WITH DIAERESIS", '\u{c4}'),
    ("LATIN CAPITAL LETTER E WITH ACUTE", '\u{c9}'),
    ("LATIN CAPITAL LETTER O WITH DIAERESIS", '\u{d6}'),
    ("LATIN CAPITAL LETTER U WITH DIAERESIS", '\u{dc}'),
    ("COMBINING ACUTE ACCENT", '\u{301}'),
    ("COMBINING GRAVE ACCENT", '\u{300}'),
    ("COMBINING DIAERESIS", '\u{308}'),
    ("SNAKE", '\u{1f40d}'),
    ("GRINNING FACE", '\u{1f600}'),
    ("SMILING FACE WITH SMILING EYES", '\u{1f60a}'),
    ("THUMBS UP SIGN", '\u{1f44d}'),
    ("PARTY POPPER", '\u{1f389}'),
    ("ROCKET", '\u{1f680}'),
    ("WARNING SIGN", '\u{26a0}'),
    ("HIGH VOLTAGE SIGN", '\u{26a1}'),
    ("FIRE", '\u{1f525}'),
];

/// The character a `\N{...}` escape names, if dfab knows it.
pub(super) fn lookup(name: &str) -> Option<char> {
    let upper = name.to_ascii_uppercase();
    NAMES.iter().find(|(n, _)| *n == upper).map(|&(_, c)| c)
}

#[cfg(test)]
mod tests {
    #[test]
    fn case_insensitive() {
        assert_eq!(super::lookup("em dash"), Some('\u{2014}'));
        assert_eq!(super::lookup("Snowman"), Some('\u{2603}'));
        assert_eq!(super::lookup("NOT A NAME"), None);
    }
}
