"""Scoring batches: seeded Gaussian noise (the default) or real images from a local file.

Several proxies' authors scored real images (NASWOT, ZiCo, SNIP, GraSP, jacov, LGA); InTrain
uses Gaussian inputs. With ``data`` set, a scoring job draws a seeded batch from a local file
instead, and the artifact's ``input`` attribute says which was used. Supported files (nothing is
downloaded here):

- a CIFAR-10/100 python batch (``data_batch_1``, ``train``): a pickle with ``data`` (N, 3072)
  uint8 and ``labels`` or ``fine_labels``;
- an ``.npz`` with ``x`` (N, 3, H, W) or (N, H, W, 3) and integer ``y``.

Images are scaled to [0, 1], standardised per channel with the file's own statistics and resized
(bilinear) to the scoring resolution when it differs.
"""

from __future__ import annotations

import hashlib
import pickle
from pathlib import Path

import numpy as np
import torch


class DataError(ValueError):
    """A data file that is missing or not in a supported layout."""


def gaussian_batch(batch_size: int, num_classes: int, resolution: int, seed: int,
                   channels: int = 3) -> tuple[torch.Tensor, torch.Tensor]:
    """X ~ N(0, 1) of shape (B, C, R, R) and uniform random labels, from ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch_size, channels, resolution, resolution, generator=gen)
    y = torch.randint(0, num_classes, (batch_size,), generator=gen)
    return x, y


def _load_arrays(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if path.suffix == ".npz":
        with np.load(path) as z:
            if "x" not in z or "y" not in z:
                raise DataError(f"{path}: an .npz batch needs arrays 'x' and 'y', found {sorted(z.files)}")
            x, y = z["x"], z["y"]
        if x.ndim != 4:
            raise DataError(f"{path}: 'x' must be 4-D (N, C, H, W) or (N, H, W, C), got shape {x.shape}")
        if x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
            x = x.transpose(0, 3, 1, 2)
        return x, y
    try:
        with path.open("rb") as fh:
            d = pickle.load(fh, encoding="bytes")
    except (pickle.UnpicklingError, EOFError, AttributeError, ValueError) as e:
        raise DataError(f"{path}: not a CIFAR python batch or .npz file ({e})") from e
    if not isinstance(d, dict):
        raise DataError(f"{path}: a CIFAR python batch is a dict, got {type(d).__name__}")
    d = {(k.decode() if isinstance(k, bytes) else k): v for k, v in d.items()}
    labels = d.get("labels", d.get("fine_labels"))
    if "data" not in d or labels is None:
        raise DataError(f"{path}: CIFAR batch without 'data' and 'labels'/'fine_labels' (keys {sorted(d)})")
    data = np.asarray(d["data"])
    if data.ndim != 2 or data.shape[1] % 3:
        raise DataError(f"{path}: 'data' must be (N, 3*H*W), got shape {data.shape}")
    side = int(round((data.shape[1] // 3) ** 0.5))
    return data.reshape(-1, 3, side, side), np.asarray(labels)


def image_batch(path: str | Path, batch_size: int, num_classes: int, resolution: int,
                seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded batch of real images (standardised, resized) and their labels."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"data file {path} does not exist")
    x, y = _load_arrays(path)
    if len(x) < batch_size:
        raise DataError(f"{path}: {len(x)} images, fewer than the batch size {batch_size}")
    if y.max(initial=0) >= num_classes:
        raise DataError(f"{path}: label {int(y.max())} is out of range for {num_classes} classes")
    pick = np.random.default_rng(seed).choice(len(x), size=batch_size, replace=False)
    xb = torch.as_tensor(x[np.sort(pick)], dtype=torch.float32)
    if x.dtype == np.uint8:
        xb = xb / 255.0
    mean = xb.mean(dim=(0, 2, 3), keepdim=True)
    std = xb.std(dim=(0, 2, 3), keepdim=True).clamp(min=1e-6)
    xb = (xb - mean) / std
    if xb.shape[-1] != resolution:
        xb = torch.nn.functional.interpolate(xb, size=(resolution, resolution), mode="bilinear", align_corners=False)
    return xb.contiguous(), torch.as_tensor(y[np.sort(pick)], dtype=torch.long)


def describe_input(path: str | Path | None) -> str:
    """``gaussian`` or ``file:<name>:sha256=<first 16 hex>`` for the artifact's provenance."""
    if path is None:
        return "gaussian"
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    return f"file:{Path(path).name}:sha256={digest}"
