import Foundation
import Tensor
import XCTest
@testable import Vision

final class ModelPackageTests: XCTestCase {
    func testSHA256KnownAnswers() {
        func hex(_ s: String) -> String { Array(s.utf8).withUnsafeBytes { SHA256.hex($0) } }
        XCTAssertEqual(hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(hex(String(repeating: "a", count: 1000)), "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    func testDefaultPackageLoads() throws {
        let (package, _) = try Fixtures.models()
        XCTAssertEqual(package.name, "affectd-default")
        for n in ["pnet", "rnet", "onet", "expression", "efficientnet_lite0"] { XCTAssertTrue(package.networkNames.contains(n)) }
    }

    /// A copy of the default package with the manifest edited by `edit` (weights symlinked).
    func brokenPackage(_ edit: (inout String) -> Void, corruptFile: String? = nil) throws -> String {
        _ = try Fixtures.models()
        let dir = NSTemporaryDirectory() + "vision-pkg-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        for f in try FileManager.default.contentsOfDirectory(atPath: Fixtures.packageDir) where f.hasSuffix(".safetensors") {
            if f == corruptFile {
                var data = try Data(contentsOf: URL(fileURLWithPath: Fixtures.packageDir + "/" + f))
                data[data.count - 1] ^= 0xff
                try data.write(to: URL(fileURLWithPath: dir + "/" + f))
            } else {
                try FileManager.default.createSymbolicLink(atPath: dir + "/" + f, withDestinationPath: Fixtures.packageDir + "/" + f)
            }
        }
        var manifest = try String(contentsOfFile: Fixtures.packageDir + "/manifest.json", encoding: .utf8)
        edit(&manifest)
        try manifest.write(toFile: dir + "/manifest.json", atomically: true, encoding: .utf8)
        return dir
    }

    func loadError(_ dir: String, network: String) -> String {
        do {
            let p = try ModelPackage(directory: dir)
            _ = try p.network(network)
            return "loaded"
        } catch { return "\(error)" }
    }

    func testMissingTensorIsNamed() throws {
        let dir = try brokenPackage { $0 = $0.replacingOccurrences(of: "\"rnet.conv2.weight\"", with: "\"rnet.conv2.kernel\"") }
        let e = loadError(dir, network: "rnet")
        XCTAssertTrue(e.contains("rnet.conv2.kernel"), e)
    }

    func testMismatchedTensorShapeIsNamed() throws {
        // conv3's weight where conv2's belongs: the shapes cannot chain.
        let dir = try brokenPackage { $0 = $0.replacingOccurrences(of: "\"onet.conv2.weight\"", with: "\"onet.conv3.weight\"") }
        let e = loadError(dir, network: "onet")
        XCTAssertTrue(e.contains("onet.conv3.weight"), e)
    }

    func testCorruptedWeightFileIsRefused() throws {
        let dir = try brokenPackage({ _ in }, corruptFile: "mtcnn.safetensors")
        let e = loadError(dir, network: "pnet")
        XCTAssertTrue(e.contains("mtcnn.safetensors") && e.contains("sha256"), e)
    }

    func testMissingManifestFails() {
        XCTAssertThrowsError(try ModelPackage(directory: NSTemporaryDirectory() + "no-such-package"))
    }
}

final class GeometryTests: XCTestCase {
    func testSimilarityFitRecoversATransform() throws {
        let t = Similarity(a: 0.8, b: 0.3, tx: 12, ty: -7)
        let src = FaceAligner.template112
        let dst = src.map(t.apply)
        let fit = try XCTUnwrap(Similarity.fit(from: src, to: dst))
        XCTAssertEqual(fit.a, t.a, accuracy: 1e-5); XCTAssertEqual(fit.b, t.b, accuracy: 1e-5)
        XCTAssertEqual(fit.tx, t.tx, accuracy: 1e-3); XCTAssertEqual(fit.ty, t.ty, accuracy: 1e-3)
        let back = fit.inverse.apply(fit.apply(Point(x: 5, y: 9)))
        XCTAssertEqual(back.x, 5, accuracy: 1e-3); XCTAssertEqual(back.y, 9, accuracy: 1e-3)
        XCTAssertNil(Similarity.fit(from: Array(repeating: Point(x: 1, y: 1), count: 5), to: src))
    }

    /// Aligning a real detected face puts its landmarks near the template.
    func testAlignmentOnARealFace() throws {
        let (_, models) = try Fixtures.models()
        let img = try Decode.image(try Fixtures.mediaFile("single_face.jpg"))
        let face = try XCTUnwrap(try img.withView { try FaceDetector(networks: models.detector).detect($0) }.first)
        var out = [UInt8](repeating: 0, count: 112 * 112 * 3)
        let t = try XCTUnwrap(img.withView { v in out.withUnsafeMutableBufferPointer { FaceAligner.align(v, landmarks: face.landmarks, into: $0.baseAddress!) } })
        for (p, q) in zip(face.landmarks.map(t.apply), FaceAligner.template112) {
            XCTAssertLessThan(hypot(p.x - q.x, p.y - q.y), 8, "aligned landmark \(p) far from template \(q)")
        }
        XCTAssertGreaterThan(out.reduce(0) { $0 + Int($1) }, 112 * 112 * 3 * 20, "the aligned crop is not black")
    }

    func testUpperBodyCropContainsTheFaceAndStaysInTheFrame() {
        let face = Box(x1: 300, y1: 100, x2: 360, y2: 170)
        let body = PersonCrop.upperBody(face: face, width: 640, height: 360)
        XCTAssertTrue(body.contains(face.centre))
        XCTAssertGreaterThan(body.width, face.width * 2.5)
        XCTAssertGreaterThanOrEqual(body.x1, 0); XCTAssertLessThanOrEqual(body.y2, 360)
        let edge = PersonCrop.upperBody(face: Box(x1: -20, y1: -10, x2: 30, y2: 40), width: 640, height: 360)
        XCTAssertEqual(edge.x1, 0); XCTAssertEqual(edge.y1, 0)
    }

    func testFerCropOfABoxOutsideThePaddedFrameIsRefused() {
        let pixels = [UInt8](repeating: 128, count: 32 * 32 * 3)
        var out = [UInt8](repeating: 0, count: 64 * 64)
        let ok = pixels.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { FerCrop.crop(RGBView(pixels: p.baseAddress!, width: 32, height: 32),
                                                              box: Box(x1: 500, y1: 500, x2: 560, y2: 560), into: $0.baseAddress!) }
        }
        XCTAssertFalse(ok)
        let nan = pixels.withUnsafeBufferPointer { p in
            out.withUnsafeMutableBufferPointer { FerCrop.crop(RGBView(pixels: p.baseAddress!, width: 32, height: 32),
                                                              box: Box(x1: .nan, y1: 0, x2: 10, y2: 10), into: $0.baseAddress!) }
        }
        XCTAssertFalse(nan)
    }
}
