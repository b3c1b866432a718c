import Affect
import Foundation
import Tensor
import TestSupport
import XCTest

/// The Affect module against its numpy references (tools/reference/affect.py; vectors written by
/// tools/reference/affect_vectors.py into .cache/vectors/affect):
/// - the Kalman/RTS smoother against the exact batch least-squares posterior: |err| <= 1e-5;
/// - the centroid projection: |err| <= 1e-5;
/// - random-weight model packages (trained fusion head, declared-zero fusion inputs, a Mamba-VA-style
///   temporal head) loaded through AffectModel exactly as a user's package would be: |err| <= 1e-5
///   on outputs in [-1, 1] (float32 engine vs float64 numpy).
final class AffectParityTests: XCTestCase {
    static let folder = URL(fileURLWithPath: Repo.vectors + "/affect")

    func load(_ name: String) throws -> (SafeTensorsFile, JSON) {
        let path = Self.folder.appendingPathComponent(name + ".safetensors").path
        _ = try Repo.required(path, madeBy: "make vectors")
        let f = try SafeTensorsFile(path: path)
        return (f, try JSON(parsing: f.metadata["params"] ?? "{}"))
    }

    func column(_ t: Tensor, _ i: Int) -> [Double] { (0..<t.dim(0)).map { Double(t.data[$0 * 2 + i]) } }

    func testKalmanMatchesBatchPosterior() throws {
        for name in ["kalman_irregular", "kalman_gaps_and_ends", "kalman_single"] {
            let (f, params) = try load(name)
            let smoother = KalmanSmoother(
                processNoise: params["process_noise"]!.double!,
                observationNoise: params["observation_noise"]!.double!, priorVariance: 1.0 / 3)
            let t = try f.tensor("t"), y = try f.tensor("y"), c = try f.tensor("confidence"), hv = try f.tensor("head_var")
            let samples = (0..<t.count).map { k in
                KalmanSmoother.Sample(
                    t: Double(t.data[k]),
                    observation: c.data[k] > 0
                        ? .init(
                            va: VA(valence: Double(y.data[2 * k]), arousal: Double(y.data[2 * k + 1])), confidence: Double(c.data[k]),
                            variance: VA(valence: Double(hv.data[2 * k]), arousal: Double(hv.data[2 * k + 1]))) : nil)
            }
            let out = smoother.run(samples)
            var worst = 0.0, estimates = 0
            for (key, series) in [("filtered", out.filtered), ("smoothed", out.smoothed)] {
                let mean = try f.tensor("expected.\(key)_mean"), variance = try f.tensor("expected.\(key)_var")
                for k in 0..<samples.count {
                    let refMean = VA(valence: Double(mean.data[2 * k]), arousal: Double(mean.data[2 * k + 1]))
                    guard let e = series[k] else {
                        XCTAssertTrue(refMean.valence.isNaN, "\(name) \(key)[\(k)]: no estimate, numpy has \(refMean)")
                        continue
                    }
                    XCTAssertFalse(refMean.valence.isNaN, "\(name) \(key)[\(k)]: estimate where numpy has none")
                    estimates += 1
                    for (ours, ref) in [
                        (e.mean.valence, refMean.valence), (e.mean.arousal, refMean.arousal),
                        (e.variance.valence, Double(variance.data[2 * k])), (e.variance.arousal, Double(variance.data[2 * k + 1])),
                    ] {
                        worst = max(worst, abs(ours - ref) / max(1, abs(ref)))
                    }
                }
            }
            XCTAssertLessThanOrEqual(worst, 1e-5, name)
            XCTAssertGreaterThan(estimates, 0, name)
            print("parity \(name): \(estimates) estimates, worst scaled error \(worst)")
        }
    }

