/// The person region the person encoder sees: head, shoulders and chest below a detected face.
/// Proportions from typical upper-body framing: about 3.2 face widths wide, from half a face height
/// above the face to 3 face heights below its top; clipped to the frame.
public enum PersonCrop {
    public static let widthInFaces: Float = 3.2
    public static let aboveInFaces: Float = 0.5
    public static let belowInFaces: Float = 3.0

    public static func upperBody(face: Box, width: Int, height: Int) -> Box {
        let w = face.width, h = face.height, cx = (face.x1 + face.x2) / 2
        return Box(
            x1: cx - widthInFaces * w / 2, y1: face.y1 - aboveInFaces * h,
            x2: cx + widthInFaces * w / 2, y2: face.y1 + belowInFaces * h
        ).clamped(width: width, height: height)
    }

    /// Writes the encoder input for `region` (bilinear to outW x outH, (x - mean) / std, HWC floats).
    public static func encoderInput(
        _ image: RGBView, region: Box, outW: Int = 224, outH: Int = 224,
        mean: Float = 127, std: Float = 128, into out: UnsafeMutablePointer<Float>
    ) {
        Bilinear.resize(image, box: region, outW: outW, outH: outH, mean: mean, std: std, into: out)
    }
}
