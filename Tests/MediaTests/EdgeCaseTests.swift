import Foundation
import Media
import TestSupport
import XCTest

/// Every generated edge case (scripts/make-edge-cases.sh) yields its own typed error, or correct frames
/// when it is valid, through both probe and full decoding, from file and from memory, in bounded time.
final class EdgeCaseTests: XCTestCase {
    private let rejected: [(String, MediaError)] = [
        ("edge/empty.mp4", .emptyInput),
        ("edge/random_bytes.mp4", .unrecognizedFormat),
        ("edge/text.mp4", .unrecognizedFormat),
        ("edge/truncated_header.mp4", .corrupt("the mov header ends early (file truncated?)")),
        ("edge/bitflip_header.mp4", .corrupt("cannot read the mov header (index missing or damaged; file truncated?)")),
        ("edge/moov_missing.mov", .corrupt("cannot read the mov header (index missing or damaged; file truncated?)")),
        ("edge/h264_in.avi", .unsupportedContainer("avi")),
        ("edge/ffv1.mkv", .unsupportedCodec(codec: "ffv1", container: "matroska,webm")),
        ("edge/many_streams.mkv", .tooManyStreams(count: nil, limit: 16)),
        ("edge/huge_4096.mp4", .frameTooLarge(width: 4096, height: 4096, limit: 8_294_400)),
        ("edge/huge_4096.png", .frameTooLarge(width: 4096, height: 4096, limit: 8_294_400)),
    ]

    func testRejectedInputsGiveTheirError() throws {
        for (name, expected) in rejected {
            let path = try Repo.media(name)
            let bytes = try Data(contentsOf: URL(fileURLWithPath: path))
            let started = Date()
            assertMediaError(expected) { try MediaProbe(source: .file(path)) }
            assertMediaError(expected) { try decodeAll(.file(path)) }
            assertMediaError(expected) { try decodeAll(.memory(bytes)) }
            XCTAssertLessThan(Date().timeIntervalSince(started), 10, name)
        }
    }

    func testMessagesAreActionable() {
        XCTAssertEqual(
            MediaError.unsupportedCodec(codec: "hevc", container: "avi").description,
            "unsupported codec hevc in container avi")
        XCTAssertEqual(
            MediaError.frameTooLarge(width: 4096, height: 4096, limit: 8_294_400).description,
            "frame 4096x4096 exceeds max_pixels 8294400")
        XCTAssertEqual(MediaError.truncated(percent: 61).description, "truncated file at 61%")
        XCTAssertEqual(
            MediaError.unsupportedContainer("avi").description,
            "unsupported container avi (accepted: mp4/mov, mkv/webm, JPEG, PNG)")
    }

    func testAudioOnlyProbesButHasNoVideo() throws {
        let path = try Repo.media("edge/audio_only.m4a")
        let probe = try MediaProbe(source: .file(path))
        XCTAssertTrue(probe.hasAudio)
        XCTAssertNil(probe.videoCodec)
        assertMediaError(.noVideoStream) { try decodeAll(.file(path)) }
        XCTAssertEqual(try AudioDecoder.decodeMono16k(.file(path)).count, 315_040, accuracy: 320)
    }

    /// Frames up to the cut are delivered, then the end is reported as truncation.
    func testTruncatedFileDeliversFramesThenReportsWhere() throws {
        let path = try Repo.media("edge/truncated_61.mp4")
        XCTAssertNoThrow(try MediaProbe(source: .file(path)))  // the index at the start is intact
        let decoder = try VideoDecoder(source: .file(path))
        var last = 0.0
        do {
            while let frame = try decoder.nextFrame() { last = frame.t }
            XCTFail("expected truncation")
        } catch let error as MediaError {
            XCTAssertEqual(error, .truncated(percent: 61))
        }
        XCTAssertEqual(last / 19.69, 0.61, accuracy: 0.02)
    }

    /// Matroska has no up-front index: the cut shows as frames ending before the declared duration.
    func testTruncatedWebmReportsTruncation() throws {
        let path = try Repo.media("edge/truncated_60.webm")
        XCTAssertThrowsError(try decodeAll(.file(path))) { error in
            guard case let .truncated(percent)? = error as? MediaError else { return XCTFail("\(error)") }
            XCTAssertTrue((30...70).contains(percent), "\(percent)")
        }
    }

    /// 400 flipped bits in the media data: damaged pictures are concealed by the decoder, every frame
    /// still comes out with its time, nothing crashes.
    func testBitFlippedDataStillDecodes() throws {
        let path = try Repo.media("edge/bitflip_data.mp4")
        var times: [Double] = []
        _ = try decodeAll(.file(path)) { times.append($0.t) }
        XCTAssertEqual(times.count, 472)
        XCTAssertEqual(times, times.sorted())
    }

    func testValidUnusualInputs() throws {
        let vp9 = try MediaProbe(source: .file(try Repo.media("edge/vp9.webm")))
        XCTAssertEqual([vp9.container, vp9.videoCodec], ["matroska,webm", "vp9"])
        XCTAssertEqual(try decodeAll(.file(try Repo.media("edge/vp9.webm"))), 48)
        XCTAssertEqual(try decodeAll(.file(try Repo.media("edge/rotated_90.mp4"))), 50)
        // A still image is a one-frame video.
        XCTAssertEqual(try decodeAll(.file(try Repo.media("feat/single_face.jpg"))), 1)
        XCTAssertEqual(try ImageDecoder.decode(.file(try Repo.media("edge/grey.png"))).isGreyscale, true)
        // ... but a video is not an image.
        assertMediaError(.unsupportedContainer("mov,mp4,m4a,3gp,3g2,mj2")) {
            try ImageDecoder.decode(.file(try Repo.media("edge/rotated_90.mp4")))
        }
    }

    func testMissingFile() {
        assertMediaError(.cannotOpen(path: "/nonexistent/x.mp4", reason: "No such file or directory")) {
            try MediaProbe(source: .file("/nonexistent/x.mp4"))
        }
        assertMediaError(.cannotOpen(path: "/tmp", reason: "not a regular file")) { try MediaProbe(source: .file("/tmp")) }
    }
}
