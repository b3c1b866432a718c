import Media

/// A reusable 8-bit RGB buffer for decoded frames, one per worker: converting into it allocates
/// nothing in steady state. It keeps slack after the last pixel because swscale's SIMD RGB24
/// writers store whole vectors and may run past the end of the last row on widths that are not a
/// multiple of 16 (a plain width*height*3 array gets its heap corrupted).
public final class RGBFrameBuffer {
    public static let slack = FrameConverter.planeSlack
    public private(set) var width = 0
    public private(set) var height = 0
    private var storage: UnsafeMutablePointer<UInt8>
    private var capacity: Int

    public init() {
        capacity = Self.slack
        storage = .allocate(capacity: capacity)
    }
    deinit { storage.deallocate() }

    /// Converts `frame` (display rotation applied, converter's size) and returns a view valid until
    /// the next call.
    public func convert(_ frame: DecodedFrame, with converter: FrameConverter) throws -> RGBView {
        let (w, h) = converter.outputSize(for: frame)
        let needed = w * h * 3 + Self.slack
        if needed > capacity {
            storage.deallocate()
            capacity = needed
            storage = .allocate(capacity: capacity)
        }
        try converter.rgb8(frame, into: storage)
        width = w
        height = h
        return RGBView(pixels: storage, width: w, height: h)
    }

    /// The current frame's pixels (width * height * 3 bytes), copied.
    public var pixels: [UInt8] { Array(UnsafeBufferPointer(start: storage, count: width * height * 3)) }
}
