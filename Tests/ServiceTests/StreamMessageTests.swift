// /v1/stream's message parsing and its state tokens, without a server.
import Affect
import Foundation
import HTTP
import Pipeline
import Vision
import XCTest

@testable import Service

final class StreamMessageTests: XCTestCase {
    let defaults = StreamOptions(fps: nil, maxFaces: 8)

    func control(_ text: String) throws(StreamViolation) -> StreamControl {
        try StreamControl.parse(text, current: defaults, maxFPS: 30, maxFaces: 8)
    }

    func testControlMessagesParse() throws {
        XCTAssertEqual(try control(#"{"type":"end"}"#), .end)
        XCTAssertEqual(try control(#"{"type":"resume","state":"abc.def"}"#), .resume(token: "abc.def"))
        XCTAssertEqual(
            try control(#"{"type":"options","fps":12.5,"max_faces":2,"include":["expressions"]}"#),
            .options(StreamOptions(fps: 12.5, maxFaces: 2, expressions: true)))
        XCTAssertEqual(try control(#"{"type":"options","fps":null,"include":[]}"#), .options(defaults))
    }

    func testBadControlMessagesAreAPolicyViolation() {
        for text in [
            "not json", "[1]", #"{"kind":"end"}"#, #"{"type":"pause"}"#, #"{"type":"end","now":true}"#,
            #"{"type":"options","fps":0}"#, #"{"type":"options","fps":31}"#, #"{"type":"options","fps":true}"#,
            #"{"type":"options","max_faces":1.5}"#, #"{"type":"options","max_faces":9}"#,
            #"{"type":"options","include":["embeddings"]}"#, #"{"type":"resume","state":7}"#,
        ] {
            XCTAssertThrowsError(try control(text), text) { XCTAssertEqual(($0 as? StreamViolation)?.code, .policyViolation, text) }
        }
    }

    func testFrameHeaderAndImageCheck() throws {
        let jpeg: [UInt8] = [0xFF, 0xD8, 0xFF, 0xE0, 1, 2]
        let t = 12.25
        let header = withUnsafeBytes(of: t.bitPattern.bigEndian) { Array($0) }
        let frame = try StreamFrame.parse(header + jpeg)
        XCTAssertEqual(frame.t, t)
        XCTAssertEqual(Array(frame.image), jpeg)
        func code(_ bytes: [UInt8]) -> WebSocketCloseCode? {
            do { _ = try StreamFrame.parse(bytes) } catch { return error.code }
            return nil
        }
        XCTAssertEqual(code(header), .unsupportedData)  // no image
        XCTAssertEqual(code(header + [0x47, 0x49, 0x46, 0x38]), .unsupportedData)  // GIF
        XCTAssertEqual(code(withUnsafeBytes(of: Double.nan.bitPattern.bigEndian) { Array($0) } + jpeg), .policyViolation)
        XCTAssertEqual(code(withUnsafeBytes(of: (-1.0).bitPattern.bigEndian) { Array($0) } + jpeg), .policyViolation)
    }

    func sampleState() -> LiveState {
        LiveState(
            model: "affectd-default@1.0.0", t: 3.5, issued: 1_700_000_000,
            tracker: FaceTracker.State(
                nextID: 3, tracks: [.init(id: 2, box: [10, 20, 110, 150], landmarks: [[40, 60], [80, 60]], missed: 1, hits: 40)]),
            persons: [
                .init(id: 2, filter: KalmanFilterState(t: 3.5, mean: VA(valence: -0.4, arousal: 0.2), variance: VA(valence: 0.01, arousal: 0.02)))
            ])
    }

    func testStateTokenRoundTripAndTamperChecks() throws {
        let tokens = StateToken(key: "a-key-of-sixteen-chars")
        let state = sampleState()
        let token = try tokens.seal(state)
        XCTAssertEqual(try tokens.open(token), state)
        // Another key, an edited payload, a cut signature, junk and an oversized token are refused.
        XCTAssertThrowsError(try StateToken(key: "another-key-of-16-chars").open(token))
        let parts = token.split(separator: ".")
        var edited = state
        edited.persons[0].filter.mean.valence = 0.9
        let forged = StateToken.base64url(try JSONEncoder().encode(edited)) + "." + parts[1]
        XCTAssertThrowsError(try tokens.open(forged))
        XCTAssertThrowsError(try tokens.open(parts[0] + "." + parts[1].dropLast(4)))
        XCTAssertThrowsError(try tokens.open("not a token"))
        XCTAssertThrowsError(try tokens.open(String(repeating: "A", count: StateToken.maxBytes + 1) + ".x"))
        // Random keys differ per instance: a token does not survive a restart without stream.state_key.
        XCTAssertThrowsError(try StateToken(key: "").open(try StateToken(key: "").seal(state)))
    }

    func testTrackerStateRoundTripAndChecks() {
        let tracker = FaceTracker()
        let face = Face(
            box: Box(x1: 10, y1: 10, x2: 90, y2: 110), score: 0.99,
            landmarks: [Point(x: 30, y: 40), Point(x: 70, y: 40), Point(x: 50, y: 60), Point(x: 35, y: 85), Point(x: 65, y: 85)])
        XCTAssertEqual(tracker.update([face]).ids, [1])
        let resumed = FaceTracker(resuming: tracker.state)
        XCTAssertEqual(resumed?.state, tracker.state)
        XCTAssertEqual(resumed?.update([face]).ids, [1], "the same face keeps its id in the resumed tracker")
        var bad = tracker.state
        bad.tracks[0].id = bad.nextID
        XCTAssertNil(FaceTracker(resuming: bad))
        bad = tracker.state
        bad.tracks[0].box = [10, 10, 5, 110]
        XCTAssertNil(FaceTracker(resuming: bad))
    }

    func testKalmanStepsMatchTheFilterOfRun() {
        let smoother = KalmanSmoother.default
        var samples: [KalmanSmoother.Sample] = []
        for k in 0..<50 {
            let o = k % 7 == 3 ? nil : KalmanSmoother.Observation(va: VA(valence: sin(Double(k) / 5), arousal: 0.3), confidence: 0.2 + Double(k % 5) / 6)
            samples.append(.init(t: Double(k) * 0.2 + (k > 20 ? 3 : 0), observation: o))
        }
        let batch = smoother.run(samples).filtered
        var state: KalmanFilterState? = nil
        for (k, s) in samples.enumerated() {
            state = smoother.filter(state, t: s.t, observation: s.observation)
            XCTAssertEqual(state?.mean.valence ?? .nan, batch[k]?.mean.valence ?? .nan, accuracy: 1e-12)
            XCTAssertEqual(state?.variance.arousal ?? .nan, batch[k]?.variance.arousal ?? .nan, accuracy: 1e-12)
        }
    }
}
