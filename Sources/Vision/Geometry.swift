/// A box in pixels of the frame, corners (x1, y1) top-left and (x2, y2) bottom-right, as MTCNN
/// reports them (floats; may reach outside the frame).
public struct Box: Sendable, Equatable, CustomStringConvertible {
    public var x1: Float, y1: Float, x2: Float, y2: Float
    public init(x1: Float, y1: Float, x2: Float, y2: Float) { self.x1 = x1; self.y1 = y1; self.x2 = x2; self.y2 = y2 }

    public var width: Float { x2 - x1 }
    public var height: Float { y2 - y1 }
    public var area: Float { max(0, width) * max(0, height) }
    public var centre: Point { Point(x: (x1 + x2) / 2, y: (y1 + y2) / 2) }

    /// Intersection over union (no +1 pixel convention).
    public func iou(_ o: Box) -> Float {
        let w = max(0, min(x2, o.x2) - max(x1, o.x1)), h = max(0, min(y2, o.y2) - max(y1, o.y1))
        let inter = w * h, union = area + o.area - inter
        return union > 0 ? inter / union : 0
    }

    public func contains(_ p: Point) -> Bool { p.x >= x1 && p.x <= x2 && p.y >= y1 && p.y <= y2 }

    /// The box clipped to a width x height frame.
    public func clamped(width: Int, height: Int) -> Box {
        Box(
            x1: min(max(x1, 0), Float(width)), y1: min(max(y1, 0), Float(height)),
            x2: min(max(x2, 0), Float(width)), y2: min(max(y2, 0), Float(height)))
    }

    public var description: String { "[\(x1), \(y1), \(x2), \(y2)]" }
}

public struct Point: Sendable, Equatable {
    public var x: Float, y: Float
    public init(x: Float, y: Float) { self.x = x; self.y = y }
}

/// One detected face: box, face probability (O-Net), and the five MTCNN landmarks in the order
/// left eye, right eye, nose, left mouth corner, right mouth corner (image left/right).
public struct Face: Sendable, Equatable {
    public var box: Box
    public var score: Float
    public var landmarks: [Point]
    public init(box: Box, score: Float, landmarks: [Point]) { self.box = box; self.score = score; self.landmarks = landmarks }
}

/// A borrowed 8-bit RGB image, rows top to bottom, HWC (3 bytes per pixel, no row padding).
public struct RGBView {
    public let pixels: UnsafePointer<UInt8>
    public let width: Int
    public let height: Int
    public init(pixels: UnsafePointer<UInt8>, width: Int, height: Int) { self.pixels = pixels; self.width = width; self.height = height }
}
