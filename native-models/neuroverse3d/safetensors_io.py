"""Minimal reader/writer for the safetensors format (the `safetensors` wheel is not available from Debian here).

Layout: 8-byte little-endian header length N, N bytes of JSON header
{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {str: str}}, then the raw little-endian
tensor bytes. The header is padded with spaces to a multiple of 8 bytes so every tensor starts 8-byte aligned, as the
reference implementation does.
"""
from __future__ import annotations

import json
import struct
from collections import OrderedDict
from pathlib import Path
from typing import Dict, Optional, Tuple

import numpy as np
import torch

_DTYPES = {
    torch.float32: ("F32", np.float32),
    torch.float16: ("F16", np.float16),
    torch.float64: ("F64", np.float64),
    torch.int64: ("I64", np.int64),
    torch.int32: ("I32", np.int32),
}
_BY_NAME = {name: (tdt, ndt) for tdt, (name, ndt) in _DTYPES.items()}


def save_file(tensors: Dict[str, torch.Tensor], path, metadata: Optional[Dict[str, str]] = None) -> None:
    header: Dict = OrderedDict()
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    blobs = []
    offset = 0
    for name, t in tensors.items():
        if t.dtype not in _DTYPES:
            raise TypeError(f"{name}: unsupported dtype {t.dtype}")
        code, ndt = _DTYPES[t.dtype]
        data = t.detach().cpu().contiguous().numpy().astype(np.dtype(ndt).newbyteorder("<"), copy=False).tobytes()
        header[name] = {"dtype": code, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    raw = json.dumps(header, separators=(",", ":")).encode("utf-8")
    raw += b" " * ((8 - len(raw) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(raw)))
        f.write(raw)
        for b in blobs:
            f.write(b)


def load_file(path) -> Tuple["OrderedDict[str, torch.Tensor]", Dict[str, str]]:
    data = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n].decode("utf-8"), object_pairs_hook=OrderedDict)
    meta = header.pop("__metadata__", {})
    base = 8 + n
    out: "OrderedDict[str, torch.Tensor]" = OrderedDict()
    for name, spec in header.items():
        tdt, ndt = _BY_NAME[spec["dtype"]]
        b, e = spec["data_offsets"]
        arr = np.frombuffer(data[base + b: base + e], dtype=np.dtype(ndt).newbyteorder("<")).reshape(spec["shape"])
        out[name] = torch.from_numpy(arr.astype(ndt))
    return out, meta
