import Foundation
import Media
import TestSupport
import XCTest

/// RGB output against the ffmpeg CLI doing the same conversion (same swscale, same flags).
final class ConversionTests: XCTestCase {
    /// Our first `count` frames as RGB, and ffmpeg's, as raw bytes.
    private func compare(
        _ relative: String, size: FrameSize, ffmpegFilter: String, count: Int,
        alpha: Bool = false, maxDiff: Int = 0, meanDiff: Double = 0,
        file: StaticString = #filePath, line: UInt = #line
    ) throws {
        let path = try Repo.media(relative)
        let converter = FrameConverter(size: size, filter: .bilinear)
        var ours: [UInt8] = []
        var shape = (0, 0)
        let decoder = try VideoDecoder(source: .file(path))
        while ours.count < count * shape.0 * shape.1 * (alpha ? 4 : 3) || ours.isEmpty, let frame = try decoder.nextFrame() {
            let image = try converter.rgb8(frame, alpha: alpha)
            shape = (image.width, image.height)
            ours += image.pixels
        }
        let reference = try runTool(
            "ffmpeg",
            [
                "-nostdin", "-v", "error", "-i", path, "-frames:v", String(count),
                "-vf", ffmpegFilter, "-pix_fmt", alpha ? "rgba" : "rgb24",
                "-f", "rawvideo", "-",
            ])
        XCTAssertEqual(ours.count, reference.count, "\(relative): \(shape)", file: file, line: line)
        guard ours.count == reference.count else { return }
        var worst = 0
        var total = 0
        reference.withUnsafeBytes { ref in
            for i in 0..<ours.count {
                let d = abs(Int(ours[i]) - Int(ref[i]))
                worst = max(worst, d)
                total += d
            }
        }
        let mean = Double(total) / Double(ours.count)
        XCTAssertLessThanOrEqual(worst, maxDiff, "\(relative): max |diff|", file: file, line: line)
        XCTAssertLessThanOrEqual(mean, meanDiff, "\(relative): mean |diff|", file: file, line: line)
    }

    func testResizedRGBIsByteIdenticalToFFmpeg() throws {
        // BT.601 limited (h264), BT.709 limited (hevc), unspecified (h264), full-range JPEG.
        for clip in ["feat/WolfgangLanger_Pexels.mp4", "feat/face_noface.mov", "feat/single_face.mp4"] {
            try compare(clip, size: .stretch(width: 224, height: 224), ffmpegFilter: "scale=224:224:flags=bilinear", count: 5)
        }
        try compare(
            "feat/single_face.jpg", size: .stretch(width: 224, height: 224),
            ffmpegFilter: "scale=224:224:flags=bilinear", count: 1)
    }

    func testNativeRGBIsByteIdenticalToFFmpeg() throws {
        try compare("feat/WolfgangLanger_Pexels.mp4", size: .native, ffmpegFilter: "scale=flags=bilinear", count: 3)
        try compare("feat/BWPictureHuman.jpg", size: .native, ffmpegFilter: "scale=flags=bilinear", count: 1)
        try compare("edge/vp9.webm", size: .native, ffmpegFilter: "scale=flags=bilinear", count: 3)
    }

    func testImagesWithAlphaGreyAndSixteenBits() throws {
        try compare("feat/Image_with_alpha.png", size: .native, ffmpegFilter: "scale=flags=bilinear", count: 1, alpha: true)
        try compare("edge/grey.png", size: .native, ffmpegFilter: "scale=flags=bilinear", count: 1)
        try compare("edge/grey_alpha.png", size: .native, ffmpegFilter: "scale=flags=bilinear", count: 1, alpha: true)
        try compare("edge/rgb48.png", size: .native, ffmpegFilter: "scale=flags=bilinear", count: 1)

        let alpha = try ImageDecoder.decode(.file(try Repo.media("feat/Image_with_alpha.png")))
        XCTAssertTrue(alpha.hasAlpha)
        XCTAssertEqual([alpha.width, alpha.height], [1524, 1036])
        let grey = try ImageDecoder.decode(.file(try Repo.media("feat/BWPictureHuman.jpg")))
        XCTAssertTrue(grey.isGreyscale)
        XCTAssertFalse(grey.hasAlpha)
        let rgb = try FrameConverter(size: .fit(width: 256, height: 256)).rgb8(grey)
        XCTAssertEqual([rgb.width, rgb.height], [256, 191])  // 2560x1912 fitted, aspect kept
        // Same file through memory.
        let fromMemory = try ImageDecoder.decode(.memory(try Data(contentsOf: URL(fileURLWithPath: try Repo.media("feat/single_face.jpg")))))
        XCTAssertEqual([fromMemory.width, fromMemory.height], [572, 562])
    }

