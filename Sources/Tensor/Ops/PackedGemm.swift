import Foundation
import TensorAVX512

/// The engine's own GEMM for convolutions: C[m x n] = A[m x k] * B[k x n] (+ bias, clamp), where B
/// (the weights) is packed once at load and A's rows are reached through pointers, so a conv can
/// feed its input pixels straight in (an implicit GEMM: no im2col copy) and Winograd its
/// transformed tiles. One register tile is `GemmTile.rows` rows x `GemmTile.cols` columns: 6 x 16
/// with AVX2 = twelve 8-lane accumulators, two B vectors and one broadcast in the 16 ymm
/// registers, the classic Haswell sgemm shape.
///
/// The K dimension may arrive in segments (one per conv tap or kernel row): segment s of row r
/// starts at `table[s * tableStride + r] + s * segmentStride` and is `segmentLength` floats long
/// (tableStride = rows: a pointer per segment; 0: one pointer per row, segments a fixed stride
/// apart); B's rows follow the same order.
enum GemmTile {
    typealias Vector = SIMD8<Float>
    static let rows = 6
    static let cols = 2 * Vector.scalarCount
    /// Pairs of panels go to the AVX-512 tile (TensorAVX512) when the CPU has AVX-512 and
    /// AFFECTD_AVX512 is not 0 (tests switch it to cover both tiles).
    nonisolated(unsafe) static var avx512 = cpuHasAVX512 && ProcessInfo.processInfo.environment["AFFECTD_AVX512"] != "0"
    /// packedGemm prefetches weights when a thread's share is at most this many tiles.
    static let prefetchTiles = 40
}

/// Whether this CPU runs AVX-512 F/CD/BW/DQ/VL (what TensorAVX512's -target-cpu skylake-avx512 may
/// emit), from the kernel's CPU flags; false where they cannot be read. Evaluated here, in code
/// built for Haswell: the check itself must run on any CPU.
let cpuHasAVX512: Bool = {
    #if arch(x86_64) && os(Linux)
        guard let text = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix("flags") })
        else { return false }
        let flags = Set(line.split(separator: " ").map(String.init))
        return ["avx512f", "avx512cd", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains)
    #else
        return false
    #endif
}()

/// One tile (or run) against panels `panels` of `b` (columns `panels.lowerBound * 16 ..< n`, C at
/// column 0 of them): two panels at a time on the AVX-512 tile when it is on, else one at a time.
/// A pair whose second panel holds 8 columns or fewer (N = 24: EfficientNet's 24-channel
/// projections) goes to the AVX2 tiles instead, whose narrow tile computes just those 8: the
/// 16-lane tile would spend a quarter of its multiply-adds on zero padding (measurable on
/// EfficientNet-Lite0 at batch 1: benchmarks/RESULTS.md).
///
/// `prefetch`: the AVX-512 pair tile also asks for one 64-byte line of it per k step, into L2
/// (packedGemm points it at weights it needs next); pass it for one pair at a time.
@inline(__always)
func gemmPanels(
    _ panels: Range<Int>, of b: PackedPanels, n: Int, rows: Int,
    table: UnsafePointer<UnsafePointer<Float>>, tableStride: Int = GemmTile.rows,
    segments: Int, segmentLength: Int, segmentStride: Int = 0,
    c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: GemmEpilogue,
    runLength: Int = GemmTile.rows, runStride: Int = 0, prefetch: UnsafeRawBufferPointer? = nil
) {
    var p = panels.lowerBound
    while p < panels.upperBound {
        let col = p * GemmTile.cols
        if GemmTile.avx512 && rows > 2 && p + 1 < panels.upperBound && n - (p + 1) * GemmTile.cols > GemmTile.Vector.scalarCount {
            gemmTile512(
                rows: rows, cols: min(2 * GemmTile.cols, n - col), table: table, tableStride: tableStride,
                segments: segments, segmentLength: segmentLength, segmentStride: segmentStride,
                panel0: b.panel(p), panel1: b.panel(p + 1), c: c + col, ldc: ldc,
                bias: epilogue.bias.map { $0 + col }, slopes: epilogue.slopes.map { $0 + col },
                lo: epilogue.lo, hi: epilogue.hi, runLength: runLength, runStride: runStride, prefetch: prefetch)
            p += 2
        } else {
            gemmTile(
                rows: rows, cols: min(GemmTile.cols, n - col), table: table, tableStride: tableStride,
                segments: segments, segmentLength: segmentLength, segmentStride: segmentStride,
                panel: b.panel(p), c: c + col, ldc: ldc, epilogue: epilogue, column0: col,
                runLength: runLength, runStride: runStride)
            p += 1
        }
    }
}

