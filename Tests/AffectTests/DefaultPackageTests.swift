import Affect
import Foundation
import Tensor
import TestSupport
import XCTest

/// The default package as `make model` builds it (models/default): its VA head must be the
/// centroid projection read from the manifest, needing only the expression posterior.
final class DefaultPackageTests: XCTestCase {
    func testDefaultPackageProjectsThePosterior() throws {
        let model = try AffectModel(package: try Repo.defaultPackage())
        XCTAssertEqual(model.requiredSources, [.expression], "zero fusion weights: scene and person encoders are skipped")
        guard case .centroidProjection(let p) = model.vaHead.kind else { return XCTFail("default VA head is not the centroid projection") }
        guard case .kalman = model.temporal else { return XCTFail("default temporal model is not the Kalman smoother") }
        XCTAssertEqual(p.classNames.count, 7)
        func onehot(_ name: String) throws -> VA {
            let i = try XCTUnwrap(p.classNames.firstIndex(of: name), name)
            var posterior = [Float](repeating: 0, count: 7)
            posterior[i] = 1
            return try model.vaHead.run([FaceFeatures(expression: posterior)], arena: Arena())[0].va
        }
        XCTAssertGreaterThan(try onehot("happy").valence, 0.3)
        XCTAssertLessThan(try onehot("anger").valence, 0)
        XCTAssertLessThan(try onehot("disgust").valence, 0)
        XCTAssertGreaterThan(try onehot("surprise").arousal, 0.3)
        XCTAssertTrue(p.source.contains("AffectNet"))
    }
}
