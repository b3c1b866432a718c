import Tensor

/// MTCNN settings; defaults are facenet-pytorch's (`MTCNN()`), overridable by the manifest's
/// "detector" section.
public struct DetectorConfig: Sendable, Equatable {
    public var minFace: Double = 20
    public var factor: Double = 0.709
    public var thresholds: (Float, Float, Float) = (0.6, 0.7, 0.7)
    public var nmsPerScale: Float = 0.5
    public var nmsAcrossScales: Float = 0.7
    public var nmsRNet: Float = 0.7
    public var nmsONetMin: Float = 0.7
    /// Tracking between detections (`FaceDetector.track`): a followed face whose O-Net score is at or
    /// below this (twice) ends.
    public var trackThreshold: Float = 0.7
    public init() {}

    public init(json: JSON?) {
        guard let j = json else { return }
        if let v = j["min_face"]?.double { minFace = v }
        if let v = j["factor"]?.double { factor = v }
        if let t = j["thresholds"]?.array, t.count == 3, let a = t[0].double, let b = t[1].double, let c = t[2].double {
            thresholds = (Float(a), Float(b), Float(c))
        }
        if let v = j["track_threshold"]?.double { trackThreshold = Float(v) }
        if let n = j["nms"] {
            if let v = n["pnet_scale"]?.double { nmsPerScale = Float(v) }
            if let v = n["pnet_all"]?.double { nmsAcrossScales = Float(v) }
            if let v = n["rnet"]?.double { nmsRNet = Float(v) }
            if let v = n["onet_min"]?.double { nmsONetMin = Float(v) }
        }
    }

    public static func == (a: DetectorConfig, b: DetectorConfig) -> Bool {
        a.minFace == b.minFace && a.factor == b.factor && a.thresholds == b.thresholds && a.nmsPerScale == b.nmsPerScale
            && a.nmsAcrossScales == b.nmsAcrossScales && a.nmsRNet == b.nmsRNet && a.nmsONetMin == b.nmsONetMin
            && a.trackThreshold == b.trackThreshold
    }

    /// Pyramid scales: 0.6 * factor^k while min(h, w) * scale >= 12 (facenet-pytorch, in Double).
    public func scales(width: Int, height: Int) -> [Double] {
        let m = 12.0 / minFace
        var minl = Double(min(width, height)) * m, s = m
        var out: [Double] = []
        while minl >= 12 { out.append(s); s *= factor; minl *= factor }
        return out
    }
}

/// The three MTCNN networks of a package, built once and shared by every detector.
public struct MTCNNNetworks: @unchecked Sendable {
    public let pnet: Network, rnet: Network, onet: Network
    public let config: DetectorConfig
    public init(package: ModelPackage) throws {
        pnet = try package.network("pnet")
        rnet = try package.network("rnet")
        onet = try package.network("onet")
        config = DetectorConfig(json: package.manifest["detector"])
    }
}

/// The MTCNN face detector exactly as facenet-pytorch 2.6.0 runs it (tools/reference/mtcnn.py is
/// the numpy twin the parity tests compare with): area-resampled pyramid, P-Net per level with NMS
/// 0.5, NMS 0.7 across levels, regression and squaring; R-Net on int-truncated, clamped 24x24 area
/// crops (all candidates in one batch), NMS 0.7, regression, squaring; O-Net on 48x48 crops with
/// landmarks, regression, 'Min' NMS 0.7; faces ordered by area, largest first. Box arithmetic is
/// Float, as torch does it. One detector per worker thread (it owns its arena and scratch lists).
public final class FaceDetector {
    public let networks: MTCNNNetworks
    public var config: DetectorConfig
    let arena = Arena(bytes: 8 << 20)
    /// Sums of the image of the current `detect` call, for its pyramid and its R/O-Net crops.
    private let areaSums = AreaSums()
    var cand: [Candidate] = []
    private var level: [Candidate] = []
    private var keep: [Int] = []
    private var order: [Int] = []
    private var suppressed: [Bool] = []

