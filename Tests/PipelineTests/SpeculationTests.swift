import Foundation
import Media
import TestSupport
import Vision
import XCTest

@testable import Pipeline

/// A chunk analysed before the previous chunk's faces are known (`FrameWorker.speculate`) and then
/// settled with them gives exactly what `run` with those faces gives, for every kind of incoming
/// faces: none, the faces its first detection finds again (the speculation holds), and faces that
/// detection misses (the chunk is located and analysed again, `reanalyse`). Real model, real stills.
final class SpeculationTests: XCTestCase {
    func models() throws -> AnalyzerModels { try SharedModels.get() }

    /// `count` frames of one still, the first a detection frame, the rest followed.
    func chunk(_ name: String, count: Int, pool: PixelPool) throws -> [RGBFrame] {
        let decoded = try ImageDecoder.decode(.file(try Repo.media("feat/" + name)), limits: MediaLimits())
        let converter = FrameConverter()
        let (w, h) = converter.outputSize(for: decoded)
        return try (0..<count).map { k in
            let p = pool.take(bytes: w * h * 3 + RGBFrameBuffer.slack)
            try converter.rgb8(decoded, into: p, padded: true)
            return RGBFrame(seq: k, t: Double(k) / 24, width: w, height: h, pixels: p, scene: false, detect: k == 0)
        }
    }

    func fingerprint(_ r: FrameWorker.ChunkResult) -> [String] {
        r.outputs.map { o in "\(o.seq) \(o.faces) " + o.observations.map { String(reflecting: $0) }.joined(separator: "|") }
            + ["last \(r.last)"]
    }

    func testSettledSpeculationEqualsTheChunkRunWithItsIncomingFaces() throws {
        let models = try models()
        let worker = FrameWorker(models: models)
        var plan = try models.plan(AnalyzeRequest(), forLabelling: false)
        plan.tracking = true
        var reanalysed = 0, held = 0
        for name in ["single_face.jpg", "multi_face.jpg"] {
            let pool = PixelPool()
            let frames = try chunk(name, count: 6, pool: pool)
            defer { pool.give(frames) }
            XCTAssertTrue(FrameWorker.canSpeculate(frames, plan: plan))
            let detected = try worker.detector.detect(frames[0].view)
            XCTAssertFalse(detected.isEmpty, name)
            let big = detected[0].box
            func moved(_ dx: Float) -> Face {
                Face(
                    box: Box(x1: big.x1 + dx, y1: big.y1, x2: big.x2 + dx, y2: big.y2), score: 0.99,
                    landmarks: detected[0].landmarks.map { Point(x: $0.x + dx, y: $0.y) })
            }
            let corner = Face(box: Box(x1: 2, y1: 2, x2: 50, y2: 50), score: 0.99, landmarks: [])
            let cases: [(String, [Face]?)] = [
                ("nothing", nil), ("empty", []), ("found again", detected), ("half a face off", [moved(big.width * 0.6)]),
                ("a box on the background", [corner]), ("found again and missed", detected + [corner]),
            ]
            for (label, incoming) in cases {
                let guess = try worker.speculate(frames, plan: plan)
                let settled = try worker.settle(guess, frames, plan: plan, incoming: incoming)
                let direct = try worker.run(frames, plan: plan, incoming: incoming)
                XCTAssertEqual(fingerprint(settled), fingerprint(direct), "\(name): \(label)")
                let again = settled.timings.stages["reanalyse"]?.calls ?? 0
                let missed = incoming.map { !FaceDetector.missed($0, by: guess.detections[0] ?? []).isEmpty } ?? false
                XCTAssertEqual(again, missed ? 1 : 0, "\(name): \(label): reanalysed exactly when a face came in that detection missed")
                if missed { reanalysed += 1 } else { held += 1 }
            }
        }
        XCTAssertGreaterThan(reanalysed, 0, "the second pass was exercised")
        XCTAssertGreaterThan(held, 0, "the speculation held")
    }
}
