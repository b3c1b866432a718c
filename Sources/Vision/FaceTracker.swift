/// Keeps a stable person id per face across frames. A face joins the track it matches best by box
/// overlap (IoU), landmark distance (mean landmark displacement over the face size; catches fast
/// motion that breaks IoU) and, when the caller has them, embedding distance (cosine; tells two
/// people apart when they cross). A track survives `maxMissed` frames without its face (a blink of
/// the detector) and ends after that; ended tracks are reported once.
public final class FaceTracker {
    public struct Config: Sendable {
        /// Frames a track may go unmatched before it ends.
        public var maxMissed = 3
        /// A pair matches when IoU >= minIoU or landmark distance <= maxLandmarkDistance ...
        public var minIoU: Float = 0.3
        public var maxLandmarkDistance: Float = 0.35
        /// ... and, with embeddings, cosine distance <= maxEmbeddingDistance.
        public var maxEmbeddingDistance: Float = 0.5
        public init() {}
    }

    public struct Track: Sendable {
        public let id: Int
        public var box: Box
        public var landmarks: [Point]
        public var embedding: [Float]?
        public var firstFrame: Int
        public var lastFrame: Int
        public var missed = 0
        public var hits = 1
    }

    public struct Update: Sendable {
        /// Person id of each face, in the order given.
        public var ids: [Int]
        /// Tracks that ended with this frame.
        public var ended: [Track]
    }

    public let config: Config
    public internal(set) var tracks: [Track] = []
    var nextID = 1
    var frame = -1

    public init(config: Config = Config()) { self.config = config }

    /// Assigns ids to this frame's faces (embeddings optional, one per face).
    public func update(_ faces: [Face], embeddings: [[Float]]? = nil) -> Update {
        frame += 1
        var pairs: [(cost: Float, t: Int, f: Int)] = []
        for (ti, t) in tracks.enumerated() {
            for (fi, f) in faces.enumerated() {
                let iou = t.box.iou(f.box)
                let lm = landmarkDistance(t, f)
                guard iou >= config.minIoU || lm <= config.maxLandmarkDistance else { continue }
                var cost = (1 - iou) + lm
                if let e = embeddings?[fi], let te = t.embedding {
                    let d = cosineDistance(e, te)
                    guard d <= config.maxEmbeddingDistance else { continue }
                    cost += d
                }
                pairs.append((cost, ti, fi))
            }
        }
        pairs.sort { $0.cost != $1.cost ? $0.cost < $1.cost : ($0.t, $0.f) < ($1.t, $1.f) }
        var ids = [Int](repeating: 0, count: faces.count)
        var trackUsed = [Bool](repeating: false, count: tracks.count)
        for p in pairs where !trackUsed[p.t] && ids[p.f] == 0 {
            trackUsed[p.t] = true
            ids[p.f] = tracks[p.t].id
            tracks[p.t].box = faces[p.f].box
            tracks[p.t].landmarks = faces[p.f].landmarks
            if let e = embeddings?[p.f] { tracks[p.t].embedding = e }
            tracks[p.t].lastFrame = frame
            tracks[p.t].missed = 0
            tracks[p.t].hits += 1
        }
        var ended: [Track] = []
        var alive: [Track] = []
        for (ti, var t) in tracks.enumerated() {
            if !trackUsed[ti] { t.missed += 1 }
            if t.missed > config.maxMissed { ended.append(t) } else { alive.append(t) }
        }
        tracks = alive
        for (fi, f) in faces.enumerated() where ids[fi] == 0 {
            ids[fi] = nextID
            tracks.append(
                Track(
                    id: nextID, box: f.box, landmarks: f.landmarks, embedding: embeddings?[fi],
                    firstFrame: frame, lastFrame: frame))
            nextID += 1
        }
        return Update(ids: ids, ended: ended)
    }

    /// Ends every open track (end of the clip).
    public func finish() -> [Track] {
        defer { tracks.removeAll() }
        return tracks
    }

    private func landmarkDistance(_ t: Track, _ f: Face) -> Float {
        guard t.landmarks.count == f.landmarks.count, !f.landmarks.isEmpty else { return .infinity }
        let size = max((t.box.area).squareRoot(), 1)
        var sum: Float = 0
        for (a, b) in zip(t.landmarks, f.landmarks) {
            let dx = a.x - b.x, dy = a.y - b.y
            sum += (dx * dx + dy * dy).squareRoot()
        }
        return sum / Float(f.landmarks.count) / size
    }

    private func cosineDistance(_ a: [Float], _ b: [Float]) -> Float {
        guard a.count == b.count, !a.isEmpty else { return 1 }
        var dot: Float = 0, na: Float = 0, nb: Float = 0
        for i in a.indices { dot += a[i] * b[i]; na += a[i] * a[i]; nb += b[i] * b[i] }
        return na > 0 && nb > 0 ? 1 - dot / (na * nb).squareRoot() : 1
    }
}
