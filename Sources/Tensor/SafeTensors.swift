#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why a safetensors file was refused. Every malformed file ends here, never in a trap.
public struct SafeTensorsError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let reason: String
    public var description: String { "safetensors \(path): \(reason)" }
}

/// One tensor entry of a safetensors header, validated against the file.
public struct SafeTensorsEntry: Sendable, Equatable {
    public let name: String
    public let dtype: String
    public let shape: [Int]
    /// Byte range inside the data section (after the 8-byte length and the header).
    public let begin: Int
    public let end: Int
}

/// A memory-mapped safetensors file (https://huggingface.co/docs/safetensors): 8-byte little-endian
/// header length N, N bytes of JSON {name: {dtype, shape, data_offsets}, "__metadata__": {str: str}},
/// then the data. The whole header is validated at open: a JSON object of well-formed entries, known
/// dtypes, non-negative shapes whose byte count equals the offset span, ranges inside the file and
/// not overlapping. Float32 tensors are then views into the mapping (no copy) that keep it alive.
public final class SafeTensorsFile: @unchecked Sendable {
    public static let maxHeaderBytes = 100 << 20
    public static let dtypeSizes: [String: Int] = [
        "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
        "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1,
    ]

    public let path: String
    public let entries: [String: SafeTensorsEntry]
    public let metadata: [String: String]
    private let map: UnsafeMutableRawPointer?
    private let mapLength: Int
    private let dataStart: Int

    /// Entry names in file order (by offset).
    public var names: [String] { entries.values.sorted { $0.begin < $1.begin }.map(\.name) }

    public init(path: String) throws {
        self.path = path
        func fail(_ reason: String) -> SafeTensorsError { SafeTensorsError(path: path, reason: reason) }

        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw fail("cannot open (errno \(errno))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw fail("cannot stat (errno \(errno))") }
        guard (st.st_mode & S_IFMT) == S_IFREG else { throw fail("not a regular file") }
        let size = Int(st.st_size)
        guard size >= 8 else { throw fail("file is \(size) bytes, shorter than the 8-byte header length") }

        let m = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0)
        guard let m, m != MAP_FAILED else { throw fail("mmap failed (errno \(errno))") }
        var keep = false
        defer { if !keep { munmap(m, size) } }

        let n = UInt64(littleEndian: m.loadUnaligned(as: UInt64.self))
        guard n <= UInt64(SafeTensorsFile.maxHeaderBytes) else { throw fail("header length \(n) exceeds \(SafeTensorsFile.maxHeaderBytes) bytes") }
        guard n >= 2 else { throw fail("header length \(n) too small for a JSON object") }
        guard Int(n) <= size - 8 else { throw fail("header length \(n) runs past the end of the \(size)-byte file") }
        let headerBytes = UnsafeRawBufferPointer(start: m + 8, count: Int(n))
        let header: JSON
        do { header = try JSON(bytes: headerBytes) } catch { throw fail("header is not valid JSON (\(error))") }
        guard let object = header.object else { throw fail("header is not a JSON object") }

        let dataStart = 8 + Int(n)
        let dataSize = size - dataStart
        var entries: [String: SafeTensorsEntry] = [:]
        var metadata: [String: String] = [:]
        for (name, value) in object {
            if name == "__metadata__" {
                guard let meta = value.object else { throw fail("__metadata__ is not an object") }
                for (k, v) in meta {
                    guard let s = v.string else { throw fail("__metadata__[\(k)] is not a string") }
                    metadata[k] = s
                }
                continue
            }
            guard let info = value.object else { throw fail("entry \(name) is not an object") }
            guard let dtype = info["dtype"]?.string else { throw fail("entry \(name): dtype missing or not a string") }
            guard let itemSize = SafeTensorsFile.dtypeSizes[dtype] else { throw fail("entry \(name): unknown dtype \(dtype)") }
            guard let shapeJSON = info["shape"]?.array else { throw fail("entry \(name): shape missing or not an array") }
            var shape: [Int] = []
            var elements = 1
            for d in shapeJSON {
                guard let v = d.int, v >= 0 else { throw fail("entry \(name): shape \(shapeJSON.map(\.serialized)) has a non-integer or negative dimension") }
                let (p, o) = elements.multipliedReportingOverflow(by: v)
                guard !o, p <= Int(Int32.max) * 16 else { throw fail("entry \(name): shape element count overflows") }
                elements = p
                shape.append(v)
            }
            guard shape.count <= Shape.maxRank else { throw fail("entry \(name): rank \(shape.count) above \(Shape.maxRank)") }
            guard let offs = info["data_offsets"]?.array, offs.count == 2, let begin = offs[0].int, let end = offs[1].int
            else { throw fail("entry \(name): data_offsets must be two integers") }
            guard begin >= 0, begin <= end else { throw fail("entry \(name): data_offsets [\(begin), \(end)] are not an ordered range") }
            guard end <= dataSize else { throw fail("entry \(name): data_offsets end \(end) past the \(dataSize)-byte data section") }
            guard end - begin == elements * itemSize else {
                throw fail("entry \(name): \(end - begin) bytes for \(dtype) shape \(shape) (needs \(elements * itemSize))")
            }
            for k in info.keys where !["dtype", "shape", "data_offsets"].contains(k) {
                throw fail("entry \(name): unexpected field \(k)")
            }
            entries[name] = SafeTensorsEntry(name: name, dtype: dtype, shape: shape, begin: begin, end: end)
        }
        let ordered = entries.values.filter { $0.end > $0.begin }.sorted { $0.begin < $1.begin }
        for (a, b) in zip(ordered, ordered.dropFirst()) where b.begin < a.end {
            throw fail("entries \(a.name) and \(b.name) overlap")
        }
        self.entries = entries
        self.metadata = metadata
        self.map = m
        self.mapLength = size
        self.dataStart = dataStart
        keep = true
    }

