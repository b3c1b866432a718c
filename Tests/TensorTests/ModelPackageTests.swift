import Foundation
@testable import Tensor
import TestSupport
import XCTest

/// Loading checks what a package's manifest promises (docs/model-package.md), naming what is wrong.
final class ModelPackageTests: XCTestCase {
    func testSHA256KnownAnswers() {
        func hex(_ s: String) -> String { Array(s.utf8).withUnsafeBytes { SHA256.hex($0) } }
        XCTAssertEqual(hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        XCTAssertEqual(hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        XCTAssertEqual(hex(String(repeating: "a", count: 1000)), "41edece42d63e8d9bf515a9ba6932e1c20cbc9f5a5d134645adb5db1b9737ea3")
    }

    func testDefaultPackageLoads() throws {
        let package = try Repo.defaultPackage()
        XCTAssertEqual(package.name, "affectd-default")
        for n in ["pnet", "rnet", "onet", "expression", "efficientnet_lite0"] { XCTAssertTrue(package.networkNames.contains(n)) }
    }

    /// A copy of the default package with the manifest edited by `edit` (weights symlinked).
    func brokenPackage(_ edit: (inout String) -> Void, corruptFile: String? = nil) throws -> String {
        _ = try Repo.defaultPackage()
        let dir = NSTemporaryDirectory() + "affectd-pkg-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(atPath: dir) }
        for f in try FileManager.default.contentsOfDirectory(atPath: Repo.defaultModel) where f.hasSuffix(".safetensors") {
            if f == corruptFile {
                var data = try Data(contentsOf: URL(fileURLWithPath: Repo.defaultModel + "/" + f))
                data[data.count - 1] ^= 0xff
                try data.write(to: URL(fileURLWithPath: dir + "/" + f))
            } else {
                try FileManager.default.createSymbolicLink(atPath: dir + "/" + f, withDestinationPath: Repo.defaultModel + "/" + f)
            }
        }
        var manifest = try String(contentsOfFile: Repo.defaultModel + "/manifest.json", encoding: .utf8)
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
