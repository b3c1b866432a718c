import Foundation

/// fer's crop of a tilted face, turned upright first: the region around the box is resampled
/// (bilinear) rotated by minus the eye angle (MTCNN's eyes) into an upright patch (`UprightPatch`), and fer's crop
/// (FerCrop) is taken there for the same box size; only the patch pixels the crop reads are
/// resampled. Faces tilted less than `minDegrees` keep the plain crop bit for bit.
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
        guard side > 0, side <= 4096 else { return FerCrop.crop(image, box: face.box, into: out) }
        let box = UprightPatch.centredBox(side: side, width: face.box.width, height: face.box.height)
        // Only the pixels the crop reads are resampled (about a fifth of the patch).
        guard let footprint = FerCrop.footprint(box: box, width: side, height: side),
            let patch = UprightPatch(image, centre: face.box.centre, angle: a, side: side, footprint: footprint)
        else { return false }
        return patch.withView { FerCrop.crop($0, box: box, into: out) }
    }
}
