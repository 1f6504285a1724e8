#!/usr/bin/python3
"""Parity fixtures for @clip-senet/backbones: tiny models built in PyTorch with random weights.

Run: /usr/bin/python3 packages/backbones/scripts/make_parity_fixtures.py   (Debian python3-torch 1.13 / torchvision 0.14)

- ResNet family: torchvision's own ResNet / BasicBlock / Bottleneck (a subclass only shrinks the hard-coded
  64-channel base width); IBN-a, ResNeXt-IBN-a and SE-ResNet-IBN-a follow the official IBN-Net code
  (github.com/XingangPan/IBN-Net, ibnnet/*.py) with a base-width argument.
- CLIP: VisionTransformer and the text tower written here in the OpenAI CLIP layout (openai/CLIP model.py).
Each case writes `<case>.safetensors` (weights, PyTorch layout and names) and `<case>.io.safetensors`
(inputs NCHW / token ids, outputs). Tests load these through `loadWeights`; they never call Python.
"""
import json
import math
import os
import struct
import zlib
from collections import OrderedDict

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import torchvision.models.resnet as tvr

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures')


# ---------------------------------------------------------------------------------------------------
# minimal safetensors writer (the `safetensors` package is not in Debian)

def to_entry(t):
    t = t.detach().cpu().contiguous()
    if t.dtype == torch.float32:
        return 'F32', list(t.shape), t.numpy().astype('<f4').tobytes()
    if t.dtype == torch.float16:
        return 'F16', list(t.shape), t.numpy().astype('<f2').tobytes()
    if t.dtype == torch.bfloat16:
        return 'BF16', list(t.shape), t.view(torch.int16).numpy().astype('<i2').tobytes()
    if t.dtype == torch.int64:
        return 'I64', list(t.shape), t.numpy().astype('<i8').tobytes()
    if t.dtype == torch.int32:
        return 'I32', list(t.shape), t.numpy().astype('<i4').tobytes()
    raise ValueError(t.dtype)


