/// The engine's GEMM tile in AVX-512, for CPUs that have it. This module alone is compiled for
/// Skylake-AVX512 (Package.swift); the Tensor module, built for Haswell, calls it only after
/// checking the CPU (`GemmTile.avx512`), so one binary runs everywhere.
///
/// Same contract as Tensor's `wideTile`, on two adjacent 16-column weight panels at once: 6 rows x
/// 32 columns, twelve 16-lane accumulators. Per k step: two panel vectors, six broadcasts and
/// twelve FMAs, half the instructions of the AVX2 tile for the same multiply-adds. On Zen 4,
/// whose 512-bit FMAs have the same peak as two 256-bit ones, an L1-resident 6-row tile still
/// runs faster (benchmarks/RESULTS.md): the AVX2 loop is bound by instruction issue. On
/// full-width AVX-512 (Zen 5, Intel server parts) the peak itself doubles.
///
/// Rows past `rows` may repeat a valid row (their results are dropped); `bias` and `slopes`
/// (already at this tile's first column) are padded to whole panels; `cols` <= 32. With
/// `runLength` > 6 the tile repeats down a run of rows `runStride` floats apart, the last tile
/// shifted back to end at the run's end (as Tensor's tiles do).
///
/// With `prefetch`, each k step also asks for the next 64-byte line of it into L2 (the caller
/// points it at weights it will need soon), tile by tile until its end: a run of many tiles
/// stops there instead of filling L2 with whatever follows (prefetches never fault, so the last
/// tile may run a little past it).
@inline(never)
public func gemmTile512(
    rows: Int, cols: Int, table: UnsafePointer<UnsafePointer<Float>>, tableStride: Int,
    segments: Int, segmentLength: Int, segmentStride: Int,
    panel0: UnsafePointer<Float>, panel1: UnsafePointer<Float>,
    c: UnsafeMutablePointer<Float>, ldc: Int,
    bias: UnsafePointer<Float>?, slopes: UnsafePointer<Float>?, lo: Float, hi: Float,
    runLength: Int, runStride: Int, prefetch: UnsafeRawBufferPointer? = nil
) {
    typealias V = SIMD16<Float>
    var ahead = prefetch?.baseAddress ?? UnsafeRawPointer(panel0)
    let prefetchEnd = prefetch.map { $0.baseAddress! + $0.count } ?? ahead
    var start = 0
    while true {
        let prefetching = ahead < prefetchEnd
        var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V()
        var c30 = V(), c31 = V(), c40 = V(), c41 = V(), c50 = V(), c51 = V()
        var p0 = UnsafePointer<V>(OpaquePointer(panel0)), p1 = UnsafePointer<V>(OpaquePointer(panel1))
        var t = table
        var offset = start * runStride
        for _ in 0..<segments {
            let a0 = t[0] + offset, a1 = t[1] + offset, a2 = t[2] + offset
            let a3 = t[3] + offset, a4 = t[4] + offset, a5 = t[5] + offset
            t += tableStride
            offset += segmentStride
            var kk = 0
            while kk < segmentLength {
                let b0 = p0[0], b1 = p1[0]
                var x = V(repeating: a0[kk]); c00 = c00.addingProduct(x, b0); c01 = c01.addingProduct(x, b1)
                x = V(repeating: a1[kk]); c10 = c10.addingProduct(x, b0); c11 = c11.addingProduct(x, b1)
                x = V(repeating: a2[kk]); c20 = c20.addingProduct(x, b0); c21 = c21.addingProduct(x, b1)
                x = V(repeating: a3[kk]); c30 = c30.addingProduct(x, b0); c31 = c31.addingProduct(x, b1)
                x = V(repeating: a4[kk]); c40 = c40.addingProduct(x, b0); c41 = c41.addingProduct(x, b1)
                x = V(repeating: a5[kk]); c50 = c50.addingProduct(x, b0); c51 = c51.addingProduct(x, b1)
                p0 += 1; p1 += 1
                if prefetching { prefetchToL2(ahead); ahead += 64 }
                kk &+= 1
            }
        }
        if let bias {
            let r = UnsafePointer<V>(OpaquePointer(bias))
            let v0 = r[0], v1 = r[1]
            c00 += v0; c01 += v1; c10 += v0; c11 += v1; c20 += v0; c21 += v1
            c30 += v0; c31 += v1; c40 += v0; c41 += v1; c50 += v0; c51 += v1
        }
        if let slopes {
            let r = UnsafePointer<V>(OpaquePointer(slopes))
            let s0 = r[0], s1 = r[1]
            c00 = prelu(c00, s0); c01 = prelu(c01, s1); c10 = prelu(c10, s0); c11 = prelu(c11, s1)
            c20 = prelu(c20, s0); c21 = prelu(c21, s1); c30 = prelu(c30, s0); c31 = prelu(c31, s1)
            c40 = prelu(c40, s0); c41 = prelu(c41, s1); c50 = prelu(c50, s0); c51 = prelu(c51, s1)
        }
        if lo > -.infinity || hi < .infinity {
            // Clamp to [lo, hi], NaN kept. Spelled out here: a helper function was not inlined in
            // this module and, called per vector, made ReLU6 GEMMs markedly slower.
            let l = V(repeating: lo), h = V(repeating: hi)
            c00 = c00.replacing(with: l, where: c00 .< l); c00 = c00.replacing(with: h, where: h .< c00)
            c01 = c01.replacing(with: l, where: c01 .< l); c01 = c01.replacing(with: h, where: h .< c01)
            c10 = c10.replacing(with: l, where: c10 .< l); c10 = c10.replacing(with: h, where: h .< c10)
            c11 = c11.replacing(with: l, where: c11 .< l); c11 = c11.replacing(with: h, where: h .< c11)
            c20 = c20.replacing(with: l, where: c20 .< l); c20 = c20.replacing(with: h, where: h .< c20)
            c21 = c21.replacing(with: l, where: c21 .< l); c21 = c21.replacing(with: h, where: h .< c21)
            c30 = c30.replacing(with: l, where: c30 .< l); c30 = c30.replacing(with: h, where: h .< c30)
            c31 = c31.replacing(with: l, where: c31 .< l); c31 = c31.replacing(with: h, where: h .< c31)
            c40 = c40.replacing(with: l, where: c40 .< l); c40 = c40.replacing(with: h, where: h .< c40)
            c41 = c41.replacing(with: l, where: c41 .< l); c41 = c41.replacing(with: h, where: h .< c41)
            c50 = c50.replacing(with: l, where: c50 .< l); c50 = c50.replacing(with: h, where: h .< c50)
            c51 = c51.replacing(with: l, where: c51 .< l); c51 = c51.replacing(with: h, where: h .< c51)
        }
        let out = c + start * ldc
        @inline(__always) func store(_ row: Int, _ v0: V, _ v1: V) {
            guard row < rows else { return }
            let p = out + row * ldc
            if cols == 32 {
                UnsafeMutableRawPointer(p).storeBytes(of: v0, as: V.self)
                UnsafeMutableRawPointer(p + 16).storeBytes(of: v1, as: V.self)
            } else {
                for l in 0..<min(cols, 16) { p[l] = v0[l] }
                if cols > 16 { for l in 0..<(cols - 16) { p[16 + l] = v1[l] } }
            }
        }
        store(0, c00, c01); store(1, c10, c11); store(2, c20, c21)
        store(3, c30, c31); store(4, c40, c41); store(5, c50, c51)
        if start + 6 >= runLength { return }
        start = min(start + 6, runLength - 6)
    }
}

/// PReLU, exactly the reference's v * (v < 0 ? slope : 1).
@inline(__always)
private func prelu(_ v: SIMD16<Float>, _ slope: SIMD16<Float>) -> SIMD16<Float> {
    v.replacing(with: v * slope, where: v .< 0)
}

/// LLVM's prefetch intrinsic (read, locality 1 = prefetcht2: L2, not L1, where the tile's
/// current panels and rows live).
@_silgen_name("llvm.prefetch.p0")
private func llvmPrefetch(_ address: UnsafeRawPointer, _ write: Int32, _ locality: Int32, _ cache: Int32)

@inline(__always)
private func prefetchToL2(_ address: UnsafeRawPointer) { llvmPrefetch(address, 0, 1, 1) }