/// B [k x n] packed into column panels of `GemmTile.cols`: panel p is [k][cols] (columns
/// p*cols ..< p*cols + cols, zero past n), so one tile reads B contiguously, 64-byte aligned.
struct PackedPanels: @unchecked Sendable {
    let k: Int, n: Int
    let panelCount: Int
    let storage: TensorStorage

    /// `value(row, column)` is B[row][column] for row < k, column < n.
    init(k: Int, n: Int, value: (Int, Int) -> Float) {
        self.k = k; self.n = n
        panelCount = (n + GemmTile.cols - 1) / GemmTile.cols
        storage = TensorStorage(count: max(1, panelCount * k * GemmTile.cols))  // zero-filled
        let nr = GemmTile.cols
        for p in 0..<panelCount {
            for col in p * nr..<min(n, p * nr + nr) {
                for row in 0..<k { storage.base[(p * k + row) * nr + col - p * nr] = value(row, col) }
            }
        }
    }

    @inline(__always) func panel(_ p: Int) -> UnsafePointer<Float> { UnsafePointer(storage.base + p * k * GemmTile.cols) }
}

/// What happens to a finished tile before it is stored: + bias[column], PReLU with per-column
/// slopes, then clamp to [lo, hi] (ReLU = [0, inf), ReLU6 = [0, 6]); other activations run as a
/// pass over the output afterwards.
struct GemmEpilogue: @unchecked Sendable {
    /// Both padded to whole panels (zeros), so a tile loads them without a bounds check; nil: none.
    let bias: UnsafePointer<Float>?
    let slopes: UnsafePointer<Float>?
    let lo: Float, hi: Float

    static let none = GemmEpilogue(bias: nil, slopes: nil, lo: -.infinity, hi: .infinity)

    /// The part of `activation` a tile applies, and what a separate pass must still apply.
    static func split(
        _ activation: Activation, bias: UnsafePointer<Float>?,
        slopes: UnsafePointer<Float>? = nil
    ) -> (GemmEpilogue, Activation) {
        switch activation {
        case .identity: return (GemmEpilogue(bias: bias, slopes: slopes, lo: -.infinity, hi: .infinity), .identity)
        case .relu: return (GemmEpilogue(bias: bias, slopes: slopes, lo: 0, hi: .infinity), .identity)
        case .relu6: return (GemmEpilogue(bias: bias, slopes: slopes, lo: 0, hi: 6), .identity)
        default: return (GemmEpilogue(bias: bias, slopes: slopes, lo: -.infinity, hi: .infinity), activation)
        }
    }

    /// The same epilogue for columns starting `offset` further on (a conv group).
    func shifted(by offset: Int) -> GemmEpilogue {
        GemmEpilogue(bias: bias.map { $0 + offset }, slopes: slopes.map { $0 + offset }, lo: lo, hi: hi)
    }
}

/// PReLU on a vector: slope * v where v < 0, exactly the reference's v * (v < 0 ? slope : 1).
/// Mask + select compiles to vcmpps/vblendvps even in large functions (lane loops may not).
@inline(__always)
func prelu(_ v: SIMD8<Float>, _ slope: SIMD8<Float>) -> SIMD8<Float> {
    v.replacing(with: v * slope, where: v .< 0)
}

/// Clamps to [lo, hi] (NaN stays NaN, as PyTorch's clamp). Written lane by lane so that, inside
/// the small tile functions, LLVM emits vmaxps/vminps (one op a side; the mask + select form
/// costs a compare and a blend).
@inline(__always)
func clamp(_ v: SIMD8<Float>, _ lo: Float, _ hi: Float) -> SIMD8<Float> {
    var r = v
    for l in 0..<8 { let x = v[l] < lo ? lo : v[l]; r[l] = hi < x ? hi : x }
    return r
}

