import Foundation
import Tensor
import XCTest
@testable import Vision

/// The package's networks run by our engine vs the numpy forward passes on the original weights
/// (tools/reference/networks.py), on real inputs: a P-Net pyramid level of a real photo, R-Net and
/// O-Net on the crops of detected faces, mini-Xception on fer crops, EfficientNet-Lite0 on real
/// frames. Tolerance: 1e-4 absolute on every output value.
final class NetworkParityTests: XCTestCase {
    static let tolerance: Float = 1e-4

    func check(network: String) throws {
        let (package, _) = try Fixtures.models()
        let paths = try Fixtures.cases(prefix: "net_\(network)_")
        let net = try package.network(network)
        let arena = Arena()
        for path in paths {
            let file = try SafeTensorsFile(path: path)
            let x = try file.tensor("x", layout: .nhwc)
            let outs = try net.run([x], arena: arena)
            var compared = 0
            for (name, out) in zip(net.outputNames, outs) {
                guard file.contains("expected.\(name)") else { continue }
                let e = try file.tensor("expected.\(name)")
                XCTAssertEqual(out.count, e.count, "\(network).\(name): \(out.shape) vs reference \(e.shape)")
                guard out.count == e.count else { continue }
                var worst: Float = 0, at = 0
                for i in 0..<e.count {
                    let d = abs(out.data[i] - e.data[i])
                    if !(d <= worst) { worst = d; at = i }
                }
                XCTAssertLessThanOrEqual(
                    worst, Self.tolerance,
                    "\(network).\(name)[\(at)]: ours \(out.data[at]), numpy \(e.data[at]) (\(URL(fileURLWithPath: path).lastPathComponent))")
                print("parity \(network).\(name) \(e.shape): max abs diff \(worst)")
                compared += 1
            }
            XCTAssertGreaterThan(compared, 0, "\(path): no expected output matches the network's outputs \(net.outputNames)")
            arena.reset()
        }
    }

    func testPNet() throws { try check(network: "pnet") }
    func testRNet() throws { try check(network: "rnet") }
    func testONet() throws { try check(network: "onet") }
    func testMiniXception() throws { try check(network: "expression") }
    func testEfficientNetLite0() throws { try check(network: "efficientnet_lite0") }
}
