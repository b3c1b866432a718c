import Foundation

/// fer's crop of a tilted face, turned upright first: the region around the box is resampled
/// (bilinear) rotated by minus the eye angle (MTCNN's eyes) into an upright patch (`UprightPatch`), and fer's crop
/// (FerCrop) is taken there for the same box size. Faces tilted less than `minDegrees` keep the
/// plain crop bit for bit.
public enum AlignedFerCrop {
    public static let minDegrees: Float = 25

    /// The eye angle of a face in radians (0 without landmarks).
    public static func angle(_ face: Face) -> Float {
        guard face.landmarks.count >= 2 else { return 0 }
        let l = face.landmarks[0], r = face.landmarks[1]
        return atan2(r.y - l.y, r.x - l.x)
    }

    public static func crop(_ image: RGBView, face: Face, into out: UnsafeMutablePointer<UInt8>) -> Bool {
        let a = angle(face)
        guard abs(a) * 180 / .pi >= minDegrees else { return FerCrop.crop(image, box: face.box, into: out) }
        let side = Int((max(face.box.width, face.box.height) * 2).rounded(.up))
        guard let patch = UprightPatch(image, centre: face.box.centre, angle: a, side: side) else {
            return FerCrop.crop(image, box: face.box, into: out)
        }
        let box = patch.centredBox(width: face.box.width, height: face.box.height)
        return patch.withView { FerCrop.crop($0, box: box, into: out) }
    }
}