    /// A box with its score and the regression offsets that apply to it.
    struct Candidate {
        var x1: Float, y1: Float, x2: Float, y2: Float, score: Float
        var r0: Float = 0, r1: Float = 0, r2: Float = 0, r3: Float = 0
        var marks: (Float, Float, Float, Float, Float, Float, Float, Float, Float, Float) = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    }

    /// Times the detector's arena went to the system allocator (constant once warmed up).
    public var arenaSystemAllocations: Int { arena.systemAllocations }

    public init(networks: MTCNNNetworks) {
        self.networks = networks
        self.config = networks.config
    }

    /// Faces in an RGB image, largest first.
    public func detect(_ image: RGBView) throws -> [Face] {
        defer {
            arena.reset()
            areaSums.clear()
        }
        guard image.width >= 1, image.height >= 1 else { return [] }
        try proposeWithPNet(image)
        if cand.isEmpty { return [] }
        try refine(image, size: 24, threshold: config.thresholds.1)
        if cand.isEmpty { return [] }
        try refine(image, size: 48, threshold: config.thresholds.2)
        return candidateFaces()
    }

    /// The candidates as faces (box, score, the five landmarks).
    func candidateFaces() -> [Face] {
        cand.map { c in
            let m = withUnsafeBytes(of: c.marks) { Array($0.bindMemory(to: Float.self)) }
            return Face(
                box: Box(x1: c.x1, y1: c.y1, x2: c.x2, y2: c.y2), score: c.score,
                landmarks: (0..<5).map { Point(x: m[$0], y: m[5 + $0]) })
        }
    }

    // MARK: stage 1

    private func proposeWithPNet(_ image: RGBView) throws {
        cand.removeAll(keepingCapacity: true)
        let w = image.width, h = image.height
        areaSums.build(image)
        for scale in config.scales(width: w, height: h) {
            let lh = Int(Double(h) * scale + 1), lw = Int(Double(w) * scale + 1)
            let input = arena.tensor([1, lh, lw, 3], layout: .nhwc)
            let scratch = arena.floats(h * lw * 3)
            areaSums.resize(
                image, x0: 0, y0: 0, w: w, h: h, outW: lw, outH: lh, offset: 127.5, scale: 0.0078125, into: input.data,
                scratch: scratch)
            let out = try networks.pnet.run([input], arena: arena)
            let prob = out[0], reg = out[1]
            let oh = prob.dim(1), ow = prob.dim(2)
            let s = Float(scale)
            level.removeAll(keepingCapacity: true)
            for y in 0..<oh {
                for x in 0..<ow {
                    let cell = y * ow + x
                    let p = prob.data[2 * cell + 1]
                    guard p >= config.thresholds.0 else { continue }
                    let fx = Float(x), fy = Float(y)
                    let r = reg.data + 4 * cell
                    level.append(
                        Candidate(
                            x1: ((2 * fx + 1) / s).rounded(.down), y1: ((2 * fy + 1) / s).rounded(.down),
                            x2: ((2 * fx + 12) / s).rounded(.down), y2: ((2 * fy + 12) / s).rounded(.down),
                            score: p, r0: r[0], r1: r[1], r2: r[2], r3: r[3]))
                }
            }
            nms(level, threshold: config.nmsPerScale)
            for i in keep { cand.append(level[i]) }
            arena.reset()
        }
        nms(cand, threshold: config.nmsAcrossScales)
        level.removeAll(keepingCapacity: true)
        for i in keep {
            let b = cand[i]
            let rw = b.x2 - b.x1, rh = b.y2 - b.y1
            level.append(
                square(
                    Candidate(
                        x1: b.x1 + b.r0 * rw, y1: b.y1 + b.r1 * rh,
                        x2: b.x2 + b.r2 * rw, y2: b.y2 + b.r3 * rh, score: b.score)))
        }
        swap(&cand, &level)
    }

    // MARK: stages 2 and 3

