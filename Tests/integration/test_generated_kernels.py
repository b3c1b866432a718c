"""Sources/Tensor/Ops/DepthwiseKernels.generated.swift is exactly what tools/gen_depthwise_kernels.py
writes, so the generator stays the kernels' source (the same check as `make check-generated`)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GENERATOR = ROOT / "tools/gen_depthwise_kernels.py"
GENERATED = ROOT / "Sources/Tensor/Ops/DepthwiseKernels.generated.swift"


def test_depthwise_kernels_match_their_generator(tmp_path):
    out = tmp_path / "kernels.swift"
    subprocess.run([sys.executable, str(GENERATOR), "--out", str(out)], check=True)
    assert GENERATED.read_text() == out.read_text(), \
        f"{GENERATED.name} differs from the generator's output: run python3 tools/gen_depthwise_kernels.py"


def test_check_mode_accepts_the_committed_file():
    assert subprocess.run([sys.executable, str(GENERATOR), "--check"]).returncode == 0


def test_kernels_are_not_also_pasted_into_the_hand_written_file():
    hand = (ROOT / "Sources/Tensor/Ops/DepthwiseConv.swift").read_text()
    for name in ("depthwiseW3S1Body", "depthwiseW5S1Body", "depthwiseW3S2"):
        assert f"func {name}(" not in hand
