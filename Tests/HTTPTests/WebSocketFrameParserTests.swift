import HTTP
import XCTest

/// The frame parser as a pure state machine (the server tests cover each violation's close code).
final class WebSocketFrameParserTests: XCTestCase {
    /// Feeds `input` in pieces of `piece` bytes, keeping unconsumed bytes like the server does.
    func events(_ input: [UInt8], piece: Int, maxFrame: Int = 1 << 20, maxMessage: Int = 1 << 20) -> [WebSocketFrameParser.Event] {
        var parser = WebSocketFrameParser(maxFrameBytes: maxFrame, maxMessageBytes: maxMessage)
        var buffer: [UInt8] = [], fed = 0, out: [WebSocketFrameParser.Event] = []
        while true {
            let (consumed, event) = buffer.withUnsafeBytes { parser.parse($0) }
            XCTAssertLessThanOrEqual(consumed, buffer.count)
            buffer.removeFirst(consumed)
            if let event {
                out.append(event)
                if case .error = event { return out }
            } else if consumed == 0 {
                guard fed < input.count else { return out }
                let n = min(piece, input.count - fed)
                buffer += input[fed..<(fed + n)]
                fed += n
            }
        }
    }

    func testWholeAndBytewiseFeedingAgree() {
        let input =
            clientFrame(1, Array("frag".utf8), fin: false) + clientFrame(9, [7]) + clientFrame(0, Array("ment é".utf8))
            + clientFrame(2, [UInt8](repeating: 3, count: 70_000)) + clientFrame(0xA, []) + clientFrame(8, closePayload(1001, "away"))
            + clientFrame(1, Array("after close".utf8))
        let expected: [WebSocketFrameParser.Event] = [
            .ping([7]), .message(.text("fragment é")), .message(.binary([UInt8](repeating: 3, count: 70_000))), .pong([]),
            .close(.goingAway, "away"),
        ]
        for piece in [1, 2, 3, 7, 64, 100_000] {
            XCTAssertEqual(events(input, piece: piece), expected, "pieces of \(piece)")
        }
    }

    func testErrorsAreStickyAndNameTheirCode() {
        var parser = WebSocketFrameParser(maxFrameBytes: 10, maxMessageBytes: 15)
        let frames = clientFrame(2, [UInt8](repeating: 0, count: 8), fin: false) + clientFrame(0, [UInt8](repeating: 0, count: 8))
        let first = frames.withUnsafeBytes { parser.parse($0) }
        XCTAssertEqual(first.consumed, 6)  // the first header
        var rest = Array(frames.dropFirst(6))
        var last: WebSocketFrameParser.Event?
        while last == nil {
            let r = rest.withUnsafeBytes { parser.parse($0) }
            rest.removeFirst(r.consumed)
            last = r.event
        }
        XCTAssertEqual(last, .error(.messageTooBig, "a message exceeds the limit of 15 bytes"))
        XCTAssertEqual([UInt8]().withUnsafeBytes { parser.parse($0) }.event, last)
    }

    func testEmptyCloseHasNoCode() {
        XCTAssertEqual(events(clientFrame(8, []), piece: 1), [.close(nil, "")])
    }
}
