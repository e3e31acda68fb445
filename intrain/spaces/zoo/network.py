"""A timm architecture as an untrained network (torch and timm, imported on first use)."""

from __future__ import annotations

from typing import Any

from intrain.spaces.base import SpaceError

__all__ = ["SETUP_COMMAND", "TimmMissingError", "build_network", "create"]

SETUP_COMMAND = "bash scripts/setup-models.sh"


class TimmMissingError(SpaceError):
    """timm (or a torchvision matching torch) cannot be imported in this environment."""


def _timm() -> Any:
    try:
        import timm
    except Exception as e:  # ImportError, or torchvision's operator registration failing beside another torch
        raise TimmMissingError(
            f"the zoo space builds networks with timm, which does not import here ({type(e).__name__}: {e}). "
            f"Create the environment that has it with `{SETUP_COMMAND}` and run in .venv-models "
            "(e.g. .venv-models/bin/snakemake or .venv-models/bin/intrain)"
        ) from None
    return timm


def create(arch: str, num_classes: int = 1000) -> Any:
    """``timm.create_model(arch, pretrained=False)``; vision transformers with a fixed input side
    are built with ``dynamic_img_size=True`` (position embeddings interpolated to the input), so
    a reduced scoring side works for them as it does for CNNs."""
    timm = _timm()
    if not timm.is_model(arch):
        raise SpaceError(f"timm {timm.__version__} has no model {arch!r} (timm.list_models() lists them)")
    try:
        return timm.create_model(arch, pretrained=False, num_classes=num_classes, dynamic_img_size=True)
    except TypeError:  # the model's constructor has no such argument: a CNN, input side free already
        return timm.create_model(arch, pretrained=False, num_classes=num_classes)


def feature_modules(model: Any) -> list[Any]:
    """The modules whose outputs timm lists as the model's feature maps (``model.feature_info``:
    the stem and the stage outputs, in forward order): the blocks AZ-NAS compares."""
    info = getattr(model, "feature_info", None) or []
    names = [entry["module"] for entry in info if isinstance(entry, dict) and entry.get("module")]
    if not names:
        raise TypeError(f"{type(model).__name__} declares no feature_info, so its block outputs are unknown")
    return [model.get_submodule(name) for name in names]


def build_network(arch: str, dataset: str, **options: Any) -> Any:
    """The untrained timm network of ``arch`` with the dataset's classes (imagenet: 1,000), with a
    ``feature_modules()`` method (`feature_modules`) for the proxies that read block outputs."""
    import types

    from intrain.spaces.zoo import DATASETS

    model = create(arch, DATASETS[dataset].num_classes)
    model.feature_modules = types.MethodType(feature_modules, model)
    return model
