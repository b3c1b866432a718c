// Tensor: affectd's neural runtime — float32 tensors, kernels on OpenBLAS, safetensors loading and
// manifest-declared networks. Layout and threading policy: docs/engine.md.

/// Bytes every tensor buffer is aligned to: one cache line, and the widest (AVX-512) vector load.
public let tensorAlignment = 64

/// How the dimensions of a tensor are to be read. Image kernels run NHWC (channels innermost: a 1x1
/// conv is one GEMM, depthwise conv vectorises across channels); `rowMajor` is any other tensor
/// (weights, sequences, vectors), read in plain C order.
public enum Layout: String, Sendable, Equatable {
    case nhwc, nchw, rowMajor
}

public enum TensorError: Error, CustomStringConvertible, Equatable {
    case shape(String)
    case missing(String)
    case invalid(String)

    public var description: String {
        switch self {
        case .shape(let s): return "shape error: \(s)"
        case .missing(let s): return "missing: \(s)"
        case .invalid(let s): return "invalid: \(s)"
        }
    }
}

/// A shape of rank 0...6 stored inline, so creating tensors in the hot path never touches the heap.
public struct Shape: Sendable, Equatable, CustomStringConvertible {
    @usableFromInline var d: (Int, Int, Int, Int, Int, Int) = (0, 0, 0, 0, 0, 0)
    public let rank: Int
    public static let maxRank = 6

    @inlinable public init(_ dims: [Int]) {
        precondition(dims.count <= Shape.maxRank, "rank above \(Shape.maxRank)")
        rank = dims.count
        withUnsafeMutableBytes(of: &d) { raw in
            let p = raw.bindMemory(to: Int.self)
            for (i, v) in dims.enumerated() { p[i] = v }
        }
    }
    @inlinable public init(_ dims: Int...) { self.init(dims) }

    @inlinable public subscript(i: Int) -> Int {
        get {
            precondition(i >= 0 && i < rank)
            return withUnsafeBytes(of: d) { $0.load(fromByteOffset: i * MemoryLayout<Int>.stride, as: Int.self) }
        }
        set {
            precondition(i >= 0 && i < rank)
            withUnsafeMutableBytes(of: &d) { $0.storeBytes(of: newValue, toByteOffset: i * MemoryLayout<Int>.stride, as: Int.self) }
        }
    }
    @inlinable public var dims: [Int] { (0..<rank).map { self[$0] } }
    @inlinable public var count: Int { var n = 1; for i in 0..<rank { n *= self[i] }; return n }
    public var description: String { "[" + dims.map(String.init).joined(separator: ", ") + "]" }

    public static func == (a: Shape, b: Shape) -> Bool { a.dims == b.dims }
}

/// Owner of a heap buffer; tensors that view it keep it alive.
public final class TensorStorage: @unchecked Sendable {
    public let base: UnsafeMutablePointer<Float>
    public let capacity: Int

    public init(count: Int) {
        capacity = max(count, 1)
        let raw = UnsafeMutableRawPointer.allocate(byteCount: capacity * 4, alignment: tensorAlignment)
        base = raw.bindMemory(to: Float.self, capacity: capacity)
        base.initialize(repeating: 0, count: capacity)
    }
    deinit { UnsafeMutableRawPointer(base).deallocate() }
}

/// A float32 tensor: a shape, a layout and a pointer. It is a view; `owner` keeps the memory alive
/// (heap storage, a memory-mapped safetensors file, or nil for arena memory, which lives until the
/// arena's next reset).
public struct Tensor: @unchecked Sendable {
    public var shape: Shape
    public var layout: Layout
    public let data: UnsafeMutablePointer<Float>
    public let owner: AnyObject?

    @inlinable public init(shape: Shape, layout: Layout, data: UnsafeMutablePointer<Float>, owner: AnyObject?) {
        self.shape = shape; self.layout = layout; self.data = data; self.owner = owner
    }

    /// A zero-filled tensor on its own aligned heap buffer (for weights and one-off results).
    public init(zeros dims: [Int], layout: Layout = .rowMajor) {
        let s = Shape(dims)
        let storage = TensorStorage(count: s.count)
        self.init(shape: s, layout: layout, data: storage.base, owner: storage)
    }

    public init(_ values: [Float], _ dims: [Int], layout: Layout = .rowMajor) throws {
        guard Shape(dims).count == values.count else {
            throw TensorError.shape("\(values.count) values for shape \(dims)")
        }
        self.init(zeros: dims, layout: layout)
        values.withUnsafeBufferPointer { data.update(from: $0.baseAddress!, count: values.count) }
    }

    @inlinable public var count: Int { shape.count }
    @inlinable public var rank: Int { shape.rank }
    /// Dimension i (negative counts from the end); 1 for an axis the tensor does not have, so a
    /// scalar reads as one element instead of trapping.
    @inlinable public func dim(_ i: Int) -> Int {
        let j = i < 0 ? shape.rank + i : i
        return j >= 0 && j < shape.rank ? shape[j] : 1
    }
    public var array: [Float] { Array(UnsafeBufferPointer(start: data, count: count)) }

    /// Same memory, another shape of equal element count.
    public func reshaped(_ dims: [Int], layout: Layout? = nil) throws -> Tensor {
        let s = Shape(dims)
        guard s.count == count else { throw TensorError.shape("cannot reshape \(shape) to \(dims)") }
        return Tensor(shape: s, layout: layout ?? self.layout, data: data, owner: owner)
    }

