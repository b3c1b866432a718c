import Affect
import Audio
import Foundation
import Media
import TestSupport
import XCTest

@testable import Pipeline

/// `include=audio`: clips with audio get an `audio` section on the frames' time axis (prosody at
/// every analysed frame time), clips without audio and stills get `"audio": null`, and a request
/// without it has no `audio` key.
final class AudioSectionTests: XCTestCase {
    func analyze(_ path: String, audio: Bool = true) throws -> AnalysisResult {
        let analyzer = try Analyzer(models: try AnalyzerModels(package: try Repo.defaultPackage()))
        var request = AnalyzeRequest()
        request.sampling = .fps(2)
        request.includeAudio = audio
        return try analyzer.analyze(.file(path), request: request).result
    }

    func testClipsWithAudioHaveASection() throws {
        for clip in ["WolfgangLanger_Pexels.mp4", "single_face.mp4", "face_noface.mov", "noface_face.mov", "no_face.mp4"] {
            let path = try Repo.media("feat/" + clip)
            let result = try analyze(path)
            let audio = try XCTUnwrap(result.audio?.result, clip)
            let samples = try AudioDecoder.decodeMono16k(.file(path))
            XCTAssertEqual(audio.end - audio.start, Double(samples.count) / 16_000, accuracy: 1e-9, clip)
            XCTAssertEqual(audio.prosody.map(\.t), result.frames?.map(\.t), clip)
            for p in audio.prosody where p.t >= audio.start && p.t < audio.end {
                XCTAssertNotNil(p.loudnessDb, "\(clip) t=\(p.t)")
                XCTAssertNotNil(p.speechProbability, "\(clip) t=\(p.t)")
            }
            for s in audio.speech { XCTAssertTrue(s.start >= audio.start && s.end <= audio.end && s.start < s.end, clip) }
            let json = String(decoding: try ResultJSON.encode(result), as: UTF8.self)
            // SoundAQnet windows from 3 s of audio on; a shorter track has none (null), never invented values.
            let expected = Double(samples.count) >= SoundscapeModel.minimumWindowSeconds * 16_000 ? "\"soundscape\":{" : "\"soundscape\":null"
            XCTAssertTrue(json.contains(expected), "\(clip): \(expected)")
        }
    }

    func testNoAudioGivesNull() throws {
        for path in [try Repo.media("edge/vfr.mp4"), try Repo.media("feat/single_face.jpg")] {
            let result = try analyze(path)
            XCTAssertEqual(result.audio, AudioSection.none, path)
            XCTAssertTrue(String(decoding: try ResultJSON.encode(result), as: UTF8.self).contains("\"audio\":null"), path)
        }
        let without = try analyze(try Repo.media("feat/single_face.mp4"), audio: false)
        XCTAssertNil(without.audio)
        XCTAssertFalse(String(decoding: try ResultJSON.encode(without), as: UTF8.self).contains("\"audio\""))
    }
}
