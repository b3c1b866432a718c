import Foundation
import XCTest
@testable import Tensor

/// Manifest networks: malformed declarations and inputs are refused with errors, never traps.
final class NetworkTests: XCTestCase {
    let weights: [String: Tensor] = [
        "c.w": Tensor(zeros: [4, 3, 3, 3]), "c.b": Tensor(zeros: [4]),
        "fc.w": Tensor(zeros: [2, 4]), "bad.w": Tensor(zeros: [4, 3]),
    ]

    func network(_ json: String) throws -> Network {
        let w = weights
        return try Network(json: try JSON(parsing: json), lookup: { w[$0] })
    }

    let good =
        #"{"inputs":[{"name":"image","shape":[null,null,3]}],"blocks":[{"op":"conv2d","name":"c","weight":"c.w","bias":"c.b","pad":"same","activation":"relu"},{"op":"global_avg_pool","name":"g"},{"op":"linear","name":"fc","weight":"fc.w"},{"op":"softmax","name":"p"}],"outputs":[{"name":"probs","block":"p"},"g"]}"#

    func testRunsOnAnySizeAndNamesOutputs() throws {
        let net = try network(good)
        XCTAssertEqual(net.outputNames, ["probs", "g"])
        XCTAssertEqual(net.blockOps, ["conv2d", "global_avg_pool", "linear", "softmax"])
        let arena = Arena()
        for (h, w) in [(1, 1), (7, 12), (33, 2)] {
            arena.reset()
            let out = try net.run(
                [arena.tensor([2, h, w, 3], layout: .nhwc)].map { t in
                    t.data.update(repeating: 0.5, count: t.count); return t
                }, arena: arena)
            XCTAssertEqual(out[0].shape.dims, [2, 2])
            XCTAssertEqual(out[0].array, [0.5, 0.5, 0.5, 0.5])  // zero weights: uniform softmax
            XCTAssertEqual(out[1].shape.dims, [2, 4])
        }
    }

