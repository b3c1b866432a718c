"""Writes Sources/Tensor/Ops/DepthwiseKernels.generated.swift, the unrolled depthwise kernels.

depthwiseW3S1Body, depthwiseW5S1Body and depthwiseW3S2 compute 8 output pixels x 8 channels per step
with each input vector loaded once per kernel row and every FMA written out (the accumulators,
the row's weight vectors and one input vector stay in the 16 ymm registers). Written by hand
they would be ~150 lines of near-identical Swift; this script is their source. The hand-written
rest of the depthwise convolution (the helpers `ld` and `store8`, the wrappers that call these
kernels) is in Sources/Tensor/Ops/DepthwiseConv.swift. To change the kernels, edit this file and
run it; never edit the generated file by hand. `make check-generated` and
Tests/integration/test_generated_kernels.py fail when the committed file differs from this
script's output.

Usage: python3 tools/gen_depthwise_kernels.py            (rewrites the generated file)
       python3 tools/gen_depthwise_kernels.py --check    (exit 1 if the committed file differs)
       python3 tools/gen_depthwise_kernels.py --out PATH (writes PATH instead; - for stdout)
"""
import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "Sources/Tensor/Ops/DepthwiseKernels.generated.swift"
COMMAND = "python3 tools/gen_depthwise_kernels.py"

P = 8  # output pixels per step (one accumulator each)

HEADER = f"""\
// swift-format-ignore-file
// GENERATED FILE - DO NOT EDIT. Written by `{COMMAND}`; to change these
// kernels, edit the generator and run it again (`make check-generated` fails while this file
// differs from the generator's output).
//
// depthwiseBlocked (DepthwiseConv.swift) written out for the common kernel widths and strides
// (dilation 1): each input vector is loaded once per kernel row and feeds every accumulator it
// belongs to, with that kernel row's kw weight vectors and the eight accumulators in registers
// (kw + 9 of the 16 ymm). 5-wide at stride 2 stays on depthwiseBlocked: LLVM spills this form of
// it. The Body kernels take their column stride as a parameter; DepthwiseConv.swift's wrappers
// call them with a constant one.

"""


def kernel(K, S, col=False, name=None, attr="@inline(never)"):
    """Swift source of the K-wide, stride-S kernel. col: the column stride is a parameter
    (colBytes) and the number of pixels stored is too (the zero-padded strip path)."""
    L = []
    e = L.append
    name = name or f"depthwiseW{K}S{S}"
    e(attr)
    pad = " " * (len(name) + 6)
    e(f"func {name}(x: UnsafeRawPointer, weights: UnsafeRawPointer, bias: UnsafeRawPointer?,")
    e(f"{pad}y: UnsafeMutableRawPointer, c: Int, vecC: Int, kRows: Int, rowBytes: Int,")
    e(f"{pad}" + ("colBytes: Int, " if col else "") + "pixels: Int, " + ("stored: Int, " if col else "")
      + "lo: SIMD8<Float>, hi: SIMD8<Float>) {")
    e(f"    let cBytes = c * 4, kwBytes = {K} * cBytes")
    e("    var ox = 0")
    e("    while true {")
    e(f"        let o = min(ox, pixels - {P})")
    e("        var cb = 0")
    e("        while cb < vecC {")
    e("            let bv = bias.map { ld($0, cb * 4) } ?? SIMD8(repeating: 0)")
    e("            var " + ", ".join(f"a{j} = bv" for j in range(P)))
    e("            var p = x + o * " + (f"{S} * " if S > 1 else "") + "colBytes + cb * 4, wp = weights + cb * 4")
    e("            for _ in 0..<kRows {")
    ws = [f"w{k} = ld(wp, {k} * cBytes)" if k else "w0 = ld(wp, 0)" for k in range(K)]
    for g in range(0, K, 3):
        e("                let " + ", ".join(ws[g:g + 3]))
    ncols = (P - 1) * S + K
    for i in range(ncols):
        terms = [(j, i - S * j) for j in range(P) if 0 <= i - S * j < K]
        off = "0" if i == 0 else f"{i} * colBytes"
        e(f"                let v{i} = ld(p, {off})")
        fmas = [f"a{j} = a{j}.addingProduct(v{i}, w{k})" for j, k in terms]
        for g in range(0, len(fmas), 3):
            e("                " + "; ".join(fmas[g:g + 3]))
    e("                p += rowBytes; wp += kwBytes")
    e("            }")
    e("            store8(y + o * cBytes + cb * 4, cBytes, stored, (" + ", ".join(f"a{j}" for j in range(P))
      + "), lo, hi)")
    e("            cb += 8")
    e("        }")
    e(f"        if o == pixels - {P} {{ break }}")
    e(f"        ox += {P}")
    e("    }")
    e("}")
    out = "\n".join(L)
    return out if col else out.replace("colBytes", "cBytes").replace("cBytes, stored,", "cBytes, 8,")


def generate() -> str:
    """The kernels' Swift source, without the file header."""
    return "\n\n".join([kernel(3, 1, col=True, name="depthwiseW3S1Body", attr="@inline(__always)"),
                        kernel(5, 1, col=True, name="depthwiseW5S1Body", attr="@inline(__always)"),
                        kernel(3, 2)]) + "\n"


def render() -> str:
    """The whole generated file."""
    return HEADER + generate()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=str(OUTPUT), help="file to write (- for stdout)")
    ap.add_argument("--check", action="store_true", help="compare the committed file, write nothing")
    args = ap.parse_args()
    text = render()
    if args.check:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print(f"{OUTPUT.relative_to(ROOT)} is not the output of {COMMAND}: run it and commit the result",
                  file=sys.stderr)
            return 1
        return 0
    if args.out == "-":
        sys.stdout.write(text)
    else:
        Path(args.out).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
