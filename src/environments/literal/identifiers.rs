//! Which characters may make a Python name, and which names Python would silently rewrite.
//!
//! Python reads identifiers through NFKC normalization (`ℌ` is `H`, `µ` is `μ`, `e` plus a
//! combining accent is `é`). dfab does not carry the normalization tables, so it refuses names
//! holding characters that normalization could change rather than read them differently.

/// Python's identifiers: `XID_Start` or `_`, then `XID_Continue` (which includes `_`).
/// `char::is_alphabetic` is not the same: it holds combining marks such as U+0611, which Python
/// refuses at the start of a name (found by the differential fuzz target).
pub(super) fn is_id_start(c: char) -> bool {
    c == '_' || unicode_ident::is_xid_start(c)
}

pub(super) fn is_id_continue(c: char) -> bool {
    unicode_ident::is_xid_continue(c)
}

/// The first character of `name` that NFKC normalization may change, if any.
pub(super) fn not_normalized(name: &str) -> Option<char> {
    name.chars().find(|&c| {
        let c = u32::from(c);
        c >= 0x80 && NFKC_UNSTABLE.iter().any(|&(lo, hi)| (lo..=hi).contains(&c))
    })
}

/// Ranges covering every identifier character whose NFKC form differs from itself (as
/// Python's `unicodedata` says, gaps under 16 merged), plus combining marks and conjoining
/// jamo, which compose with what precedes them.
const NFKC_UNSTABLE: &[(u32, u32)] = &[
    (0x00AA, 0x00BA),
    (0x0132, 0x0149),
    (0x017F, 0x017F),
    (0x01C4, 0x01CC),
    (0x01F1, 0x01F3),
    (0x02B0, 0x02B8),
    (0x02E0, 0x02E4),
    (0x0300, 0x036F),
    (0x0374, 0x0374),
    (0x0387, 0x0387),
    (0x03D0, 0x03D6),
    (0x03F0, 0x03F9),
    (0x0587, 0x0587),
    (0x0675, 0x0678),
    (0x0958, 0x095F),
    (0x09DC, 0x09DF),
    (0x0A33, 0x0A36),
    (0x0A59, 0x0A5E),
    (0x0B5C, 0x0B5D),
    (0x0E33, 0x0E33),
    (0x0EB3, 0x0EB3),
    (0x0EDC, 0x0EDD),
    (0x0F43, 0x0F81),
    (0x0F93, 0x0FB9),
    (0x10FC, 0x10FC),
    (0x1100, 0x11FF),
    (0x1AB0, 0x1AFF),
    (0x1D2C, 0x1D78),
    (0x1D9B, 0x1DFF),
    (0x1E9A, 0x1E9B),
    (0x1F71, 0x1F7D),
    (0x1FBB, 0x1FFB),
    (0x2071, 0x207F),
    (0x2090, 0x209C),
    (0x20D0, 0x20FF),
    (0x2102, 0x2149),
    (0x2160, 0x217F),
    (0x2C7C, 0x2C7D),
    (0x2D6F, 0x2D6F),
    (0x3038, 0x303A),
    (0x309F, 0x309F),
    (0x30FF, 0x30FF),
    (0x3131, 0x318E),
    (0xA69C, 0xA69D),
    (0xA770, 0xA770),
    (0xA7F2, 0xA7F9),
    (0xAB5C, 0xAB69),
    (0xF900, 0xFAD9),
    (0xFB00, 0xFBB1),
    (0xFBD3, 0xFD3D),
    (0xFD50, 0xFDC7),
    (0xFDF0, 0xFDF9),
    (0xFE20, 0xFE2F),
    (0xFE33, 0xFE34),
    (0xFE4D, 0xFE4F),
    (0xFE71, 0xFEFC),
    (0xFF10, 0xFFDC),
    (0x10781, 0x107BA),
    (0x1D400, 0x1D7FF),
    (0x1EE00, 0x1EEBB),
    (0x1FBF0, 0x1FBF9),
    (0x2F800, 0x2FA1D),
];

#[cfg(test)]
mod tests {
    use super::not_normalized;

    #[test]
    fn compatibility_characters_are_caught() {
        assert_eq!(not_normalized("\u{210c}"), Some('\u{210c}'));
        assert_eq!(not_normalized("micro\u{b5}"), Some('\u{b5}'));
        assert_eq!(not_normalized("cafe\u{301}"), Some('\u{301}'));
        assert_eq!(not_normalized("\u{fb01}le"), Some('\u{fb01}'));
        assert_eq!(not_normalized("café_名前_ключ"), None);
    }
}
