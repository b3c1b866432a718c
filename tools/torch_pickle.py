"""Reads a PyTorch state dict (.pt/.pth) with numpy alone, never executing pickle code.

Two container formats exist:
- legacy (torch < 1.6, e.g. facenet-pytorch's pnet/rnet/onet.pt and the EfficientNet-Lite0 .pth):
  pickles for magic number, protocol and sys info, the state-dict pickle, a pickle with the
  storage keys, then every storage as an int64 element count followed by its raw bytes;
- zip (torch >= 1.6): `<root>/data.pkl` plus one raw file `<root>/data/<key>` per storage.
Both describe tensors as `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)` with
the storage given as a persistent id. `RestrictedUnpickler.find_class` allows exactly the globals a
plain state dict needs and raises on anything else, so a malicious file cannot run code.
"""
from __future__ import annotations

import io
import pickle
import struct
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

_STORAGE_DTYPES = {
    "FloatStorage": np.float32, "DoubleStorage": np.float64, "HalfStorage": np.float16,
    "LongStorage": np.int64, "IntStorage": np.int32, "ShortStorage": np.int16,
    "CharStorage": np.int8, "ByteStorage": np.uint8, "BoolStorage": np.bool_,
}


class UnsafePickleError(ValueError):
    """The pickle asks for a global outside the state-dict allow-list."""


class _StorageType:
    def __init__(self, name: str):
        self.dtype = np.dtype(_STORAGE_DTYPES[name]).newbyteorder("<")


def _rebuild_tensor_v2(storage, offset, size, stride, requires_grad=False, hooks=None, metadata=None):
    if not isinstance(storage, np.ndarray):
        raise ValueError("tensor refers to something that is not a storage")
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if not size:
        return storage[offset:offset + 1].reshape(()).copy()
    last = offset + sum((n - 1) * s for n, s in zip(size, stride))
    if offset < 0 or last >= storage.size or any(s < 0 for s in stride):
        raise ValueError(f"tensor view {size}/{stride}+{offset} exceeds its storage of {storage.size}")
    item = storage.itemsize
    view = np.lib.stride_tricks.as_strided(storage[offset:], shape=size,
                                           strides=tuple(s * item for s in stride))
    return np.array(view)  # copy: contiguous, owns its memory


def _rebuild_parameter(data, requires_grad=False, hooks=None):
    return data


def _skip_tensor(*args):
    return None


def _SIZES_ONLY(key, dtype, numel):
    """First pass over a legacy file: storages are only declared, tensors not built."""
    return None


_ALLOWED = {
    ("collections", "OrderedDict"): OrderedDict,
    ("torch._utils", "_rebuild_tensor_v2"): _rebuild_tensor_v2,
    ("torch._utils", "_rebuild_parameter"): _rebuild_parameter,
}


class RestrictedUnpickler(pickle.Unpickler):
    """Unpickler that resolves only the state-dict globals and turns storages into numpy arrays."""

    def __init__(self, stream, load_storage):
        super().__init__(stream)
        self._load_storage = load_storage
        self._storages: dict[str, np.ndarray] = {}
        self.declared: dict[str, tuple[np.dtype, int]] = {}

    def find_class(self, module, name):
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2") and self._load_storage is _SIZES_ONLY:
            return _skip_tensor
        if (module, name) in _ALLOWED:
            return _ALLOWED[(module, name)]
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(name)
        raise UnsafePickleError(f"refusing pickle global {module}.{name} (not part of a plain state dict)")

    def persistent_load(self, pid):
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"
                and isinstance(pid[1], _StorageType)):
            raise UnsafePickleError(f"unexpected persistent id {pid!r:.80}")
        _, stype, key, _location, numel = pid[:5]
        key = str(key)
        if key not in self._storages:
            self._storages[key] = self._load_storage(key, stype.dtype, int(numel))
        self.declared[key] = (stype.dtype, int(numel))
        return self._storages[key]


def _read_legacy(data: bytes, origin: str) -> dict[str, np.ndarray]:
    f = io.BytesIO(data)
    if RestrictedUnpickler(f, None).load() != LEGACY_MAGIC:
        raise ValueError(f"{origin}: not a PyTorch file (bad magic number)")
    RestrictedUnpickler(f, None).load()  # protocol version
    RestrictedUnpickler(f, None).load()  # sys info
    state_at = f.tell()
    # The raw storages follow the state-dict pickle: a first pass learns their types and sizes
    # (allocating nothing, so a forged size cannot exhaust memory before the data is seen).
    first = RestrictedUnpickler(f, _SIZES_ONLY)
    first.load()
    declared = first.declared
    keys = RestrictedUnpickler(f, None).load()
    if not isinstance(keys, list):
        raise ValueError(f"{origin}: malformed storage key list")
    storages: dict[str, np.ndarray] = {}
    for key in map(str, keys):
        head = f.read(8)
        if len(head) != 8:
            raise ValueError(f"{origin}: truncated (storage {key} missing)")
        (numel,) = struct.unpack("<q", head)
        dtype, expected = declared.get(key, (None, None))
        if dtype is None or numel != expected:
            raise ValueError(f"{origin}: storage {key} has {numel} elements, the pickle declares {expected}")
        raw = f.read(numel * dtype.itemsize)
        if len(raw) != numel * dtype.itemsize:
            raise ValueError(f"{origin}: truncated in storage {key}")
        storages[key] = np.frombuffer(raw, dtype=dtype)
    if set(storages) != set(declared):
        raise ValueError(f"{origin}: storages missing from the file")
    f.seek(state_at)
    return RestrictedUnpickler(f, lambda key, dtype, numel: storages[key]).load()


def _read_zip(path: Path) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        pkl = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
        if len(pkl) != 1:
            raise ValueError(f"{path.name}: zip without a single data.pkl")
        root = pkl[0][: -len("data.pkl")]

        def load(key, dtype, numel):
            raw = z.read(f"{root}data/{key}")
            if len(raw) != numel * dtype.itemsize:
                raise ValueError(f"{path.name}: storage {key} has {len(raw)} bytes, expected {numel * dtype.itemsize}")
            return np.frombuffer(raw, dtype=dtype).copy()

        return RestrictedUnpickler(io.BytesIO(z.read(pkl[0])), load).load()


def load_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """Returns {name: numpy array} of a PyTorch state dict file; raises ValueError on anything else."""
    path = Path(path)
    try:
        if zipfile.is_zipfile(path):
            state = _read_zip(path)
        else:
            state = _read_legacy(path.read_bytes(), path.name)
    except UnsafePickleError:
        raise
    except (pickle.UnpicklingError, EOFError, zipfile.BadZipFile, KeyError, IndexError, TypeError,
            AttributeError, OverflowError, UnicodeDecodeError, struct.error, MemoryError, RecursionError) as e:
        raise ValueError(f"{path.name}: corrupted or truncated PyTorch file ({type(e).__name__}: {e})") from e
    # A training checkpoint that wraps the state dict alone (SoundAQnet's .pth files).
    if isinstance(state, dict) and list(state) == ["state_dict"]:
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, np.ndarray) for v in state.values()):
        raise ValueError(f"{path.name}: not a plain state dict of tensors")
    return dict(state)