/// One register tile: rows [0, rows) x columns [0, cols) of C (row stride ldc) from the segment
/// row pointers in `table` ([segments][GemmTile.rows]; rows past `rows` must repeat a valid row,
/// their results are dropped) and one B panel. Overwrites C. Narrow outputs (7, 8, 10 channels, a
/// panel's 8-column tail) take the half-width tile: one accumulator per row, half the FMAs; a
/// tile of 1-2 rows (a row count's remainder) takes the 2-row tile, thinTile.
///
/// A run: with `runLength` > GemmTile.rows, the tile repeats down a run of rows whose A pointers
/// are `runStride` floats apart (an output row's interior pixels): every row pointer and C move
/// on by a tile each time, the last tile shifted back to end at the run's end (its overlap is
/// recomputed and stored again, identical), so `rows` must then be GemmTile.rows. One call per
/// run instead of per tile: small-K convs (3x3 on 1-3 channels) spent more on the calls than on
/// their multiply-adds.
@inline(__always)
func gemmTile(
    rows: Int, cols: Int, table: UnsafePointer<UnsafePointer<Float>>, tableStride: Int = GemmTile.rows,
    segments: Int, segmentLength: Int, segmentStride: Int = 0,
    panel: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int,
    epilogue: GemmEpilogue, column0: Int, runLength: Int = GemmTile.rows, runStride: Int = 0
) {
    if rows <= 2 && runLength <= GemmTile.rows {
        thinTile(
            rows: rows, cols: cols, table: table, tableStride: tableStride, segments: segments,
            segmentLength: segmentLength, segmentStride: segmentStride,
            panel: panel, c: c, ldc: ldc, epilogue: epilogue, column0: column0)
    } else if cols <= GemmTile.Vector.scalarCount {
        narrowTile(
            rows: rows, cols: cols, table: table, tableStride: tableStride, segments: segments,
            segmentLength: segmentLength, segmentStride: segmentStride,
            panel: panel, c: c, ldc: ldc, epilogue: epilogue, column0: column0,
            runLength: runLength, runStride: runStride)
    } else {
        wideTile(
            rows: rows, cols: cols, table: table, tableStride: tableStride, segments: segments,
            segmentLength: segmentLength, segmentStride: segmentStride,
            panel: panel, c: c, ldc: ldc, epilogue: epilogue, column0: column0,
            runLength: runLength, runStride: runStride)
    }
}

// The tile kernels are small functions of their own on purpose: inside a large caller the
// optimiser stopped inlining the stdlib's SIMD loads, and every call in the k loop spilled all
// accumulators. Panels, bias and slopes are 64-byte aligned, so they are read as typed vectors.

@inline(never)
func wideTile(
    rows: Int, cols: Int, table: UnsafePointer<UnsafePointer<Float>>, tableStride: Int, segments: Int,
    segmentLength: Int, segmentStride: Int,
    panel: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int,
    epilogue: GemmEpilogue, column0: Int, runLength: Int, runStride: Int
) {
    typealias V = GemmTile.Vector
    var start = 0
    while true {
        var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V()
        var c30 = V(), c31 = V(), c40 = V(), c41 = V(), c50 = V(), c51 = V()
        var b = UnsafePointer<V>(OpaquePointer(panel))
        var t = table
        var offset = start * runStride
        for _ in 0..<segments {
            let a0 = t[0] + offset, a1 = t[1] + offset, a2 = t[2] + offset
            let a3 = t[3] + offset, a4 = t[4] + offset, a5 = t[5] + offset
            t += tableStride
            offset += segmentStride
            var kk = 0
            while kk < segmentLength {
                let b0 = b[0], b1 = b[1]
                var x = V(repeating: a0[kk]); c00 = c00.addingProduct(x, b0); c01 = c01.addingProduct(x, b1)
                x = V(repeating: a1[kk]); c10 = c10.addingProduct(x, b0); c11 = c11.addingProduct(x, b1)
                x = V(repeating: a2[kk]); c20 = c20.addingProduct(x, b0); c21 = c21.addingProduct(x, b1)
                x = V(repeating: a3[kk]); c30 = c30.addingProduct(x, b0); c31 = c31.addingProduct(x, b1)
                x = V(repeating: a4[kk]); c40 = c40.addingProduct(x, b0); c41 = c41.addingProduct(x, b1)
                x = V(repeating: a5[kk]); c50 = c50.addingProduct(x, b0); c51 = c51.addingProduct(x, b1)
                b += 2
                kk &+= 1
            }
        }
        finishTile(
            rows: rows, cols: cols, c: c + start * ldc, ldc: ldc, epilogue: epilogue, column0: column0,
            c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51)
        if start + GemmTile.rows >= runLength { return }
        start = min(start + GemmTile.rows, runLength - GemmTile.rows)
    }
}