    /// conv2d -> prelu is fused (the prelu block disappears, its name still resolves); not when
    /// something else reads the conv's output. Results equal the unfused computation.
    func testConvPReLUFusionKeepsResults() throws {
        var w = weights
        let conv = Tensor(zeros: [4, 3, 3, 3])
        for i in 0..<conv.count { conv.data[i] = Float((i * 7919) % 13) / 13 - 0.5 }
        w["k.w"] = conv
        w["a"] = try Tensor([0.1, -0.2, 0.3, 0.25], [4])
        func net(_ json: String) throws -> Network { try Network(json: try JSON(parsing: json), lookup: { w[$0] }) }
        let fused = try net(
            #"{"inputs":[{"name":"x"}],"blocks":[{"op":"conv2d","name":"c","weight":"k.w","pad":1},{"op":"prelu","name":"p","slope":"a"}],"outputs":["p"]}"#)
        let shared = try net(
            #"{"inputs":[{"name":"x"}],"blocks":[{"op":"conv2d","name":"c","weight":"k.w","pad":1},{"op":"prelu","name":"p","slope":"a"},{"op":"add","name":"s","inputs":["p","c"]}],"outputs":["p","s"]}"#
        )
        XCTAssertEqual(fused.blockOps, ["conv2d"])
        XCTAssertEqual(shared.blockOps, ["conv2d", "prelu", "add"])
        let x = Tensor(zeros: [2, 5, 6, 3], layout: .nhwc)
        for i in 0..<x.count { x.data[i] = Float((i * 31) % 17) / 17 - 0.5 }
        let arenaA = Arena(), arenaB = Arena()  // results live in their arena
        let a = try fused.run([x], arena: arenaA)[0].array
        let b = try shared.run([x], arena: arenaB)[0].array
        XCTAssertEqual(a.count, 2 * 5 * 6 * 4)
        XCTAssertEqual(a, b)
        XCTAssertTrue(a.contains { $0 < 0 })  // negative outputs went through the slopes
    }

    /// A small network on small declared images runs a batch image by image (one thread): the
    /// results equal each image run alone, bit for bit, for every output; a network over the weight
    /// limit, or with undeclared image sizes, keeps the batch whole.
    func testSmallNetworksSplitTheBatchWithTheSameResults() throws {
        func filled(_ dims: [Int], _ seed: Int) -> Tensor {
            let t = Tensor(zeros: dims)
            for i in 0..<t.count { t.data[i] = Float((i * 7919 + seed * 104_729) % 211) / 211 - 0.45 }
            return t
        }
        var w: [String: Tensor] = [
            "c.w": filled([16, 3, 3, 3], 1), "c.b": filled([16], 2),
            "d.w": filled([16, 1, 3, 3], 3), "p.w": filled([24, 16, 1, 1], 4),
            "fc.w": filled([5, 24], 5),
        ]
        let blocks =
            #"[{"op":"conv2d","name":"c","weight":"c.w","bias":"c.b","stride":2,"pad":1,"activation":"relu"},{"op":"conv2d","name":"d","weight":"d.w","groups":16,"pad":1},{"op":"conv2d","name":"p","weight":"p.w","activation":"relu6"},{"op":"global_avg_pool","name":"g"},{"op":"linear","name":"fc","weight":"fc.w"},{"op":"softmax","name":"s"}],"outputs":["s","g","p"]"#
        func net(_ shape: String) throws -> Network {
            try Network(json: try JSON(parsing: #"{"inputs":[{"name":"x","shape":\#(shape)}],"blocks":\#(blocks)}"#), lookup: { w[$0] })
        }
        let small = try net("[20,18,3]"), anySize = try net("[null,null,3]")
        XCTAssertTrue(small.splitsBatch)
        XCTAssertFalse(anySize.splitsBatch)
        w["fc.w"] = filled([5000, 24], 5)  // 480 KB of weights
        XCTAssertFalse(try net("[20,18,3]").splitsBatch)

        let n = 3, x = filled([n, 20, 18, 3], 7)
        let batchArena = Arena(), aloneArena = Arena()  // results live in their arena
        for pass in 0..<2 {  // the second run reuses the arena's block
            batchArena.reset()
            let before = batchArena.systemAllocations
            let batch = try small.run([try x.reshaped([n, 20, 18, 3], layout: .nhwc)], arena: batchArena)
            if pass == 1 { XCTAssertEqual(batchArena.systemAllocations, before, "second run allocated") }
            XCTAssertEqual(batch.map(\.shape.dims), [[n, 5], [n, 24], [n, 10, 9, 24]])
            for i in 0..<n {
                let one = Tensor(shape: Shape([1, 20, 18, 3]), layout: .nhwc, data: x.data + i * 20 * 18 * 3, owner: x.owner)
                aloneArena.reset()
                let alone = try small.run([one], arena: aloneArena)
                for (k, (b, a)) in zip(batch, alone).enumerated() {
                    let slice = Array(UnsafeBufferPointer(start: b.data + i * a.count, count: a.count))
                    let differing = zip(slice, a.array).filter { $0 != $1 }.count
                    XCTAssertEqual(differing, 0, "image \(i), output \(k): \(differing) of \(a.count) values differ")
                }
            }
        }
    }

    /// [1x1 expand ->] depthwise -> 1x1 project runs as one fused op (InvertedResidual.swift)
    /// when nothing else reads the intermediates, and gives exactly the convs' results one by one:
    /// stride 1 and 2, 3x3 and 5x5, padding "same" and explicit, batch 2, images whose expanded
    /// tensor exceeds InvertedResidualKernel.fuseAboveBytes (many bands, the window's overlap
    /// moved to its front) and a small one (run one by one), on 1 and 2 intra-op threads.
    func testEachBlockIsToldTheNextWeightsToPrefetch() throws {
        let w: [String: Tensor] = [
            "c.w": Tensor(zeros: [16, 3, 3, 3]), "d.w": Tensor(zeros: [16, 1, 3, 3]),
            "d.b": Tensor(zeros: [16]), "p.w": Tensor(zeros: [24, 16, 1, 1]),
            "fc.w": Tensor(zeros: [5, 24]),
        ]
        let net = try Network(
            json: try JSON(
                parsing:
                    #"{"inputs":[{"name":"x","shape":[20,18,3]}],"blocks":[{"op":"conv2d","name":"c","weight":"c.w","pad":1},{"op":"conv2d","name":"d","weight":"d.w","bias":"d.b","groups":16,"pad":1},{"op":"conv2d","name":"p","weight":"p.w"},{"op":"global_avg_pool","name":"g"},{"op":"linear","name":"fc","weight":"fc.w"},{"op":"softmax","name":"s"}]}"#
            ), lookup: { w[$0] })
        XCTAssertEqual(net.blockOps, ["conv2d", "inverted_residual", "global_avg_pool", "linear", "softmax"])
        func starts(_ p: Prefetch) -> [UnsafeRawPointer?] { p.ranges.map(\.baseAddress) }
        let depthwise = net.blocks[1].kernel.leadingWeights, linear = net.blocks[3].kernel.leadingWeights
        XCTAssertEqual(depthwise.byteCount, (16 * 9 + 16) * 4, "the depthwise's weights and bias")
        XCTAssertEqual(linear.byteCount, 8 * 24 * 4, "the linear's one 8-column panel")
        XCTAssertEqual(starts(net.upcoming[0]), starts(depthwise))
        XCTAssertEqual(starts(net.upcoming[1]), starts(linear), "the pool has no weights: skipped")
        XCTAssertEqual(starts(net.upcoming[2]), starts(linear))
        XCTAssertTrue(net.upcoming[3].isEmpty && net.upcoming[4].isEmpty)
    }

    func testPrefetchLaysItsRangesEndToEnd() {
        let a = UnsafeMutableRawPointer.allocate(byteCount: 256, alignment: 64)
        defer { a.deallocate() }
        let p = Prefetch(a, count: 100) + Prefetch(a + 200, count: 0) + Prefetch(a + 128, count: 50)
        XCTAssertEqual(p.ranges.count, 2, "empty ranges are dropped")
        XCTAssertEqual(p.byteCount, 150)
        func slice(_ offset: Int, _ count: Int) -> [Int]? {
            p.slice(at: offset, count: count).map { [UnsafeRawPointer($0.baseAddress!) - UnsafeRawPointer(a), $0.count] }
        }
        XCTAssertEqual(slice(0, 10), [0, 10])
        XCTAssertEqual(slice(90, 40), [90, 10], "stops at the first range's end")
        XCTAssertEqual(slice(100, 40), [128, 40])
        XCTAssertEqual(slice(149, 40), [177, 1])
        XCTAssertNil(slice(150, 1))
        XCTAssertTrue(Prefetch().isEmpty)
    }

    func testInvertedResidualFusionKeepsResults() throws {
        func filled(_ dims: [Int], _ seed: Int, scale: Float = 1, layout: Layout = .rowMajor) -> Tensor {
            let t = Tensor(zeros: dims, layout: layout)
            for i in 0..<t.count { t.data[i] = (Float((i * 7919 + seed * 104_729) % 211) / 211 - 0.45) * scale }
            return t
        }
        // (kernel, stride, pad, cin, mid, cout, h, w, expand)
        let cases: [(Int, Int, String, Int, Int, Int, Int, Int, Bool)] = [
            (3, 1, #""same""#, 8, 72, 16, 64, 64, true),
            (3, 2, #""same""#, 16, 96, 24, 67, 70, true),
            (5, 2, "2", 12, 80, 20, 61, 58, true),
            (5, 1, #""same""#, 24, 144, 24, 42, 45, true),
            (3, 1, "1", 72, 72, 16, 64, 64, false),
            (3, 2, #""same""#, 16, 96, 24, 9, 11, true),  // small: whole convs, image by image
            (5, 1, #""same""#, 40, 240, 40, 14, 14, true),
            (3, 1, "1", 32, 32, 16, 12, 10, false),
        ]
        for threads in [1, 2] {
            Engine.configure(intraOpThreads: threads)
            defer { Engine.configure(intraOpThreads: 1) }
            for (n, (k, stride, pad, cin, mid, cout, h, w, hasExpand)) in cases.enumerated() {
                let w8: [String: Tensor] = [
                    "e.w": filled([mid, cin, 1, 1], 1, scale: 0.5), "e.b": filled([mid], 2),
                    "d.w": filled([mid, 1, k, k], 3, scale: 0.6), "d.b": filled([mid], 4),
                    "p.w": filled([cout, mid, 1, 1], 5, scale: 0.2), "p.b": filled([cout], 6),
                ]
                let expand = hasExpand ? #"{"op":"conv2d","name":"e","weight":"e.w","bias":"e.b","activation":"relu6"},"# : ""
                let blocks =
                    "[" + expand
                    + #"{"op":"conv2d","name":"d","weight":"d.w","bias":"d.b","groups":\#(mid),"stride":\#(stride),"pad":\#(pad),"activation":"relu6"},{"op":"conv2d","name":"p","weight":"p.w","bias":"p.b"}]"#
                func net(_ outputs: String) throws -> Network {
                    try Network(
                        json: try JSON(parsing: #"{"inputs":[{"name":"x"}],"blocks":\#(blocks),"outputs":\#(outputs)}"#),
                        lookup: { w8[$0] })
                }
                let fused = try net(#"["p"]"#), separate = try net(#"["p","d"]"#)  // d read twice: not fused
                XCTAssertEqual(fused.blockOps, ["inverted_residual"], "case \(n)")
                XCTAssertEqual(separate.blockOps, [String](repeating: "conv2d", count: hasExpand ? 3 : 2), "case \(n)")
                let x = filled([h < 16 ? 3 : 2, h, w, cin], 7, layout: .nhwc)  // 3 images: 2 threads split them 1 + 2
                let arenaA = Arena(), arenaB = Arena()  // results live in their arena
                let a = try fused.run([x], arena: arenaA)[0], b = try separate.run([x], arena: arenaB)[0]
                XCTAssertEqual(a.shape.dims, b.shape.dims, "case \(n)")
                let (av, bv) = (a.array, b.array)
                let differing = zip(av, bv).filter { $0 != $1 }.count
                let worst = zip(av, bv).map { abs($0 - $1) }.max() ?? 0
                XCTAssertEqual(differing, 0, "case \(n), \(threads) threads: \(differing) of \(av.count) values differ, worst by \(worst)")
                XCTAssertGreaterThan(Set(av).count, 1000, "case \(n): outputs vary")  // not a constant, clamped map
            }
        }
    }

    func testMalformedDeclarationsThrow() {
        let bad = [
            #"{"blocks":[{"op":"relu"}]}"#,  // no inputs
            #"{"inputs":[{"name":"x"}],"blocks":[]}"#,  // no blocks
            #"{"inputs":[{"name":"x"}],"blocks":[{"op":"nope"}]}"#,  // unknown op
            #"{"inputs":[{"name":"x"}],"blocks":[{"op":"relu","input":"y"}]}"#,  // unknown input
            #"{"inputs":[{"name":"x"}],"blocks":[{"op":"relu","name":"x"}]}"#,  // duplicate name
            #"{"inputs":[{"name":"x"}],"blocks":[{"op":"conv2d","weight":"missing"}]}"#,  // missing tensor
            #"{"inputs":[{"name":"x"}],"blocks":[{"op":"conv2d","weight":"bad.w"}]}"#,  // wrong rank
            #"{"inputs":[{"name":"x"}],"blocks":[{"op":"conv2d","weight":"c.w","stride":0}]}"#,  // zero stride
            #"{"inputs":[{"name":"x"}],"blocks":[{"op":"conv2d","weight":"c.w","pad":"half"}]}"#,  // bad padding
            #"{"inputs":[{"name":"x"}],"blocks":[{"op":"conv2d","weight":"c.w","groups":2}]}"#,  // 4 % 2 ok, 3 channels: run error below
            #"{"inputs":[{"name":"x"}],"blocks":[{"op":"maxpool","kernel":[2]}]}"#,  // kernel needs 2
            #"{"inputs":[{"name":"x"}],"blocks":[{"op":"flatten","order":"cwh"}]}"#,  // bad order
            #"{"inputs":[{"name":"x"}],"blocks":[{"op":"relu"}],"outputs":["z"]}"#,  // unknown output
            #"{"inputs":[{"name":"x"}],"blocks":[{"op":"add","inputs":[]}]}"#,  // empty inputs
        ]
        var thrown = 0
        for (i, json) in bad.enumerated() {
            do {
                let net = try network(json)
                // Declarations that parse must still refuse a mismatching input at run time.
                XCTAssertThrowsError(try net.run([Tensor(zeros: [1, 5, 5, 3])], arena: Arena()), "case \(i)")
            } catch {
                thrown += 1
            }
        }
        XCTAssertGreaterThanOrEqual(thrown, 13)
    }

    func testRunRefusesWrongInputs() throws {
        let net = try network(good)
        let arena = Arena()
        XCTAssertThrowsError(try net.run([Tensor(zeros: [1, 5, 5, 4])], arena: arena))  // 4 channels, declared 3
        XCTAssertThrowsError(try net.run([Tensor(zeros: [5, 5, 3])], arena: arena))  // no batch axis
        XCTAssertThrowsError(try net.run([], arena: arena))
        let manifest = try JSON(parsing: #"{"format":"affectd-model/9","networks":{}}"#)
        let st = try SafeTensorsFile(path: try emptySafetensors())
        XCTAssertThrowsError(try Network(manifest: manifest, network: "x", weights: st))
    }

    func emptySafetensors() throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("affectd-empty-\(getpid()).safetensors").path
        var b = [UInt8](repeating: 0, count: 8)
        b[0] = 8
        b += Array("{}      ".utf8)
        FileManager.default.createFile(atPath: path, contents: Data(b))
        return path
    }
}
