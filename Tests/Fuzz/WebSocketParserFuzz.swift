// libFuzzer entry point over the WebSocket frame parser (built by `scripts/fuzz-http.sh N websocket`).
// Oracles: no trap; every consumed count stays inside the input; feeding the bytes in pieces gives
// exactly the events of feeding them whole; the incremental UTF-8 validator agrees with the
// standard library's; and the input, sent as one masked binary or text frame, comes back intact
// (or, as text that is not UTF-8, as a 1007).

func events(_ input: [UInt8], pieces: [Int]) -> [WebSocketFrameParser.Event] {
    // Small limits so short inputs reach the 1009 branches.
    var parser = WebSocketFrameParser(maxFrameBytes: 300, maxMessageBytes: 500)
    var out: [WebSocketFrameParser.Event] = []
    var buffer: [UInt8] = []
    var fed = 0, piece = 0
    while true {
        let (consumed, event) = buffer.withUnsafeBytes { raw -> (Int, WebSocketFrameParser.Event?) in
            let r = parser.parse(raw)
            precondition(r.consumed >= 0 && r.consumed <= raw.count, "consumed out of range")
            return r
        }
        buffer.removeFirst(consumed)
        if let event {
            out.append(event)
            if case .error = event { return out }
        } else if consumed == 0 {
            if fed == input.count { return out }
            let n = min(max(1, pieces[piece % pieces.count]), input.count - fed)
            piece += 1
            buffer.append(contentsOf: input[fed..<(fed + n)])
            fed += n
        }
    }
}

/// `payload` as one masked client frame, built on the server's own encoder.
func maskedFrame(_ opcode: WebSocketOpcode, _ payload: [UInt8], key: [UInt8]) -> [UInt8] {
    var frame = encodeWebSocketFrame(opcode, payload.enumerated().map { $0.element ^ key[$0.offset & 3] })
    let header = frame.count - payload.count
    frame[1] |= 0x80
    frame.insert(contentsOf: key, at: header)
    return frame
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzWebSocketParser(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let whole = events(input, pieces: [Int.max])
    let pieces = input.prefix(4).map { Int($0 % 13) + 1 }
    precondition(whole == events(input, pieces: pieces.isEmpty ? [1] : pieces), "piecewise parsing differs from whole-buffer parsing")

    let valid = String(validating: input, as: UTF8.self) != nil
    precondition(UTF8Validator.isValid(input) == valid, "UTF-8 validator disagrees with the standard library")

    guard input.count <= 300 else { return 0 }
    let key = Array(input.suffix(4)) + [UInt8](repeating: 0x5A, count: max(0, 4 - input.count))
    precondition(events(maskedFrame(.binary, input, key: key), pieces: [Int.max]) == [.message(.binary(input))], "binary round trip")
    let text = events(maskedFrame(.text, input, key: key), pieces: [Int.max])
    if valid {
        precondition(text == [.message(.text(String(decoding: input, as: UTF8.self)))], "text round trip")
    } else {
        precondition(
            text.count == 1
                && {
                    if case .error(.invalidPayload, _) = text[0] { return true }; return false
                }(), "invalid text not refused with 1007")
    }
    return 0
}
