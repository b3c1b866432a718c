import Affect
import Foundation
import XCTest

final class ResultTests: XCTestCase {
    static let media = MediaInfo(
        container: "mov,mp4", videoCodec: "h264", duration: 4, fps: 25, width: 640, height: 360,
        rotation: 0, hasAudio: false, framesDecoded: 100, framesAnalyzed: 9, sampleFps: 2)
    static let model = ModelInfo(name: "affectd-test", version: "1")

    /// Two persons over 9 frames; person 2 appears from frame 4 on; frame 3 has no faces.
    static func synthetic() -> [FrameResult] {
        (0..<9).map { i in
            let t = Double(i) * 0.5
            var faces: [FaceResult] = []
            if i != 3 {
                faces.append(
                    FaceResult(
                        person: 1, box: [10, 20, 80, 80], score: 0.99,
                        landmarks: [[30, 40], [60, 40], [45, 55], [35, 70], [55, 70]],
                        smoothed: VA(valence: -0.5 + 0.1 * Double(i), arousal: 0.2), confidence: 0.5 + 0.05 * Double(i),
                        raw: RawEstimate(va: VA(valence: -0.45 + 0.1 * Double(i), arousal: 0.25), confidence: 0.6),
                        expression: ["anger": 0.1, "happy": 0.9]))
            }
            if i >= 4 {
                faces.append(
                    FaceResult(
                        person: 2, box: [200, 20, 40, 40], score: 0.9, landmarks: [],
                        smoothed: i == 4 ? nil : VA(valence: 0.6, arousal: -0.1), confidence: i == 4 ? 0 : 0.7,
                        raw: RawEstimate(va: VA(valence: .nan, arousal: 0.1), confidence: 0)))
            }
            return FrameResult(t: t, faces: faces)
        }
    }

    func json(_ data: Data) throws -> [String: Any] { try XCTUnwrap(try JSONSerialization.jsonObject(with: data) as? [String: Any]) }

    func testSummariesComeFromTheFrames() throws {
        let r = AnalysisResult(model: Self.model, media: Self.media, frames: Self.synthetic())
        XCTAssertEqual(r.summary.persons, 2)
        XCTAssertEqual(r.persons.map(\.id), [1, 2])
        XCTAssertEqual(r.persons[0].frames, 8)
        XCTAssertEqual(r.persons[0].firstT, 0)
        XCTAssertEqual(r.persons[0].lastT, 4)
        XCTAssertEqual(r.persons[1].firstT, 2)
        let v1 = [0, 1, 2, 4, 5, 6, 7, 8].map { -0.5 + 0.1 * Double($0) }
        XCTAssertEqual(r.persons[0].valence!.mean, v1.reduce(0, +) / 8, accuracy: 1e-12)
        XCTAssertEqual(r.persons[0].valence!.min, -0.5, accuracy: 1e-12)
        XCTAssertEqual(r.persons[0].valence!.max, 0.3, accuracy: 1e-12)
        let m = v1.reduce(0, +) / 8
        XCTAssertEqual(r.persons[0].valence!.sd, (v1.reduce(0) { $0 + ($1 - m) * ($1 - m) } / 8).squareRoot(), accuracy: 1e-12)
        XCTAssertEqual(r.persons[1].valence!.sd, 0, accuracy: 1e-12, "the null frame is left out, not counted as 0")
        XCTAssertEqual(r.persons[1].frames, 5)
        XCTAssertEqual(r.summary.valence!.min, -0.5, accuracy: 1e-12)
        XCTAssertEqual(r.summary.valence!.max, 0.6, accuracy: 1e-12)
        XCTAssertEqual(r.summary.confidence, (r.persons[0].confidence * 8 + r.persons[1].confidence * 5) / 13, accuracy: 1e-12)
    }

    func testEncodesTheContractWithExplicitNulls() throws {
        let r = AnalysisResult(model: Self.model, media: Self.media, frames: Self.synthetic())
        let o = try json(try ResultJSON.encode(r))
        XCTAssertEqual(Set(o.keys), ["model", "media", "summary", "persons", "frames"])
        let media = try XCTUnwrap(o["media"] as? [String: Any])
        XCTAssertEqual(
            Set(media.keys),
            [
                "container", "video_codec", "duration", "fps", "width", "height", "rotation",
                "has_audio", "frames_decoded", "frames_analyzed", "sample_fps",
            ])
        let person = try XCTUnwrap((o["persons"] as? [[String: Any]])?.first)
        XCTAssertEqual(Set(person.keys), ["id", "first_t", "last_t", "frames", "valence", "arousal", "confidence"])
        XCTAssertEqual(Set(try XCTUnwrap(person["valence"] as? [String: Any]).keys), ["mean", "sd", "min", "max"])
        let frames = try XCTUnwrap(o["frames"] as? [[String: Any]])
        XCTAssertEqual((frames[3]["faces"] as? [Any])?.count, 0, "a frame without faces has faces: []")
        let face = try XCTUnwrap((frames[4]["faces"] as? [[String: Any]])?[1])
        XCTAssertEqual(Set(face.keys), ["person", "box", "score", "landmarks", "valence", "arousal", "confidence", "raw"])
        XCTAssertTrue(face["valence"] is NSNull, "no smoothed estimate: explicit null")
        XCTAssertTrue((face["raw"] as? [String: Any])?["valence"] is NSNull, "a NaN raw value becomes null")
        let face1 = try XCTUnwrap((frames[0]["faces"] as? [[String: Any]])?[0])
        XCTAssertEqual(Set(face1.keys), ["person", "box", "score", "landmarks", "valence", "arousal", "confidence", "raw", "expression"])
        // Round trip.
        XCTAssertEqual(try JSONDecoder().decode(AnalysisResult.self, from: try ResultJSON.encode(r)), r)
    }

