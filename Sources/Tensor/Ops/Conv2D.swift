#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// 2-D convolution on NHWC activations, any kernel, stride, padding, dilation and groups.
/// Weights arrive in PyTorch layout [Cout, Cin/groups, kh, kw]; at load an optional batch norm is
/// folded in (w' = w * gamma / sqrt(var + eps), b' = (b - mean) * gamma / sqrt(var + eps) + beta)
/// and they are packed for the path that runs:
/// - depthwise (groups == Cin == Cout): [taps, C], SIMD across channels (DepthwiseConv.swift);
/// - 3x3, stride 1, no dilation, one group, >= 8 in and 16 out channels: Winograd F(2x2, 3x3)
///   (Winograd.swift), 2.25x fewer multiply-adds;
/// - 1x1, stride 1, no padding: the NHWC input *is* the GEMM's A matrix [N*H*W, Cin];
/// - otherwise an implicit GEMM: rows = output pixels, K = taps x Cin/groups in tap order, each
///   tap's row segment read in place from the input (a shared zero row stands in for padding), so
///   there is no im2col copy. All run on the packed-panel tile kernel (PackedGemm.swift).
/// Bias, PReLU and ReLU/ReLU6 are applied as tiles are stored; other activations in one pass after.
final class Conv2DKernel: Kernel, @unchecked Sendable {
    let cin: Int, cout: Int, groups: Int
    let window: Window
    let activation: Activation
    /// Depthwise: [taps, C]; nil otherwise.
    let depthwiseWeights: TensorStorage?
    /// One [taps * Cin/groups, Cout/groups] panel set per group (implicit GEMM and 1x1 paths).
    let panels: [PackedPanels]
    let winograd: Winograd3x3?
    /// Depthwise: [C]; otherwise [Cout] padded with zeros to whole panels per group
    /// ([groups][panels * cols]). nil: no bias.
    let bias: TensorStorage?
    /// PReLU slopes (manifest param "prelu", or fused from a following prelu block by Network),
    /// laid out like `bias`; nil: none.
    let slopes: TensorStorage?
    /// kw x Cin/groups zeros: the row segment of a tap (or kernel row) that falls in the padding.
    let zeros: TensorStorage
    let isPointwise: Bool
    /// What the GEMM tiles apply as they store (bias, PReLU, ReLU/ReLU6; pointers into `bias` and
    /// `slopes`), and the activation a pass over the output applies after them.
    let epilogue: GemmEpilogue, afterEpilogue: Activation

