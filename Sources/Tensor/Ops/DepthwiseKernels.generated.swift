// swift-format-ignore-file
// GENERATED FILE - DO NOT EDIT. Written by `python3 tools/gen_depthwise_kernels.py`; to change these
// kernels, edit the generator and run it again (`make check-generated` fails while this file
// differs from the generator's output).
//
// depthwiseBlocked (DepthwiseConv.swift) written out for the common kernel widths and strides
// (dilation 1): each input vector is loaded once per kernel row and feeds every accumulator it
// belongs to, with that kernel row's kw weight vectors and the eight accumulators in registers
// (kw + 9 of the 16 ymm). 5-wide at stride 2 stays on depthwiseBlocked: LLVM spills this form of
// it. The Body kernels take their column stride as a parameter; DepthwiseConv.swift's wrappers
// call them with a constant one.

@inline(__always)
func depthwiseW3S1Body(x: UnsafeRawPointer, weights: UnsafeRawPointer, bias: UnsafeRawPointer?,
                       y: UnsafeMutableRawPointer, c: Int, vecC: Int, kRows: Int, rowBytes: Int,
                       colBytes: Int, pixels: Int, stored: Int, lo: SIMD8<Float>, hi: SIMD8<Float>) {
    let cBytes = c * 4, kwBytes = 3 * cBytes
    var ox = 0
    while true {
        let o = min(ox, pixels - 8)
        var cb = 0
        while cb < vecC {
            let bv = bias.map { ld($0, cb * 4) } ?? SIMD8(repeating: 0)
            var a0 = bv, a1 = bv, a2 = bv, a3 = bv, a4 = bv, a5 = bv, a6 = bv, a7 = bv
            var p = x + o * colBytes + cb * 4, wp = weights + cb * 4
            for _ in 0..<kRows {
                let w0 = ld(wp, 0), w1 = ld(wp, 1 * cBytes), w2 = ld(wp, 2 * cBytes)
                let v0 = ld(p, 0)
                a0 = a0.addingProduct(v0, w0)
                let v1 = ld(p, 1 * colBytes)
                a0 = a0.addingProduct(v1, w1); a1 = a1.addingProduct(v1, w0)
                let v2 = ld(p, 2 * colBytes)
                a0 = a0.addingProduct(v2, w2); a1 = a1.addingProduct(v2, w1); a2 = a2.addingProduct(v2, w0)
                let v3 = ld(p, 3 * colBytes)
                a1 = a1.addingProduct(v3, w2); a2 = a2.addingProduct(v3, w1); a3 = a3.addingProduct(v3, w0)
                let v4 = ld(p, 4 * colBytes)
                a2 = a2.addingProduct(v4, w2); a3 = a3.addingProduct(v4, w1); a4 = a4.addingProduct(v4, w0)
                let v5 = ld(p, 5 * colBytes)
                a3 = a3.addingProduct(v5, w2); a4 = a4.addingProduct(v5, w1); a5 = a5.addingProduct(v5, w0)
                let v6 = ld(p, 6 * colBytes)
                a4 = a4.addingProduct(v6, w2); a5 = a5.addingProduct(v6, w1); a6 = a6.addingProduct(v6, w0)
                let v7 = ld(p, 7 * colBytes)
                a5 = a5.addingProduct(v7, w2); a6 = a6.addingProduct(v7, w1); a7 = a7.addingProduct(v7, w0)
                let v8 = ld(p, 8 * colBytes)
                a6 = a6.addingProduct(v8, w2); a7 = a7.addingProduct(v8, w1)
                let v9 = ld(p, 9 * colBytes)
                a7 = a7.addingProduct(v9, w2)
                p += rowBytes; wp += kwBytes
            }
            store8(y + o * cBytes + cb * 4, cBytes, stored, (a0, a1, a2, a3, a4, a5, a6, a7), lo, hi)
            cb += 8
        }
        if o == pixels - 8 { break }
        ox += 8
    }
}

