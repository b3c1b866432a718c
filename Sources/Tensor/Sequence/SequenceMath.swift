// Vector transcendental functions for the recurrences (8 lanes = one AVX2 register). The LSTM cell
// needs sigmoid/tanh on every gate of every step, the selective scan exp(delta*A) on every state
// element: scalar libm calls would dominate both loops. Cephes-style polynomials, ~2 ulp for exp and
// log, far inside the parity tolerance.

public typealias Float8 = SIMD8<Float>

@usableFromInline let ln2Hi: Float = 0.693359375
@usableFromInline let ln2Lo: Float = -2.12194440e-4

/// e^x; inputs are clamped to [-87.3, 88.7] (beyond that float32 under/overflows anyway).
/// Float->Int SIMD conversions and `clamped` compile to per-lane generic code in Swift 6.3, so the
/// rounding uses the 1.5*2^23 trick (the integer lands in the low mantissa bits) and the clamp masks.
@inlinable @inline(__always)
public func exp8(_ x0: Float8) -> Float8 {
    var x = x0.replacing(with: -87.3, where: x0 .< -87.3)
    x.replace(with: 88.7, where: x .> 88.7)
    let shifted = x * 1.44269504088896341 + 12582912.0
    let n = shifted - 12582912.0  // round(x / ln 2)
    let r = x - n * ln2Hi - n * ln2Lo
    var p = Float8(repeating: 1.9875691500e-4)  // addingProduct: FMA (a * b + c is two ops)
    p = Float8(repeating: 1.3981999507e-3).addingProduct(p, r)
    p = Float8(repeating: 8.3334519073e-3).addingProduct(p, r)
    p = Float8(repeating: 4.1665795894e-2).addingProduct(p, r)
    p = Float8(repeating: 1.6666665459e-1).addingProduct(p, r)
    p = Float8(repeating: 5.0000001201e-1).addingProduct(p, r)
    let y = (r + 1).addingProduct(p, r * r)
    let ni = unsafeBitCast(shifted, to: SIMD8<Int32>.self) &- 0x4B40_0000
    return y * unsafeBitCast((ni &+ 127) &<< 23, to: Float8.self)
}

/// Natural log for x > 0 (callers pass values in [1, 2]).
@inlinable @inline(__always)
public func log8(_ x: Float8) -> Float8 {
    let bits = unsafeBitCast(x, to: SIMD8<Int32>.self)
    var e = Float8(((bits &>> 23) & 0xff) &- 126)
    var m = unsafeBitCast((bits & 0x007f_ffff) | 0x3f00_0000, to: Float8.self)  // mantissa in [0.5, 1)
    let small = m .< 0.707106781186547524
    e.replace(with: e - 1, where: small)
    m = m.replacing(with: m + m, where: small) - 1
    let z = m * m
    var y = Float8(repeating: 7.0376836292e-2)
    y = y * m - 1.1514610310e-1
    y = y * m + 1.1676998740e-1
    y = y * m - 1.2420140846e-1
    y = y * m + 1.4249322787e-1
    y = y * m - 1.6668057665e-1
    y = y * m + 2.0000714765e-1
    y = y * m - 2.4999993993e-1
    y = y * m + 3.3333331174e-1
    y = y * m * z
    y = y + e * ln2Lo - 0.5 * z
    return m + y + e * ln2Hi
}

@inlinable @inline(__always)
public func sigmoid8(_ x: Float8) -> Float8 { 1 / (1 + exp8(-x)) }

@inlinable @inline(__always)
public func tanh8(_ x: Float8) -> Float8 { 2 / (1 + exp8(-2 * x)) - 1 }

@inlinable @inline(__always)
public func silu8(_ x: Float8) -> Float8 { x / (1 + exp8(-x)) }

/// log(1 + e^x), computed as max(x, 0) + log(1 + e^-|x|) so it neither overflows nor loses small x.
@inlinable @inline(__always)
public func softplus8(_ x: Float8) -> Float8 {
    let ax = x.replacing(with: -x, where: x .< 0)
    return x.replacing(with: 0, where: x .< 0) + log8(1 + exp8(-ax))
}

/// Loads `n` <= 8 floats (zero-filling the rest); the partial last chunk of a row whose width is not a
/// multiple of 8.
@inlinable @inline(__always)
func load8(_ p: UnsafePointer<Float>, _ n: Int) -> Float8 {
    if n == 8 { return UnsafeRawPointer(p).loadUnaligned(as: Float8.self) }
    var v = Float8()
    for i in 0..<n { v[i] = p[i] }
    return v
}

@inlinable @inline(__always)
func store8(_ v: Float8, _ p: UnsafeMutablePointer<Float>, _ n: Int) {
    if n == 8 { UnsafeMutableRawPointer(p).storeBytes(of: v, as: Float8.self); return }
    for i in 0..<n { p[i] = v[i] }
}