    /// Crops every candidate (24 -> R-Net, 48 -> O-Net) into one batch and keeps what the network
    /// scores above `threshold`.
    func refine(_ image: RGBView, size: Int, threshold: Float) throws {
        let onet = size == 48
        level.removeAll(keepingCapacity: true)
        // Int truncation and clamping as facenet-pytorch's pad(); empty crops are dropped.
        var count = 0
        for c in cand where cropRect(c, image) != nil { count += 1 }
        if count == 0 { cand.removeAll(keepingCapacity: true); return }
        let batch = arena.tensor([count, size, size, 3], layout: .nhwc)
        var scratch: UnsafeMutablePointer<Float>? = nil
        var scratchCapacity = 0
        var n = 0
        for c in cand {
            guard let r = cropRect(c, image) else { continue }
            if r.h * size * 3 > scratchCapacity { scratchCapacity = r.h * size * 3; scratch = arena.floats(scratchCapacity) }
            areaSums.resize(
                image, x0: r.x, y0: r.y, w: r.w, h: r.h, outW: size, outH: size, offset: 127.5, scale: 0.0078125,
                into: batch.data + n * size * size * 3, scratch: scratch!)
            level.append(c)
            n += 1
        }
        let out = try (onet ? networks.onet : networks.rnet).run([batch], arena: arena)
        let prob = out[0], reg = out[1]
        cand.removeAll(keepingCapacity: true)
        for i in 0..<n {
            let score = prob.data[2 * i + 1]
            guard score > threshold else { continue }
            var c = level[i]
            c.score = score
            c.r0 = reg.data[4 * i]; c.r1 = reg.data[4 * i + 1]; c.r2 = reg.data[4 * i + 2]; c.r3 = reg.data[4 * i + 3]
            if onet {
                // Landmarks are relative to the box O-Net saw (before its regression), +1 convention.
                let m = out[2].data + 10 * i
                let wi = c.x2 - c.x1 + 1, hi = c.y2 - c.y1 + 1
                withUnsafeMutableBytes(of: &c.marks) { raw in
                    let p = raw.bindMemory(to: Float.self)
                    for k in 0..<5 { p[k] = wi * m[k] + c.x1 - 1; p[5 + k] = hi * m[5 + k] + c.y1 - 1 }
                }
            }
            cand.append(c)
        }
        arena.reset()
        if onet {
            for i in cand.indices { cand[i] = regress(cand[i]) }
            finishONet()
        } else {
            nms(cand, threshold: config.nmsRNet)
            level.removeAll(keepingCapacity: true)
            for i in keep { level.append(square(regress(cand[i]))) }
            swap(&cand, &level)
        }
    }

    /// O-Net's regressed candidates through 'Min' NMS, largest first.
    func finishONet() {
        nmsMin(cand, threshold: config.nmsONetMin)
        level.removeAll(keepingCapacity: true)
        for i in keep { level.append(cand[i]) }
        // Largest first; among equal areas the later one first, like numpy's argsort(...)[::-1].
        order.removeAll(keepingCapacity: true)
        order.append(contentsOf: level.indices)
        order.sort { a, b in
            let aa = (level[a].x2 - level[a].x1) * (level[a].y2 - level[a].y1)
            let ab = (level[b].x2 - level[b].x1) * (level[b].y2 - level[b].y1)
            return aa != ab ? aa > ab : a > b
        }
        cand.removeAll(keepingCapacity: true)
        for i in order { cand.append(level[i]) }
    }

    /// The crop facenet-pytorch takes: corners truncated to Int, top-left clamped to 1, bottom-right
    /// to the frame, 1-based inclusive -> 0-based [x-1, ex). nil when empty or not finite.
    private func cropRect(_ c: Candidate, _ image: RGBView) -> (x: Int, y: Int, w: Int, h: Int)? {
        let limit: Float = 1e9
        guard abs(c.x1) < limit, abs(c.y1) < limit, abs(c.x2) < limit, abs(c.y2) < limit else { return nil }
        let x = max(Int(c.x1), 1), y = max(Int(c.y1), 1)
        let ex = min(Int(c.x2), image.width), ey = min(Int(c.y2), image.height)
        guard ey > y - 1, ex > x - 1 else { return nil }
        return (x - 1, y - 1, ex - x + 1, ey - y + 1)
    }

