import Foundation
import Tensor
import TestSupport
import XCTest

/// MediaPipe's face landmark and blendshape networks, converted from TFLite and run by our engine,
/// vs the TFLite runtime (LiteRT) on the original files, on real face crops
/// (tools/reference/face_landmarker_vectors.py). Tolerance: 1e-4 absolute on every output value,
/// landmarks in MediaPipe's normalised units (crop pixels / 256, as its NormalizedLandmark reports
/// them): in raw pixels float32 rounding alone is ~1e-5 at 160 px, and 100 layers accumulate it.
final class FaceLandmarkerParityTests: XCTestCase {
    static let tolerance: Float = 1e-4

    func check(network: String, scale: [String: Float] = [:]) throws {
        let package = try Repo.defaultPackage()
        let net = try package.network(network)
        let path = try Repo.vector("face/net_\(network)_crops.safetensors")
        let file = try SafeTensorsFile(path: path)
        let x = try file.tensor("x", layout: network == "face_landmarks" ? .nhwc : .rowMajor)
        let arena = Arena()
        let outs = try net.run([x], arena: arena)
        for (name, out) in zip(net.outputNames, outs) {
            let e = try file.tensor("expected.\(name)")
            XCTAssertEqual(out.count, e.count, "\(network).\(name): \(out.shape) vs reference \(e.shape)")
            guard out.count == e.count else { continue }
            let unit = scale[name] ?? 1
            var worst: Float = 0, at = 0
            for i in 0..<e.count {
                let d = abs(out.data[i] - e.data[i]) / unit
                if !(d <= worst) { worst = d; at = i }
            }
            XCTAssertLessThanOrEqual(worst, Self.tolerance, "\(network).\(name)[\(at)]: ours \(out.data[at]), LiteRT \(e.data[at]) (unit \(unit))")
            print("parity \(network).\(name) \(e.shape) over \(x.dim(0)) crops: max abs diff \(worst) (unit \(unit): \(worst * unit) raw)")
        }
    }

    func testLandmarks() throws { try check(network: "face_landmarks", scale: ["landmarks": 256]) }
    func testBlendshapes() throws { try check(network: "face_blendshapes") }
}
