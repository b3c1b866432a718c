import ArgumentParser
import Foundation
import Media
import Tensor
import Vision

#if canImport(Glibc)
    import Glibc
#endif

/// `affectd-bench bench-net --network NAME --batch B --threads N`: times one network of a model package
/// (built once; each iteration = arena reset + run) and prints JSON. `--network pnet` runs every
/// pyramid level of a 640x360 frame per iteration; `--network mtcnn --media FILE` times full-frame
/// detection on the first `--frames` decoded frames; `--network face_mesh --media FILE` times MediaPipe's
/// face detector alone and the whole face mesh path (detector, landmarks, blendshapes for MTCNN's faces,
/// found once beforehand) on the first frame. Driven by benchmarks/networks.py and face_landmarker.py.
struct BenchNetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-net", abstract: "Time a package network or full MTCNN detection (JSON out).")

    @Option(help: "A package network (pnet, face_detector, ...), mtcnn (full detector) or face_mesh (whole face mesh path).")
    var network: String
    @Option(help: "Batch size.") var batch: Int = 1
    @Option(help: "Intra-op threads (OpenBLAS stays single-threaded; docs/engine.md).") var threads: Int = 1
    @Option(help: "Timed iterations.") var iters: Int = 30
    @Option(help: "Untimed warm-up iterations.") var warmup: Int = 3
    @Option(help: "Model package directory.") var model: String = "models/default"
    @Option(help: "Video or image for --network mtcnn and face_mesh.") var media: String?
    @Option(help: "Frames decoded for --network mtcnn.") var frames: Int = 100
    @Flag(help: "Also print each block's share of the time (stderr), after the timed runs.") var profile = false

    func run() throws {
        guard threads >= 1, iters >= 1, batch >= 1, batch <= 256 else { throw ValidationError("threads, iters, batch must be >= 1 (batch <= 256)") }
        Engine.configure(intraOpThreads: threads)  // OpenBLAS stays single-threaded (docs/engine.md)
        let package = try ModelPackage(directory: model)
        var times: [Double] = []
        var extra: [String: JSON] = [:]
        if network == "face_mesh" {
            guard let media else { throw ValidationError("--network face_mesh needs --media FILE") }
            let img = try decode(media, frames: 1)[0]
            let mesh = try FaceMesh(package: package)
            let faces = try detect(FaceDetector(networks: try MTCNNNetworks(package: package)), img)
            let arena = Arena()
            var detector: [Double] = []
            var found = 0
            try img.pixels.withUnsafeBufferPointer { p in
                let view = RGBView(pixels: p.baseAddress!, width: img.width, height: img.height)
                for k in 0..<(max(warmup, 1) + iters) {
                    arena.reset()
                    let t0 = now()
                    found = try mesh.detector.detect(view, arena: arena).count
                    let t1 = now()
                    arena.reset()
                    _ = try mesh.run(view, faces: faces, blendshapes: true, arena: arena)
                    let t2 = now()
                    if k >= max(warmup, 1) {
                        detector.append((t1 - t0) * 1000)
                        times.append((t2 - t1) * 1000)
                    }
                }
            }
            extra = [
                "faces": .number(Double(faces.count)), "detections": .number(Double(found)),
                "detector_median_ms": .number(detector.sorted()[detector.count / 2]),
                "width": .number(Double(img.width)), "height": .number(Double(img.height)),
            ]
        } else if network == "mtcnn" {
            guard let media else { throw ValidationError("--network mtcnn needs --media FILE") }
            let detector = FaceDetector(networks: try MTCNNNetworks(package: package))
            let images = try decode(media, frames: frames)
            var faces = 0
            for img in images.prefix(warmup) { _ = try detect(detector, img) }
            for img in images {
                let t0 = now()
                faces += try detect(detector, img).count
                times.append((now() - t0) * 1000)
            }
            extra = [
                "frames": .number(Double(images.count)), "faces": .number(Double(faces)),
                "mean_ms": .number(times.reduce(0, +) / Double(times.count)),
                "width": .number(Double(images[0].width)), "height": .number(Double(images[0].height)),
            ]
        } else {
            let net = try package.network(network)
            guard net.inputs.count == 1 else { throw ValidationError("\(network) takes \(net.inputs.count) inputs") }
            let declared = net.inputs[0].shape
            // P-Net: every pyramid level of a 640x360 frame; the others: their fixed input size.
            let shapes: [[Int]] =
                declared.contains(where: { $0 == nil })
                ? DetectorConfig().scales(width: 640, height: 360).map { [batch, Int(360 * $0 + 1), Int(640 * $0 + 1), 3] }
                : [[batch] + declared.map { $0! }]
            var seed: UInt32 = 12345
            let inputs = shapes.map { s -> Tensor in
                let t = Tensor(zeros: s, layout: .nhwc)
                for i in 0..<t.count { seed = seed &* 1_664_525 &+ 1_013_904_223; t.data[i] = Float(seed >> 8) / Float(1 << 24) * 2 - 1 }
                return t
            }
            let arena = Arena()
            for _ in 0..<max(warmup, 1) { for x in inputs { arena.reset(); _ = try net.run([x], arena: arena) } }
            for _ in 0..<iters {
                let t0 = now()
                for x in inputs { arena.reset(); _ = try net.run([x], arena: arena) }
                times.append((now() - t0) * 1000)
            }
            if profile { try printProfile(net, inputs: inputs, arena: arena) }
            extra = [
                "levels": .number(Double(shapes.count)), "input": .string(shapes.map { $0.map(String.init).joined(separator: "x") }.joined(separator: ",")),
            ]
        }
        let sorted = times.sorted()
        var out: [String: JSON] = [
            "network": .string(network), "batch": .number(Double(batch)), "threads": .number(Double(threads)),
            "median_ms": .number(sorted[sorted.count / 2]), "min_ms": .number(sorted[0]),
            "iters": .number(Double(times.count)), "corename": .string(BLAS.coreName),
            "gemm_tile": .string(Engine.gemmTile),
        ]
        for (k, v) in extra { out[k] = v }
        print(JSON.object(out).serialized)
    }

    /// Mean time per block over `iters` runs of every input, slowest first, on stderr.
    private func printProfile(_ net: Network, inputs: [Tensor], arena: Arena) throws {
        var seconds: [Double] = []
        for _ in 0..<iters { for x in inputs { arena.reset(); try net.profile([x], arena: arena, seconds: &seconds) } }
        let total = seconds.reduce(0, +)
        var lines = ["block                              op                  mean ms   share"]
        for (i, b) in net.blockNames.enumerated().sorted(by: { seconds[$0.offset] > seconds[$1.offset] }) {
            let ms = seconds[i] * 1000 / Double(iters)
            lines.append(
                b.name.padding(toLength: 34, withPad: " ", startingAt: 0) + " " + b.op.padding(toLength: 16, withPad: " ", startingAt: 0)
                    + String(format: "%10.4f %6.1f%%", ms, 100 * seconds[i] / max(total, 1e-12)))
        }
        FileHandle.standardError.write((lines.joined(separator: "\n") + "\n").data(using: .utf8)!)
    }

    private func decode(_ media: String, frames: Int) throws -> [(width: Int, height: Int, pixels: [UInt8])] {
        let decoder = try VideoDecoder(source: .file(media))
        let converter = FrameConverter()
        var images: [(width: Int, height: Int, pixels: [UInt8])] = []
        let buffer = RGBFrameBuffer()
        while images.count < frames, let f = try decoder.nextFrame() {
            _ = try buffer.convert(f, with: converter)
            images.append((buffer.width, buffer.height, buffer.pixels))
        }
        guard !images.isEmpty else { throw ValidationError("\(media): no frames") }
        return images
    }

    private func detect(_ d: FaceDetector, _ img: (width: Int, height: Int, pixels: [UInt8])) throws -> [Face] {
        try img.pixels.withUnsafeBufferPointer { try d.detect(RGBView(pixels: $0.baseAddress!, width: img.width, height: img.height)) }
    }

    private func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }
}