    /// A heap copy (for results that must outlive an arena reset).
    public func copy() -> Tensor {
        let t = Tensor(zeros: shape.dims, layout: layout)
        t.data.update(from: data, count: count)
        return t
    }

    /// The dimensions as (N, H, W, C) for NHWC tensors; a rank-3 tensor is read as one image.
    public func nhwc() throws -> (n: Int, h: Int, w: Int, c: Int) {
        switch rank {
        case 4: return (shape[0], shape[1], shape[2], shape[3])
        case 3: return (1, shape[0], shape[1], shape[2])
        default: throw TensorError.shape("expected an NHWC image tensor, got shape \(shape)")
        }
    }
}

/// A per-worker scratch allocator: a bump pointer over one aligned block. Every tensor of one
/// inference comes from it; `reset()` frees them all at once. `release` hands a region back early
/// (Network does so when a value's last reader has run), and later requests reuse it best-fit: a
/// network's working set stays cache-sized instead of growing with its depth.
///
/// Offsets are laid out as if the block were unbounded; a request whose region ends past the real
/// block gets its own overflow chunk instead. The next `reset()` then replaces everything with one
/// block of the layout's peak, and since placement depends only on the sequence of requests and
/// releases, the same inference fits it exactly: from the second run on nothing is allocated. (Sizing
/// the block by peak live bytes instead was not enough: best fit fragments differently once every
/// request lands in the block.) Not thread-safe: one arena per worker thread.
public final class Arena: @unchecked Sendable {
    private var block: UnsafeMutableRawPointer
    private var capacity: Int
    /// End of the layout: every region below it is handed out or in `free`.
    private var used = 0
    /// Chunks standing in for regions past `capacity`: (chunk, layout offset).
    private var overflow: [(chunk: UnsafeMutableRawPointer, offset: Int)] = []
    /// Released regions below `used`: (offset, bytes), sorted, never adjacent.
    private var free: [(offset: Int, bytes: Int)] = []
    /// The layout's peak since creation (what the block grows to).
    public private(set) var highWater = 0
    /// How many times the arena had to go to the system allocator (steady state: stays constant).
    public private(set) var systemAllocations = 0

    public init(bytes: Int = 1 << 20) {
        capacity = max(bytes, tensorAlignment)
        block = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: tensorAlignment)
        systemAllocations = 1
        free.reserveCapacity(64)
    }

    deinit {
        block.deallocate()
        for o in overflow { o.chunk.deallocate() }
    }

    @inline(__always) private static func rounded(_ count: Int) -> Int {
        (max(count, 1) * 4 + tensorAlignment - 1) & ~(tensorAlignment - 1)
    }

    /// Uninitialised memory for `count` floats, 64-byte aligned.
    public func floats(_ count: Int) -> UnsafeMutablePointer<Float> {
        let bytes = Arena.rounded(count)
        let offset: Int
        // Best fit among released regions, else the end of the layout.
        var best = -1
        for i in free.indices where free[i].bytes >= bytes && (best < 0 || free[i].bytes < free[best].bytes) { best = i }
        if best >= 0 {
            let region = free[best]
            if region.bytes == bytes { free.remove(at: best) } else { free[best] = (region.offset + bytes, region.bytes - bytes) }
            offset = region.offset
        } else {
            offset = used
            used += bytes
            highWater = max(highWater, used)
        }
        if offset + bytes <= capacity { return (block + offset).bindMemory(to: Float.self, capacity: count) }
        let chunk = UnsafeMutableRawPointer.allocate(byteCount: bytes, alignment: tensorAlignment)
        systemAllocations += 1
        overflow.append((chunk, offset))
        return chunk.bindMemory(to: Float.self, capacity: count)
    }

    /// Hands back memory `floats(count)` returned; it must not be used afterwards. An overflow
    /// chunk itself is kept until `reset()`; its region of the layout is reused.
    public func release(_ p: UnsafeMutablePointer<Float>, count: Int) {
        var offset = UnsafeMutableRawPointer(p) - block
        if offset < 0 || offset >= capacity {
            guard let o = overflow.last(where: { $0.chunk == UnsafeMutableRawPointer(p) }) else { return }
            offset = o.offset
        }
        guard offset < used else { return }
        var region = (offset: offset, bytes: Arena.rounded(count))
        var i = free.firstIndex { $0.offset > offset } ?? free.count
        if i > 0, free[i - 1].offset + free[i - 1].bytes == region.offset {
            region = (free[i - 1].offset, free[i - 1].bytes + region.bytes)
            free.remove(at: i - 1); i -= 1
        }
        if i < free.count, region.offset + region.bytes == free[i].offset {
            region.bytes += free[i].bytes
            free.remove(at: i)
        }
        if region.offset + region.bytes == used { used = region.offset } else { free.insert(region, at: i) }
    }

    /// An uninitialised tensor of the given shape.
    public func tensor(_ dims: [Int], layout: Layout = .rowMajor) -> Tensor {
        tensor(Shape(dims), layout: layout)
    }

    public func tensor(_ shape: Shape, layout: Layout) -> Tensor {
        Tensor(shape: shape, layout: layout, data: floats(shape.count), owner: nil)
    }

    /// Frees every tensor handed out since the last reset (they must not be used afterwards).
    public func reset() {
        if !overflow.isEmpty {
            for o in overflow { o.chunk.deallocate() }
            overflow.removeAll(keepingCapacity: true)
            block.deallocate()
            capacity = highWater
            block = UnsafeMutableRawPointer.allocate(byteCount: capacity, alignment: tensorAlignment)
            systemAllocations += 1
        }
        used = 0
        free.removeAll(keepingCapacity: true)
    }
}