    /// `audio`: absent unless asked for, null for media without audio, else the section (with
    /// `soundscape: null` without a soundscape model, else its windows); each survives a round trip.
    func testAudioSectionEncodingAndRoundTrip() throws {
        var r = AnalysisResult(model: Self.model, media: Self.media, frames: Self.synthetic())
        XCTAssertNil(try json(try ResultJSON.encode(r))["audio"])
        r.audio = AudioSection.none
        XCTAssertTrue(try json(try ResultJSON.encode(r))["audio"] is NSNull)
        XCTAssertEqual(try JSONDecoder().decode(AnalysisResult.self, from: try ResultJSON.encode(r)), r)
        r.audio = .found(
            AudioResult(
                start: 0.5, end: 3,
                speech: [
                    SpeechSegmentResult(start: 1, end: 2, loudnessDb: .nan, f0Hz: nil, voicedFraction: 0, syllableRate: 0)
                ],
                prosody: [ProsodyPoint(t: 0, speechProbability: nil, speech: nil, loudnessDb: nil, f0Hz: nil, voicing: nil)]))
        let audio = try XCTUnwrap(try json(try ResultJSON.encode(r))["audio"] as? [String: Any])
        XCTAssertEqual(Set(audio.keys), ["start", "end", "speech", "prosody", "soundscape"])
        XCTAssertTrue(audio["soundscape"] is NSNull)
        let segment = try XCTUnwrap((audio["speech"] as? [[String: Any]])?.first)
        XCTAssertTrue(segment["loudness_db"] is NSNull, "a NaN level becomes null")
        XCTAssertEqual(try JSONDecoder().decode(AnalysisResult.self, from: try ResultJSON.encode(r)), r)
        guard case .found(var found) = r.audio else { return XCTFail() }
        found.soundscape = SoundscapeResult(
            model: "SoundAQnet",
            windows: [
                SoundscapeEntry(
                    start: 0.5, end: 3, pleasantness: 0.25, eventfulness: .nan, qualities: ["calm": 0.5, "chaotic": .nan],
                    scene: ["park": 1], events: ["Bird": 0.5], loudnessSone: 2)
            ])
        r.audio = .found(found)
        let scape = try XCTUnwrap((try json(try ResultJSON.encode(r))["audio"] as? [String: Any])?["soundscape"] as? [String: Any])
        XCTAssertEqual(Set(scape.keys), ["describes", "model", "windows"])
        XCTAssertTrue((scape["describes"] as? String)?.contains("not a person's emotion") == true)
        let window = try XCTUnwrap((scape["windows"] as? [[String: Any]])?.first)
        XCTAssertEqual(
            Set(window.keys), ["start", "end", "pleasantness", "eventfulness", "qualities", "scene", "events", "loudness_sone"])
        XCTAssertTrue(window["eventfulness"] is NSNull, "NaN becomes null")
        XCTAssertEqual(window["qualities"] as? [String: Double], ["calm": 0.5], "non-finite qualities are left out")
        XCTAssertEqual(try JSONDecoder().decode(AnalysisResult.self, from: try ResultJSON.encode(r)), r)
    }

    func testNoPersonsMeansNullStatisticsAndZeroConfidence() throws {
        let media = MediaInfo(container: "mov,mp4", duration: nil, framesDecoded: 30, framesAnalyzed: 3)
        let r = AnalysisResult(model: Self.model, media: media, frames: [0.0, 1, 2].map { FrameResult(t: $0, faces: []) })
        let o = try json(try ResultJSON.encode(r))
        let summary = try XCTUnwrap(o["summary"] as? [String: Any])
        XCTAssertEqual(summary["persons"] as? Int, 0)
        XCTAssertTrue(summary["valence"] is NSNull)
        XCTAssertTrue(summary["arousal"] is NSNull)
        XCTAssertEqual(summary["confidence"] as? Double, 0)
        XCTAssertEqual((o["persons"] as? [Any])?.count, 0)
        XCTAssertTrue((o["media"] as? [String: Any])?["duration"] is NSNull)
        XCTAssertFalse(String(decoding: try ResultJSON.encode(r), as: UTF8.self).contains("nan"))
        // Without frames requested the key is absent, the summary unchanged.
        let lean = AnalysisResult(model: Self.model, media: media, frames: r.frames!, includeFrames: false)
        XCTAssertNil(try json(try ResultJSON.encode(lean))["frames"])
        XCTAssertEqual(lean.summary, r.summary)
    }

    func testNDJSONLines() throws {
        let r = AnalysisResult(model: Self.model, media: Self.media, frames: Self.synthetic())
        var stream = Data()
        for f in r.frames! { stream.append(try StreamLine.frame(f).ndjson()) }
        stream.append(try StreamLine.summary(r).ndjson())
        let lines = String(decoding: stream, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        XCTAssertEqual(lines.count, 11, "9 frames + summary + the final newline")
        XCTAssertEqual(lines.last, "")
        for (i, line) in lines.dropLast(2).enumerated() {
            let o = try json(Data(line.utf8))
            XCTAssertEqual(o["type"] as? String, "frame")
            XCTAssertEqual(o["t"] as? Double, r.frames![i].t)
            let f = try JSONDecoder().decode(FrameResult.self, from: Data(line.utf8))
            XCTAssertEqual(f, r.frames![i])
        }
        let summary = try json(Data(lines[9].utf8))
        XCTAssertEqual(summary["type"] as? String, "summary")
        XCTAssertNil(summary["frames"])
        XCTAssertEqual(Set(summary.keys), ["type", "model", "media", "summary", "persons"])
    }
}
