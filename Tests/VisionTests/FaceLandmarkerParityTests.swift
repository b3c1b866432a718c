import Foundation
import Tensor
import TestSupport
import XCTest

/// MediaPipe's face detector, landmark and blendshape networks, converted from TFLite and run by our
/// engine, vs the TFLite runtime (LiteRT) on the original files, on real letterboxed frames (detector)
/// and real face crops (tools/reference/face_landmarker_vectors.py). Tolerance: 1e-4 absolute on every
/// output value in the units MediaPipe reads it in: landmarks in its normalised units (crop pixels /
/// 256, as its NormalizedLandmark reports them; in raw pixels float32 rounding alone is ~1e-5 at 160
/// px, and 100 layers accumulate it), the detector's boxes and keypoints divided by 128 (its decoder's
/// scale) and its scores after the sigmoid of the logit clipped to +-100 (TensorsToDetections): the raw
/// logits of background anchors reach -2400, where one float32 step is 2.4e-4.
final class FaceLandmarkerParityTests: XCTestCase {
    static let tolerance: Float = 1e-4

    func check(network: String, inputs: String = "crops", read: [String: @Sendable (Float) -> Float] = [:]) throws {
        let package = try Repo.defaultPackage()
        let net = try package.network(network)
        let path = try Repo.vector("face/net_\(network)_\(inputs).safetensors")
        let file = try SafeTensorsFile(path: path)
        let x = try file.tensor("x", layout: network == "face_blendshapes" ? .rowMajor : .nhwc)
        let arena = Arena()
        let outs = try net.run([x], arena: arena)
        for (name, out) in zip(net.outputNames, outs) {
            let e = try file.tensor("expected.\(name)")
            XCTAssertEqual(out.count, e.count, "\(network).\(name): \(out.shape) vs reference \(e.shape)")
            guard out.count == e.count else { continue }
            let f = read[name] ?? { $0 }
            var worst: Float = 0, worstRaw: Float = 0, at = 0
            for i in 0..<e.count {
                let d = abs(f(out.data[i]) - f(e.data[i]))
                worstRaw = max(worstRaw, abs(out.data[i] - e.data[i]))
                if !(d <= worst) { worst = d; at = i }
            }
            XCTAssertLessThanOrEqual(worst, Self.tolerance, "\(network).\(name)[\(at)]: ours \(out.data[at]), LiteRT \(e.data[at])")
            print("parity \(network).\(name) \(e.shape) over \(x.dim(0)) \(inputs): max abs diff \(worst) (raw outputs: \(worstRaw))")
        }
    }

    func testDetector() throws {
        try check(
            network: "face_detector", inputs: "frames",
            read: ["regressors": { $0 / 128 }, "classificators": { 1 / (1 + exp(-min(max($0, -100), 100))) }])
    }
    func testLandmarks() throws { try check(network: "face_landmarks", read: ["landmarks": { $0 / 256 }]) }
    func testBlendshapes() throws { try check(network: "face_blendshapes") }
}
