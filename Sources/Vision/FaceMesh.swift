import Foundation
import Tensor

/// MediaPipe's Face Landmarker in image mode (package section "face_landmarker", docs/vision.md): its
/// face detector (BlazeFace) on the whole frame, then per face the landmark network on the detector's
/// ROI (the box 1.5x around its centre, turned so the eye keypoints are level, stretched to 256x256),
/// 478 3-D landmarks back in frame pixels, a presence score and 52 blendshape scores. The pipeline's
/// faces are MTCNN's: each is paired with the detection that overlaps it most (IoU >= `minIoU`, one to
/// one, best pairs first); a face MediaPipe's detector misses is seeded by MTCNN's box instead.
public final class FaceMesh: Sendable {
    public let detector: BlazeFace
    public let landmarks: Network
    public let blendshapes: Network
    /// Indices of the 146 landmarks the blendshape network reads.
    public let subset: [Int]
    public let blendshapeNames: [String]
    static let size = 256
    static let roiScale: Float = 1.5
    static let points = 478
    /// IoU of an MTCNN box and BlazeFace's box of the same face: 0.32-0.75 on the vision vectors' faces
    /// (BlazeFace's box is larger and lower), <= 0.001 between neighbouring faces of multi_face.jpg.
    public static let minIoU: Float = 0.25

