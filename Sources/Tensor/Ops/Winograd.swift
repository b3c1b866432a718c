/// 3x3 stride-1 convolution by Winograd's F(2x2, 3x3) (Lavin & Gray, "Fast Algorithms for
/// Convolutional Neural Networks", 2016): each 2x2 output tile costs 16 multiply-adds per
/// (input, output) channel pair instead of 36, i.e. 2.25x fewer. Per block of tiles: input tiles
/// 4x4 -> V = Bᵀ d B (adds only, 8 channels per vector), then 16 independent GEMMs
/// M[ξ] = V[ξ] · U[ξ] on the packed-panel tile kernel, then Y = Aᵀ M A + bias, clamped, stored.
/// U = G g Gᵀ is computed once at load. Rounding stays within ~1e-6 relative of a direct conv
/// (checked by the parity vectors).
struct Winograd3x3: @unchecked Sendable {
    typealias V = SIMD8<Float>
    let cin: Int, cout: Int
    /// Input channels rounded up to whole vectors: V rows are this long (zero tail).
    let cinPadded: Int
    /// 16 transformed weight matrices [cinPadded x cout], one per tile position ξ.
    let u: [PackedPanels]
    /// Row length of M: whole panels, so the GEMM never stores partial tiles.
    let mStride: Int

    /// `weight(o, i, ky, kx)`: the (folded) PyTorch weight.
    init(cin: Int, cout: Int, weight: (Int, Int, Int, Int) -> Float) {
        self.cin = cin; self.cout = cout
        cinPadded = (cin + V.scalarCount - 1) / V.scalarCount * V.scalarCount
        var transformed = [Float](repeating: 0, count: 16 * cin * cout)  // [ξ][i][o]
        for o in 0..<cout {
            for i in 0..<cin {
                var g = [Float](repeating: 0, count: 9)
                for t in 0..<9 { g[t] = weight(o, i, t / 3, t % 3) }
                // G g (4x3), G = [[1,0,0],[½,½,½],[½,-½,½],[0,0,1]]; then (G g) Gᵀ (4x4).
                var gg = [Float](repeating: 0, count: 12)
                for c in 0..<3 {
                    let g0 = g[c], g1 = g[3 + c], g2 = g[6 + c]
                    gg[c] = g0; gg[3 + c] = 0.5 * (g0 + g1 + g2); gg[6 + c] = 0.5 * (g0 - g1 + g2); gg[9 + c] = g2
                }
                for r in 0..<4 {
                    let a = gg[r * 3], b = gg[r * 3 + 1], c = gg[r * 3 + 2]
                    let row = [a, 0.5 * (a + b + c), 0.5 * (a - b + c), c]
                    for s in 0..<4 { transformed[((r * 4 + s) * cin + i) * cout + o] = row[s] }
                }
            }
        }
        let kPadded = cinPadded
        u = (0..<16).map { xi in
            PackedPanels(k: kPadded, n: cout) { i, o in i < cin ? transformed[(xi * cin + i) * cout + o] : 0 }
        }
        mStride = u[0].panelCount * GemmTile.cols
    }

    /// Tiles per block: V and M of one block (16 x T x (cinPadded + mStride) floats) stay near 256 KB.
    private var tilesPerBlock: Int {
        let t = (256 << 10) / (16 * 4 * (cinPadded + mStride))
        return max(GemmTile.rows, min(96, t / GemmTile.rows * GemmTile.rows))
    }

