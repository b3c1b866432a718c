import Foundation
import Tensor

/// MediaPipe's face detector (BlazeFace short range, `face_detector.tflite` of the Face Landmarker
/// bundle) with the graph around it as face_detector_graph.cc configures it; tools/reference/blazeface.py
/// is the numpy twin the tests compare with:
/// - the whole frame padded to a square around its centre, sampled at 128x128 with the square's corners
///   on the tensor's corners (bilinear, zero outside the frame), rounded to 8 bits (MediaPipe warps
///   uint8 pixels) and scaled to [-1, 1];
/// - 896 anchors: 2 per cell of the 16x16 map (stride 8), 6 per cell of the 8x8 map (strides 16, 16, 16);
/// - per anchor x, y, w, h and 6 keypoints, divided by 128 and offset by the anchor centre; score =
///   sigmoid(logit clipped to +-100), kept when >= 0.5;
/// - weighted NMS (IoU > 0.5 joins the best remaining detection: score-weighted mean box and keypoints,
///   the best one's score), then back to frame pixels.
public final class BlazeFace: Sendable {
    public struct Detection: Sendable, Equatable {
        public var box: Box
        /// Subject's right eye, left eye, nose tip, mouth, right ear tragion, left ear tragion (frame pixels).
        public var keypoints: [Point]
        public var score: Float
    }

    public let network: Network
    static let size = 128
    static let keypointCount = 6
    static let minScore: Float = 0.5
    static let minSuppression: Float = 0.5
    static let scoreClip: Float = 100
    /// Anchor centres (x, y) in 0...1, in the network's output order.
    static let anchors: [SIMD2<Float>] = {
        var out: [SIMD2<Float>] = []
        for (cells, perCell) in [(16, 2), (8, 6)] {
            for y in 0..<cells {
                for x in 0..<cells {
                    let c = SIMD2((Float(x) + 0.5) / Float(cells), (Float(y) + 0.5) / Float(cells))
                    out += Array(repeating: c, count: perCell)
                }
            }
        }
        return out
    }()

    public init(network: Network) throws {
        guard network.outputNames.contains("regressors"), network.outputNames.contains("classificators") else {
            throw ModelPackageError("face detector network needs outputs regressors and classificators, has \(network.outputNames)")
        }
        self.network = network
    }

    /// Faces in `image`, best first.
    public func detect(_ image: RGBView, arena: Arena) throws -> [Detection] {
        let x = arena.tensor([1, Self.size, Self.size, 3], layout: .nhwc)
        Self.letterbox(image, into: x.data)
        let outs = try network.run([x], arena: arena)
        let named = Dictionary(uniqueKeysWithValues: zip(network.outputNames, outs))
        guard let raw = named["regressors"], let logits = named["classificators"],
            raw.count == Self.anchors.count * 16, logits.count == Self.anchors.count
        else { throw TensorError.shape("face_detector: outputs \(outs.map(\.shape))") }
        let found = Self.weightedNMS(Self.decode(raw.data, logits.data))
        let side = Float(max(image.width, image.height))
        let dx = (Float(image.width) - side) / 2, dy = (Float(image.height) - side) / 2
        return found.map { d in
            Detection(
                box: Box(x1: d.box.x1 * side + dx, y1: d.box.y1 * side + dy, x2: d.box.x2 * side + dx, y2: d.box.y2 * side + dy),
                keypoints: d.keypoints.map { Point(x: $0.x * side + dx, y: $0.y * side + dy) }, score: d.score)
        }
    }

    /// The frame as the network's input, [128, 128, 3] floats in [-1, 1] (HWC).
    static func letterbox(_ image: RGBView, into out: UnsafeMutablePointer<Float>) {
        let w = image.width, h = image.height
        let side = Float(max(w, h)), step = side / Float(size)
        let left = (Float(w) - side) / 2, top = (Float(h) - side) / 2
        func pixel(_ x: Int, _ y: Int, _ c: Int) -> Float {
            x >= 0 && x < w && y >= 0 && y < h ? Float(image.pixels[(y * w + x) * 3 + c]) : 0
        }
        for v in 0..<size {
            let sy = top + Float(v) * step, y0f = sy.rounded(.down), fy = sy - y0f, y0 = Int(y0f)
            for u in 0..<size {
                let sx = left + Float(u) * step, x0f = sx.rounded(.down), fx = sx - x0f, x0 = Int(x0f)
                let o = out + (v * size + u) * 3
                for c in 0..<3 {
                    let top = pixel(x0, y0, c) * (1 - fx) + pixel(x0 + 1, y0, c) * fx
                    let bottom = pixel(x0, y0 + 1, c) * (1 - fx) + pixel(x0 + 1, y0 + 1, c) * fx
                    o[c] = (top * (1 - fy) + bottom * fy).rounded() / 127.5 - 1
                }
            }
        }
    }

    /// Detections above the score threshold, in 0...1 of the letterboxed square.
    static func decode(_ raw: UnsafePointer<Float>, _ logits: UnsafePointer<Float>) -> [Detection] {
        let s = Float(size)
        var out: [Detection] = []
        for (i, a) in anchors.enumerated() {
            let score = 1 / (1 + exp(-min(max(logits[i], -scoreClip), scoreClip)))
            guard score >= minScore else { continue }
            let r = raw + i * 16
            let cx = r[0] / s + a.x, cy = r[1] / s + a.y, w = r[2] / s, h = r[3] / s
            let keypoints = (0..<keypointCount).map { k in Point(x: r[4 + 2 * k] / s + a.x, y: r[5 + 2 * k] / s + a.y) }
            out.append(Detection(box: Box(x1: cx - w / 2, y1: cy - h / 2, x2: cx + w / 2, y2: cy + h / 2), keypoints: keypoints, score: score))
        }
        return out
    }

    /// MediaPipe's WEIGHTED non-maximum suppression on IoU.
    static func weightedNMS(_ detections: [Detection]) -> [Detection] {
        var remaining = detections.indices.sorted { detections[$0].score > detections[$1].score }
        var out: [Detection] = []
        while let best = remaining.first {
            let reference = detections[best].box
            let group = remaining.filter { detections[$0].box.iou(reference) > minSuppression }
            // A zero-area best box overlaps nothing, not even itself: MediaPipe keeps it as it is and stops.
            guard !group.isEmpty else {
                out.append(detections[best])
                break
            }
            remaining.removeAll { group.contains($0) }
            var box = SIMD4<Float>(), keypoints = [SIMD2<Float>](repeating: .zero, count: keypointCount), total: Float = 0
            for i in group {
                let d = detections[i]
                total += d.score
                box += SIMD4(d.box.x1, d.box.y1, d.box.x2, d.box.y2) * d.score
                for k in 0..<keypointCount { keypoints[k] += SIMD2(d.keypoints[k].x, d.keypoints[k].y) * d.score }
            }
            box /= total
            out.append(
                Detection(
                    box: Box(x1: box[0], y1: box[1], x2: box[2], y2: box[3]),
                    keypoints: keypoints.map { Point(x: $0.x / total, y: $0.y / total) }, score: detections[best].score))
        }
        return out
    }
}