    public init(package: ModelPackage) throws {
        guard let section = package.manifest["face_landmarker"] else { throw ModelPackageError("package has no face_landmarker section") }
        guard let detectorName = section["detector"]?.string else {
            throw ModelPackageError("face_landmarker.detector is missing: rebuild the package (scripts/build-default-model.sh)")
        }
        detector = try BlazeFace(network: package.network(detectorName))
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

    /// The turned rectangle the landmark network sees, in frame pixels: centre, width, height and the
    /// angle (radians) it is turned by.
    public struct Region: Sendable, Equatable {
        public var centre: Point
        public var width: Float
        public var height: Float
        public var angle: Float

        /// MediaPipe's ROI from its detector: the box 1.5x around its centre (not squared: the crop
        /// stretches it), turned so the line from the subject's right eye to the left is level.
        public init(detection d: BlazeFace.Detection) {
            centre = d.box.centre
            width = d.box.width * FaceMesh.roiScale
            height = d.box.height * FaceMesh.roiScale
            angle = atan2(d.keypoints[1].y - d.keypoints[0].y, d.keypoints[1].x - d.keypoints[0].x)
        }

        /// The same from an MTCNN face (a square on the longer side, turned by MTCNN's eyes): only a
        /// first guess, refined by `init(landmarks:)`.
        public init(face: Face) {
            centre = face.box.centre
            width = max(face.box.width, face.box.height) * FaceMesh.roiScale
            height = width
            angle = face.landmarks.count >= 2 ? atan2(face.landmarks[1].y - face.landmarks[0].y, face.landmarks[1].x - face.landmarks[0].x) : 0
        }

        /// MediaPipe's ROI from landmarks (its tracking step): the points' bounding box, 1.5x, square,
        /// turned so the outer eye corners (33, 263) are level.
        public init(landmarks p: [SIMD3<Float>]) {
            var lo = SIMD2<Float>(.infinity, .infinity), hi = -lo
            for q in p { lo = pointwiseMin(lo, SIMD2(q.x, q.y)); hi = pointwiseMax(hi, SIMD2(q.x, q.y)) }
            let c = (lo + hi) / 2
            centre = Point(x: c.x, y: c.y)
            width = max(hi.x - lo.x, hi.y - lo.y) * FaceMesh.roiScale
            height = width
            angle = p.count > 263 ? atan2(p[263].y - p[33].y, p[263].x - p[33].x) : 0
        }

        /// Frame position of crop coordinates (u, v) in 0...1 (the crop's corners on the region's).
        func crop(_ u: Float, _ v: Float) -> Point {
            let dx = (u - 0.5) * width, dy = (v - 0.5) * height
            let c = cos(angle), s = sin(angle)
            return Point(x: centre.x + c * dx - s * dy, y: centre.y + s * dx + c * dy)
        }

        /// Frame position of a landmark at (u, v) in 0...1 of the crop, as MediaPipe's LandmarkProjection
        /// computes it (turned before scaling by width and height: the same as `crop` for a square).
        func project(_ u: Float, _ v: Float) -> Point {
            let c = cos(angle), s = sin(angle), dx = u - 0.5, dy = v - 0.5
            return Point(x: centre.x + (c * dx - s * dy) * width, y: centre.y + (s * dx + c * dy) * height)
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
        /// MediaPipe's detection this face was paired with (nil: seeded by MTCNN's box).
        public var detection: BlazeFace.Detection?
    }

    /// Landmarks (and blendshapes when asked) of `faces` in `image`, batched, in `faces`' order.
    public func run(_ image: RGBView, faces: [Face], blendshapes wantBlendshapes: Bool, arena: Arena) throws -> [Result] {
        guard !faces.isEmpty else { return [] }
        let detections = try detector.detect(image, arena: arena)
        let paired = Self.pair(faces, detections)
        let regions = faces.indices.map { k in paired[k].map { Region(detection: detections[$0]) } ?? Region(face: faces[k]) }
        var results = try run(image, regions: regions, arena: arena)
        // Faces MediaPipe's detector missed: MTCNN's box sits higher and wider than BlazeFace's, so its
        // first landmarks only place the crop the result is read from (MediaPipe's tracking ROI).
        let unpaired = faces.indices.filter { paired[$0] == nil }
        if !unpaired.isEmpty {
            let again = try run(image, regions: unpaired.map { Region(landmarks: results[$0].landmarks) }, arena: arena)
            for (k, r) in zip(unpaired, again) { results[k] = r }
        }
        for k in faces.indices { results[k].detection = paired[k].map { detections[$0] } }
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

    /// For each face the index of its detection: greedy one-to-one on IoU, best pairs first, >= minIoU.
    static func pair(_ faces: [Face], _ detections: [BlazeFace.Detection]) -> [Int?] {
        var candidates: [(iou: Float, face: Int, detection: Int)] = []
        for (i, f) in faces.enumerated() {
            for (j, d) in detections.enumerated() {
                let iou = f.box.iou(d.box)
                if iou >= minIoU { candidates.append((iou, i, j)) }
            }
        }
        var paired = [Int?](repeating: nil, count: faces.count), taken = Set<Int>()
        for c in candidates.sorted(by: { $0.iou > $1.iou }) where paired[c.face] == nil && !taken.contains(c.detection) {
            paired[c.face] = c.detection
            taken.insert(c.detection)
        }
        return paired
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
            let unit = 1 / Float(size)
            let points = (0..<Self.points).map { i -> SIMD3<Float> in
                let p = region.project(raw[i * 3] * unit, raw[i * 3 + 1] * unit)
                return SIMD3(p.x, p.y, raw[i * 3 + 2] * unit * region.width)
            }
            results.append(Result(landmarks: points, presence: 1 / (1 + exp(-outs[1].data[k])), blendshapes: [], detection: nil))
        }
        return results
    }

    /// `region` resampled to 256x256 as MediaPipe's ImageToTensor does on the CPU (OpenCV's warp):
    /// crop pixel (u, v) reads the frame at `crop(u / 256, v / 256)`, bilinear with pixel centres at
    /// integers and edges replicated, rounded to 8 bits; floats in 0...1 (HWC).
    static func sample(_ image: RGBView, _ region: Region, into out: UnsafeMutablePointer<Float>) {
        let maxX = Float(image.width - 1), maxY = Float(image.height - 1)
        let origin = region.crop(0, 0), right = region.crop(1, 0), down = region.crop(0, 1)
        let stepU = SIMD2((right.x - origin.x) / Float(size), (right.y - origin.y) / Float(size))
        let stepV = SIMD2((down.x - origin.x) / Float(size), (down.y - origin.y) / Float(size))
        for v in 0..<size {
            let row = SIMD2(origin.x, origin.y) + Float(v) * stepV
            for u in 0..<size {
                let p = row + Float(u) * stepU
                let x = min(max(p.x, 0), maxX), y = min(max(p.y, 0), maxY)
                let x0 = Int(x), y0 = Int(y), x1 = min(x0 + 1, image.width - 1), y1 = min(y0 + 1, image.height - 1)
                let fx = x - Float(x0), fy = y - Float(y0)
                let p00 = image.pixels + (y0 * image.width + x0) * 3, p01 = image.pixels + (y0 * image.width + x1) * 3
                let p10 = image.pixels + (y1 * image.width + x0) * 3, p11 = image.pixels + (y1 * image.width + x1) * 3
                let o = out + (v * size + u) * 3
                for c in 0..<3 {
                    let top = Float(p00[c]) * (1 - fx) + Float(p01[c]) * fx
                    let bottom = Float(p10[c]) * (1 - fx) + Float(p11[c]) * fx
                    o[c] = (top * (1 - fy) + bottom * fy).rounded() / 255
                }
            }
        }
    }
}
