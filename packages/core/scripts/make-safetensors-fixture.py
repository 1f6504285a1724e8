"""Make fixtures/torch-dtypes.safetensors: an independent PyTorch reference for src/safetensors.ts.

PyTorch does the dtype conversions (f16/bf16 decode, f32 -> f16/bf16 rounding, i64/f64 -> f32); the
file is serialised here by hand following the safetensors reference rules (tensors sorted by
descending dtype then name, compact JSON header with __metadata__ first, space-padded to 8 bytes),
because the `safetensors` Python package is not installed. Tests read the committed file; they never
run Python. Re-run with:  python3 packages/core/scripts/make-safetensors-fixture.py
"""
import json
import os
import struct

import torch

DTYPE_ORDER = ["BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16",
               "I32", "U32", "F32", "F64", "I64", "U64"]
TORCH_NAME = {torch.bool: "BOOL", torch.uint8: "U8", torch.float16: "F16", torch.bfloat16: "BF16",
              torch.int32: "I32", torch.float32: "F32", torch.float64: "F64", torch.int64: "I64"}


def serialize(tensors, metadata):
    items = sorted(tensors.items(), key=lambda kv: (-DTYPE_ORDER.index(TORCH_NAME[kv[1].dtype]), kv[0]))
    header, blobs, offset = {}, [], 0
    if metadata:
        header["__metadata__"] = dict(sorted(metadata.items()))
    for name, t in items:
        t = t.contiguous()
        raw = t.view(torch.uint8).numpy().tobytes() if t.dtype != torch.bool else t.to(torch.uint8).numpy().tobytes()
        header[name] = {"dtype": TORCH_NAME[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
        blobs.append(raw)
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * ((8 - len(text) % 8) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def main():
    torch.manual_seed(0)
    # f16 bit patterns: every 61st pattern plus all special classes (subnormals, inf, NaN, extremes).
    specials = list(range(0, 41)) + [0x3FF, 0x400, 0x3C00, 0x7BFF, 0x7C00, 0x7C01, 0x7E00, 0x8000,
                                     0x8001, 0x83FF, 0xFBFF, 0xFC00, 0xFE00]
    f16_bits = torch.tensor(sorted(set(list(range(0, 65536, 61)) + specials)), dtype=torch.int32)
    f16 = f16_bits.to(torch.int16).view(torch.float16)
    bf16_bits = torch.tensor(sorted(set(list(range(0, 65536, 257)) + [0x7F80, 0xFF80, 0x7FC0, 1, 0x8001])),
                             dtype=torch.int32)
    bf16 = bf16_bits.to(torch.int16).view(torch.bfloat16)
    edges = [0.0, -0.0, 65504.0, 65519.0, 65520.0, 1e6, 2.0 ** -24, 2.0 ** -25, 1.5 * 2.0 ** -25,
             3 * 2.0 ** -26, 2.0 ** -14, 2.0 ** -14 - 2.0 ** -25, 1 / 3, 1 + 2.0 ** -11, 1 + 3 * 2.0 ** -11,
             float("inf"), float("-inf"), 3.4e38, 1e-40, 1 + 2.0 ** -8, 1 + 3 * 2.0 ** -8]
    scales = torch.logspace(-9, 5, 300, dtype=torch.float64).to(torch.float32)
    enc_src = torch.cat([torch.tensor(edges, dtype=torch.float32), torch.randn(300) * scales])
    i64 = torch.tensor([-(2 ** 40), -1, 0, 1, 2 ** 24 + 1, 2 ** 53, 7], dtype=torch.int64)
    f64 = torch.tensor([1 / 3, -1e-300, 1e300, 2.5, float("nan")], dtype=torch.float64)
    tensors = {
        "f16": f16, "f16_as_f32": f16.float(),
        "bf16": bf16, "bf16_as_f32": bf16.float(),
        "enc_src": enc_src, "enc_f16": enc_src.half(), "enc_bf16": enc_src.bfloat16(),
        "i64": i64, "i64_as_f32": i64.float(),
        "f64": f64, "f64_as_f32": f64.float(),
        "mask": torch.tensor([[True, False, True], [False, False, True]]),
        "bytes": torch.arange(5, dtype=torch.uint8),
        "i32": torch.tensor([-5, 2 ** 31 - 1], dtype=torch.int32),
    }
    out = os.path.join(os.path.dirname(__file__), "..", "fixtures", "torch-dtypes.safetensors")
    meta = {"producer": f"torch {torch.__version__} scripts/make-safetensors-fixture.py", "format": "pt"}
    with open(out, "wb") as f:
        f.write(serialize(tensors, meta))
    print(f"wrote {os.path.normpath(out)}")


if __name__ == "__main__":
    main()
