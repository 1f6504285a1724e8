#!/usr/bin/python3
"""Convert a PyTorch checkpoint to safetensors for `loadWeights`.

    python3 pt_to_safetensors.py model.pth model.safetensors

Handles plain state dicts, {'state_dict': ...} / {'model': ...} wrappers and TorchScript archives (OpenAI CLIP
`.pt`). Keys are written unchanged (loadWeights strips a `module.` prefix itself). Uses the `safetensors`
package when installed, otherwise the minimal writer of make_parity_fixtures.py.
"""
import os
import sys
from collections import OrderedDict

import torch


def load_state_dict(path):
    try:
        obj = torch.load(path, map_location='cpu')
    except RuntimeError:  # TorchScript archive (OpenAI CLIP releases)
        obj = torch.jit.load(path, map_location='cpu').state_dict()
    if hasattr(obj, 'state_dict') and not isinstance(obj, dict):
        obj = obj.state_dict()
    for wrapper in ('state_dict', 'model'):
        if isinstance(obj, dict) and isinstance(obj.get(wrapper), dict):
            obj = obj[wrapper]
    return OrderedDict((k, v.detach().clone().contiguous()) for k, v in obj.items() if torch.is_tensor(v))


def main():
    src, dst = sys.argv[1], sys.argv[2]
    sd = load_state_dict(src)
    try:
        from safetensors.torch import save_file
        save_file(sd, dst, metadata={'format': 'pt'})
    except ImportError:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        from make_parity_fixtures import save_safetensors
        save_safetensors(dst, sd, {'format': 'pt'})
    print(f'{len(sd)} tensors → {dst}')


if __name__ == '__main__':
    main()
