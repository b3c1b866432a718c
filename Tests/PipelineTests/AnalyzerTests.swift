import Foundation
import Media
import Synchronization
import Affect
import TestSupport
import XCTest
@testable import Pipeline

/// The Analyzer's API as the service uses it: streaming in time order, cancellation, typed media
/// errors, image batches, and the same result whatever the number of worker threads. Real model and
/// media (`make setup`); the acceptance numbers are checked by Tests/integration/test_analyze.py.
final class AnalyzerTests: XCTestCase {
    func models() throws -> AnalyzerModels { try SharedModels.get() }

    func media(_ name: String) throws -> MediaSource {
        .file(try Repo.media("feat/" + name))
    }

    func clipRequest() -> AnalyzeRequest {
        var r = AnalyzeRequest()
        r.sampling = .fps(2)
        return r
    }

    func testStreamsEveryFrameInTimeOrderWithTheResultsRawValues() throws {
        let analyzer = try Analyzer(models: try models(), options: AnalyzerOptions(threads: 2))
        var streamed: [FrameResult] = []
        let analysis = try analyzer.analyze(try media("WolfgangLanger_Pexels.mp4"), request: clipRequest(), onFrame: { streamed.append($0) })
        let frames = try XCTUnwrap(analysis.result.frames)
        XCTAssertEqual(frames.count, analysis.result.media.framesAnalyzed)
        XCTAssertEqual(streamed.map(\.t), frames.map(\.t))
        XCTAssertEqual(streamed.map(\.t), streamed.map(\.t).sorted())
        XCTAssertEqual(streamed.flatMap { $0.faces.map(\.raw) }, frames.flatMap { $0.faces.map(\.raw) })
        // The stream's causal estimate and the smoothed one agree at the last frame (same evidence).
        let lastStreamed = try XCTUnwrap(streamed.last?.faces.first?.valence), lastSmoothed = try XCTUnwrap(frames.last?.faces.first?.valence)
        XCTAssertEqual(lastStreamed, lastSmoothed, accuracy: 1e-9)
        XCTAssertEqual(analysis.timings.framesAnalyzed, frames.count)
        XCTAssertGreaterThan(analysis.timings.stages["detect"]?.calls ?? 0, 0)
    }

    func testSameResultWithOneOrTwoWorkers() throws {
        let one = try Analyzer(models: try models(), options: AnalyzerOptions(threads: 1))
        let two = try Analyzer(models: try models(), options: AnalyzerOptions(threads: 2))
        let a = try one.analyze(try media("WolfgangLanger_Pexels.mp4"), request: clipRequest()).result
        let b = try two.analyze(try media("WolfgangLanger_Pexels.mp4"), request: clipRequest()).result
        XCTAssertEqual(a, b)
        // An Analyzer serves request after request.
        XCTAssertEqual(try two.analyze(try media("WolfgangLanger_Pexels.mp4"), request: clipRequest()).result, b)
    }

    func testConcurrentRequestsOnASharedSchedulerMatchEachAlone() throws {
        let scheduler = FrameScheduler(threads: 2)
        defer { scheduler.stop() }
        let analyzer = try Analyzer(models: try models(), scheduler: scheduler)
        var job = clipRequest()
        job.workClass = .batch
        job.includeExpressions = true
        let inputs: [(String, AnalyzeRequest)] = [
            ("WolfgangLanger_Pexels.mp4", clipRequest()), ("WolfgangLanger_Pexels.mp4", job), ("single_face.mp4", clipRequest()),
            ("multi_face.jpg", AnalyzeRequest()),
        ]
        let sources = try inputs.map { try media($0.0) }
        let alone = try inputs.indices.map { try analyzer.analyze(sources[$0], request: inputs[$0].1) }
        let together = Mutex<[Int: Analysis]>([:])
        DispatchQueue.concurrentPerform(iterations: inputs.count) { k in
            let analysis = try? analyzer.analyze(sources[k], request: inputs[k].1)
            together.withLock { $0[k] = analysis }
        }
        for k in inputs.indices {
            let got = try XCTUnwrap(together.withLock { $0[k] }, "request \(k) failed")
            XCTAssertEqual(got.result, alone[k].result, "request \(k)")
            // Every chunk's stage timings add up into its own request's.
            XCTAssertEqual(got.timings.stages["detect"]?.calls, alone[k].timings.stages["detect"]?.calls)
            XCTAssertEqual(got.timings.stages["expression"]?.calls, alone[k].timings.stages["expression"]?.calls)
        }
        // A compute thread hands in a chunk's outputs just before it marks the chunk done.
        let end = Date(timeIntervalSinceNow: 5)
        while !scheduler.inFlight.isEmpty && Date() < end { Thread.sleep(forTimeInterval: 0.001) }
        XCTAssertEqual(scheduler.inFlight, [], "every session left the scheduler")
    }