    /// y [n, oh, ow, cout] from x [n, h, w, cin]; padding top/left (pt, pl), the rest implied by
    /// oh/ow. The epilogue (bias, PReLU, clamp) is applied to each output vector before it is stored.
    func run(
        x: UnsafePointer<Float>, n: Int, h: Int, w: Int, y: UnsafeMutablePointer<Float>, oh: Int, ow: Int,
        pt: Int, pl: Int, epilogue: GemmEpilogue, arena: Arena
    ) {
        let tilesH = (oh + 1) / 2, tilesW = (ow + 1) / 2
        let perBlock = min(tilesPerBlock, (tilesW + GemmTile.rows - 1) / GemmTile.rows * GemmTile.rows)
        let blocksPerRow = (tilesW + perBlock - 1) / perBlock
        let blocks = n * tilesH * blocksPerRow
        let parts = max(1, min(Engine.intraOpThreads, blocks))
        let vSize = 16 * perBlock * cinPadded, mSize = 16 * perBlock * mStride
        let scratch = Scratch(arena.floats(parts * (vSize + mSize)))
        Engine.parallelRanges(parts) { partRange in
            for part in partRange {
                let v = scratch.base + part * (vSize + mSize), m = v + vSize
                for block in (blocks * part / parts)..<(blocks * (part + 1) / parts) {
                    let row = block / blocksPerRow, tx0 = block % blocksPerRow * perBlock
                    let b = row / tilesH, ty = row % tilesH
                    let count = min(perBlock, tilesW - tx0)
                    transformInput(
                        x: x + b * h * w * cin, h: h, w: w, iy0: 2 * ty - pt, ix0: 2 * tx0 - pl,
                        tiles: count, stride: perBlock, v: v)
                    multiply(v: v, m: m, tiles: count, stride: perBlock)
                    transformOutput(
                        m: m, tiles: count, stride: perBlock, y: y + b * oh * ow * cout,
                        oh: oh, ow: ow, oy: 2 * ty, ox0: 2 * tx0, epilogue: epilogue)
                }
            }
        }
    }

    /// V[ξ][t][c] = (Bᵀ d B)[ξ] for the 4x4 input tile at (iy0, ix0 + 2t); zeros outside the image
    /// and in the padded channel tail.
    @inline(never)  // its own function: inlined into run, the SIMD loads/stores stopped inlining
    private func transformInput(
        x: UnsafePointer<Float>, h: Int, w: Int, iy0: Int, ix0: Int, tiles: Int, stride: Int,
        v: UnsafeMutablePointer<Float>
    ) {
        let plane = stride * cinPadded, lanes = V.scalarCount, cin = cin
        for t in 0..<tiles {
            let tx = ix0 + 2 * t
            let inside = iy0 >= 0 && iy0 + 4 <= h && tx >= 0 && tx + 4 <= w
            var cb = 0
            while cb < cinPadded {
                let full = inside && cb + lanes <= cin
                @inline(__always) func d(_ i: Int, _ j: Int) -> V {
                    if full { return UnsafeRawPointer(x + ((iy0 + i) * w + tx + j) * cin + cb).loadUnaligned(as: V.self) }
                    let iy = iy0 + i, ix = tx + j
                    var r = V()
                    guard iy >= 0, iy < h, ix >= 0, ix < w else { return r }
                    let p = x + (iy * w + ix) * cin + cb
                    for l in 0..<min(lanes, cin - cb) { r[l] = p[l] }
                    return r
                }
                // Bᵀ = [[1,0,-1,0],[0,1,1,0],[0,-1,1,0],[0,1,0,-1]] down each column j ...
                @inline(__always) func column(_ j: Int) -> (V, V, V, V) {
                    let d0 = d(0, j), d1 = d(1, j), d2 = d(2, j), d3 = d(3, j)
                    return (d0 - d2, d1 + d2, d2 - d1, d1 - d3)
                }
                let k0 = column(0), k1 = column(1), k2 = column(2), k3 = column(3)
                // ... then B across each row i of Bᵀ d.
                let out = UnsafeMutableRawPointer(v + t * cinPadded + cb)
                @inline(__always) func row(_ i: Int, _ a: V, _ b: V, _ c: V, _ e: V) {
                    let base = i * 4 * plane * 4
                    out.storeBytes(of: a - c, toByteOffset: base, as: V.self)
                    out.storeBytes(of: b + c, toByteOffset: base + plane * 4, as: V.self)
                    out.storeBytes(of: c - b, toByteOffset: base + 2 * plane * 4, as: V.self)
                    out.storeBytes(of: b - e, toByteOffset: base + 3 * plane * 4, as: V.self)
                }
                row(0, k0.0, k1.0, k2.0, k3.0)
                row(1, k0.1, k1.1, k2.1, k3.1)
                row(2, k0.2, k1.2, k2.2, k3.2)
                row(3, k0.3, k1.3, k2.3, k3.3)
                cb += lanes
            }
        }
    }

