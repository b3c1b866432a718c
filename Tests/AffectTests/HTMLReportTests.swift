import Affect
import Foundation
import TestSupport
import XCTest

final class HTMLReportTests: XCTestCase {
    /// A 1x1 PNG.
    static let png = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

    func embedded(_ html: String, _ id: String) throws -> Data {
        let open = "<script type=\"application/json\" id=\"\(id)\">"
        let start = try XCTUnwrap(html.range(of: open)).upperBound
        let end = try XCTUnwrap(html.range(of: "</script>", range: start..<html.endIndex)).lowerBound
        return Data(html[start..<end].utf8)
    }

    func testPageEmbedsTheResultJSONAndNothingExternal() throws {
        var frames = ResultTests.synthetic()
        frames[0].faces[0].expression = ["</script><script>alert(1)</script>": 1]
        let r = AnalysisResult(model: ResultTests.model, media: ResultTests.media, frames: frames)
        let thumbs = [try HTMLReport.Thumbnail(t: 0, person: 1, pngDataURI: Self.png), try HTMLReport.Thumbnail(t: 2, person: nil, pngDataURI: Self.png)]
        let html = try HTMLReport.render(r, thumbnails: thumbs, title: "clip <1>.mp4")
        // The page's data is the result, byte for byte after JSON parsing.
        let data = try embedded(html, "affectd-result")
        XCTAssertEqual(try JSONDecoder().decode(AnalysisResult.self, from: data), r)
        let a = try JSONSerialization.jsonObject(with: data) as? NSDictionary
        let b = try JSONSerialization.jsonObject(with: try ResultJSON.encode(r)) as? NSDictionary
        XCTAssertEqual(a, b)
        let t = try JSONSerialization.jsonObject(with: try embedded(html, "affectd-thumbnails")) as? [[String: Any]]
        XCTAssertEqual(t?.count, 2)
        XCTAssertEqual(t?[0]["src"] as? String, Self.png)
        // Self-contained: no fetched resources; the hostile key stayed inside its JSON string.
        for external in ["src=\"http", "href=\"http", "url(", "<link", "import(", "fetch(", "XMLHttpRequest", "<script src"] {
            XCTAssertFalse(html.contains(external), external)
        }
        XCTAssertEqual(html.components(separatedBy: "</script>").count - 1, 4, "exactly the four script elements")
        XCTAssertTrue(html.contains("<title>clip &lt;1&gt;.mp4</title>"))
    }

    func testThumbnailsMustBePNGDataURIs() {
        XCTAssertThrowsError(try HTMLReport.Thumbnail(t: 0, person: nil, pngDataURI: "https://example.com/a.png"))
        XCTAssertThrowsError(try HTMLReport.Thumbnail(t: 0, person: nil, pngDataURI: "data:image/png;base64,\"><script>"))
        XCTAssertThrowsError(try HTMLReport.Thumbnail(t: 0, person: nil, pngDataURI: "data:image/png;base64,/9j/4AAQSkZJRg=="), "a JPEG")
    }

    /// The synthetic report renders in headless Chromium without JavaScript errors and draws a
    /// smoothed curve and a band per person and axis, and the audio section's speech segment and F0
    /// points, and one soundscape step per window for pleasantness and eventfulness
    /// (scripts/check-report.sh; Chromium comes from scripts/setup-system.sh).
    func testRendersInHeadlessChromium() throws {
        var r = AnalysisResult(model: ResultTests.model, media: ResultTests.media, frames: ResultTests.synthetic())
        let times = (r.frames ?? []).map(\.t)
        let voiced = times.filter { $0 >= 1 && $0 < 2 }
        r.audio = .found(
            AudioResult(
                start: 0, end: times.last ?? 0,
                speech: [
                    SpeechSegmentResult(
                        start: 1, end: 2, loudnessDb: -20, f0Hz: Statistics(mean: 120, sd: 5, min: 110, max: 130),
                        voicedFraction: 0.7, syllableRate: 4)
                ],
                prosody: times.map { t in
                    let speech = t >= 1 && t < 2
                    return ProsodyPoint(
                        t: t, speechProbability: speech ? 0.9 : 0.1, speech: speech, loudnessDb: speech ? -20 : -50,
                        f0Hz: speech ? 120 : nil, voicing: speech ? 0.8 : 0)
                },
                soundscape: SoundscapeResult(
                    model: "SoundAQnet",
                    windows: [0.0, 5.0].map { s in
                        SoundscapeEntry(
                            start: s, end: s + 5, pleasantness: 0.3, eventfulness: -0.2, qualities: ["calm": 0.4],
                            scene: ["park": 0.9], events: ["Bird": 0.7], loudnessSone: 3)
                    })))
        let html = try HTMLReport.render(r, thumbnails: [try HTMLReport.Thumbnail(t: 0, person: 1, pngDataURI: Self.png)])
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("affectd-report-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let page = dir.appendingPathComponent("report.html"), shot = dir.appendingPathComponent("report.png")
        try html.write(to: page, atomically: true, encoding: .utf8)
        let script = Repo.root.appendingPathComponent("scripts/check-report.sh")
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/bash")
        p.arguments = [script.path, page.path, shot.path]
        let out = Pipe(), err = Pipe()
        p.standardOutput = out
        p.standardError = err
        try p.run()
        let stdout = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        XCTAssertEqual(p.terminationStatus, 0, "check-report failed: \(stderr)")
        XCTAssertFalse(voiced.isEmpty)
        XCTAssertEqual(
            stdout.trimmingCharacters(in: .whitespacesAndNewlines),
            "curves=4 raw_points=21 bands=4 speech_segments=1 f0_points=\(voiced.count) signals=0 pleasantness=2 eventfulness=2")
        XCTAssertGreaterThan((try? Data(contentsOf: shot))?.count ?? 0, 10_000, "screenshot")
    }
}
