import Foundation
import Media
import TestSupport
import XCTest

/// Each limit of MediaLimits crossed by a real file.
final class LimitTests: XCTestCase {
    private func limits(_ change: (inout MediaLimits) -> Void) -> MediaLimits {
        var l = MediaLimits()
        change(&l)
        return l
    }

    private var clip: String { get throws { try Repo.media("feat/WolfgangLanger_Pexels.mp4") } }

    func testDefaultsAreFinite() {
        let l = MediaLimits()
        XCTAssertEqual(l.maxBytes, 512 << 20)
        XCTAssertEqual(l.maxDuration, 600)
        XCTAssertEqual(l.maxPixels, 3840 * 2160)
        XCTAssertEqual(l.maxFrames, 36_000)
        XCTAssertEqual(l.maxStreams, 16)
        XCTAssertEqual(l.probeBytes, 32 << 20)
        XCTAssertEqual(l.maxDecodeSeconds, 120)
    }

    func testMaxBytes() throws {
        let path = try clip
        let l = limits { $0.maxBytes = 1_000_000 }
        assertMediaError(.tooLarge(bytes: 1_632_292, limit: 1_000_000)) { try MediaProbe(source: .file(path), limits: l) }
        assertMediaError(.tooLarge(bytes: 1_632_292, limit: 1_000_000)) {
            try MediaProbe(source: .memory(try Data(contentsOf: URL(fileURLWithPath: path))), limits: l)
        }
        XCTAssertNoThrow(try MediaProbe(source: .file(path), limits: limits { $0.maxBytes = 1_632_292 }))
    }

    func testMaxDuration() throws {
        assertMediaError(.tooLong(seconds: 19.69, limit: 10)) {
            try MediaProbe(source: .file(try clip), limits: limits { $0.maxDuration = 10 })
        }
    }

    func testMaxPixels() throws {
        assertMediaError(.frameTooLarge(width: 640, height: 360, limit: 640 * 360 - 1)) {
            try decodeAll(.file(try clip), limits: limits { $0.maxPixels = 640 * 360 - 1 })
        }
        XCTAssertEqual(try decodeAll(.file(try Repo.media("feat/single_face.mp4")), limits: limits { $0.maxPixels = 640 * 360 }), 72)
    }

    func testMaxFrames() throws {
        var seen = 0
        assertMediaError(.tooManyFrames(limit: 100)) {
            try decodeAll(.file(try clip), limits: limits { $0.maxFrames = 100 }) { _ in seen += 1 }
        }
        XCTAssertEqual(seen, 100)
        XCTAssertEqual(try decodeAll(.file(try Repo.media("feat/single_face.mp4")), limits: limits { $0.maxFrames = 72 }), 72)
    }

    func testMaxStreams() throws {
        assertMediaError(.tooManyStreams(count: 2, limit: 1)) {
            try MediaProbe(source: .file(try clip), limits: limits { $0.maxStreams = 1 })
        }
    }

    /// Opening reads the header and the first packets; that must fit in probeBytes.
    func testProbeBytes() throws {
        let path = try Repo.media("edge/vp9.webm")
        XCTAssertNoThrow(try MediaProbe(source: .file(path), limits: limits { $0.probeBytes = 80_000 }))
        assertMediaError(.probeLimitExceeded(limit: 4096)) {
            try MediaProbe(source: .file(path), limits: limits { $0.probeBytes = 4096 })
        }
        assertMediaError(.probeLimitExceeded(limit: 4096)) {
            try decodeAll(.file(try Repo.media("feat/noface_face.mov")), limits: limits { $0.probeBytes = 4096 })
        }
    }

    func testDecodeTimeLimit() throws {
        let started = Date()
        assertMediaError(.timeLimitExceeded(seconds: 0.2)) {
            try decodeAll(.file(try Repo.media("feat/noface_face.mov")), limits: limits { $0.maxDecodeSeconds = 0.2 })
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 1.5)
    }

    func testContainerAllowList() throws {
        assertMediaError(.unsupportedContainer("mov,mp4,m4a,3gp,3g2,mj2")) {
            try MediaProbe(source: .file(try clip), limits: limits { $0.allowedContainers = ["matroska,webm"] })
        }
        assertMediaError(.unsupportedCodec(codec: "hevc", container: "mov,mp4,m4a,3gp,3g2,mj2")) {
            try MediaProbe(
                source: .file(try Repo.media("feat/face_noface.mov")),
                limits: limits { $0.allowedVideoCodecs.remove("hevc") })
        }
    }
}
