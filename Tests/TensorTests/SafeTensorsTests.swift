import Foundation
import XCTest
@testable import Tensor

/// safetensors loading: valid files load (and view the mapping), every malformed file throws a
/// SafeTensorsError — hand-made cases per rule, then thousands of seeded random mutations.
final class SafeTensorsTests: XCTestCase {
    var dir: URL!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory.appendingPathComponent("affectd-st-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: dir) }

    /// A file from a header string and a data section.
    func file(_ header: String, data: [UInt8], name: String = "t.safetensors") throws -> String {
        var bytes = [UInt8]()
        var h = Array(header.utf8)
        while h.count % 8 != 0 { h.append(0x20) }  // as writers do: data starts 8-byte aligned
        withUnsafeBytes(of: UInt64(h.count).littleEndian) { bytes.append(contentsOf: $0) }
        bytes += h + data
        let url = dir.appendingPathComponent(name)
        try Data(bytes).write(to: url)
        return url.path
    }

    func floats(_ v: [Float]) -> [UInt8] { v.flatMap { f in withUnsafeBytes(of: f.bitPattern.littleEndian) { Array($0) } } }

    let validHeader =
        #"{"__metadata__":{"op":"conv2d"},"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},"b":{"dtype":"F32","shape":[2],"data_offsets":[24,32]},"c":{"dtype":"F16","shape":[1],"data_offsets":[32,34]}}"#

    func validBytes() -> [UInt8] {
        var d = floats([1, 2, 3, 4, 5, 6, -1, 0.5])
        d += withUnsafeBytes(of: Float16(1.5).bitPattern.littleEndian) { Array($0) }
        return d
    }

    func testValidFileLoadsAndViewsTheMapping() throws {
        let st = try SafeTensorsFile(path: try file(validHeader, data: validBytes()))
        XCTAssertEqual(st.metadata["op"], "conv2d")
        XCTAssertEqual(st.names, ["a", "b", "c"])
        let a = try st.tensor("a")
        XCTAssertEqual(a.shape.dims, [2, 3])
        XCTAssertEqual(a.array, [1, 2, 3, 4, 5, 6])
        XCTAssertTrue(a.owner === st, "an aligned F32 tensor is a view of the mapping")
        XCTAssertEqual(try st.tensor("b").array, [-1, 0.5])
        XCTAssertEqual(try st.tensor("c").array, [1.5])
        XCTAssertThrowsError(try st.tensor("zzz"))
    }

    func testEmptyTensorAndEmptyHeaderAreValid() throws {
        let st = try SafeTensorsFile(path: try file(#"{"e":{"dtype":"F32","shape":[0,4],"data_offsets":[0,0]}}"#, data: []))
        XCTAssertEqual(try st.tensor("e").count, 0)
        XCTAssertEqual(try SafeTensorsFile(path: try file("{}", data: [])).entries.count, 0)
    }

    func testEachRuleHasAClearError() throws {
        let d = validBytes()
        let bad: [(String, [UInt8], String)] = [
            (#"[1,2]"#, d, "not a JSON object"),
            (#"{"a":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]}"#, d, "not valid JSON"),
            (#"{"a":{"dtype":"F33","shape":[2],"data_offsets":[0,8]}}"#, d, "unknown dtype"),
            (#"{"a":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}"#, d, "negative"),
            (#"{"a":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}"#, d, "non-integer"),
            (#"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}"#, d, "needs 12"),
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[8,0]}}"#, d, "ordered range"),
            (#"{"a":{"dtype":"F32","shape":[20],"data_offsets":[0,80]}}"#, d, "past the"),
            (#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]},"b":{"dtype":"F32","shape":[4],"data_offsets":[8,24]}}"#, d, "overlap"),
            (#"{"a":{"dtype":"F32","shape":[2]}}"#, d, "data_offsets"),
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8],"x":1}}"#, d, "unexpected field"),
            (#"{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#, d, "duplicate key"),
            (#"{"__metadata__":{"k":1}}"#, d, "not a string"),
            (#"{"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}"#, d, "overflows"),
            (#"{"a":{"dtype":"F32","shape":[1,1,1,1,1,1,1],"data_offsets":[0,4]}}"#, d, "rank"),
            (String(repeating: "[", count: 200) + String(repeating: "]", count: 200), d, "nesting"),
        ]
        for (i, (header, data, expected)) in bad.enumerated() {
            let path = try file(header, data: data, name: "bad\(i).safetensors")
            XCTAssertThrowsError(try SafeTensorsFile(path: path), "case \(i)") { error in
                XCTAssertTrue(error is SafeTensorsError, "case \(i): \(error)")
                XCTAssertTrue("\(error)".contains(expected), "case \(i): \(error) should mention \(expected)")
            }
        }
    }

    func testHeaderLengthAndSizeLimits() throws {
        let tooShort = dir.appendingPathComponent("short.safetensors")
        try Data([1, 0, 0]).write(to: tooShort)
        XCTAssertThrowsError(try SafeTensorsFile(path: tooShort.path)) { XCTAssertTrue("\($0)".contains("shorter than")) }
        for n: UInt64 in [UInt64.max, 1 << 40, 1 << 27, 1_000] {
            var b = [UInt8]()
            withUnsafeBytes(of: n.littleEndian) { b.append(contentsOf: $0) }
            b += Array("{}".utf8)
            let url = dir.appendingPathComponent("len\(n).safetensors")
            try Data(b).write(to: url)
            XCTAssertThrowsError(try SafeTensorsFile(path: url.path), "length \(n)") { XCTAssertTrue($0 is SafeTensorsError) }
        }
        XCTAssertThrowsError(try SafeTensorsFile(path: dir.path)) { XCTAssertTrue("\($0)".contains("regular file")) }
        XCTAssertThrowsError(try SafeTensorsFile(path: dir.appendingPathComponent("none").path))
    }

    /// 4000 seeded mutations of a valid file (byte flips, truncations, insertions, header-length
    /// edits, digit edits in the JSON): every load either succeeds — and then every tensor reads —
    /// or throws SafeTensorsError. A crash fails the whole test run.
    func testRandomMutationsNeverCrash() throws {
        var rng = SplitMix64(seed: 0xAFFEC7D)
        let header = Array(validHeader.utf8)
        var base = [UInt8]()
        withUnsafeBytes(of: UInt64(header.count).littleEndian) { base.append(contentsOf: $0) }
        base += header + validBytes()
        let url = dir.appendingPathComponent("fuzz.safetensors")
        var loaded = 0, refused = 0
        for _ in 0..<4000 {
            var b = base
            for _ in 0...(Int(rng.next() % 3)) {
                switch rng.next() % 6 {
                case 0: b[Int(rng.next() % UInt64(b.count))] = UInt8(truncatingIfNeeded: rng.next())
                case 1: b.removeLast(Int(rng.next() % UInt64(b.count)))
                case 2: b.insert(UInt8(truncatingIfNeeded: rng.next()), at: Int(rng.next() % UInt64(b.count + 1)))
                case 3: b[Int(rng.next() % UInt64(min(8, b.count)))] = UInt8(truncatingIfNeeded: rng.next())
                case 4:  // change a digit inside the header (shapes, offsets)
                    let digits = (8..<max(8, min(b.count, 8 + header.count))).filter { b[$0] >= 0x30 && b[$0] <= 0x39 }
                    if let i = digits.randomElement(using: &rng) { b[i] = 0x30 + UInt8(rng.next() % 10) }
                default:  // swap two header bytes (breaks structure, keeps length)
                    let i = 8 + Int(rng.next() % UInt64(header.count)), j = 8 + Int(rng.next() % UInt64(header.count))
                    if i < b.count && j < b.count { b.swapAt(i, j) }
                }
                if b.isEmpty { b = [0] }
            }
            let fd = open(url.path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            XCTAssertEqual(b.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }, b.count)
            close(fd)
            do {
                let st = try SafeTensorsFile(path: url.path)
                for name in st.entries.keys { _ = try st.tensor(name).array.reduce(0, +) }
                loaded += 1
            } catch is SafeTensorsError {
                refused += 1
            }
        }
        XCTAssertEqual(loaded + refused, 4000)
        XCTAssertGreaterThan(refused, 1000)
        XCTAssertGreaterThan(loaded, 10)
    }
}

final class JSONTests: XCTestCase {
    func testParsesAndRejects() throws {
        let v = try JSON(parsing: #" {"a": [1, -2.5e1, true, null, "x\u00e9\n"], "b": {}} "#)
        XCTAssertEqual(v["a"]?.array?.count, 5)
        XCTAssertEqual(v["a"]?.array?[1].double, -25)
        XCTAssertEqual(v["a"]?.array?[4].string, "xé\n")
        XCTAssertEqual(try JSON(parsing: "3").int, 3)
        XCTAssertNil(try JSON(parsing: "3.5").int)
        for bad in [
            "", "{", "[1,]", "{\"a\" 1}", "01", "1.", "tru", "\"\\x\"", "\"a", "[1] 2", "{\"a\":1,\"a\":2}",
            "\"\\ud800\"", "1e999", String(repeating: "[", count: 100),
        ] {
            XCTAssertThrowsError(try JSON(parsing: bad), bad)
        }
        XCTAssertThrowsError(try JSON(bytes: [0x22, 0xFF, 0x22]))  // invalid UTF-8 in a string
    }
}

final class ArenaTests: XCTestCase {
    func testAlignedAndSteadyStateAllocatesNothing() {
        let arena = Arena(bytes: 256)
        for round in 0..<3 {
            arena.reset()
            let before = arena.systemAllocations
            var ptrs: [UnsafeMutablePointer<Float>] = []
            for n in [1, 7, 100, 1000, 3] { ptrs.append(arena.floats(n)) }
            for p in ptrs { XCTAssertEqual(Int(bitPattern: p) % tensorAlignment, 0) }
            if round > 0 { XCTAssertEqual(arena.systemAllocations, before, "round \(round) allocated") }
        }
    }

    /// Random floats/release sequences: live regions never overlap and keep their contents, a
    /// released region is reused, and from the second run of a sequence on (the block then sized
    /// by the first run's layout) no system allocation is needed.
    func testReleasedRegionsAreReusedWithoutOverlap() {
        for seed: UInt64 in [11, 12, 13, 14, 15] {
            let arena = Arena(bytes: seed == 11 ? 1 << 16 : 1 << 10)
            for round in 0..<4 {
                arena.reset()
                let before = arena.systemAllocations
                var rng = SplitMix64(seed: seed)  // the same sequence every round
                var live: [(p: UnsafeMutablePointer<Float>, count: Int, tag: Float)] = []
                for step in 0..<400 {
                    if !live.isEmpty && rng.next() % 3 == 0 {
                        let i = Int(rng.next() % UInt64(live.count))
                        let r = live.remove(at: i)
                        XCTAssertEqual(r.p[0], r.tag, "round \(round) step \(step): region overwritten")
                        XCTAssertEqual(r.p[r.count - 1], r.tag, "round \(round) step \(step): region overwritten")
                        arena.release(r.p, count: r.count)
                    } else {
                        let count = 1 + Int(rng.next() % 700)
                        let p = arena.floats(count)
                        XCTAssertEqual(Int(bitPattern: p) % tensorAlignment, 0)
                        for other in live {
                            XCTAssertFalse(p < other.p + other.count && other.p < p + count, "round \(round) step \(step): overlap")
                        }
                        let tag = Float(step)
                        p.update(repeating: tag, count: count)
                        live.append((p, count, tag))
                    }
                }
                if round > 0 { XCTAssertEqual(arena.systemAllocations, before, "seed \(seed) round \(round) allocated") }
            }
        }
        let arena = Arena(bytes: 1 << 16)
        // A released block is handed out again (best fit) instead of growing the arena.
        arena.reset()
        let a = arena.floats(1000), b = arena.floats(10)
        arena.release(a, count: 1000)
        XCTAssertEqual(arena.floats(900), a)
        XCTAssertNotEqual(b, a)
    }

    /// A sequence (recorded from a small Xception-like network) whose first run overflows the block
    /// partway: sizing the next block by the old peak estimate left best fit a hole too small for
    /// the last request and the second run allocated again. The layout's own peak fits it.
    func testSecondRunOfAnOverflowingSequenceFits() {
        let arena = Arena(bytes: 139_072)
        for round in 0..<2 {
            arena.reset()
            let before = arena.systemAllocations
            let a = arena.floats(57_344 / 4), b = arena.floats(43_904 / 4)
            arena.release(a, count: 57_344 / 4)
            let c = arena.floats(21_952 / 4), d = arena.floats(87_808 / 4), e = arena.floats(6_272 / 4)
            arena.release(e, count: 6_272 / 4)
            arena.release(b, count: 43_904 / 4)
            let f = arena.floats(87_808 / 4)
            for (p, q) in [(c, d), (c, f), (d, f)] { XCTAssertNotEqual(p, q) }
            if round > 0 { XCTAssertEqual(arena.systemAllocations, before, "second run allocated") }
        }
    }

    func testShapeIsInline() throws {
        let s = Shape(2, 3, 4)
        XCTAssertEqual(s.count, 24)
        XCTAssertEqual(s.dims, [2, 3, 4])
        let t = try Tensor([1, 2, 3, 4, 5, 6], [2, 3]).reshaped([3, 2])
        XCTAssertEqual(t.shape.dims, [3, 2])
        XCTAssertThrowsError(try t.reshaped([4, 2]))
    }
}

/// A small deterministic generator so fuzz runs are reproducible.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
