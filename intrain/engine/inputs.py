"""Scoring batches: seeded Gaussian noise (the default) or real images from a local file.

Several proxies' authors scored real images (NASWOT, ZiCo, SNIP, GraSP, jacov, LGA); InTrain
uses Gaussian inputs. With ``data`` set, a scoring job draws a seeded batch from a local file
instead, and the artifact's ``input`` attribute says which was used. Supported files (nothing is
downloaded here):

- a CIFAR-10/100 python batch (``data_batch_1``, ``train``): a pickle with ``data`` (N, 3072)
  uint8 and ``labels`` or ``fine_labels``, read by [`intrain.core.safepickle`][intrain.core.safepickle] (plain data only: a
  file that names any other global is refused with [`UnsafeInputError`][intrain.core.errors.UnsafeInputError],
  before anything in it runs);
- an ``.npz`` with ``x`` (N, 3, H, W) or (N, H, W, 3) and integer ``y`` (read with
  ``allow_pickle=False``: object arrays are refused).

Images are scaled to [0, 1], standardised per channel with the file's own statistics and resized
(bilinear) to the scoring resolution when it differs.

``data: natural`` (or ``natural:<name>,<name>``) needs no file: `natural_batch` cuts seeded
square crops (random side and position, random horizontal flip) out of the photographs that ship
inside installed wheels (matplotlib's ``sample_data``; by default its one photograph,
``grace_hopper.jpg``), resizes them to the scoring side and normalises them with the dataset's
training mean/std (`DATASET_STATS`, the constants of AutoDL-Projects
``xautodl/datasets/get_dataset_with_transform.py``). Labels are uniform random (the photographs
have no CIFAR class). These are natural-image statistics, not CIFAR images: the artifact's
``input`` attribute says ``natural:<names>:sha256=<batch digest>``.
"""

from __future__ import annotations

import hashlib
import zipfile
import zlib
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from intrain.core import safepickle
from intrain.core.errors import InputError, UnsafeInputError


class DataError(InputError):
    """A data file that is missing or not in a supported layout."""


def gaussian_batch(
    batch_size: int, num_classes: int, resolution: int, seed: int, channels: int = 3
) -> tuple[torch.Tensor, torch.Tensor]:
    """X ~ N(0, 1) of shape (B, C, R, R) and uniform random labels, from ``seed``."""
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(batch_size, channels, resolution, resolution, generator=gen)
    y = torch.randint(0, num_classes, (batch_size,), generator=gen)
    return x, y


