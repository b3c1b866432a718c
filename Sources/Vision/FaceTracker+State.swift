/// A tracker's state as plain numbers, to carry a live session's person ids into a later one
/// (the service hands it to the client inside a signed token). Embeddings are not kept: the
/// live path tracks by boxes and landmarks.
extension FaceTracker {
    public struct State: Sendable, Equatable, Codable {
        public struct Track: Sendable, Equatable, Codable {
            public var id: Int
            /// x1, y1, x2, y2.
            public var box: [Float]
            /// x, y per landmark.
            public var landmarks: [[Float]]
            public var missed: Int
            public var hits: Int
            public init(id: Int, box: [Float], landmarks: [[Float]], missed: Int, hits: Int) {
                self.id = id; self.box = box; self.landmarks = landmarks; self.missed = missed; self.hits = hits
            }
        }
        public var nextID: Int
        public var tracks: [Track]
        public init(nextID: Int, tracks: [Track]) { self.nextID = nextID; self.tracks = tracks }
    }

    public var state: State {
        State(
            nextID: nextID,
            tracks: tracks.map {
                State.Track(
                    id: $0.id, box: [$0.box.x1, $0.box.y1, $0.box.x2, $0.box.y2], landmarks: $0.landmarks.map { [$0.x, $0.y] },
                    missed: $0.missed, hits: $0.hits)
            })
    }

    /// A tracker continuing `state`, or nil when the state is not one a tracker could have had
    /// (non-finite or inverted boxes, ids not below `nextID` or repeated, counts out of range).
    public convenience init?(config: Config = Config(), resuming state: State) {
        let ids = state.tracks.map(\.id)
        guard state.nextID >= 1, state.nextID < Int(Int32.max), Set(ids).count == ids.count,
            ids.allSatisfy({ $0 >= 1 && $0 < state.nextID })
        else { return nil }
        self.init(config: config)
        for t in state.tracks {
            guard t.box.count == 4, t.box.allSatisfy(\.isFinite), t.box[2] > t.box[0], t.box[3] > t.box[1],
                t.landmarks.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isFinite) }),
                (0...config.maxMissed).contains(t.missed), t.hits >= 1
            else { return nil }
            var track = Track(
                id: t.id, box: Box(x1: t.box[0], y1: t.box[1], x2: t.box[2], y2: t.box[3]),
                landmarks: t.landmarks.map { Point(x: $0[0], y: $0[1]) }, embedding: nil, firstFrame: 0, lastFrame: 0)
            track.missed = t.missed
            track.hits = t.hits
            tracks.append(track)
        }
        nextID = state.nextID
    }
}
