/// Memory an op is about to read, as byte ranges in reading order, so that the op before it can
/// prefetch them into L2 while it finishes. Network hands each op the next op's `leadingWeights`;
/// an inverted residual hands its expand the depthwise's and the project's. Why: at batch 1 a
/// network's weights (EfficientNet-Lite0: 18 MB) are not in cache when an image comes, and the
/// first weights of every layer used to arrive at memory speed while the tiles waited.
///
/// Built at load (kernels' `leadingWeights` allocate), passed along at run time.
public struct Prefetch: @unchecked Sendable {
    private(set) var ranges: [UnsafeRawBufferPointer]
    let byteCount: Int

    public init() { ranges = []; byteCount = 0 }

    init(_ ranges: [UnsafeRawBufferPointer]) {
        self.ranges = ranges.filter { $0.count > 0 }
        byteCount = self.ranges.reduce(0) { $0 + $1.count }
    }

    /// `count` bytes from `start` (nothing when count <= 0).
    init(_ start: UnsafeRawPointer, count: Int) {
        self.init(count > 0 ? [UnsafeRawBufferPointer(start: start, count: count)] : [])
    }

    var isEmpty: Bool { ranges.isEmpty }

    static func + (a: Prefetch, b: Prefetch) -> Prefetch { Prefetch(a.ranges + b.ranges) }

    /// Up to `count` bytes from `offset` into the ranges laid end to end, as far as they lie in one
    /// range; nil at or past the end.
    func slice(at offset: Int, count: Int) -> UnsafeRawBufferPointer? {
        var rest = offset
        for r in ranges {
            if rest < r.count { return UnsafeRawBufferPointer(start: r.baseAddress! + rest, count: min(count, r.count - rest)) }
            rest -= r.count
        }
        return nil
    }
}
