/// An inverted-residual (MBConv) block's convolutions as one op: [1x1 expand ->] depthwise ->
/// 1x1 project. Run one by one, the expand writes a wide tensor (EfficientNet-Lite0's block 1:
/// 112x112x96, 4.8 MB per image, 38 MB at batch 8) that the depthwise reads back from L3 or DRAM,
/// and the depthwise writes one more that the project reads back. Fused, each thread slides a
/// window of expanded rows (`windowBytes`, L2-sized) down the image: for each band of output rows
/// it expands only the input rows the band needs and that the window does not hold yet, runs the
/// depthwise on the window, and projects the band while it is in cache.
///
/// The same kernels compute every value with the same arithmetic, so the results equal the three
/// convs run one by one. Network fuses the pattern when nothing else reads the intermediates;
/// images whose expanded tensor stays cache-sized run the three convs whole, one image at a time
/// (whole-image ops split across threads better than a few bands do).
final class InvertedResidualKernel: Kernel, @unchecked Sendable {
    let expand: Conv2DKernel?
    let depthwise: Conv2DKernel
    let project: Conv2DKernel

    /// Expanded rows one thread keeps: with the band's depthwise output, the weights and the
    /// projected rows it stays inside a 512 KB-1 MB L2.
    static let windowBytes = 256 << 10
    /// Fuse only when one image's expanded tensor is larger than this.
    static let fuseAboveBytes = 1 << 20

    /// nil unless the convs form the pattern: pointwise expand (optional), depthwise without
    /// PReLU, pointwise project, channels matching.
    init?(expand: Conv2DKernel?, depthwise: Conv2DKernel, project: Conv2DKernel) {
        guard expand?.isPointwise ?? true, depthwise.isDepthwise, depthwise.slopes == nil, project.isPointwise,
            expand.map({ $0.cout == depthwise.cin }) ?? true, project.cin == depthwise.cout
        else { return nil }
        self.expand = expand; self.depthwise = depthwise; self.project = project
        leadingWeights = (expand ?? depthwise).leadingWeights
        afterExpand = depthwise.leadingWeights + project.leadingWeights
    }

    let leadingWeights: Prefetch
    /// What the expand prefetches as it finishes: the depthwise's weights and the project's first.
    private let afterExpand: Prefetch

    func run(_ inputs: [Tensor], _ arena: Arena) throws -> Tensor { try run(inputs, arena, then: Prefetch()) }