    /// ffmpeg applies the display matrix (autorotate) before converting; we convert, then rotate.
    /// Chroma is interpolated along the other axis, so a small difference remains.
    func testRotationMatchesFFmpegAutorotate() throws {
        let probe = try MediaProbe(source: .file(try Repo.media("edge/rotated_90.mp4")))
        XCTAssertEqual([probe.width, probe.height, probe.rotation], [360, 640, 270])
        try compare(
            "edge/rotated_90.mp4", size: .native, ffmpegFilter: "scale=flags=bilinear", count: 2,
            maxDiff: 40, meanDiff: 1.0)
    }

    func testFitKeepsAspectAndAppliesRotation() throws {
        let decoder = try VideoDecoder(source: .file(try Repo.media("edge/rotated_90.mp4")))
        let frame = try XCTUnwrap(try decoder.nextFrame())
        XCTAssertEqual([frame.width, frame.height, frame.codedWidth, frame.codedHeight], [360, 640, 640, 360])
        let converter = FrameConverter(size: .fit(width: 224, height: 224))
        XCTAssertTrue(converter.outputSize(for: frame) == (126, 224))
        let rgb = try converter.rgb8(frame)
        let chw = try converter.floatCHW(frame)
        XCTAssertEqual([rgb.width, rgb.height, chw.width, chw.height], [126, 224, 126, 224])
    }

    /// Planar float (what tensors take) is exactly ffmpeg's gbrpf32le output, reordered to R, G, B;
    /// it agrees with 8-bit RGB / 255 only loosely: swscale's 8-bit path (fast table-driven YUV->RGB)
    /// and its float path (generic, higher precision) differ by up to 14 levels at chroma edges, ~1.5 on average.
    func testFloatCHWMatchesFFmpegAndRGB8() throws {
        for clip in ["feat/WolfgangLanger_Pexels.mp4", "feat/face_noface.mov"] {
            let path = try Repo.media(clip)
            let decoder = try VideoDecoder(source: .file(path))
            let frame = try XCTUnwrap(try decoder.nextFrame())
            let converter = FrameConverter(size: .stretch(width: 224, height: 224))
            let chw = try converter.floatCHW(frame)
            let plane = 224 * 224
            let raw = try runTool(
                "ffmpeg",
                [
                    "-nostdin", "-v", "error", "-i", path, "-frames:v", "1", "-vf",
                    "scale=224:224:flags=bilinear", "-pix_fmt", "gbrpf32le", "-f", "rawvideo", "-",
                ])
            let gbr = raw.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
            XCTAssertEqual(gbr.count, 3 * plane, clip)
            guard gbr.count == 3 * plane else { continue }
            let reference = Array(gbr[2 * plane..<3 * plane] + gbr[0..<plane] + gbr[plane..<2 * plane])
            XCTAssertEqual(chw.values, reference, clip)

            let rgb = try converter.rgb8(frame)
            var worst: Float = 0
            var total: Float = 0
            for y in 0..<224 {
                for x in 0..<224 {
                    for c in 0..<3 {
                        let d = abs(Float(rgb.pixels[(y * 224 + x) * 3 + c]) / 255 - chw.values[c * plane + y * 224 + x])
                        worst = max(worst, d)
                        total += d
                    }
                }
            }
            XCTAssertLessThanOrEqual(worst, 16 / 255, clip)
            XCTAssertLessThanOrEqual(total / Float(3 * plane), 2 / 255, clip)
        }
        let rotated = try VideoDecoder(source: .file(try Repo.media("edge/rotated_90.mp4")))
        let chw = try FrameConverter(size: .native).floatCHW(try XCTUnwrap(try rotated.nextFrame()))
        XCTAssertEqual([chw.width, chw.height], [360, 640])
        XCTAssertGreaterThanOrEqual(chw.values.min() ?? -1, 0)
        XCTAssertLessThanOrEqual(chw.values.max() ?? 2, 1)
    }

    func testPNGEncoderRoundTrip() throws {
        let frame = try ImageDecoder.decode(.file(try Repo.media("feat/multi_face.jpg")))
        let rgb = try FrameConverter(size: .fit(width: 200, height: 200)).rgb8(frame)
        let png = try PNGEncoder.encode(rgb)
        let back = try FrameConverter().rgb8(try ImageDecoder.decode(.memory(Data(png))))
        XCTAssertEqual(back, rgb)
    }
}
