import Foundation

/// Head pose from MediaPipe's 478 landmarks (frame pixels, z on x's scale): the face's axes are
/// x = outer corner of the subject's right eye (33) -> left eye (263), y = forehead (10) -> chin
/// (152) made orthogonal to x, z = x cross y (into the image); with R = [x y z] in image axes (x
/// right, y down, z away from the camera), R = Rz(roll) Ry(yaw) Rx(pitch), in degrees. Frontal and
/// upright is (0, 0, 0); turning the image by a angle adds that angle to roll only.
public struct HeadPose: Sendable, Equatable {
    public var yaw: Double
    public var pitch: Double
    public var roll: Double

    public init(yaw: Double, pitch: Double, roll: Double) { self.yaw = yaw; self.pitch = pitch; self.roll = roll }

    public init?(landmarks p: [SIMD3<Float>]) {
        guard p.count > 263 else { return nil }
        let across = SIMD3<Double>(p[263] - p[33]), down = SIMD3<Double>(p[152] - p[10])
        func unit(_ v: SIMD3<Double>) -> SIMD3<Double>? {
            let n = (v * v).sum().squareRoot()
            return n > 1e-9 ? v / n : nil
        }
        guard let x = unit(across), let y = unit(down - (down * x).sum() * x) else { return nil }
        let z = SIMD3(x.y * y.z - x.z * y.y, x.z * y.x - x.x * y.z, x.x * y.y - x.y * y.x)
        let degrees = 180 / Double.pi
        roll = atan2(x.y, x.x) * degrees
        yaw = asin(min(max(-x.z, -1), 1)) * degrees
        pitch = atan2(y.z, z.z) * degrees
    }
}