def save_safetensors(path, tensors, metadata=None):
    header, blobs, offset = OrderedDict(), [], 0
    if metadata:
        header['__metadata__'] = metadata
    for name, t in tensors.items():
        dtype, shape, data = to_entry(t)
        header[name] = {'dtype': dtype, 'shape': shape, 'data_offsets': [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    h = json.dumps(header, separators=(',', ':')).encode()
    h += b' ' * ((8 - len(h) % 8) % 8)
    with open(path, 'wb') as f:
        f.write(struct.pack('<Q', len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    print(f'{os.path.basename(path):42s} {os.path.getsize(path) / 1024:8.1f} KiB')


def randomize_(model, g):
    """Give every norm/bias/stat a non-trivial value so swapped or skipped tensors cannot pass."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            leaf = name.split('.')[-1]
            if p.dim() == 1 and leaf == 'weight':
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))
            elif p.dim() == 1:
                p.copy_(0.1 * torch.randn(p.shape, generator=g))
        for name, b in model.named_buffers():
            if name.endswith('running_mean'):
                b.copy_(0.1 * torch.randn(b.shape, generator=g))
            elif name.endswith('running_var'):
                b.copy_(0.5 + torch.rand(b.shape, generator=g))


def state(model):
    return OrderedDict((k, v) for k, v in model.state_dict().items())


# ---------------------------------------------------------------------------------------------------
# torchvision ResNet with a configurable base width (everything else is torchvision's code)

class TinyTorchvisionResNet(tvr.ResNet):
    def __init__(self, block, layers, base=8, groups=1, width_per_group=64, last_stride=2):
        nn.Module.__init__(self)
        self._norm_layer = nn.BatchNorm2d
        self.inplanes = base
        self.dilation = 1
        self.groups = groups
        self.base_width = width_per_group
        self.conv1 = nn.Conv2d(3, base, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(base)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(block, base, layers[0])
        self.layer2 = self._make_layer(block, base * 2, layers[1], stride=2)
        self.layer3 = self._make_layer(block, base * 4, layers[2], stride=2)
        self.layer4 = self._make_layer(block, base * 8, layers[3], stride=last_stride)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(base * 8 * block.expansion, 10)  # present in the file, ignored by the loader
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')

    def features(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)


# ---------------------------------------------------------------------------------------------------
# official IBN-Net structure (ibnnet/modules.py, resnet_ibn.py, resnext_ibn.py, se_resnet_ibn.py)

class IBN(nn.Module):
    def __init__(self, planes, ratio=0.5):
        super().__init__()
        self.half = int(planes * ratio)
        self.IN = nn.InstanceNorm2d(self.half, affine=True)
        self.BN = nn.BatchNorm2d(planes - self.half)

    def forward(self, x):
        split = torch.split(x, self.half, 1)
        return torch.cat((self.IN(split[0].contiguous()), self.BN(split[1].contiguous())), 1)


class SELayer(nn.Module):
    def __init__(self, channel, reduction=16):
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(nn.Linear(channel, int(channel / reduction), bias=False), nn.ReLU(inplace=True),
                                nn.Linear(int(channel / reduction), channel, bias=False), nn.Sigmoid())

    def forward(self, x):
        b, c, _, _ = x.size()
        y = self.fc(self.avg_pool(x).view(b, c)).view(b, c, 1, 1)
        return x * y.expand_as(x)


class Bottleneck_IBN(nn.Module):
    """resnet_ibn.Bottleneck_IBN; `cardinality`/`base_width` as resnext_ibn.Bottleneck_IBN; `se` as se_resnet_ibn."""
    expansion = 4

    def __init__(self, inplanes, planes, ibn=None, stride=1, downsample=None, base_width=64, cardinality=1, se=None):
        super().__init__()
        width = int(math.floor(planes * (base_width / 64))) * cardinality
        self.conv1 = nn.Conv2d(inplanes, width, kernel_size=1, bias=False)
        self.bn1 = IBN(width) if ibn == 'a' else nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(width, width, kernel_size=3, stride=stride, padding=1, groups=cardinality, bias=False)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, planes * self.expansion, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        if se:
            self.se = SELayer(planes * self.expansion, se)
        self.use_se = bool(se)
        self.downsample = downsample
        self.stride = stride

    def forward(self, x):
        residual = x
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        if self.use_se:
            out = self.se(out)
        if self.downsample is not None:
            residual = self.downsample(x)
        return self.relu(out + residual)


class ResNet_IBN(nn.Module):
    def __init__(self, layers, ibn_cfg=('a', 'a', 'a', None), base=8, base_width=64, cardinality=1, se=None, last_stride=2):
        super().__init__()
        self.inplanes = base
        self.kw = dict(base_width=base_width, cardinality=cardinality, se=se)
        self.conv1 = nn.Conv2d(3, base, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(base)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = self._make_layer(base, layers[0], ibn=ibn_cfg[0])
        self.layer2 = self._make_layer(base * 2, layers[1], stride=2, ibn=ibn_cfg[1])
        self.layer3 = self._make_layer(base * 4, layers[2], stride=2, ibn=ibn_cfg[2])
        self.layer4 = self._make_layer(base * 8, layers[3], stride=last_stride, ibn=ibn_cfg[3])
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                n = m.kernel_size[0] * m.kernel_size[1] * m.out_channels
                m.weight.data.normal_(0, math.sqrt(2. / n))

    def _make_layer(self, planes, blocks, stride=1, ibn=None):
        downsample = None
        if stride != 1 or self.inplanes != planes * 4:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes * 4, kernel_size=1, stride=stride, bias=False),
                                       nn.BatchNorm2d(planes * 4))
        layers = [Bottleneck_IBN(self.inplanes, planes, ibn, stride, downsample, **self.kw)]
        self.inplanes = planes * 4
        for _ in range(1, blocks):
            layers.append(Bottleneck_IBN(self.inplanes, planes, ibn, **self.kw))
        return nn.Sequential(*layers)

    def features(self, x):
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(F.adaptive_avg_pool2d(x, 1), 1)


# ---------------------------------------------------------------------------------------------------
# OpenAI CLIP layout (openai/CLIP clip/model.py)

class QuickGELU(nn.Module):
    def forward(self, x):
        return x * torch.sigmoid(1.702 * x)


class ResidualAttentionBlock(nn.Module):
    def __init__(self, d_model, n_head, act, attn_mask=None):
        super().__init__()
        self.attn = nn.MultiheadAttention(d_model, n_head)
        self.ln_1 = nn.LayerNorm(d_model)
        self.mlp = nn.Sequential(OrderedDict([('c_fc', nn.Linear(d_model, d_model * 4)), ('gelu', act()),
                                              ('c_proj', nn.Linear(d_model * 4, d_model))]))
        self.ln_2 = nn.LayerNorm(d_model)
        self.attn_mask = attn_mask

    def forward(self, x):
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False, attn_mask=self.attn_mask)[0]
        return x + self.mlp(self.ln_2(x))


class Transformer(nn.Module):
    def __init__(self, width, layers, heads, act, attn_mask=None):
        super().__init__()
        self.resblocks = nn.Sequential(*[ResidualAttentionBlock(width, heads, act, attn_mask) for _ in range(layers)])

    def forward(self, x):
        return self.resblocks(x)


class VisionTransformer(nn.Module):
    def __init__(self, input_resolution, patch_size, width, layers, heads, output_dim, act):
        super().__init__()
        self.conv1 = nn.Conv2d(3, width, kernel_size=patch_size, stride=patch_size, bias=False)
        scale = width ** -0.5
        self.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.positional_embedding = nn.Parameter(scale * torch.randn((input_resolution // patch_size) ** 2 + 1, width))
        self.ln_pre = nn.LayerNorm(width)
        self.transformer = Transformer(width, layers, heads, act)
        self.ln_post = nn.LayerNorm(width)
        self.proj = nn.Parameter(scale * torch.randn(width, output_dim))
        self.grid = input_resolution // patch_size

    def forward(self, x, pos=None, return_cls=False):
        x = self.conv1(x)
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
        cls = self.class_embedding + torch.zeros(x.shape[0], 1, x.shape[-1], dtype=x.dtype)
        x = torch.cat([cls, x], dim=1)
        x = x + (self.positional_embedding if pos is None else pos)
        x = self.ln_pre(x).permute(1, 0, 2)
        x = self.transformer(x).permute(1, 0, 2)
        c = self.ln_post(x[:, 0, :])
        return (c @ self.proj, c) if return_cls else c @ self.proj

    def resized_pos(self, grid, antialias):
        """open_clip resize_pos_embed: bicubic on the [1, D, g, g] grid, CLS row unchanged."""
        pe = self.positional_embedding
        img = pe[1:].reshape(1, self.grid, self.grid, -1).permute(0, 3, 1, 2)
        img = F.interpolate(img, size=grid, mode='bicubic', align_corners=False, antialias=antialias)
        img = img.permute(0, 2, 3, 1).reshape(1, grid[0] * grid[1], -1)[0]
        return torch.cat([pe[:1], img], dim=0)


class TextTransformer(nn.Module):
    def __init__(self, vocab_size, context_length, width, layers, heads, embed_dim, act):
        super().__init__()
        mask = torch.empty(context_length, context_length).fill_(float('-inf')).triu_(1)
        self.transformer = Transformer(width, layers, heads, act, mask)
        self.token_embedding = nn.Embedding(vocab_size, width)
        self.positional_embedding = nn.Parameter(0.01 * torch.randn(context_length, width))
        self.ln_final = nn.LayerNorm(width)
        self.text_projection = nn.Parameter(width ** -0.5 * torch.randn(width, embed_dim))

    def forward(self, text):
        x = self.token_embedding(text) + self.positional_embedding
        x = self.transformer(x.permute(1, 0, 2)).permute(1, 0, 2)
        x = self.ln_final(x)
        return x[torch.arange(x.shape[0]), text.argmax(dim=-1)] @ self.text_projection


# ---------------------------------------------------------------------------------------------------

def add_grads(io, model, forward, names, g):
    """Train-mode gradients of sum(forward() * R) for a few named parameters (R stored as `grad_proj`)."""
    model.train()
    params = dict(model.named_parameters())
    model.zero_grad()
    out = forward()
    r = torch.randn(out.shape, generator=g)
    (out * r).sum().backward()
    io['grad_proj'] = r
    for n in names:
        io[f'grad.{n}'] = params[n].grad.detach().clone()
    model.eval()


def cnn_case(name, model, x, train_step=False, extra_files=(), grads=()):
    g = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    randomize_(model, g)
    model.eval()
    weights = OrderedDict((k, v.clone()) for k, v in state(model).items())
    save_safetensors(os.path.join(OUT, f'{name}.safetensors'), weights)
    io = OrderedDict(input=x)
    with torch.no_grad():
        io['output'] = model.features(x)
        if train_step:
            model.train()
            io['train_output'] = model.features(x)
            for k, v in model.state_dict().items():
                if k.endswith('running_mean') or k.endswith('running_var'):
                    io[f'after.{k}'] = v.clone()
    for suffix, dtype in extra_files:
        low = OrderedDict((k, v.to(dtype) if v.is_floating_point() else v) for k, v in weights.items())
        save_safetensors(os.path.join(OUT, f'{name}.{suffix}.safetensors'), low)
        ref = {k: v.to(dtype).float() if v.is_floating_point() else v for k, v in weights.items()}
        model.load_state_dict(ref)
        model.eval()
        with torch.no_grad():
            io[f'output_{suffix}'] = model.features(x)
    if grads:
        model.load_state_dict(weights)
        add_grads(io, model, lambda: model.features(x), grads, g)
    save_safetensors(os.path.join(OUT, f'{name}.io.safetensors'), io)


def main():
    torch.manual_seed(3407)
    os.makedirs(OUT, exist_ok=True)
    x64 = torch.randn(2, 3, 64, 64)

    cnn_case('resnet-basic', TinyTorchvisionResNet(tvr.BasicBlock, [1, 1, 1, 1]), x64, train_step=True,
             extra_files=[('f16', torch.float16)])
    cnn_case('resnet-bottleneck-ls1', TinyTorchvisionResNet(tvr.Bottleneck, [1, 2, 1, 1], last_stride=1), x64, train_step=True)
    cnn_case('resnext-tv', TinyTorchvisionResNet(tvr.Bottleneck, [1, 1, 1, 1], groups=4, width_per_group=16), x64)
    cnn_case('resnet-ibn-a', ResNet_IBN([1, 2, 1, 1]), x64, train_step=True)
    cnn_case('resnext-ibn-a', ResNet_IBN([1, 1, 1, 1], base_width=16, cardinality=4), x64, train_step=True,
             grads=['conv1.weight', 'bn1.weight', 'layer1.0.bn1.IN.weight', 'layer1.0.bn1.BN.bias', 'layer1.0.conv2.weight',
                    'layer2.0.downsample.0.weight', 'layer3.0.bn1.IN.bias', 'layer4.0.conv3.weight', 'layer4.0.bn3.bias'])
    cnn_case('se-resnet-ibn-a', ResNet_IBN([1, 1, 1, 1], se=4, last_stride=1), x64)

    # CLIP: full model file (visual.* + text tower + logit_scale), GELU
    g = torch.Generator().manual_seed(7)
    vit = VisionTransformer(32, 8, 64, 2, 2, 32, nn.GELU)
    text = TextTransformer(50, 8, 32, 2, 2, 32, nn.GELU)
    randomize_(vit, g)
    randomize_(text, g)
    vit.eval()
    text.eval()
    full = OrderedDict(('visual.' + k, v) for k, v in vit.state_dict().items())
    full.update(text.state_dict())
    full['logit_scale'] = torch.tensor(math.log(1 / 0.07))
    save_safetensors(os.path.join(OUT, 'clip-gelu.safetensors'), full)
    x32 = torch.randn(2, 3, 32, 32)
    x48 = torch.randn(2, 3, 48, 40)
    x24 = torch.randn(2, 3, 24, 24)
    tokens = torch.tensor([[48, 5, 9, 2, 49, 0, 0, 0], [48, 3, 3, 7, 11, 13, 17, 49]], dtype=torch.int64)
    with torch.no_grad():
        feat, cls = vit(x32, return_cls=True)
        io = OrderedDict(input=x32, output=feat, cls=cls, input48=x48, input24=x24)
        for aa in (False, True):
            tag = '_aa' if aa else ''
            io[f'output48{tag}'] = vit.forward(x48, pos=vit.resized_pos((6, 5), aa))
            io[f'output24{tag}'] = vit.forward(x24, pos=vit.resized_pos((3, 3), aa))
        io['tokens'] = tokens.to(torch.int32)
        io['text_output'] = text(tokens)
    vit_grads = ['conv1.weight', 'class_embedding', 'positional_embedding', 'ln_pre.weight',
                 'transformer.resblocks.0.attn.in_proj_weight', 'transformer.resblocks.1.mlp.c_fc.weight', 'ln_post.bias', 'proj']
    grads = OrderedDict()
    add_grads(grads, vit, lambda: vit(x48, pos=vit.resized_pos((6, 5), False)), vit_grads, g)
    io.update(OrderedDict((k.replace('grad', 'vit_grad', 1), v) for k, v in grads.items()))
    grads = OrderedDict()
    add_grads(grads, text, lambda: text(tokens), ['token_embedding.weight', 'positional_embedding',
              'transformer.resblocks.1.attn.out_proj.weight', 'text_projection'], g)
    io.update(OrderedDict((k.replace('grad', 'text_grad', 1), v) for k, v in grads.items()))
    save_safetensors(os.path.join(OUT, 'clip-gelu.io.safetensors'), io)

    # QuickGELU ViT in every vision layout (OpenAI visual.*, bare, TinyCLIP, Hugging Face, BF16)
    vit = VisionTransformer(32, 8, 32, 2, 2, 16, QuickGELU)
    randomize_(vit, g)
    vit.eval()
    sd = vit.state_dict()
    save_safetensors(os.path.join(OUT, 'vit-quickgelu.openai.safetensors'), OrderedDict(('visual.' + k, v) for k, v in sd.items()))
    save_safetensors(os.path.join(OUT, 'vit-quickgelu.bare.safetensors'), sd)
    save_safetensors(os.path.join(OUT, 'vit-quickgelu.tinyclip.safetensors'),
                     OrderedDict(('_image_encoder.visual.' + k, v) for k, v in sd.items()))
    save_safetensors(os.path.join(OUT, 'vit-quickgelu.hf.safetensors'), to_hf(sd))
    save_safetensors(os.path.join(OUT, 'vit-quickgelu.bf16.safetensors'),
                     OrderedDict(('visual.' + k, v.to(torch.bfloat16)) for k, v in sd.items()))
    pth = OrderedDict(('module.visual.' + k, v) for k, v in sd.items())
    pth['module.visual.proj'] = sd['proj'].t().contiguous().t()  # a strided (non-contiguous) tensor
    pth['module.logit_scale'] = torch.tensor(4.6052)
    torch.save({'epoch': 3, 'state_dict': pth}, os.path.join(OUT, 'vit-quickgelu.pth'))
    with torch.no_grad():
        io = OrderedDict(input=x32, output=vit(x32))
        vit.load_state_dict({k: v.to(torch.bfloat16).float() for k, v in sd.items()})
        io['output_bf16'] = vit(x32)
    save_safetensors(os.path.join(OUT, 'vit-quickgelu.io.safetensors'), io)


def to_hf(sd):
    """OpenAI visual state dict → transformers CLIPVisionModelWithProjection keys (as convert_clip_original_pytorch_to_hf)."""
    hf = OrderedDict()
    v = 'vision_model.'
    hf[v + 'embeddings.class_embedding'] = sd['class_embedding']
    hf[v + 'embeddings.patch_embedding.weight'] = sd['conv1.weight']
    hf[v + 'embeddings.position_embedding.weight'] = sd['positional_embedding']
    hf[v + 'embeddings.position_ids'] = torch.arange(sd['positional_embedding'].shape[0]).unsqueeze(0)
    hf[v + 'pre_layrnorm.weight'] = sd['ln_pre.weight']
    hf[v + 'pre_layrnorm.bias'] = sd['ln_pre.bias']
    i = 0
    while f'transformer.resblocks.{i}.ln_1.weight' in sd:
        o, p = f'transformer.resblocks.{i}.', f'{v}encoder.layers.{i}.'
        q, k, vv = sd[o + 'attn.in_proj_weight'].chunk(3, dim=0)
        qb, kb, vb = sd[o + 'attn.in_proj_bias'].chunk(3, dim=0)
        for n, w, b in (('q', q, qb), ('k', k, kb), ('v', vv, vb)):
            hf[f'{p}self_attn.{n}_proj.weight'] = w
            hf[f'{p}self_attn.{n}_proj.bias'] = b
        for a, bb in (('attn.out_proj', 'self_attn.out_proj'), ('ln_1', 'layer_norm1'), ('ln_2', 'layer_norm2'),
                      ('mlp.c_fc', 'mlp.fc1'), ('mlp.c_proj', 'mlp.fc2')):
            hf[f'{p}{bb}.weight'] = sd[f'{o}{a}.weight']
            hf[f'{p}{bb}.bias'] = sd[f'{o}{a}.bias']
        i += 1
    hf[v + 'post_layernorm.weight'] = sd['ln_post.weight']
    hf[v + 'post_layernorm.bias'] = sd['ln_post.bias']
    hf['visual_projection.weight'] = sd['proj'].t()
    return hf


if __name__ == '__main__':
    main()
