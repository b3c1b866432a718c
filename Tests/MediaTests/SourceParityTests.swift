import Foundation
import Media
import TestSupport
import XCTest

/// Decoding from memory (custom AVIOContext with seeking: 4 of 5 clips keep `moov` at the end)
/// gives exactly the frames decoding from the file gives; thread count does not change frames.
final class SourceParityTests: XCTestCase {
    private func frameHashes(_ source: MediaSource, threads: Int = 0) throws -> [String] {
        var limits = MediaLimits()
        limits.threads = threads
        let converter = FrameConverter(size: .native)
        var hashes: [String] = []
        _ = try decodeAll(source, limits: limits) { frame in
            hashes.append("\(frame.t)/\(contentHash(try converter.rgb8(frame).pixels))")
        }
        return hashes
    }

    func testMemoryEqualsFileForAllClips() throws {
        for clip in TestData.clips {
            let path = try Repo.media(clip)
            let fromFile = try frameHashes(.file(path))
            let fromMemory = try frameHashes(.memory(try Data(contentsOf: URL(fileURLWithPath: path))))
            XCTAssertGreaterThan(fromFile.count, 60, clip)
            XCTAssertEqual(fromFile, fromMemory, clip)
            XCTAssertEqual(fromFile.count, try ffprobeFrameTimes(path).count, clip)
        }
    }

    func testThreadCountDoesNotChangeFrames() throws {
        let path = try Repo.media("feat/single_face.mp4")
        XCTAssertEqual(try frameHashes(.file(path), threads: 1), try frameHashes(.file(path), threads: 2))
    }

    func testProbeFromMemoryEqualsProbeFromFile() throws {
        for clip in TestData.clips {
            let path = try Repo.media(clip)
            let a = try MediaProbe(source: .file(path))
            let b = try MediaProbe(source: .memory(try Data(contentsOf: URL(fileURLWithPath: path))))
            XCTAssertEqual(a, b, clip)
        }
    }

    func testProbeOfReferenceClip() throws {
        let p = try MediaProbe(source: .file(try Repo.media("feat/WolfgangLanger_Pexels.mp4")))
        XCTAssertEqual(p.container, "mov,mp4,m4a,3gp,3g2,mj2")
        XCTAssertEqual(p.videoCodec, "h264")
        XCTAssertEqual(p.width, 640)
        XCTAssertEqual(p.height, 360)
        XCTAssertEqual(p.fps ?? 0, 24000.0 / 1001, accuracy: 1e-9)
        XCTAssertEqual(p.duration ?? 0, 19.69, accuracy: 0.01)
        XCTAssertEqual(p.rotation, 0)
        XCTAssertTrue(p.hasAudio)
        XCTAssertEqual(p.streams.map(\.type), ["video", "audio"])
        XCTAssertEqual(p.streams.first?.frames, 472)
        let json = String(decoding: try JSONEncoder().encode(p), as: UTF8.self)
        for key in [
            "\"container\"", "\"duration\"", "\"video_codec\"", "\"fps\"", "\"width\"", "\"height\"",
            "\"rotation\"", "\"has_audio\"", "\"streams\"",
        ] {
            XCTAssertTrue(json.contains(key), key)
        }
        let hevc = try MediaProbe(source: .file(try Repo.media("feat/face_noface.mov")))
        XCTAssertEqual(hevc.videoCodec, "hevc")
        XCTAssertEqual(hevc.streams.map(\.type), ["audio", "video"])
    }
}
