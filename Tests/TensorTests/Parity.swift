import Foundation
import OpCases
import TestSupport
import XCTest
@testable import Tensor

/// Runs parity vectors (.cache/vectors/<suite>/*.safetensors, written by tools/reference/*_vectors.py
/// via `make vectors`) through the op registry and compares with the numpy references.
/// Tolerance: |ours - reference| <= 1e-4 * max(1, |reference|), i.e. 1e-4 absolute for values up
/// to 1 and 1e-4 relative above.
enum Parity {
    static let root = URL(fileURLWithPath: Repo.vectors)

    static func cases(_ suite: String) throws -> [String] {
        let dir = root.appendingPathComponent(suite)
        let files = (try? FileManager.default.contentsOfDirectory(atPath: dir.path)) ?? []
        let cases = files.filter { $0.hasSuffix(".safetensors") }.sorted().map { dir.appendingPathComponent($0).path }
        if cases.isEmpty {
            XCTFail("no parity vectors in \(dir.path): run `make vectors` (or `make setup`)")
        }
        return cases
    }

    /// Worst error of one case, as (output name, index, ours, reference), nil when within tolerance.
    static func check(_ path: String, arena: Arena, tolerance: Float = 1e-4) throws -> String? {
        let c = try OpCase(path: path)
        let kernel = try c.makeKernel()
        var report: String?
        for pass in 0..<2 {
            arena.reset()
            let allocationsBefore = arena.systemAllocations
            let outs = try kernel.runAll(c.inputs, arena)
            if pass == 1 && arena.systemAllocations != allocationsBefore {
                return "second run allocated (\(arena.systemAllocations - allocationsBefore) system allocations)"
            }
            guard outs.count >= c.expected.count else { return "\(outs.count) outputs, \(c.expected.count) expected" }
            for (o, e) in zip(outs, c.expected) {
                guard o.shape == e.tensor.shape else { return "\(e.name): shape \(o.shape), expected \(e.tensor.shape)" }
                var worst: Float = 0, at = -1
                for i in 0..<o.count {
                    let r = e.tensor.data[i], v = o.data[i]
                    let err = abs(v - r) / max(1, abs(r))
                    if !(err <= worst) { worst = err; at = i }  // catches NaN too
                }
                if !(worst <= tolerance) {
                    report = "\(e.name)[\(at)]: ours \(o.data[at]), reference \(e.tensor.data[at]) (scaled error \(worst))"
                }
            }
            if report != nil { return report }
        }
        return nil
    }

    /// Checks every case of a suite; one failure line per failing case.
    static func run(suite: String, file: StaticString = #filePath, line: UInt = #line) throws -> Int {
        let arena = Arena(bytes: 1 << 16)
        var n = 0
        for path in try cases(suite) {
            let name = URL(fileURLWithPath: path).deletingPathExtension().lastPathComponent
            do {
                if let problem = try check(path, arena: arena) { XCTFail("\(suite)/\(name): \(problem)", file: file, line: line) }
            } catch {
                XCTFail("\(suite)/\(name): \(error)", file: file, line: line)
            }
            n += 1
        }
        return n
    }
}

final class KernelParityTests: XCTestCase {
    func testEveryKernelVector() throws {
        let n = try Parity.run(suite: "kernels")
        XCTAssertGreaterThan(n, 60)
        // Every image op of the registry has at least one vector.
        let dir = Parity.root.appendingPathComponent("kernels").path
        var covered = Set<String>()
        for f in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where f.hasSuffix(".safetensors") {
            if let op = try? SafeTensorsFile(path: dir + "/" + f).metadata["op"] { covered.insert(op) }
        }
        XCTAssertEqual(Set(kernelOps.keys).subtracting(covered), [], "ops without a parity vector")
    }

    func testEveryNetworkVector() throws {
        XCTAssertGreaterThanOrEqual(try Parity.run(suite: "network"), 4)
    }

    /// The same vectors with ops split across two threads (GEMM rows, depthwise rows, linear panels).
    func testEveryVectorWithTwoThreads() throws {
        Engine.configure(intraOpThreads: 2)
        defer { Engine.configure(intraOpThreads: 1) }
        XCTAssertGreaterThan(try Parity.run(suite: "kernels"), 60)
        XCTAssertGreaterThanOrEqual(try Parity.run(suite: "network"), 4)
    }

    /// On an AVX-512 CPU the other runs use the AVX-512 GEMM tile for pairs of panels; this one
    /// runs every vector on the AVX2 tiles alone, so both stay covered (elsewhere it repeats them).
    func testEveryVectorOnAVX2Tiles() throws {
        let saved = GemmTile.avx512
        GemmTile.avx512 = false
        defer { GemmTile.avx512 = saved }
        XCTAssertGreaterThan(try Parity.run(suite: "kernels"), 60)
        XCTAssertGreaterThanOrEqual(try Parity.run(suite: "network"), 4)
    }
}
