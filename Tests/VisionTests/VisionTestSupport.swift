import Foundation
import Media
import Tensor
import TestSupport
import XCTest
@testable import Vision

/// The vision networks of the default package, built once and shared by the suites, and the real
/// parity vectors (tools/reference/network_vectors_real.py). Missing data fails the test.
enum Fixtures {
    struct Models: @unchecked Sendable {
        let detector: MTCNNNetworks
        let expression: Network
        let encoder: Network
    }

    nonisolated(unsafe) private static var loaded: (ModelPackage, Models)?
    private static let lock = NSLock()

    static func models() throws -> (ModelPackage, Models) {
        lock.lock(); defer { lock.unlock() }
        if let loaded { return loaded }
        let p = try Repo.defaultPackage()
        let m = Models(
            detector: try MTCNNNetworks(package: p), expression: try p.network("expression"),
            encoder: try p.network("efficientnet_lite0"))
        loaded = (p, m)
        return (p, m)
    }

    static func mediaFile(_ name: String) throws -> String { try Repo.media("feat/" + name) }

    static func cases(prefix: String) throws -> [String] {
        let dir = try Repo.vector("vision")
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [])
            .filter { $0.hasPrefix(prefix) && $0.hasSuffix(".safetensors") }.sorted()
        guard !files.isEmpty else {
            XCTFail("no vision vectors \(prefix)* in \(dir): run `make vision-vectors` (tools/reference/network_vectors_real.py)")
            throw MissingTestData(path: dir + "/" + prefix + "*")
        }
        return files.map { dir + "/" + $0 }
    }

    /// A U8 tensor of a vector file as bytes.
    static func bytes(_ file: SafeTensorsFile, _ name: String) throws -> [UInt8] {
        try file.tensor(name).array.map { UInt8($0) }
    }
}

/// Decodes an image or a video frame to RGB with the Media module (native size, no resampling).
enum Decode {
    static func image(_ path: String) throws -> Image {
        let frame = try ImageDecoder.decode(.file(path))
        let buffer = RGBFrameBuffer()
        _ = try buffer.convert(frame, with: FrameConverter())
        return Image(width: buffer.width, height: buffer.height, pixels: buffer.pixels)
    }

    /// Frames of a video, sampled at `fps` (nil = every frame), with their indices and times.
    static func video(_ path: String, fps: Double?, _ body: (Int, Double, Image) throws -> Void) throws {
        let decoder = try VideoDecoder(source: .file(path), sampling: fps.map { .fps($0) } ?? .everyFrame)
        let converter = FrameConverter()
        let buffer = RGBFrameBuffer()
        while let f = try decoder.nextFrame() {
            _ = try buffer.convert(f, with: converter)
            try body(f.index, f.t, Image(width: buffer.width, height: buffer.height, pixels: buffer.pixels))
        }
    }
}

/// An owned 8-bit RGB frame (HWC).
struct Image {
    let width: Int, height: Int
    let pixels: [UInt8]

    func withView<T>(_ body: (RGBView) throws -> T) rethrows -> T {
        try pixels.withUnsafeBufferPointer { try body(RGBView(pixels: $0.baseAddress!, width: width, height: height)) }
    }
}