@inline(never)
func narrowTile(
    rows: Int, cols: Int, table: UnsafePointer<UnsafePointer<Float>>, tableStride: Int, segments: Int,
    segmentLength: Int, segmentStride: Int,
    panel: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int,
    epilogue: GemmEpilogue, column0: Int, runLength: Int, runStride: Int
) {
    typealias V = GemmTile.Vector
    var start = 0
    while true {
        var c00 = V(), c10 = V(), c20 = V(), c30 = V(), c40 = V(), c50 = V()
        var b = UnsafePointer<V>(OpaquePointer(panel))
        var t = table
        var offset = start * runStride
        for _ in 0..<segments {
            let a0 = t[0] + offset, a1 = t[1] + offset, a2 = t[2] + offset
            let a3 = t[3] + offset, a4 = t[4] + offset, a5 = t[5] + offset
            t += tableStride
            offset += segmentStride
            var kk = 0
            while kk < segmentLength {
                let b0 = b[0]
                c00 = c00.addingProduct(V(repeating: a0[kk]), b0); c10 = c10.addingProduct(V(repeating: a1[kk]), b0)
                c20 = c20.addingProduct(V(repeating: a2[kk]), b0); c30 = c30.addingProduct(V(repeating: a3[kk]), b0)
                c40 = c40.addingProduct(V(repeating: a4[kk]), b0); c50 = c50.addingProduct(V(repeating: a5[kk]), b0)
                b += 2
                kk &+= 1
            }
        }
        let z = V()
        finishTile(
            rows: rows, cols: cols, c: c + start * ldc, ldc: ldc, epilogue: epilogue, column0: column0,
            c00, z, c10, z, c20, z, c30, z, c40, z, c50, z)
        if start + GemmTile.rows >= runLength { return }
        start = min(start + GemmTile.rows, runLength - GemmTile.rows)
    }
}

/// The last one or two rows of a GEMM whose row count is not a multiple of 6 (7x7 maps: 49 rows =
/// 8 tiles + 1 row): a third of a full tile's multiply-adds instead of all of them.
@inline(never)
func thinTile(
    rows: Int, cols: Int, table: UnsafePointer<UnsafePointer<Float>>, tableStride: Int, segments: Int,
    segmentLength: Int, segmentStride: Int,
    panel: UnsafePointer<Float>, c: UnsafeMutablePointer<Float>, ldc: Int,
    epilogue: GemmEpilogue, column0: Int
) {
    typealias V = GemmTile.Vector
    var c00 = V(), c01 = V(), c10 = V(), c11 = V()
    var b = UnsafePointer<V>(OpaquePointer(panel))
    var t = table
    var offset = 0
    for _ in 0..<segments {
        let a0 = t[0] + offset, a1 = t[1] + offset
        t += tableStride
        offset += segmentStride
        var kk = 0
        while kk < segmentLength {
            let b0 = b[0], b1 = b[1]
            var x = V(repeating: a0[kk]); c00 = c00.addingProduct(x, b0); c01 = c01.addingProduct(x, b1)
            x = V(repeating: a1[kk]); c10 = c10.addingProduct(x, b0); c11 = c11.addingProduct(x, b1)
            b += 2
            kk &+= 1
        }
    }
    let z = V()
    finishTile(
        rows: rows, cols: cols, c: c, ldc: ldc, epilogue: epilogue, column0: column0,
        c00, c01, c10, c11, z, z, z, z, z, z, z, z)
}