    func testCentroidProjectionMatchesNumpy() throws {
        let (f, params) = try load("centroids")
        let projection = try CentroidProjection(json: params["va_head"]!)
        let p = try f.tensor("posterior"), va = try f.tensor("expected.va"), variance = try f.tensor("expected.variance")
        let K = p.dim(1)
        var worst = 0.0
        for n in 0..<p.dim(0) {
            let (v, s) = try projection.project(Array(UnsafeBufferPointer(start: p.data + n * K, count: K)))
            for (ours, ref) in [
                (v.valence, va.data[2 * n]), (v.arousal, va.data[2 * n + 1]),
                (s.valence, variance.data[2 * n]), (s.arousal, variance.data[2 * n + 1]),
            ] {
                worst = max(worst, abs(ours - Double(ref)))
            }
        }
        XCTAssertLessThanOrEqual(worst, 1e-5)
        print("parity centroids: worst error \(worst)")
    }

    /// Loads a package case: the AffectModel, the case's per-source inputs, the expected VA.
    func packageCase(_ name: String) throws -> (model: AffectModel?, error: String?, rows: [FaceFeatures], expected: Tensor, head: String) {
        let (f, params) = try load(name)
        let dir = Self.folder.appendingPathComponent(params["package"]!.string!).path
        var rows: [FaceFeatures] = []
        let expected = try f.tensor("expected.va")
        for r in 0..<expected.dim(0) {
            var row = FaceFeatures()
            for source in FeatureSource.allCases where f.contains(source.rawValue) {
                let t = try f.tensor(source.rawValue)
                let w = t.dim(1)
                row[source] = Array(UnsafeBufferPointer(start: t.data + r * w, count: w))
            }
            rows.append(row)
        }
        do {
            return (try AffectModel(package: try ModelPackage(directory: dir)), nil, rows, expected, params["head"]!.string!)
        } catch {
            return (nil, "\(error)", rows, expected, params["head"]!.string!)
        }
    }

    func worstError(_ ours: [VA], _ expected: Tensor) -> Double {
        XCTAssertEqual(ours.count, expected.dim(0))
        var worst = 0.0
        for (k, v) in ours.enumerated() {
            worst = max(worst, abs(v.valence - Double(expected.data[2 * k])), abs(v.arousal - Double(expected.data[2 * k + 1])))
        }
        return worst
    }

    func testTrainedFusionHeadsMatchNumpy() throws {
        let arena = Arena()
        for name in ["fusion_mlp", "fusion_zero_scene_person"] {
            let c = try packageCase(name)
            let model = try XCTUnwrap(c.model, "\(name): \(c.error ?? "")")
            let out = try model.vaHead.run(c.rows, arena: arena)
            let worst = worstError(out.map(\.va), c.expected)
            XCTAssertLessThanOrEqual(worst, 1e-5, name)
            XCTAssertTrue(out.allSatisfy { abs($0.va.valence) <= 1 && abs($0.va.arousal) <= 1 })
            print("parity \(name): worst error \(worst)")
        }
        let full = try XCTUnwrap(try packageCase("fusion_mlp").model)
        XCTAssertEqual(full.requiredSources, [.scene, .person, .face])
        // Declared (and verified) zero scene/person weights: those encoders need not run.
        let zero = try XCTUnwrap(try packageCase("fusion_zero_scene_person").model)
        XCTAssertEqual(zero.requiredSources, [.face])
        var faceOnly = try packageCase("fusion_zero_scene_person").rows
        for i in faceOnly.indices { faceOnly[i].scene = nil; faceOnly[i].person = nil }
        XCTAssertLessThanOrEqual(worstError(try zero.vaHead.run(faceOnly, arena: arena).map(\.va), try packageCase("fusion_zero_scene_person").expected), 1e-5)
    }

    func testFalseZeroWeightClaimIsRejected() throws {
        let c = try packageCase("fusion_false_zero")
        XCTAssertNil(c.model)
        XCTAssertTrue(c.error?.contains("declares zero weights") ?? false, c.error ?? "loaded")
    }

    func testMambaVATemporalHeadMatchesNumpy() throws {
        let c = try packageCase("temporal_mamba_va")
        let model = try XCTUnwrap(c.model, c.error ?? "")
        guard case .network(let head) = model.temporal else { return XCTFail("temporal head is not a network") }
        XCTAssertEqual(model.requiredSources, [.face, .expression])
        let worst = worstError(try head.run(c.rows, arena: Arena()), c.expected)
        XCTAssertLessThanOrEqual(worst, 1e-5)
        print("parity temporal_mamba_va: worst error \(worst)")
    }
}
