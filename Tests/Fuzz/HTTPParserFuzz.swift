// libFuzzer entry point over the HTTP request parser (built by scripts/fuzz-http.sh).
// Oracle: no trap, every consumed count and body range stays inside the input, and feeding the
// same bytes in pieces gives exactly the same heads, body bytes and error as feeding them whole.

struct Outcome: Equatable {
    var heads: [HTTPRequestHead] = []
    var body: [UInt8] = []
    var ends = 0
    var error: HTTPParseError?
}

func run(_ input: [UInt8], pieces: [Int], limits: HTTPParserLimits) -> Outcome {
    var parser = HTTPRequestParser(limits: limits)
    var out = Outcome()
    var buffer: [UInt8] = []
    var fed = 0, piece = 0
    while true {
        let (consumed, event) = buffer.withUnsafeBytes { raw -> (Int, HTTPRequestParser.Event?) in
            let r = parser.parse(raw)
            precondition(r.consumed >= 0 && r.consumed <= raw.count, "consumed out of range")
            if case .body(let range) = r.event {
                precondition(range.lowerBound >= 0 && range.upperBound <= raw.count && !range.isEmpty, "body range out of input")
                out.body.append(contentsOf: raw[range])
            }
            return r
        }
        buffer.removeFirst(consumed)
        switch event {
        case .head(let h):
            _ = (h.path, h.query)  // target splitting must not trap on any accepted target
            out.heads.append(h)
        case .end: out.ends += 1
        case .error(let e):
            out.error = e
            return out
        case .body, nil: break
        }
        if event == nil && consumed == 0 {
            if fed == input.count { return out }
            let n = min(max(1, pieces[piece % pieces.count]), input.count - fed)
            piece += 1
            buffer.append(contentsOf: input[fed..<(fed + n)])
            fed += n
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    // Small limits so the fuzzer reaches every limit branch with short inputs.
    var limits = HTTPParserLimits()
    limits.maxRequestLineBytes = 200
    limits.maxHeaderBytes = 600
    limits.maxHeaderCount = 12
    limits.maxBodyBytes = 1000
    let whole = run(input, pieces: [Int.max], limits: limits)
    let pieces = input.prefix(4).map { Int($0 % 17) + 1 }
    let split = run(input, pieces: pieces.isEmpty ? [1] : pieces, limits: limits)
    precondition(whole == split, "piecewise parsing differs from whole-buffer parsing")
    return 0
}