/// Epilogue (bias, PReLU, clamp) and store of a finished tile: row r is (vr0, vr1).
@inline(__always)
private func finishTile(
    rows: Int, cols: Int, c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: GemmEpilogue, column0: Int,
    _ c00: SIMD8<Float>, _ c01: SIMD8<Float>, _ c10: SIMD8<Float>, _ c11: SIMD8<Float>,
    _ c20: SIMD8<Float>, _ c21: SIMD8<Float>, _ c30: SIMD8<Float>, _ c31: SIMD8<Float>,
    _ c40: SIMD8<Float>, _ c41: SIMD8<Float>, _ c50: SIMD8<Float>, _ c51: SIMD8<Float>
) {
    typealias V = GemmTile.Vector
    let lanes = V.scalarCount
    var c00 = c00, c01 = c01, c10 = c10, c11 = c11, c20 = c20, c21 = c21
    var c30 = c30, c31 = c31, c40 = c40, c41 = c41, c50 = c50, c51 = c51
    if let bias = epilogue.bias {
        let r = UnsafePointer<V>(OpaquePointer(bias + column0))
        let v0 = r[0], v1 = r[1]
        c00 += v0; c01 += v1; c10 += v0; c11 += v1; c20 += v0; c21 += v1
        c30 += v0; c31 += v1; c40 += v0; c41 += v1; c50 += v0; c51 += v1
    }
    if let slopes = epilogue.slopes {
        let r = UnsafePointer<V>(OpaquePointer(slopes + column0))
        let s0 = r[0], s1 = r[1]
        c00 = prelu(c00, s0); c01 = prelu(c01, s1); c10 = prelu(c10, s0); c11 = prelu(c11, s1)
        c20 = prelu(c20, s0); c21 = prelu(c21, s1); c30 = prelu(c30, s0); c31 = prelu(c31, s1)
        c40 = prelu(c40, s0); c41 = prelu(c41, s1); c50 = prelu(c50, s0); c51 = prelu(c51, s1)
    }
    let lo = epilogue.lo, hi = epilogue.hi
    if lo > -.infinity || hi < .infinity {
        c00 = clamp(c00, lo, hi); c01 = clamp(c01, lo, hi); c10 = clamp(c10, lo, hi); c11 = clamp(c11, lo, hi)
        c20 = clamp(c20, lo, hi); c21 = clamp(c21, lo, hi); c30 = clamp(c30, lo, hi); c31 = clamp(c31, lo, hi)
        c40 = clamp(c40, lo, hi); c41 = clamp(c41, lo, hi); c50 = clamp(c50, lo, hi); c51 = clamp(c51, lo, hi)
    }
    @inline(__always) func store(_ row: Int, _ v0: V, _ v1: V) {
        guard row < rows else { return }
        let p = c + row * ldc
        if cols == GemmTile.cols {
            UnsafeMutableRawPointer(p).storeBytes(of: v0, as: V.self)
            UnsafeMutableRawPointer(p + lanes).storeBytes(of: v1, as: V.self)
        } else if cols == lanes {
            UnsafeMutableRawPointer(p).storeBytes(of: v0, as: V.self)
        } else {
            for l in 0..<min(cols, lanes) { p[l] = v0[l] }
            if cols > lanes { for l in 0..<(cols - lanes) { p[lanes + l] = v1[l] } }
        }
    }
    store(0, c00, c01); store(1, c10, c11); store(2, c20, c21)
    store(3, c30, c31); store(4, c40, c41); store(5, c50, c51)
}