    init(spec: OpSpec) throws {
        let w = try spec.tensor("weight")
        guard w.rank == 4 else { throw TensorError.shape("conv2d: weight must be [Cout, Cin/groups, kh, kw], got \(w.shape)") }
        groups = try spec.int("groups", default: 1)
        let co = w.shape[0], cinG = w.shape[1], kh = w.shape[2], kw = w.shape[3]
        guard groups > 0, co % groups == 0, co > 0, cinG > 0 else {
            throw TensorError.shape("conv2d: \(co) output channels not divisible into \(groups) groups")
        }
        cout = co; cin = cinG * groups
        window = try Window(spec: spec, kernel: [kh, kw])
        activation = try Activation(
            name: spec.params["activation"]?.string,
            alpha: Float(try spec.double("alpha", default: 0.01)))

        // Fold bias and batch norm into per-output-channel scale and shift.
        var scale = [Float](repeating: 1, count: co), shift = [Float](repeating: 0, count: co)
        var hasShift = false
        if let b = try spec.optionalTensor("bias") {
            guard b.count == co else { throw TensorError.shape("conv2d: bias has \(b.count) values for \(co) channels") }
            for i in 0..<co { shift[i] = b.data[i] }
            hasShift = true
        }
        if let bn = try BatchNormParams(spec: spec, prefix: "bn", channels: co) {
            for i in 0..<co {
                scale[i] = bn.scale[i]
                shift[i] = shift[i] * bn.scale[i] + bn.shift[i]
            }
            hasShift = true
        }

        let coG = co / groups, taps = kh * kw
        let isDepthwise = groups == cin && co == cin && cinG == 1
        isPointwise =
            kh == 1 && kw == 1 && groups == 1 && window.sh == 1 && window.sw == 1
            && window.padding.resolve(h: 1, w: 1, kh: 1, kw: 1, sh: 1, sw: 1, dh: 1, dw: 1) == (0, 0, 0, 0)
        let src = w.data
        @inline(__always) func weight(_ oc: Int, _ ci: Int, _ t: Int) -> Float { src[(oc * cinG + ci) * taps + t] * scale[oc] }
        if isDepthwise {
            let dst = TensorStorage(count: co * taps)
            for c in 0..<co { for t in 0..<taps { dst.base[t * co + c] = weight(c, 0, t) } }
            depthwiseWeights = dst; panels = []; winograd = nil
        } else if kh == 3 && kw == 3 && window.sh == 1 && window.sw == 1 && window.dh == 1 && window.dw == 1
            && groups == 1 && cin >= 8 && co >= 16
        {
            winograd = Winograd3x3(cin: cin, cout: co) { o, i, ky, kx in weight(o, i, ky * 3 + kx) }
            depthwiseWeights = nil; panels = []
        } else {
            // K runs tap-major, channels within a tap: the order the implicit GEMM reads its segments.
            panels = (0..<groups).map { g in
                PackedPanels(k: taps * cinG, n: coG) { k, o in weight(g * coG + o, k % cinG, k / cinG) }
            }
            depthwiseWeights = nil; winograd = nil
        }
        zeros = TensorStorage(count: kw * cinG)
        // Depthwise reads [C] as is; the GEMM paths read whole panels per group.
        let perGroup = isDepthwise ? 1 : (coG + GemmTile.cols - 1) / GemmTile.cols * GemmTile.cols
        let groupCount = groups
        func perChannel(_ value: (Int) -> Float) -> TensorStorage {
            let b = TensorStorage(count: groupCount * perGroup)
            for g in 0..<groupCount { for o in 0..<coG { b.base[g * perGroup + o] = value(g * coG + o) } }
            return b
        }
        bias = hasShift ? perChannel { shift[$0] } : nil
        if let slope = try spec.optionalTensor("prelu") {
            guard activation == .identity else { throw TensorError.invalid("conv2d: prelu and activation are exclusive") }
            guard slope.count == co || slope.count == 1 else { throw TensorError.shape("conv2d: \(slope.count) PReLU slopes for \(co) channels") }
            slopes = perChannel { slope.data[slope.count == 1 ? 0 : $0] }
        } else {
            slopes = nil
        }
        (epilogue, afterEpilogue) = GemmEpilogue.split(
            activation, bias: bias.map { UnsafePointer($0.base) },
            slopes: slopes.map { UnsafePointer($0.base) })
    }

    func run(_ inputs: [Tensor], _ arena: Arena) throws -> Tensor { try run(inputs, arena, then: Prefetch()) }

    func run(_ inputs: [Tensor], _ arena: Arena, then next: Prefetch) throws -> Tensor {
        let x = try single(inputs)
        let (n, h, w, c) = try x.nhwc()
        guard c == cin else { throw TensorError.shape("conv2d: input has \(c) channels, weights expect \(cin)") }
        let (oh, ow, pt, pl) = try window.geometry(h: h, w: w)
        let y = arena.tensor([n, oh, ow, cout], layout: .nhwc)
        if isDepthwise {
            depthwise(x: x.data, n: n, h: h, w: w, y: y.data, oh: oh, ow: ow, pt: pt, pl: pl)
        } else if let winograd {
            winograd.run(x: x.data, n: n, h: h, w: w, y: y.data, oh: oh, ow: ow, pt: pt, pl: pl, epilogue: epilogue, arena: arena)
            afterEpilogue.apply(y.data, y.count)
        } else if isPointwise {
            pointwise(x.data, pixels: n * h * w, into: y.data, then: next)
        } else {
            implicitGemm(x: x.data, n: n, h: h, w: w, y: y.data, oh: oh, ow: ow, pt: pt, pl: pl, epilogue: epilogue)
            afterEpilogue.apply(y.data, y.count)
        }
        return y
    }

    var isDepthwise: Bool { depthwiseWeights != nil }