    // MARK: box arithmetic (Float, in torch's order of operations)

    /// facenet-pytorch `rerec`: square on the longer side around the centre.
    func square(_ b: Candidate) -> Candidate {
        var b = b
        let h = b.y2 - b.y1, w = b.x2 - b.x1
        let side = max(w, h)
        b.x1 = b.x1 + w * 0.5 - side * 0.5
        b.y1 = b.y1 + h * 0.5 - side * 0.5
        b.x2 = b.x1 + side
        b.y2 = b.y1 + side
        return b
    }

    /// facenet-pytorch `bbreg` (+1 width convention).
    private func regress(_ b: Candidate) -> Candidate {
        var b = b
        let w = b.x2 - b.x1 + 1, h = b.y2 - b.y1 + 1
        b.x1 += b.r0 * w; b.y1 += b.r1 * h; b.x2 += b.r2 * w; b.y2 += b.r3 * h
        return b
    }

    /// torchvision.ops.nms: descending score (stable), IoU without +1, suppress IoU > threshold.
    /// Leaves the kept indices, in score order, in `keep`.
    private func nms(_ boxes: [Candidate], threshold: Float) {
        keep.removeAll(keepingCapacity: true)
        order.removeAll(keepingCapacity: true)
        order.append(contentsOf: boxes.indices)
        order.sort { boxes[$0].score != boxes[$1].score ? boxes[$0].score > boxes[$1].score : $0 < $1 }
        suppressed.removeAll(keepingCapacity: true)
        suppressed.append(contentsOf: repeatElement(false, count: boxes.count))
        for (a, i) in order.enumerated() where !suppressed[i] {
            keep.append(i)
            let bi = boxes[i]
            let areaI = (bi.x2 - bi.x1) * (bi.y2 - bi.y1)
            for j in order[(a + 1)...] where !suppressed[j] {
                let bj = boxes[j]
                let w = max(0, min(bi.x2, bj.x2) - max(bi.x1, bj.x1))
                let h = max(0, min(bi.y2, bj.y2) - max(bi.y1, bj.y1))
                let inter = w * h
                if inter / (areaI + (bj.x2 - bj.x1) * (bj.y2 - bj.y1) - inter) > threshold { suppressed[j] = true }
            }
        }
    }

    /// facenet-pytorch `nms_numpy(..., "Min")`: +1 areas, overlap over the smaller area, highest score
    /// first; keeps overlaps <= threshold.
    private func nmsMin(_ boxes: [Candidate], threshold: Float) {
        keep.removeAll(keepingCapacity: true)
        order.removeAll(keepingCapacity: true)
        order.append(contentsOf: boxes.indices)
        order.sort { boxes[$0].score != boxes[$1].score ? boxes[$0].score > boxes[$1].score : $0 > $1 }
        suppressed.removeAll(keepingCapacity: true)
        suppressed.append(contentsOf: repeatElement(false, count: boxes.count))
        for (a, i) in order.enumerated() where !suppressed[i] {
            keep.append(i)
            let bi = boxes[i]
            let areaI = (bi.x2 - bi.x1 + 1) * (bi.y2 - bi.y1 + 1)
            for j in order[(a + 1)...] where !suppressed[j] {
                let bj = boxes[j]
                let w = max(0, min(bi.x2, bj.x2) - max(bi.x1, bj.x1) + 1)
                let h = max(0, min(bi.y2, bj.y2) - max(bi.y1, bj.y1) + 1)
                let areaJ = (bj.x2 - bj.x1 + 1) * (bj.y2 - bj.y1 + 1)
                if w * h / min(areaI, areaJ) > threshold { suppressed[j] = true }
            }
        }
    }
}
