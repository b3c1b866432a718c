// Incremental UTF-8 validation (the WHATWG decoder's state machine without the decoding), so a
// text message can be checked fragment by fragment and refused at its first bad byte.

struct UTF8Validator: Sendable, Equatable {
    /// Continuation bytes still expected for the current character.
    var needed = 0
    /// Range allowed for the next continuation byte; narrower right after E0, ED, F0 and F4 so
    /// overlong forms, surrogates and code points above U+10FFFF are refused.
    var lower: UInt8 = 0x80
    var upper: UInt8 = 0xBF

    /// False at the first byte that cannot continue a valid UTF-8 sequence.
    mutating func feed(_ byte: UInt8) -> Bool {
        if needed == 0 {
            switch byte {
            case 0x00...0x7F: return true
            case 0xC2...0xDF: needed = 1
            case 0xE0: needed = 2; lower = 0xA0
            case 0xE1...0xEC, 0xEE...0xEF: needed = 2
            case 0xED: needed = 2; upper = 0x9F
            case 0xF0: needed = 3; lower = 0x90
            case 0xF1...0xF3: needed = 3
            case 0xF4: needed = 3; upper = 0x8F
            default: return false
            }
            return true
        }
        guard byte >= lower && byte <= upper else { return false }
        lower = 0x80
        upper = 0xBF
        needed -= 1
        return true
    }

    /// True when the bytes so far end on a character boundary.
    var isComplete: Bool { needed == 0 }

    static func isValid(_ bytes: some Sequence<UInt8>) -> Bool {
        var v = UTF8Validator()
        for b in bytes where !v.feed(b) { return false }
        return v.isComplete
    }
}