    /// Depthwise: all its weights and the bias (read tap by tap for every channel block); GEMM
    /// paths: the first pair of panels (what the first tiles read). Winograd: none (its weights
    /// are transformed per tile position and small in the networks that use it).
    var leadingWeights: Prefetch {
        if let depthwiseWeights {
            return Prefetch(UnsafeRawPointer(depthwiseWeights.base), count: depthwiseWeights.capacity * 4)
                + (bias.map { Prefetch(UnsafeRawPointer($0.base), count: $0.capacity * 4) } ?? Prefetch())
        }
        guard let b = panels.first else { return Prefetch() }
        return Prefetch(UnsafeRawPointer(b.panel(0)), count: min(2, b.panelCount) * b.k * GemmTile.cols * 4)
    }

    /// A 1x1 conv (`isPointwise`) of `pixels` consecutive NHWC pixels: the input rows are the
    /// GEMM's A matrix as they lie. `next`: what to prefetch as it finishes (Prefetch).
    func pointwise(_ x: UnsafePointer<Float>, pixels: Int, into y: UnsafeMutablePointer<Float>, then next: Prefetch = Prefetch()) {
        packedGemm(m: pixels, a: x, lda: cin, b: panels[0], c: y, ldc: cout, epilogue: epilogue, then: next)
        afterEpilogue.apply(y, pixels * cout)
    }

    /// The depthwise conv (`isDepthwise`) of an NHWC image, or of a band of rows of one: `pt` may
    /// place the band's first row anywhere relative to the kernel window, and rows past `h` are
    /// padding (InvertedResidual.swift runs bands of expanded rows through here).
    func depthwise(
        x: UnsafeMutablePointer<Float>, n: Int, h: Int, w: Int, y: UnsafeMutablePointer<Float>,
        oh: Int, ow: Int, pt: Int, pl: Int
    ) {
        depthwiseConv(
            x: x, n: n, h: h, w: w, c: cin, y: y, oh: oh, ow: ow, pt: pt, pl: pl,
            window: window, weights: depthwiseWeights!.base, bias: bias?.base, activation: activation)
        if let slopes {
            for r in 0..<(n * oh * ow) {
                let row = y + r * cout
                for j in 0..<cout { let v = row[j]; row[j] = v * (v < 0 ? slopes.base[j] : 1) }
            }
        }
    }

