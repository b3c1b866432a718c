import Audio
import Foundation
import Tensor
import TestSupport
import XCTest

/// Silero VAD in the engine against the original ONNX model in onnxruntime, and its speech spans
/// against the ground truth of the generated scenes (tools/reference/audio_vectors.py).
final class VoiceActivityTests: XCTestCase {
    static let scenes = ["quiet", "noise_20db", "noise_10db", "music_10db"]

    func detector() throws -> VoiceActivityDetector {
        try XCTUnwrap(try VoiceActivityDetector(package: try Repo.defaultPackage()), "the package has no audio.vad")
    }

    func scene(_ name: String) throws -> (audio: [Float], onnx: [Float], truth: [SpeechSpan]) {
        let file = try SafeTensorsFile(path: try Repo.vector("audio/\(name).safetensors"))
        let spans = try JSONSerialization.jsonObject(with: Data((file.metadata["segments"] ?? "[]").utf8)) as? [[Double]] ?? []
        return (
            try file.tensor("audio").array, try file.tensor("vad_onnxruntime").array,
            spans.map { SpeechSpan(start: $0[0], end: $0[1]) }
        )
    }

    func testParityWithOnnxruntime() throws {
        let vad = try detector()
        let arena = Arena()
        for name in Self.scenes {
            let s = try scene(name)
            let ours = try vad.probabilities(s.audio, arena: arena)
            XCTAssertEqual(ours.count, s.onnx.count, name)
            var worst: Float = 0
            for (a, b) in zip(ours, s.onnx) { worst = max(worst, abs(a - b)) }
            XCTAssertLessThanOrEqual(worst, 1e-4, name)
            print("vad parity \(name): max |p - p_onnxruntime| = \(worst) over \(ours.count) chunks")
        }
    }

    /// Segment F1: a true segment and a detected one match when their intersection over union is >= 0.5 (one to one).
    func testSegmentF1AgainstGroundTruth() throws {
        let vad = try detector()
        let arena = Arena()
        for name in Self.scenes {
            let s = try scene(name)
            let found = vad.spans(probabilities: try vad.probabilities(s.audio, arena: arena), sampleCount: s.audio.count)
            var unmatched = found, matched = 0
            for t in s.truth {
                if let k = unmatched.firstIndex(where: { iou($0, t) >= 0.5 }) {
                    matched += 1
                    unmatched.remove(at: k)
                }
            }
            let precision = found.isEmpty ? 0 : Double(matched) / Double(found.count)
            let recall = Double(matched) / Double(s.truth.count)
            let f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0
            print("vad segments \(name): F1 \(f1) (\(found.count) found, \(s.truth.count) true, \(matched) matched)")
            XCTAssertGreaterThanOrEqual(f1, 0.9, "\(name): found \(found), truth \(s.truth)")
        }
    }

    func testSilenceHasNoSpeech() throws {
        let vad = try detector()
        let silence = [Float](repeating: 0, count: 16_000 * 3)
        let p = try vad.probabilities(silence, arena: Arena())
        XCTAssertEqual(p.count, 94)
        XCTAssertTrue(vad.spans(probabilities: p, sampleCount: silence.count).isEmpty)
        XCTAssertEqual(try vad.probabilities([], arena: Arena()).count, 1)
    }

    func iou(_ a: SpeechSpan, _ b: SpeechSpan) -> Double {
        let inter = max(0, min(a.end, b.end) - max(a.start, b.start))
        let union = max(a.end, b.end) - min(a.start, b.start)
        return union > 0 ? inter / union : 0
    }
}