    /// M[ξ] = V[ξ] · U[ξ] for the block's tiles, whole panels (M rows are mStride long).
    @inline(never)
    private func multiply(v: UnsafeMutablePointer<Float>, m: UnsafeMutablePointer<Float>, tiles: Int, stride: Int) {
        withUnsafeTemporaryAllocation(of: UnsafePointer<Float>.self, capacity: GemmTile.rows) { table in
            let tableBase = UnsafePointer(table.baseAddress!)
            for xi in 0..<16 {
                let vx = v + xi * stride * cinPadded, mx = m + xi * stride * mStride
                // Taken once per position: each `u[xi]` retains the weights, whose reference count
                // every compute thread shares (atomics on one cache line, per tile row).
                let panels = u[xi]
                var t0 = 0
                while t0 < tiles {
                    let rows = min(GemmTile.rows, tiles - t0)
                    for r in 0..<GemmTile.rows { table[r] = UnsafePointer(vx + (t0 + min(r, rows - 1)) * cinPadded) }
                    gemmPanels(
                        0..<panels.panelCount, of: panels, n: panels.panelCount * GemmTile.cols, rows: rows,
                        table: tableBase, segments: 1, segmentLength: cinPadded,
                        c: mx + t0 * mStride, ldc: mStride, epilogue: .none)
                    t0 += GemmTile.rows
                }
            }
        }
    }

    /// Y = Aᵀ M A (Aᵀ = [[1,1,1,0],[0,1,-1,-1]]) + bias, clamped; stores the 2x2 outputs of each
    /// tile that fall inside the output.
    @inline(never)
    private func transformOutput(
        m: UnsafeMutablePointer<Float>, tiles: Int, stride: Int, y: UnsafeMutablePointer<Float>,
        oh: Int, ow: Int, oy: Int, ox0: Int, epilogue: GemmEpilogue
    ) {
        let plane = stride * mStride, lanes = V.scalarCount, cout = cout
        let lo = epilogue.lo, hi = epilogue.hi
        let clamps = lo > -.infinity || hi < .infinity
        let rows = min(2, oh - oy)
        for t in 0..<tiles {
            let ox = ox0 + 2 * t, cols = min(2, ow - ox)
            var cb = 0
            while cb < cout {
                let src = UnsafeRawPointer(m + t * mStride + cb)
                @inline(__always) func mm(_ i: Int, _ j: Int) -> V { src.load(fromByteOffset: (i * 4 + j) * plane * 4, as: V.self) }
                // Aᵀ down each column j, then A across the two rows.
                @inline(__always) func column(_ j: Int) -> (V, V) {
                    let m0 = mm(0, j), m1 = mm(1, j), m2 = mm(2, j), m3 = mm(3, j)
                    return (m0 + m1 + m2, m1 - m2 - m3)
                }
                let s0 = column(0), s1 = column(1), s2 = column(2), s3 = column(3)
                let bias = epilogue.bias.map { UnsafeRawPointer($0 + cb).loadUnaligned(as: V.self) } ?? V()
                var y00 = s0.0 + s1.0 + s2.0 + bias, y01 = s1.0 - s2.0 - s3.0 + bias
                var y10 = s0.1 + s1.1 + s2.1 + bias, y11 = s1.1 - s2.1 - s3.1 + bias
                if let slopes = epilogue.slopes {
                    let a = UnsafeRawPointer(slopes + cb).loadUnaligned(as: V.self)
                    y00 = prelu(y00, a); y01 = prelu(y01, a); y10 = prelu(y10, a); y11 = prelu(y11, a)
                }
                if clamps { y00 = clamp(y00, lo, hi); y01 = clamp(y01, lo, hi); y10 = clamp(y10, lo, hi); y11 = clamp(y11, lo, hi) }
                let n = min(lanes, cout - cb)
                @inline(__always) func store(_ i: Int, _ j: Int, _ value: V) {
                    guard i < rows, j < cols else { return }
                    let p = y + ((oy + i) * ow + ox + j) * cout + cb
                    if n == lanes { UnsafeMutableRawPointer(p).storeBytes(of: value, as: V.self) } else { for l in 0..<n { p[l] = value[l] } }
                }
                store(0, 0, y00); store(0, 1, y01); store(1, 0, y10); store(1, 1, y11)
                cb += lanes
            }
        }
    }
}

/// A raw scratch pointer the intra-op threads share (each uses its own slice).
private struct Scratch: @unchecked Sendable {
    let base: UnsafeMutablePointer<Float>
    init(_ base: UnsafeMutablePointer<Float>) { self.base = base }
}