def _load_npz(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        # allow_pickle=False: an object array in the archive is refused, never unpickled
        with np.load(path, allow_pickle=False) as z:
            if "x" not in z.files or "y" not in z.files:
                raise DataError(f"{path}: an .npz batch needs arrays 'x' and 'y', found {sorted(z.files)}")
            x, y = z["x"], z["y"]
    except DataError:
        raise
    except ValueError as e:
        if "pickle" in str(e):
            raise UnsafeInputError(
                f"{path}: holds an object array, which would need unpickling; save 'x' and 'y' as plain numeric arrays"
            ) from None
        raise DataError(f"{path}: not a readable .npz archive ({e})") from None
    except (
        OSError,
        EOFError,
        KeyError,
        zipfile.BadZipFile,
        zlib.error,
        NotImplementedError,
        RuntimeError,
        MemoryError,
    ) as e:
        raise DataError(f"{path}: not a readable .npz archive ({type(e).__name__}: {e})") from None
    if x.ndim != 4:
        raise DataError(f"{path}: 'x' must be 4-D (N, C, H, W) or (N, H, W, C), got shape {x.shape}")
    if x.shape[-1] in (1, 3) and x.shape[1] not in (1, 3):
        x = x.transpose(0, 3, 1, 2)
    return x, y


def _load_arrays(path: Path) -> tuple[np.ndarray, np.ndarray]:
    if path.suffix == ".npz":
        x, y = _load_npz(path)
    else:
        x, y = _load_cifar(path)
    _check_arrays(path, x, y)
    return x, y


def _load_cifar(path: Path) -> tuple[np.ndarray, np.ndarray]:
    try:
        # restricted unpickler: a crafted file cannot run code (intrain.core.safepickle)
        d = safepickle.load(path, name=str(path), encoding="bytes")
    except UnsafeInputError:
        raise
    except InputError as e:
        raise DataError(f"not a CIFAR python batch or .npz file ({e})") from None
    if not isinstance(d, dict):
        raise DataError(f"{path}: a CIFAR python batch is a dict, got {type(d).__name__}")
    d = {(k.decode("utf-8", "replace") if isinstance(k, bytes) else k): v for k, v in d.items()}
    labels = d.get("labels", d.get("fine_labels"))
    if "data" not in d or labels is None:
        keys = sorted(map(str, d))
        raise DataError(f"{path}: CIFAR batch without 'data' and 'labels'/'fine_labels' (keys {keys})")
    data = _numeric(path, "data", d["data"])
    if data.ndim != 2 or data.shape[1] % 3 or data.shape[1] == 0:
        raise DataError(f"{path}: 'data' must be (N, 3*H*W), got shape {data.shape}")
    side = int(round((data.shape[1] // 3) ** 0.5))
    if 3 * side * side != data.shape[1]:
        raise DataError(f"{path}: 'data' rows of {data.shape[1]} values are not 3 square channels")
    return data.reshape(-1, 3, side, side), _numeric(path, "labels", labels)


def _numeric(path: Path, name: str, value) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except (ValueError, TypeError) as e:
        raise DataError(f"{path}: '{name}' is not an array ({e})") from None
    if arr.dtype.kind not in "biuf":
        raise DataError(f"{path}: '{name}' must hold numbers, got dtype {arr.dtype}")
    return arr


def _check_arrays(path: Path, x: np.ndarray, y: np.ndarray) -> None:
    """Dtypes, shapes and values a batch must have before any tensor is built from it."""
    if x.dtype.kind not in "biuf":
        raise DataError(f"{path}: images 'x' must be numeric, got dtype {x.dtype}")
    if y.dtype.kind not in "biu":
        raise DataError(f"{path}: labels 'y' must be integers, got dtype {y.dtype}")
    if y.ndim != 1 or len(y) != len(x):
        raise DataError(f"{path}: labels must be 1-D with one per image ({len(x)}), got shape {y.shape}")
    if x.shape[1] != 3 or min(x.shape[2:]) < 1:
        raise DataError(f"{path}: images must have 3 channels and a non-empty side, got shape {x.shape}")
    if len(y) and y.min() < 0:
        raise DataError(f"{path}: negative label {int(y.min())}")
    if x.dtype.kind == "f" and not np.isfinite(x).all():
        raise DataError(f"{path}: images contain NaN or infinite values")


def image_batch(
    path: str | Path, batch_size: int, num_classes: int, resolution: int, seed: int
) -> tuple[torch.Tensor, torch.Tensor]:
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
    xb = torch.as_tensor(np.asarray(x[np.sort(pick)], dtype=np.float32))
    if x.dtype == np.uint8:
        xb = xb / 255.0
    mean = xb.mean(dim=(0, 2, 3), keepdim=True)
    std = xb.std(dim=(0, 2, 3), keepdim=True).clamp(min=1e-6)
    xb = (xb - mean) / std
    if xb.shape[-1] != resolution:
        xb = torch.nn.functional.interpolate(xb, size=(resolution, resolution), mode="bilinear", align_corners=False)
    return xb.contiguous(), torch.as_tensor(y[np.sort(pick)], dtype=torch.long)


#: Per-channel (mean, std) of each dataset's training images in [0, 1] (AutoDL-Projects
#: get_dataset_with_transform.py: CIFAR-10/100 and ImageNet16 from x/255, ImageNet-1k as torchvision).
DATASET_STATS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "cifar10": (tuple(v / 255 for v in (125.3, 123.0, 113.9)), tuple(v / 255 for v in (63.0, 62.1, 66.7))),
    "cifar100": (tuple(v / 255 for v in (129.3, 124.1, 112.4)), tuple(v / 255 for v in (68.2, 65.4, 70.4))),
    "ImageNet16-120": (tuple(v / 255 for v in (122.68, 116.66, 104.01)), tuple(v / 255 for v in (63.22, 61.26, 65.09))),
    "imagenet": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}

#: The photographs ``data: natural`` uses when it names none (matplotlib's only photograph).
NATURAL_DEFAULT = ("grace_hopper.jpg",)
#: Smallest crop side as a fraction of the photograph's shorter side.
NATURAL_MIN_CROP = 0.3


def is_natural(data: str | None) -> bool:
    return data is not None and (data == "natural" or data.startswith("natural:"))


def natural_names(data: str) -> tuple[str, ...]:
    """The photographs ``natural`` or ``natural:a.jpg,b.png`` names (files of matplotlib's sample data)."""
    if data == "natural":
        return NATURAL_DEFAULT
    names = tuple(n.strip() for n in data.split(":", 1)[1].split(",") if n.strip())
    if not names:
        raise DataError(f"{data!r}: name at least one image after 'natural:'")
    return names


def dataset_stats(dataset: str) -> tuple[tuple[float, ...], tuple[float, ...]]:
    if dataset in DATASET_STATS:
        return DATASET_STATS[dataset]
    if dataset.lower().startswith("imagenet"):
        return DATASET_STATS["imagenet"]
    raise DataError(
        f"no normalisation constants for dataset {dataset!r} (known: {sorted(DATASET_STATS)} "
        "and imagenet*); natural images are normalised with the dataset's training mean/std"
    )


def _sample_image(name: str) -> np.ndarray:
    """An RGB uint8 array (H, W, 3) of one file of matplotlib's ``mpl-data/sample_data``."""
    import matplotlib
    from PIL import Image

    root = (Path(matplotlib.get_data_path()) / "sample_data").resolve()
    path = (root / name).resolve()
    if path.parent != root or path.suffix.lower() not in (".jpg", ".jpeg", ".png"):
        raise DataError(f"natural image {name!r}: name a .jpg/.png file directly in {root}")
    if not path.is_file():
        have = sorted(p.name for p in root.iterdir() if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
        raise DataError(f"natural image {name!r} is not in matplotlib's sample data (it has {have})")
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"), dtype=np.uint8)


def natural_batch(
    batch_size: int, num_classes: int, resolution: int, seed: int, dataset: str, names: Sequence[str] = NATURAL_DEFAULT
) -> tuple[torch.Tensor, torch.Tensor]:
    """Seeded crops/flips of bundled photographs, resized to ``resolution`` and normalised with
    ``dataset``'s mean/std, and uniform random labels: a batch of natural-image statistics."""
    from PIL import Image

    mean, std = dataset_stats(dataset)
    photos = [_sample_image(n) for n in names]
    rng = np.random.default_rng(seed)
    out = np.empty((batch_size, resolution, resolution, 3), dtype=np.uint8)
    for k in range(batch_size):
        img = photos[int(rng.integers(len(photos)))]
        h, w = img.shape[:2]
        side = int(round(rng.uniform(NATURAL_MIN_CROP, 1.0) * min(h, w)))
        top, left = int(rng.integers(0, h - side + 1)), int(rng.integers(0, w - side + 1))
        crop = img[top : top + side, left : left + side]
        if rng.random() < 0.5:
            crop = crop[:, ::-1]
        out[k] = np.asarray(
            Image.fromarray(np.ascontiguousarray(crop)).resize(
                (resolution, resolution),
                # Pillow sets its module-level constants with setattr (invisible to the checker);
                # Image.Resampling, which it sees, needs Pillow >= 9.1
                Image.BILINEAR,  # type: ignore[attr-defined]
            )
        )
    y = rng.integers(0, num_classes, batch_size)
    x = torch.from_numpy(out).permute(0, 3, 1, 2).float() / 255.0
    x = (x - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    return x.contiguous(), torch.as_tensor(y, dtype=torch.long)


def batch_digest(x: torch.Tensor) -> str:
    """First 16 hex of the sha256 of the batch's float32 bytes (C order)."""
    arr = np.ascontiguousarray(x.detach().cpu().numpy().astype(np.float32, copy=False))
    return hashlib.sha256(arr.tobytes()).hexdigest()[:16]


def describe_input(path: str | Path | None, x: torch.Tensor | None = None) -> str:
    """``gaussian``, ``file:<name>:sha256=<first 16 hex>`` (of the file) or, for ``natural``,
    ``natural:<names>:sha256=<first 16 hex of the batch>`` for the artifact's provenance."""
    if path is None:
        return "gaussian"
    if is_natural(str(path)):
        if x is None:
            raise ValueError("a natural batch is described by its digest: pass the batch")
        return f"natural:{','.join(natural_names(str(path)))}:sha256={batch_digest(x)}"
    digest = hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    return f"file:{Path(path).name}:sha256={digest}"
