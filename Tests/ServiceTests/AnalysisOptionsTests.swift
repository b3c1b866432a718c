// The one options type from its three sources (query, options part, JSON member) and its one check.
import Foundation
import Media
import XCTest
@testable import Service

final class AnalysisOptionsTests: XCTestCase {
    func query(_ q: String) throws -> AnalysisOptions { try QueryDecoder.decode(AnalysisOptions.self, from: q[...]) }
    func json(_ s: String) throws -> AnalysisOptions { try JSONDecoder().decode(AnalysisOptions.self, from: Data(s.utf8)) }

    func problem(_ body: () throws -> Any) -> ProblemError? {
        do { _ = try body(); return nil } catch { return AnalysisOptions.problem(error, source: "test") as? ProblemError }
    }

    func testQueryAndJSONDecodeToTheSameValue() throws {
        let expected = AnalysisOptions(fps: 2.5, maxFaces: 3, include: [.expressions, .frames], stream: true)
        XCTAssertEqual(try query("fps=2.5&max_faces=3&include=expressions,%20frames&stream=ndjson"), expected)
        XCTAssertEqual(try json("{\"fps\": 2.5, \"max_faces\": 3, \"include\": [\"expressions\", \"frames\"], \"stream\": \"ndjson\"}"), expected)
        XCTAssertEqual(try json("{\"include\": \"expressions,frames\", \"fps\": 2.5, \"max_faces\": 3, \"stream\": \"ndjson\"}"), expected)
        XCTAssertEqual(try query(""), AnalysisOptions())
        XCTAssertEqual(try json("{\"fps\": null}"), AnalysisOptions())
        XCTAssertEqual(try query("include=").include, [])
        XCTAssertEqual(try query("fps=1&fps=4").fps, 4, "the last repeated parameter wins")
        XCTAssertEqual(try query("between_detections=reuse"), try json("{\"between_detections\": \"reuse\"}"))
    }

    func testDecodingFailuresNameTheParameter() {
        XCTAssertEqual(problem { try self.query("colour=red") }?.detail, "unknown parameter \"colour\" (fps, max_faces, include, stream, between_detections)")
        XCTAssertEqual(problem { try self.json("{\"colour\": 1}") }?.status, 400)
        XCTAssertEqual(
            problem { try self.query("include=frames,hands") }?.detail,
            "include: unknown part \"hands\" (frames, faces, expressions, embeddings, audio, blendshapes, pose, landmarks)")
        XCTAssertEqual(problem { try self.query("stream=json") }?.detail, "stream must be \"ndjson\"")
        XCTAssertEqual(problem { try self.query("fps=abc") }?.detail, "test: fps: \"abc\" is not a number")
        XCTAssertEqual(problem { try self.query("max_faces=2.5") }?.detail, "test: max_faces: \"2.5\" is not an integer")
        XCTAssert(problem { try self.json("{\"fps\": \"2\"}") }?.detail.hasPrefix("test: fps: ") == true)
        XCTAssertEqual(problem { try self.json("[1]") }?.detail, "test must be a JSON object (fps, max_faces, include, stream, between_detections)")
        XCTAssertEqual(problem { try self.query("fps=%zz") }?.status, 400)
    }

    func testRequestChecksBoundsOverTheServiceDefaults() throws {
        let config = ServiceConfig()
        let limits = MediaLimits()
        let defaults = try AnalysisOptions().request(config: config, limits: limits, allowStream: false)
        XCTAssertEqual(defaults.sampling, .fps(config.defaultFPS))
        XCTAssertEqual(defaults.maxFaces, config.maxFaces)
        XCTAssertTrue(defaults.includeFrames)
        let r = try AnalysisOptions(fps: 30, maxFaces: 1, include: [.embeddings]).request(config: config, limits: limits, allowStream: false)
        XCTAssertEqual(r.sampling, .fps(30))
        XCTAssertEqual(r.maxFaces, 1)
        XCTAssertTrue(r.includeFrames && r.includeEmbeddings && !r.includeExpressions)
        XCTAssertFalse(try AnalysisOptions(include: []).request(config: config, limits: limits, allowStream: false).includeFrames)
        XCTAssertNil(defaults.tracking, "the analyzer's default")
        XCTAssertEqual(try AnalysisOptions(betweenDetections: "reuse").request(config: config, limits: limits, allowStream: false).tracking, false)
        XCTAssertEqual(try AnalysisOptions(betweenDetections: "track").request(config: config, limits: limits, allowStream: false).tracking, true)
        for (bad, detail) in [
            (AnalysisOptions(fps: 0), "fps must be a number in (0, 30.0], got 0.0"),
            (AnalysisOptions(fps: .infinity), "fps must be a number in (0, 30.0], got inf"),
            (AnalysisOptions(maxFaces: 9), "max_faces must be an integer in 1...8, got 9"),
            (AnalysisOptions(stream: true), "stream is not available here"),
            (AnalysisOptions(betweenDetections: "follow"), "between_detections must be \"track\" or \"reuse\", got \"follow\""),
        ] {
            XCTAssertThrowsError(try bad.request(config: config, limits: limits, allowStream: false)) {
                XCTAssertEqual(($0 as? ProblemError)?.detail, detail)
            }
        }
        XCTAssertNoThrow(try AnalysisOptions(stream: true).request(config: config, limits: limits, allowStream: true))
    }

    func testALaterSourceOverridesAnEarlierOne() {
        let fromQuery = AnalysisOptions(fps: 1, maxFaces: 2, include: [.faces])
        let merged = fromQuery.overridden(by: AnalysisOptions(fps: 3, include: []))
        XCTAssertEqual(merged, AnalysisOptions(fps: 3, maxFaces: 2, include: []))
    }
}
