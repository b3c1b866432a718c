/// Tracking between detections: a face found on an earlier frame is re-found on this one by MTCNN's
/// last stage alone. O-Net sees the earlier box squared (as the detector squares R-Net's boxes before
/// O-Net; growing it by a margin made boxes drift on benchmarks/tracking.py's panned clip) and answers
/// as in detection: a face score, a regressed box and five landmarks. A face it scores at or below
/// `trackThreshold`, twice (see `follow`), is gone (its track ends). O-Net was trained on upright
/// faces, so a face tilted by `AlignedFerCrop.minDegrees` or more (its eye line) is followed on a
/// patch turned upright around it (`UprightPatch`); its new box is the upright box O-Net gives, placed
/// at the face's centre (the box AlignedFerCrop turns upright again). About one O-Net run per face
/// instead of the whole pyramid.
extension FaceDetector {
    /// The squared box's side on the upright patch, at most (larger faces are sampled down to it).
    static let patchPixels: Float = 96

    /// `previous` re-found in `image`, largest first (faces that converged onto one are merged by
    /// O-Net's 'Min' NMS, as in detection).
    public func track(_ previous: [Face], in image: RGBView) throws -> [Face] {
        defer { arena.reset() }
        guard image.width >= 1, image.height >= 1 else { return [] }
        var found: [Candidate] = []
        for face in previous {
            let angle = AlignedFerCrop.angle(face)
            if abs(angle) * 180 / .pi < AlignedFerCrop.minDegrees {
                if let c = try follow(face.box, in: image) { found.append(c) }
                continue
            }
            // Room for the squared box and a second look a little off it; no more (resampling is per
            // pixel), and no finer than O-Net needs (its 48x48 input is area-resized from the patch).
            let longer = max(face.box.width, face.box.height)
            let scale = min(1, Self.patchPixels / longer)
            let side = Int((longer * scale * 1.25).rounded(.up))
            guard let patch = UprightPatch(image, centre: face.box.centre, angle: angle, side: side, scale: scale) else { continue }
            let box = patch.centredBox(width: face.box.width * scale, height: face.box.height * scale)
            if let c = try patch.withView({ try follow(box, in: $0) }) { found.append(inImage(c, patch)) }
        }
        cand = found
        finishONet()
        return candidateFaces()
    }

    /// Detected faces with each tilted one (`AlignedFerCrop.minDegrees`) replaced by O-Net's upright
    /// box on its patch turned upright (kept as detected when O-Net does not confirm it), so detection
    /// and tracking frames give fer's aligned crop the same kind of box.
    public func straighten(_ faces: [Face], in image: RGBView) throws -> [Face] {
        try faces.map { face in
            let angle = AlignedFerCrop.angle(face)
            guard abs(angle) * 180 / .pi >= AlignedFerCrop.minDegrees else { return face }
            return try track([face], in: image).first ?? face
        }
    }

    /// The faces of `faces` that no box of `detected` overlaps (IoU > `maxOverlap`): on a detection
    /// frame, the ones the detector missed, which keep their tracks by being followed.
    public static func missed(_ faces: [Face], by detected: [Face], maxOverlap: Float = 0.3) -> [Face] {
        faces.filter { f in detected.allSatisfy { $0.box.iou(f.box) <= maxOverlap } }
    }

    /// O-Net's answer for an earlier box, or nil when it scores at or below `trackThreshold` twice: a
    /// low score gets a second look from the box O-Net regressed (a face that moved far, or a detected
    /// tilted face's axis-aligned box, which is larger than the upright face O-Net knows).
    private func follow(_ box: Box, in image: RGBView) throws -> Candidate? {
        cand = [start(box)]
        try refine(image, size: 48, threshold: -1)
        guard let first = cand.first else { return nil }
        if first.score > config.trackThreshold { return first }
        cand = [start(Box(x1: first.x1, y1: first.y1, x2: first.x2, y2: first.y2))]
        try refine(image, size: 48, threshold: config.trackThreshold)
        return cand.first
    }

    /// What O-Net sees of an earlier box: the box squared.
    private func start(_ box: Box) -> Candidate {
        square(Candidate(x1: box.x1, y1: box.y1, x2: box.x2, y2: box.y2, score: 0))
    }

    /// A candidate found on an upright patch, in image pixels: its box keeps its size around its
    /// centre's image position; the landmarks are turned back.
    private func inImage(_ c: Candidate, _ patch: UprightPatch) -> Candidate {
        var out = c
        let centre = patch.imagePoint(Point(x: (c.x1 + c.x2) / 2, y: (c.y1 + c.y2) / 2))
        let hw = (c.x2 - c.x1) / 2 / patch.scale, hh = (c.y2 - c.y1) / 2 / patch.scale
        out.x1 = centre.x - hw; out.x2 = centre.x + hw; out.y1 = centre.y - hh; out.y2 = centre.y + hh
        withUnsafeMutableBytes(of: &out.marks) { raw in
            let p = raw.bindMemory(to: Float.self)
            for k in 0..<5 {
                let q = patch.imagePoint(Point(x: p[k], y: p[5 + k]))
                p[k] = q.x; p[5 + k] = q.y
            }
        }
        return out
    }
}