    func run(_ inputs: [Tensor], _ arena: Arena, then next: Prefetch) throws -> Tensor {
        let x = try single(inputs)
        let (n, h, w, c) = try x.nhwc()
        let mid = depthwise.cin
        guard c == expand?.cin ?? mid else {
            throw TensorError.shape("inverted residual: input has \(c) channels, weights expect \(expand?.cin ?? mid)")
        }
        let window = depthwise.window
        let (oh, ow, pt, pl) = try window.geometry(h: h, w: w)
        if h * w * mid * 4 <= InvertedResidualKernel.fuseAboveBytes {
            return runImageByImage(x, n: n, h: h, w: w, oh: oh, ow: ow, pt: pt, pl: pl, then: next, arena)
        }

        // Band height: the most output rows whose input rows fill at most half the window, so the
        // window slides several bands before its overlap has to move to the front.
        let sh = window.sh, rowFloats = w * mid
        let span = (window.kh - 1) * window.dh + 1
        func inputRows(_ band: Int) -> Int { (band - 1) * sh + span }
        let capacity = max(inputRows(1), InvertedResidualKernel.windowBytes / (rowFloats * 4))
        var band = 1
        while band < oh && 2 * inputRows(band + 1) <= capacity { band += 1 }
        let bandsPerImage = (oh + band - 1) / band, units = n * bandsPerImage
        let parts = min(Engine.intraOpThreads, units)
        // Per part: the band's depthwise output, then (with an expand) the window; 64-byte aligned.
        let bandFloats = (band * ow * mid + 15) & ~15
        let perPart = bandFloats + (expand == nil ? 0 : capacity * rowFloats)
        let scratch = arena.floats(parts * perPart)
        defer { arena.release(scratch, count: parts * perPart) }
        let y = arena.tensor([n, oh, ow, project.cout], layout: .nhwc)
        let cout = project.cout, source = x.data, out = y.data
        let expand = expand, depthwise = depthwise, project = project

        Engine.parallelRanges(parts) { partRange in
            for part in partRange {
                let dwOut = scratch + part * perPart, rows = dwOut + bandFloats
                // The window holds input rows [base, filled) of image `image`, row r at r - base.
                var image = -1, base = 0, filled = 0
                for unit in (units * part / parts)..<(units * (part + 1) / parts) {
                    let b = unit / bandsPerImage, oy0 = unit % bandsPerImage * band, count = min(band, oh - oy0)
                    let r0 = max(0, oy0 * sh - pt)
                    let r1 = max(r0, min(h, (oy0 + count - 1) * sh - pt + span))
                    var bandInput = source + (b * h + r0) * rowFloats
                    if let expand {
                        if b != image || r0 < base || r0 > filled { image = b; base = r0; filled = r0 }
                        if r1 - base > capacity {
                            UnsafeMutableRawPointer(rows).copyMemory(
                                from: rows + (r0 - base) * rowFloats,  // may overlap: memmove
                                byteCount: (filled - r0) * rowFloats * 4)
                            base = r0
                        }
                        if filled < r1 {
                            expand.pointwise(
                                source + (b * h + filled) * w * c, pixels: (r1 - filled) * w,
                                into: rows + (filled - base) * rowFloats)
                            filled = r1
                        }
                        bandInput = rows + (r0 - base) * rowFloats
                    }
                    depthwise.depthwise(
                        x: bandInput, n: 1, h: r1 - r0, w: w, y: dwOut, oh: count, ow: ow,
                        pt: pt + r0 - oy0 * sh, pl: pl)
                    project.pointwise(dwOut, pixels: count * ow, into: out + (b * oh + oy0) * ow * cout)
                }
            }
        }
        return y
    }

    /// The three convs whole, image after image, so one image's intermediates stay in L2 (at batch
    /// 8 the whole batch's outgrow it; image by image is faster: benchmarks/RESULTS.md). Several
    /// threads take whole images each; one image gets every thread inside its convs.
    ///
    /// Each conv prefetches the weights of the one after it as it finishes (Prefetch): the expand
    /// the depthwise's and the project's first, the project the next image's expand, or `next`.
    private func runImageByImage(
        _ x: Tensor, n: Int, h: Int, w: Int, oh: Int, ow: Int, pt: Int, pl: Int,
        then next: Prefetch, _ arena: Arena
    ) -> Tensor {
        let mid = depthwise.cin, c = x.dim(-1), cout = project.cout
        let expandedFloats = expand == nil ? 0 : (h * w * mid + 15) & ~15
        let perPart = expandedFloats + ((oh * ow * mid + 15) & ~15)
        let parts = min(Engine.intraOpThreads, n)
        let y = arena.tensor([n, oh, ow, cout], layout: .nhwc)
        let scratch = arena.floats(parts * perPart)  // after y: released last-in first-out
        defer { arena.release(scratch, count: parts * perPart) }
        let source = x.data, out = y.data
        let expand = expand, depthwise = depthwise, project = project
        let afterExpand = afterExpand, nextImage = leadingWeights
        Engine.parallelRanges(parts) { partRange in
            for part in partRange {
                let expanded = scratch + part * perPart, filtered = expanded + expandedFloats
                let images = (n * part / parts)..<(n * (part + 1) / parts)
                for b in images {
                    var input = source + b * h * w * c
                    if let expand {
                        expand.pointwise(input, pixels: h * w, into: expanded, then: afterExpand)
                        input = expanded
                    }
                    depthwise.depthwise(x: input, n: 1, h: h, w: w, y: filtered, oh: oh, ow: ow, pt: pt, pl: pl)
                    project.pointwise(
                        filtered, pixels: oh * ow, into: out + b * oh * ow * cout,
                        then: b + 1 < images.upperBound ? nextImage : next)
                }
            }
        }
        return y
    }
}
