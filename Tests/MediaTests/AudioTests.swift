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

    /// The clip's audio decoded in the video's demux pass equals the audio-only pass, sample for
    /// sample; a clip without audio gives none, and so does a decoder not asked for it.
    func testAudioInTheVideoPass() throws {
        for clip in ["feat/WolfgangLanger_Pexels.mp4", "feat/single_face.mp4", "feat/face_noface.mov", "edge/vfr.mp4"] {
            let path = try Repo.media(clip)
            let decoder = try MediaReader(source: .file(path)).frames(sampling: .fps(5), threads: 1, audio: true)
            var frames = 0
            while try decoder.nextFrame() != nil { frames += 1 }
            XCTAssertGreaterThan(frames, 0, clip)
            XCTAssertNil(decoder.audioFailure, clip)
            guard clip != "edge/vfr.mp4" else { XCTAssertNil(decoder.audio, clip); continue }
            let separate = try AudioDecoder.decodeMono16k(.file(path))
            let audio = try XCTUnwrap(decoder.audio, clip)
            XCTAssertEqual(audio.samples, separate, clip)
            XCTAssertEqual(audio.startOffset, clip == "feat/face_noface.mov" ? 2.43 : 0, accuracy: 0.01, clip)
        }
        let silent = try MediaReader(source: .file(try Repo.media("feat/single_face.mp4"))).frames()
        while try silent.nextFrame() != nil {}
        XCTAssertNil(silent.audio)
    }

    /// An audio codec off the allow-list costs the audio, not the clip: the video is decoded and
    /// the refusal is kept in `audioFailure`.
    func testRefusedAudioCodecLeavesTheVideo() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("affectd-ac3-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let clip = dir.appendingPathComponent("ac3.mp4").path
        _ = try runTool(
            "ffmpeg",
            [
                "-nostdin", "-v", "error", "-y", "-i", try Repo.media("feat/single_face.mp4"), "-c:v", "copy", "-c:a", "ac3",
                clip,
            ])
        let decoder = try MediaReader(source: .file(clip)).frames(sampling: .fps(5), threads: 1, audio: true)
        var frames = 0
        while try decoder.nextFrame() != nil { frames += 1 }
        XCTAssertGreaterThan(frames, 0)
        XCTAssertNil(decoder.audio)
        XCTAssertEqual(decoder.audioFailure, .unsupportedCodec(codec: "ac3", container: "mov,mp4,m4a,3gp,3g2,mj2"))
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