    func testCancellationStopsWithATypedError() throws {
        let analyzer = try Analyzer(models: try models(), options: AnalyzerOptions(threads: 2))
        var polls = 0
        XCTAssertThrowsError(
            try analyzer.analyze(
                try media("WolfgangLanger_Pexels.mp4"), request: AnalyzeRequest(),
                isCancelled: {
                    polls += 1; return polls > 2
                })
        ) { error in
            XCTAssertEqual(error as? AnalyzerError, .cancelled)
        }
        // The analyzer is usable afterwards.
        XCTAssertEqual(try analyzer.analyze(try media("single_face.jpg"), request: AnalyzeRequest()).result.summary.persons, 1)
    }

    func testMediaErrorsPassThroughUnchanged() throws {
        let analyzer = try Analyzer(models: try models(), options: AnalyzerOptions(threads: 1))
        XCTAssertThrowsError(try analyzer.analyze(.memory(Data("not a video at all".utf8)), request: AnalyzeRequest())) { error in
            XCTAssertNotNil(error as? MediaError, "\(error)")
        }
        XCTAssertThrowsError(try analyzer.analyze(.memory(Data()), request: AnalyzeRequest())) { error in
            XCTAssertEqual(error as? MediaError, .emptyInput)
        }
    }

    func testImageBatchIsAClipAtTheGivenTimes() throws {
        let analyzer = try Analyzer(models: try models(), options: AnalyzerOptions(threads: 2))
        let images = [ImageInput(source: try media("15-f13-anc-ph.jpg"), t: 0.5), ImageInput(source: try media("0-f15-hao-ph.jpg"), t: 1.5)]
        let r = try analyzer.analyzeImages(images, request: AnalyzeRequest()).result
        XCTAssertEqual(r.frames?.map(\.t), [0.5, 1.5])
        XCTAssertEqual(r.media.framesAnalyzed, 2)
        XCTAssertLessThan(try XCTUnwrap(r.frames?[0].faces.first?.raw.valence), 0)
        XCTAssertGreaterThan(try XCTUnwrap(r.frames?[1].faces.first?.raw.valence), 0.3)
        XCTAssertThrowsError(try analyzer.analyzeImages([images[1], images[0]], request: AnalyzeRequest()))
        XCTAssertThrowsError(try analyzer.analyzeImages([], request: AnalyzeRequest()))
    }

    func testScenePersonEncodersRunOnlyWhenNeeded() throws {
        let analyzer = try Analyzer(models: try models(), options: AnalyzerOptions(threads: 1))
        let plain = try analyzer.analyze(try media("single_face.jpg"), request: AnalyzeRequest())
        XCTAssertEqual(plain.timings.stages["encoders"]?.cpu ?? 0, 0, accuracy: 1e-3)
        XCTAssertNil(plain.result.frames?[0].faces[0].embeddings)
        var r = AnalyzeRequest()
        r.includeEmbeddings = true
        let rich = try analyzer.analyze(try media("single_face.jpg"), request: r)
        let e = try XCTUnwrap(rich.result.frames?[0].faces[0].embeddings)
        XCTAssertEqual(e.scene?.count, 1280)
        XCTAssertEqual(e.person?.count, 1280)
        XCTAssertEqual(e.face?.count, 128)
        XCTAssertEqual(rich.result.frames?[0].faces[0].raw, plain.result.frames?[0].faces[0].raw)
    }
}
