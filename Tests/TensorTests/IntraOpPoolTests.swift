import Dispatch
import XCTest
@testable import Tensor

/// The engine's intra-op pool (Engine.parallelRanges) and the small-batch linear kernel's tiles.
final class IntraOpPoolTests: XCTestCase {
    /// Every index covered exactly once, whether helpers are free, busy or nested.
    private static func covered(_ count: Int, minimumPerPart: Int = 1, nested: Bool = false) -> Bool {
        let hits = UnsafeMutablePointer<Int>.allocate(capacity: count)
        defer { hits.deallocate() }
        hits.initialize(repeating: 0, count: count)
        Engine.parallelRanges(count, minimumPerPart: minimumPerPart) { range in
            for i in range {
                if nested {
                    // An op inside an op: claims whatever helpers are free, else runs inline.
                    let inner = UnsafeMutablePointer<Int>.allocate(capacity: 64)
                    inner.initialize(repeating: 0, count: 64)
                    Engine.parallelRanges(64) { for j in $0 { inner[j] += 1 } }
                    if (0..<64).allSatisfy({ inner[$0] == 1 }) { hits[i] += 1 }
                    inner.deallocate()
                } else {
                    hits[i] += 1
                }
            }
        }
        return (0..<count).allSatisfy { hits[$0] == 1 }
    }

    func testPartsCoverTheRangeOnce() {
        Engine.configure(intraOpThreads: 3)
        defer { Engine.configure(intraOpThreads: 1) }
        for count in [0, 1, 2, 3, 7, 64, 1000] {
            for minimum in [1, 4, 100] { XCTAssertTrue(Self.covered(count, minimumPerPart: minimum), "count \(count) min \(minimum)") }
        }
        XCTAssertTrue(Self.covered(40, nested: true))
    }

    /// Several workers calling at once, with fewer helpers than they would like: nothing hangs,
    /// every call covers its range once (callers that find no free helper run inline).
    func testConcurrentCallersNeverDeadlock() {
        Engine.configure(intraOpThreads: 2, callers: 2)
        defer { Engine.configure(intraOpThreads: 1) }
        let failures = UnsafeMutablePointer<Int>.allocate(capacity: 4)
        defer { failures.deallocate() }
        failures.initialize(repeating: 0, count: 4)
        nonisolated(unsafe) let f = failures
        DispatchQueue.concurrentPerform(iterations: 4) { w in
            for round in 0..<2000 where !IntraOpPoolTests.covered(1 + (round * 37 + w) % 300, nested: round % 50 == 0) { f[w] += 1 }
        }
        XCTAssertEqual((0..<4).map { failures[$0] }, [0, 0, 0, 0])
    }

    /// The small-batch linear paths (24-column panels in 4-row groups, 8-column tail panels in 8-row
    /// groups) against a plain dot product, on row and column counts around the tile edges.
    func testSmallBatchLinearTiles() throws {
        var seed: UInt64 = 12345
        func next() -> Float {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            return Float(Int64(bitPattern: seed >> 11) % 2001 - 1000) / 1000
        }
        for threads in [1, 2] {
            Engine.configure(intraOpThreads: threads)
            defer { Engine.configure(intraOpThreads: 1) }
            for (m, k, n) in [(1, 5, 24), (3, 17, 25), (4, 9, 47), (5, 33, 48), (8, 64, 72), (9, 3, 100), (13, 40, 130), (32, 7, 31)] {
                let w = try Tensor((0..<(n * k)).map { _ in next() }, [n, k])
                let x = try Tensor((0..<(m * k)).map { _ in next() }, [m, k])
                let kernel = try LinearKernel(spec: OpSpec(op: "linear", params: .object([:]), tensors: ["weight": w]))
                let arena = Arena()
                let y = try kernel.run([x], arena)
                for r in 0..<m {
                    for o in 0..<n {
                        var ref: Float = 0
                        for i in 0..<k { ref += x.data[r * k + i] * w.data[o * k + i] }
                        XCTAssertEqual(y.data[r * n + o], ref, accuracy: 1e-4 * max(1, abs(ref)), "m \(m) k \(k) n \(n) [\(r), \(o)]")
                    }
                }
                withExtendedLifetime(arena) {}
            }
        }
    }
}
