import Foundation
import Media
import TestSupport
import XCTest

/// 16 kHz mono float audio against `ffmpeg -ac 1 -ar 16000 -f f32le`.
final class AudioTests: XCTestCase {
    func testMono16kMatchesFFmpeg() throws {
        for clip in ["feat/WolfgangLanger_Pexels.mp4", "feat/single_face.mp4", "feat/face_noface.mov"] {
            let path = try Repo.media(clip)
            let ours = try AudioDecoder.decodeMono16k(.file(path))
            let raw = try runTool(
                "ffmpeg",
                [
                    "-nostdin", "-v", "error", "-i", path, "-vn", "-ac", "1", "-ar", "16000",
                    "-f", "f32le", "-",
                ])
            let reference = raw.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            XCTAssertEqual(ours.count, reference.count, clip)
            let n = min(ours.count, reference.count)
            var worst: Float = 0
            for i in 0..<n { worst = max(worst, abs(ours[i] - reference[i])) }
            XCTAssertLessThanOrEqual(worst, 1e-6, clip)
        }
    }

    func testNoAudioStream() throws {
        assertMediaError(.noAudioStream) { try AudioDecoder.decodeMono16k(.file(try Repo.media("edge/vfr.mp4"))) }
    }

    func testAudioDurationLimit() throws {
        var limits = MediaLimits()
        limits.maxDuration = 5
        assertMediaError(.tooLong(seconds: 19.69, limit: 5)) {
            try AudioDecoder.decodeMono16k(.file(try Repo.media("edge/audio_only.m4a")), limits: limits)
        }
    }
}