    deinit { if let map { munmap(map, mapLength) } }

    public func contains(_ name: String) -> Bool { entries[name] != nil }

    /// A float32 tensor, viewing the mapping when aligned (else copied to aligned memory). F16, BF16,
    /// F64 and integer tensors are converted to a float32 copy.
    public func tensor(_ name: String, layout: Layout = .rowMajor) throws -> Tensor {
        guard let e = entries[name] else { throw SafeTensorsError(path: path, reason: "no tensor named \(name)") }
        let count = e.shape.reduce(1, *)
        let src = UnsafeRawPointer(map!) + dataStart + e.begin
        if e.dtype == "F32", Int(bitPattern: src) % 4 == 0 {
            return Tensor(
                shape: Shape(e.shape), layout: layout,
                data: UnsafeMutablePointer(mutating: src.assumingMemoryBound(to: Float.self)), owner: self)
        }
        let t = Tensor(zeros: e.shape, layout: layout)
        let item = SafeTensorsFile.dtypeSizes[e.dtype]!
        for i in 0..<count {
            let p = src + i * item
            let v: Float
            switch e.dtype {
            case "F32": v = Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)))
            case "F64": v = Float(Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))))
            case "F16": v = Float(Float16(bitPattern: UInt16(littleEndian: p.loadUnaligned(as: UInt16.self))))
            case "BF16": v = Float(bitPattern: UInt32(UInt16(littleEndian: p.loadUnaligned(as: UInt16.self))) << 16)
            case "I64": v = Float(Int64(littleEndian: p.loadUnaligned(as: Int64.self)))
            case "I32": v = Float(Int32(littleEndian: p.loadUnaligned(as: Int32.self)))
            case "I16": v = Float(Int16(littleEndian: p.loadUnaligned(as: Int16.self)))
            case "I8": v = Float(p.load(as: Int8.self))
            case "U64": v = Float(UInt64(littleEndian: p.loadUnaligned(as: UInt64.self)))
            case "U32": v = Float(UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)))
            case "U16": v = Float(UInt16(littleEndian: p.loadUnaligned(as: UInt16.self)))
            default: v = Float(p.load(as: UInt8.self))  // U8, BOOL
            }
            t.data[i] = v
        }
        return t
    }

    /// Every tensor, converted to float32 as `tensor(_:)` does.
    public func allTensors() throws -> [String: Tensor] {
        var out: [String: Tensor] = [:]
        for name in entries.keys { out[name] = try tensor(name) }
        return out
    }
}
