/// A point (or a variance) in the valence–arousal plane, each axis in [-1, 1] for points.
public struct VA: Sendable, Equatable, Codable {
    public var valence: Double
    public var arousal: Double
    public init(valence: Double, arousal: Double) { self.valence = valence; self.arousal = arousal }

    /// Both axes clipped into [-1, 1] (NaN becomes 0: a head never hands out a non-number).
    public var clipped: VA { VA(valence: Self.clip(valence), arousal: Self.clip(arousal)) }

    static func clip(_ x: Double) -> Double { x.isNaN ? 0 : min(1, max(-1, x)) }
}
