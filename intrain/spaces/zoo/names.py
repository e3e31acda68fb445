"""timm model names: the architecture, its pretrained (recipe) tag, its family; no torch, no timm.

A row of timm's results table names a model as ``<architecture>.<recipe tag>``
(``resnet50.a1_in1k``): the architecture is what ``timm.create_model`` builds, the tag says how
the published weights were trained. The zoo space scores architectures and keeps the tag as the
ground truth's ``recipe`` column.

Examples:
    >>> split_name("resnet50.a1_in1k")
    ('resnet50', 'a1_in1k')
    >>> is_in1k_only("resnet50.a1_in1k"), is_in1k_only("vit_base_patch16_224.augreg_in21k_ft_in1k")
    (True, False)
    >>> family("tf_efficientnet_b0"), family("resnet50d"), family("mobilenetv3_large_100"), family("wide_resnet50_2")
    ('efficientnet', 'resnet', 'mobilenetv3', 'wide_resnet')
"""

from __future__ import annotations

import re

from intrain.spaces.base import SpaceError

__all__ = [
    "NON_IN1K_MARKERS",
    "ZooNameError",
    "check_arch",
    "family",
    "is_in1k_only",
    "split_name",
]

#: Pre-training markers of a tag that rule a row out of "trained on ImageNet-1k alone"
#: (shared/benchmarks/README.md, timm entry): larger ImageNet variants, web/Instagram/JFT data,
#: CLIP-style image-text data, self-supervised (masked-image) pre-training.
NON_IN1K_MARKERS = (
    "in21k",
    "in22k",
    "in12k",
    "jft",
    "ig1b",
    "yfcc",
    "laion",
    "openai",
    "clip",
    "m38m",
    "m30m",
    "seer",
    "swag",
    "mim",
)

#: Prefixes naming who ported or re-trained an architecture, not a different one (dropped by `family`).
PORT_PREFIXES = ("tf", "gluon", "legacy", "timm", "hf")
#: Prefixes that modify the next token into a family of its own (joined with it by `family`).
MODIFIER_PREFIXES = ("wide", "nf", "dm", "eca", "ese", "tiny")

_ARCH = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_TAG = re.compile(r"^[a-z0-9][a-z0-9_]*$")
_SIZE_SUFFIX = re.compile(r"(?<![v\d])\d+[a-z]{0,2}$")  # resnet50d, resnet33ts -> resnet; mobilenetv3 keeps v3


class ZooNameError(SpaceError):
    """A string that is not a timm model name (``resnet50`` or ``resnet50.a1_in1k``)."""


def split_name(name: str) -> tuple[str, str]:
    """(architecture, recipe tag) of ``arch.tag``; the tag is ``""`` when the name has none.

    Examples:
        >>> split_name("vit_small_patch16_224")
        ('vit_small_patch16_224', '')
    """
    arch, _, tag = name.strip().partition(".")
    return arch, tag


def check_arch(name: str) -> str:
    """``name`` as an architecture (its tag dropped), or a `ZooNameError` saying what is wrong.

    Examples:
        >>> check_arch(" resnet18.tv_in1k ")
        'resnet18'
        >>> check_arch("ResNet-18")
        Traceback (most recent call last):
        ...
        intrain.spaces.zoo.names.ZooNameError: 'ResNet-18' is not a timm model name: expected lower-case letters, digits and '_' (e.g. resnet50 or resnet50.a1_in1k)
    """
    if not isinstance(name, str):
        raise ZooNameError(f"a timm model name must be a string, got {type(name).__name__}")
    arch, tag = split_name(name)
    dots = name.strip().count(".")
    if not _ARCH.match(arch) or dots > 1 or (dots and not _TAG.match(tag)):
        raise ZooNameError(
            f"{name!r} is not a timm model name: expected lower-case letters, digits and '_' "
            "(e.g. resnet50 or resnet50.a1_in1k)"
        )
    return arch


def is_in1k_only(name: str) -> bool:
    """Whether a results-table row was trained on ImageNet-1k alone: its tag ends in ``in1k`` and
    names no other pre-training (`NON_IN1K_MARKERS`, matched as substrings of the tag).

    Examples:
        >>> is_in1k_only("convnext_tiny.fb_in1k"), is_in1k_only("convnext_tiny.fb_in22k_ft_in1k")
        (True, False)
        >>> is_in1k_only("beit_base_patch16_224.in22k_ft_in22k_in1k"), is_in1k_only("resnet50")
        (False, False)
    """
    _, tag = split_name(name)
    return tag.endswith("in1k") and not any(marker in tag for marker in NON_IN1K_MARKERS)


def family(arch: str) -> str:
    """The architecture family of a timm name, by a fixed rule on its ``_``-separated tokens:

    1. drop port prefixes (`PORT_PREFIXES`: ``tf_efficientnet_b0`` is an EfficientNet);
    2. take the first token; if it is a modifier (`MODIFIER_PREFIXES`: ``wide``, ``nf``,
       ``eca``, ...) join it with the next one (``wide_resnet``, ``nf_regnet``);
    3. strip a trailing size number with an optional one- or two-letter variant from each kept token
       (``resnet50d`` -> ``resnet``, ``resnet33ts`` -> ``resnet``, ``dla34`` -> ``dla``), except a version right after ``v``
       (``mobilenetv3``, ``resnetv2`` stay whole).

    Examples:
        >>> family("vit_base_patch16_224"), family("regnety_032"), family("eca_nfnet_l0"), family("dla34")
        ('vit', 'regnety', 'eca_nfnet', 'dla')
    """
    tokens = split_name(arch)[0].split("_")
    while len(tokens) > 1 and tokens[0] in PORT_PREFIXES:
        tokens = tokens[1:]
    head = tokens[:2] if len(tokens) > 1 and tokens[0] in MODIFIER_PREFIXES else tokens[:1]
    return "_".join(_SIZE_SUFFIX.sub("", t) or t for t in head)
