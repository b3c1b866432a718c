import Media
import TestSupport
import XCTest

/// Frame times are the frames' own presentation times, checked against ffprobe -show_frames.
final class TimestampTests: XCTestCase {
    func testEveryFrameOfReferenceClipMatchesFFprobe() throws {
        let path = try Repo.media("feat/WolfgangLanger_Pexels.mp4")
        let expected = try ffprobeFrameTimes(path)
        XCTAssertEqual(expected.count, 472)
        var times: [Double] = []
        var sizes = Set<String>()
        _ = try decodeAll(.file(path)) {
            times.append($0.t); sizes.insert("\($0.width)x\($0.height)")
        }
        XCTAssertEqual(times.count, 472)
        XCTAssertEqual(sizes, ["640x360"])
        for (i, (ours, theirs)) in zip(times, expected).enumerated() {
            XCTAssertEqual(ours, theirs, accuracy: 0.001, "frame \(i)")
        }
        XCTAssertEqual(times.last ?? 0, 19.66, accuracy: 0.05)
    }

    func testVariableFrameRateKeepsRealTimes() throws {
        let path = try Repo.media("edge/vfr.mp4")
        let expected = try ffprobeFrameTimes(path)
        var times: [Double] = []
        _ = try decodeAll(.file(path)) { times.append($0.t) }
        XCTAssertEqual(times.count, 60)
        XCTAssertEqual(times.count, expected.count)
        for (i, (ours, theirs)) in zip(times, expected).enumerated() {
            XCTAssertEqual(ours, theirs, accuracy: 0.001, "frame \(i)")
        }
        // The generator wrote 30 fps, then 10 fps, then 60 fps.
        XCTAssertEqual(times[1] - times[0], 1.0 / 30, accuracy: 0.002)
        XCTAssertEqual(times[31] - times[30], 1.0 / 10, accuracy: 0.002)
        XCTAssertEqual(times[51] - times[50], 1.0 / 60, accuracy: 0.002)
    }

    /// The documented rule (FrameSampling): for target k/R, the first frame with t >= k/R - h.
    func testSamplingAtFiveFPS() throws {
        let path = try Repo.media("feat/WolfgangLanger_Pexels.mp4")
        let all = try ffprobeFrameTimes(path)
        var times: [Double] = []
        var indices: [Int] = []
        _ = try decodeAll(.file(path), sampling: .fps(5)) {
            times.append($0.t); indices.append($0.index)
        }
        let h = 0.5 * 1001.0 / 24000.0
        // Every kept frame is within half a frame of its target k/5, targets consecutive from 0.
        XCTAssertEqual(times.count, Int(((all.last! + h) * 5).rounded(.down)) + 1)
        for (k, t) in times.enumerated() {
            XCTAssertEqual(t, Double(k) / 5, accuracy: h + 1e-6, "sample \(k)")
            // ... and it is the first such frame: the frame before it is earlier than k/5 - h.
            if indices[k] > 0 { XCTAssertLessThan(all[indices[k] - 1], Double(k) / 5 - h + 1e-9) }
            XCTAssertEqual(t, all[indices[k]], accuracy: 0.001)
        }
        XCTAssertEqual(times.prefix(4).map { ($0 * 1000).rounded() / 1000 }, [0.0, 0.209, 0.417, 0.584])
    }

    func testSamplingFasterThanTheStreamKeepsEachFrameOnce() throws {
        let path = try Repo.media("edge/vfr.mp4")
        var times: [Double] = []
        _ = try decodeAll(.file(path), sampling: .fps(1000)) { times.append($0.t) }
        XCTAssertEqual(times.count, 60)
        XCTAssertEqual(times, times.sorted())
    }
}
