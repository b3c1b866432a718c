/// Tracking between detections: a face found on an earlier frame is re-found on this one by MTCNN's
/// last stage alone. O-Net sees the earlier box squared (as the detector squares R-Net's boxes before
/// O-Net) and grown by `trackMargin`, and answers as in detection: a face score, a regressed box and
/// five landmarks. A face it scores at or below `trackThreshold` is gone (its track ends). About one
/// O-Net run per face instead of the whole pyramid.
extension FaceDetector {
    /// `previous` re-found in `image`, largest first (faces that converged onto one are merged by
    /// O-Net's 'Min' NMS, as in detection).
    public func track(_ previous: [Face], in image: RGBView) throws -> [Face] {
        defer { arena.reset() }
        guard !previous.isEmpty, image.width >= 1, image.height >= 1 else { return [] }
        let grow = config.trackMargin
        cand = previous.map { f in
            var c = square(Candidate(x1: f.box.x1, y1: f.box.y1, x2: f.box.x2, y2: f.box.y2, score: f.score))
            let pad = (c.x2 - c.x1) * grow / 2
            c.x1 -= pad; c.y1 -= pad; c.x2 += pad; c.y2 += pad
            return c
        }
        try refine(image, size: 48, threshold: config.trackThreshold)
        return candidateFaces()
    }

    /// A detection frame's faces: what the detector found, then each followed face that no detected
    /// box overlaps (IoU <= `maxOverlap`) — a face the detector missed on this frame keeps its track.
    public static func merge(detected: [Face], followed: [Face], maxOverlap: Float = 0.3) -> [Face] {
        detected + followed.filter { f in detected.allSatisfy { $0.box.iou(f.box) <= maxOverlap } }
    }
}