@inline(__always)
func depthwiseW5S1Body(x: UnsafeRawPointer, weights: UnsafeRawPointer, bias: UnsafeRawPointer?,
                       y: UnsafeMutableRawPointer, c: Int, vecC: Int, kRows: Int, rowBytes: Int,
                       colBytes: Int, pixels: Int, stored: Int, lo: SIMD8<Float>, hi: SIMD8<Float>) {
    let cBytes = c * 4, kwBytes = 5 * cBytes
    var ox = 0
    while true {
        let o = min(ox, pixels - 8)
        var cb = 0
        while cb < vecC {
            let bv = bias.map { ld($0, cb * 4) } ?? SIMD8(repeating: 0)
            var a0 = bv, a1 = bv, a2 = bv, a3 = bv, a4 = bv, a5 = bv, a6 = bv, a7 = bv
            var p = x + o * colBytes + cb * 4, wp = weights + cb * 4
            for _ in 0..<kRows {
                let w0 = ld(wp, 0), w1 = ld(wp, 1 * cBytes), w2 = ld(wp, 2 * cBytes)
                let w3 = ld(wp, 3 * cBytes), w4 = ld(wp, 4 * cBytes)
                let v0 = ld(p, 0)
                a0 = a0.addingProduct(v0, w0)
                let v1 = ld(p, 1 * colBytes)
                a0 = a0.addingProduct(v1, w1); a1 = a1.addingProduct(v1, w0)
                let v2 = ld(p, 2 * colBytes)
                a0 = a0.addingProduct(v2, w2); a1 = a1.addingProduct(v2, w1); a2 = a2.addingProduct(v2, w0)
                let v3 = ld(p, 3 * colBytes)
                a0 = a0.addingProduct(v3, w3); a1 = a1.addingProduct(v3, w2); a2 = a2.addingProduct(v3, w1)
                a3 = a3.addingProduct(v3, w0)
                let v4 = ld(p, 4 * colBytes)
                a0 = a0.addingProduct(v4, w4); a1 = a1.addingProduct(v4, w3); a2 = a2.addingProduct(v4, w2)
                a3 = a3.addingProduct(v4, w1); a4 = a4.addingProduct(v4, w0)
                let v5 = ld(p, 5 * colBytes)
                a1 = a1.addingProduct(v5, w4); a2 = a2.addingProduct(v5, w3); a3 = a3.addingProduct(v5, w2)
                a4 = a4.addingProduct(v5, w1); a5 = a5.addingProduct(v5, w0)
                let v6 = ld(p, 6 * colBytes)
                a2 = a2.addingProduct(v6, w4); a3 = a3.addingProduct(v6, w3); a4 = a4.addingProduct(v6, w2)
                a5 = a5.addingProduct(v6, w1); a6 = a6.addingProduct(v6, w0)
                let v7 = ld(p, 7 * colBytes)
                a3 = a3.addingProduct(v7, w4); a4 = a4.addingProduct(v7, w3); a5 = a5.addingProduct(v7, w2)
                a6 = a6.addingProduct(v7, w1); a7 = a7.addingProduct(v7, w0)
                let v8 = ld(p, 8 * colBytes)
                a4 = a4.addingProduct(v8, w4); a5 = a5.addingProduct(v8, w3); a6 = a6.addingProduct(v8, w2)
                a7 = a7.addingProduct(v8, w1)
                let v9 = ld(p, 9 * colBytes)
                a5 = a5.addingProduct(v9, w4); a6 = a6.addingProduct(v9, w3); a7 = a7.addingProduct(v9, w2)
                let v10 = ld(p, 10 * colBytes)
                a6 = a6.addingProduct(v10, w4); a7 = a7.addingProduct(v10, w3)
                let v11 = ld(p, 11 * colBytes)
                a7 = a7.addingProduct(v11, w4)
                p += rowBytes; wp += kwBytes
            }
            store8(y + o * cBytes + cb * 4, cBytes, stored, (a0, a1, a2, a3, a4, a5, a6, a7), lo, hi)
            cb += 8
        }
        if o == pixels - 8 { break }
        ox += 8
    }
}

@inline(never)
func depthwiseW3S2(x: UnsafeRawPointer, weights: UnsafeRawPointer, bias: UnsafeRawPointer?,
                   y: UnsafeMutableRawPointer, c: Int, vecC: Int, kRows: Int, rowBytes: Int,
                   pixels: Int, lo: SIMD8<Float>, hi: SIMD8<Float>) {
    let cBytes = c * 4, kwBytes = 3 * cBytes
    var ox = 0
    while true {
        let o = min(ox, pixels - 8)
        var cb = 0
        while cb < vecC {
            let bv = bias.map { ld($0, cb * 4) } ?? SIMD8(repeating: 0)
            var a0 = bv, a1 = bv, a2 = bv, a3 = bv, a4 = bv, a5 = bv, a6 = bv, a7 = bv
            var p = x + o * 2 * cBytes + cb * 4, wp = weights + cb * 4
            for _ in 0..<kRows {
                let w0 = ld(wp, 0), w1 = ld(wp, 1 * cBytes), w2 = ld(wp, 2 * cBytes)
                let v0 = ld(p, 0)
                a0 = a0.addingProduct(v0, w0)
                let v1 = ld(p, 1 * cBytes)
                a0 = a0.addingProduct(v1, w1)
                let v2 = ld(p, 2 * cBytes)
                a0 = a0.addingProduct(v2, w2); a1 = a1.addingProduct(v2, w0)
                let v3 = ld(p, 3 * cBytes)
                a1 = a1.addingProduct(v3, w1)
                let v4 = ld(p, 4 * cBytes)
                a1 = a1.addingProduct(v4, w2); a2 = a2.addingProduct(v4, w0)
                let v5 = ld(p, 5 * cBytes)
                a2 = a2.addingProduct(v5, w1)
                let v6 = ld(p, 6 * cBytes)
                a2 = a2.addingProduct(v6, w2); a3 = a3.addingProduct(v6, w0)
                let v7 = ld(p, 7 * cBytes)
                a3 = a3.addingProduct(v7, w1)
                let v8 = ld(p, 8 * cBytes)
                a3 = a3.addingProduct(v8, w2); a4 = a4.addingProduct(v8, w0)
                let v9 = ld(p, 9 * cBytes)
                a4 = a4.addingProduct(v9, w1)
                let v10 = ld(p, 10 * cBytes)
                a4 = a4.addingProduct(v10, w2); a5 = a5.addingProduct(v10, w0)
                let v11 = ld(p, 11 * cBytes)
                a5 = a5.addingProduct(v11, w1)
                let v12 = ld(p, 12 * cBytes)
                a5 = a5.addingProduct(v12, w2); a6 = a6.addingProduct(v12, w0)
                let v13 = ld(p, 13 * cBytes)
                a6 = a6.addingProduct(v13, w1)
                let v14 = ld(p, 14 * cBytes)
                a6 = a6.addingProduct(v14, w2); a7 = a7.addingProduct(v14, w0)
                let v15 = ld(p, 15 * cBytes)
                a7 = a7.addingProduct(v15, w1)
                let v16 = ld(p, 16 * cBytes)
                a7 = a7.addingProduct(v16, w2)
                p += rowBytes; wp += kwBytes
            }
            store8(y + o * cBytes + cb * 4, cBytes, 8, (a0, a1, a2, a3, a4, a5, a6, a7), lo, hi)
            cb += 8
        }
        if o == pixels - 8 { break }
        ox += 8
    }
}