/// C[m x n] = A[m x k] * B with A's rows contiguous (row stride lda): the whole of a 1x1 conv.
/// Rows are split across the engine's intra-op threads in whole tiles; when there are too few for
/// that (7x7 layers: 49 rows, nine tiles), the column panels are split instead. When B outgrows L2
/// (late 1x1 convs: 1152 x 320 is 1.5 MB) its panels go in chunks of ~192 KB, each swept over
/// every tile while it stays in L2, instead of every tile streaming all of B from L3.
///
/// Few rows (up to `prefetchTiles` tiles per thread: 7x7 and 14x14 maps at batch 1) leave the
/// weights as the cold data: a network's 18 MB of them are not in cache when an image comes, and
/// each pair of panels went through one tile at memory speed, the others waiting, then through the
/// rest at L2 speed. There each pair is swept on its own while its tiles prefetch what comes after
/// it, a slice each: the next pair, and after the last pair `next` (the next op's first weights),
/// started just early enough that the last sweep's tiles can still cover it.
@inline(__always)
func packedGemm(
    m: Int, a: UnsafePointer<Float>, lda: Int, b: PackedPanels,
    c: UnsafeMutablePointer<Float>, ldc: Int, epilogue: GemmEpilogue, then next: Prefetch = Prefetch()
) {
    let tiles = (m + GemmTile.rows - 1) / GemmTile.rows
    let panelsPerChunk = max(2, (192 << 10) / max(1, b.k * GemmTile.cols * 4)) & ~1  // whole pairs
    let threads = Engine.intraOpThreads
    func sweep(tiles tileRange: Range<Int>, panels panelRange: Range<Int>) {
        let prefetching = GemmTile.avx512 && tileRange.count <= GemmTile.prefetchTiles
        // Short K (expands up to 112 -> 672): a tile's multiply-adds cost little more than its
        // call, so each panel runs down all the rows of the range in one call.
        let runForm = b.k <= 128 && tileRange.count >= 2
        withUnsafeTemporaryAllocation(of: UnsafePointer<Float>.self, capacity: GemmTile.rows) { table in
            let r0 = tileRange.lowerBound * GemmTile.rows, runRows = min(m, tileRange.upperBound * GemmTile.rows) - r0
            if runForm { for r in 0..<GemmTile.rows { table[r] = a + (r0 + r) * lda } }
            if prefetching {
                // The bytes to prefetch, in order: this range's pairs after the first, then `next`
                // if this range ends B. Sweep j covers [covered, end_j): the next pair, or more
                // when what is left would not fit in the remaining sweeps' reach.
                let tail = UnsafeRawPointer(b.panel(panelRange.lowerBound + 2))
                let tailBytes = max(0, panelRange.count - 2) * b.k * GemmTile.cols * 4
                let after = panelRange.upperBound == b.panelCount ? next : Prefetch()
                // Bytes [from, to) of the stream, or as much of them as lies in one piece.
                func slice(_ from: Int, _ to: Int) -> UnsafeRawBufferPointer? {
                    guard from < to else { return nil }
                    if from < tailBytes { return UnsafeRawBufferPointer(start: tail + from, count: min(to, tailBytes) - from) }
                    return after.slice(at: from - tailBytes, count: to - from)
                }
                let total = tailBytes + after.byteCount, pairBytes = 2 * b.k * GemmTile.cols * 4
                let lineSpan = b.k * 64  // what one tile call prefetches: a line per k step
                let calls = runForm ? 1 : tileRange.count
                let reach = runForm ? (runRows + GemmTile.rows - 1) / GemmTile.rows * lineSpan : lineSpan
                let sweeps = (panelRange.count + 1) / 2
                var covered = 0
                for (j, pair) in stride(from: panelRange.lowerBound, to: panelRange.upperBound, by: 2).enumerated() {
                    let end = min(total, max((j + 1) * pairBytes, total - (sweeps - 1 - j) * calls * reach))
                    let pairPanels = pair..<min(panelRange.upperBound, pair + 2)
                    if runForm {
                        // One call: its slice may stop at a piece's end; the next sweep goes on from there.
                        let piece = slice(covered, end)
                        gemmPanels(
                            pairPanels, of: b, n: b.n, rows: GemmTile.rows, table: UnsafePointer(table.baseAddress!),
                            segments: 1, segmentLength: b.k, c: c + r0 * ldc, ldc: ldc, epilogue: epilogue,
                            runLength: runRows, runStride: lda, prefetch: piece)
                        covered += piece?.count ?? 0
                    } else {
                        for tile in tileRange {
                            let t0 = tile * GemmTile.rows, rows = min(GemmTile.rows, m - t0)
                            for r in 0..<GemmTile.rows { table[r] = a + (t0 + min(r, rows - 1)) * lda }
                            let from = covered + (tile - tileRange.lowerBound) * lineSpan
                            gemmPanels(
                                pairPanels, of: b, n: b.n, rows: rows, table: UnsafePointer(table.baseAddress!),
                                segments: 1, segmentLength: b.k, c: c + t0 * ldc, ldc: ldc, epilogue: epilogue,
                                prefetch: slice(from, min(end, from + lineSpan)))
                        }
                        covered = max(covered, end)
                    }
                }
                return
            }
            if runForm {
                gemmPanels(
                    panelRange, of: b, n: b.n, rows: GemmTile.rows, table: UnsafePointer(table.baseAddress!),
                    segments: 1, segmentLength: b.k, c: c + r0 * ldc, ldc: ldc, epilogue: epilogue,
                    runLength: runRows, runStride: lda)
                return
            }
            for chunk in stride(from: panelRange.lowerBound, to: panelRange.upperBound, by: panelsPerChunk) {
                for tile in tileRange {
                    let t0 = tile * GemmTile.rows, rows = min(GemmTile.rows, m - t0)
                    for r in 0..<GemmTile.rows { table[r] = a + (t0 + min(r, rows - 1)) * lda }
                    gemmPanels(
                        chunk..<min(panelRange.upperBound, chunk + panelsPerChunk), of: b, n: b.n, rows: rows,
                        table: UnsafePointer(table.baseAddress!), segments: 1, segmentLength: b.k,
                        c: c + t0 * ldc, ldc: ldc, epilogue: epilogue)
                }
            }
        }
    }
    if threads > 1 && tiles < 8 * threads && b.panelCount >= 2 * threads {
        Engine.parallelRanges(b.panelCount, minimumPerPart: 2) { sweep(tiles: 0..<tiles, panels: $0) }
    } else {
        Engine.parallelRanges(tiles, minimumPerPart: 8) { sweep(tiles: $0, panels: 0..<b.panelCount) }
    }
}