    /// Every output pixel is a GEMM row whose K segments are read where they lie in the input.
    /// Tiles are up to GemmTile.rows consecutive pixels of one output row. When all of a tile's
    /// windows lie inside the image (one group, no horizontal dilation) a kernel row's kw taps are
    /// kw x Cin contiguous floats: the tile kernel gets one pointer per pixel and steps kernel rows
    /// by a fixed stride, and a row's consecutive such tiles go to it as one run. Otherwise a pointer table: one kernel row per segment when the tile is
    /// inside horizontally, else one tap per segment; taps in the padding read `zeros`. Tiles are
    /// split across the intra-op threads.
    private func implicitGemm(
        x: UnsafeMutablePointer<Float>, n: Int, h: Int, w: Int, y: UnsafeMutablePointer<Float>,
        oh: Int, ow: Int, pt: Int, pl: Int, epilogue: GemmEpilogue
    ) {
        let kh = window.kh, kw = window.kw, sh = window.sh, sw = window.sw, dh = window.dh, dw = window.dw
        let taps = kh * kw, cinG = cin / groups, coG = cout / groups, cin = cin, cout = cout, groups = groups
        let rowsPerTile = GemmTile.rows
        let tilesPerRow = (ow + rowsPerTile - 1) / rowsPerTile, tiles = n * oh * tilesPerRow
        let zero = UnsafePointer(zeros.base), panels = panels
        let biasStride = (coG + GemmTile.cols - 1) / GemmTile.cols * GemmTile.cols
        let mergeable = groups == 1 && dw == 1
        let x = UnsafePointer(x)
        Engine.parallelRanges(tiles, minimumPerPart: 4) { range in
            withUnsafeTemporaryAllocation(of: UnsafePointer<Float>.self, capacity: taps * rowsPerTile) { table in
                let tableBase = UnsafePointer(table.baseAddress!)
                var tile = range.lowerBound
                while tile < range.upperBound {
                    let outRow = tile / tilesPerRow, ox0 = tile % tilesPerRow * rowsPerTile
                    let b = outRow / oh, oy = outRow % oh, rows = min(rowsPerTile, ow - ox0)
                    let iy0 = oy * sh - pt, ix0 = ox0 * sw - pl, ixLast = (ox0 + rows - 1) * sw - pl
                    let image = x + b * h * w * cin
                    let out = y + (outRow * ow + ox0) * cout
                    let across = mergeable && ix0 >= 0 && ixLast + kw <= w
                    if across && iy0 >= 0 && iy0 + (kh - 1) * dh < h {
                        // The following tiles of this row whose windows are inside too: one run.
                        var end = tile + 1, pixels = rows
                        while end < range.upperBound && end % tilesPerRow != 0 {
                            let nextX = end % tilesPerRow * rowsPerTile, nextRows = min(rowsPerTile, ow - nextX)
                            if (nextX + nextRows - 1) * sw - pl + kw > w { break }
                            pixels += nextRows; end += 1
                        }
                        let first = image + (iy0 * w + ix0) * cin
                        let run = pixels >= rowsPerTile
                        if !run { end = tile + 1 }
                        for r in 0..<rowsPerTile { table[r] = first + min(r, rows - 1) * sw * cin }
                        gemmPanels(
                            0..<panels[0].panelCount, of: panels[0], n: cout, rows: run ? rowsPerTile : rows,
                            table: tableBase, tableStride: 0, segments: kh, segmentLength: kw * cin,
                            segmentStride: dh * w * cin, c: out, ldc: cout, epilogue: epilogue,
                            runLength: run ? pixels : rowsPerTile, runStride: sw * cin)
                        tile = end
                        continue
                    }
                    tile += 1
                    for g in 0..<groups {
                        let imageG = image + g * cinG
                        for r in 0..<rowsPerTile {
                            let ix = ix0 + min(r, rows - 1) * sw
                            for ky in 0..<kh {
                                let iy = iy0 + ky * dh
                                let rowInside = iy >= 0 && iy < h
                                if across {
                                    table[ky * rowsPerTile + r] = rowInside ? imageG + (iy * w + ix) * cin : zero
                                    continue
                                }
                                for kx in 0..<kw {
                                    let ixk = ix + kx * dw
                                    let ok = rowInside && ixk >= 0 && ixk < w
                                    table[(ky * kw + kx) * rowsPerTile + r] = ok ? imageG + (iy * w + ixk) * cin : zero
                                }
                            }
                        }
                        let e = epilogue.shifted(by: g * biasStride)
                        gemmPanels(
                            0..<panels[g].panelCount, of: panels[g], n: coG, rows: rows, table: tableBase,
                            segments: across ? kh : taps, segmentLength: across ? kw * cinG : cinG,
                            c: out + g * coG, ldc: cout, epilogue: e)
                    }
                }
            }
        }
    }
}

/// A batch norm's per-channel scale and shift (gamma / sqrt(var + eps), beta - mean * scale), from
/// tensors "<prefix>.weight", ".bias", ".mean", ".var" (manifest: a "bn" object naming them).
struct BatchNormParams {
    let scale: [Float], shift: [Float]

    init?(spec: OpSpec, prefix: String, channels: Int) throws {
        let named = spec.params[prefix]?.object
        func t(_ role: String) throws -> Tensor? {
            if let named {
                guard let name = named[role]?.string else { return nil }
                guard let t = try spec.lookup(name) else { throw TensorError.missing("op \(spec.op): \(prefix).\(role) tensor \(name)") }
                return t
            }
            return try spec.lookup("\(prefix).\(role)")
        }
        guard let mean = try t("mean"), let variance = try t("var") else {
            if named != nil { throw TensorError.missing("op \(spec.op): \(prefix) needs mean and var") }
            return nil
        }
        let gamma = try t("weight"), beta = try t("bias")
        let eps = try Float(named?["eps"]?.double ?? spec.double("\(prefix)_eps", default: 1e-5))
        for (name, v) in [("mean", mean), ("var", variance), ("weight", gamma), ("bias", beta)] {
            if let v, v.count != channels { throw TensorError.shape("op \(spec.op): \(prefix).\(name) has \(v.count) values for \(channels) channels") }
        }
        var scale = [Float](repeating: 1, count: channels), shift = [Float](repeating: 0, count: channels)
        for i in 0..<channels {
            let s = (gamma?.data[i] ?? 1) / (variance.data[i] + eps).squareRoot()
            scale[i] = s
            shift[i] = (beta?.data[i] ?? 0) - mean.data[i] * s
        }
        self.scale = scale; self.shift = shift
    }
}
