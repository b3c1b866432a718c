/// Face measurements beside the emotion estimate, each only when requested (`include=blendshapes,
/// pose,landmarks`): MediaPipe's 52 blendshape scores, the head pose and the 478-point mesh.
/// They are reported as measurements and do not enter valence, arousal or the confidence.
public struct FaceSignals: Codable, Sendable, Equatable {
    /// Blendshape name -> score in 0...1 (MediaPipe's names, `_neutral` first).
    public var blendshapes: [String: Double]?
    public var pose: Pose?
    /// 478 x [x, y, z] in frame pixels (z: depth on x's scale, smaller = nearer).
    public var mesh: [[Double]]?
    /// The landmark network's face presence score (sigmoid), with any of the above.
    public var presence: Double?

    public init(blendshapes: [String: Double]? = nil, pose: Pose? = nil, mesh: [[Double]]? = nil, presence: Double? = nil) {
        self.blendshapes = blendshapes; self.pose = pose; self.mesh = mesh; self.presence = finite(presence)
    }

    /// Degrees; docs/vision.md defines the axes.
    public struct Pose: Codable, Sendable, Equatable {
        public var yaw: Double
        public var pitch: Double
        public var roll: Double
        public init(yaw: Double, pitch: Double, roll: Double) { self.yaw = yaw; self.pitch = pitch; self.roll = roll }
    }
}
