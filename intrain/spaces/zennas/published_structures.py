"""The published ImageNet structures of Zen-NAS, ZiCo and AZ-NAS, with their numbers.

``reference`` holds what the repositories' own code (``MasterNet`` at idstcv/ZenNAS@d1d617e;
ZiCo and AZ-NAS ship the same ``PlainNet``) gives for each string: ``get_FLOPs(224)``, the
parameter numel without and with SE (``--use_se``), and ``get_num_layers``; this package must
reproduce them (tests). ``claimed`` is what the authors printed beside the model (Zen-NAS's
README: params with SE, MACs by ptflops, ImageNet top-1); None where they printed nothing.

The AZ-NAS strings are the seed-123 outputs of its search scripts (``ETF74_flops*-...-123``,
committed in cvlab-yonsei/AZ-NAS@3d6e8c4 and deleted later; the scripts at HEAD run seed 123 of
the same metric under the name ``AZ_NAS``). The paper prints no strings, so which run was
trained is not confirmed: ``confirmed=False``.

Zen-NAS's ``900M`` network is 908.7M by its own ``get_FLOPs`` (its scripts search 400M, 600M
and 800M budgets; the 900M string is not the output of any shipped script), so its label is not
a budget it met.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Published:
    key: str
    method: str
    budget: float  # the budget label of the search (FLOPs)
    structure: str
    source: str  # repository file the string comes from
    reference: dict = field(default_factory=dict)  # flops, params, params_se, layers (the repos' code)
    claimed: dict = field(default_factory=dict)  # the authors' printed numbers
    confirmed: bool = True


_ZEN = "idstcv/ZenNAS@d1d617e:ZenNet/"
_ZICO = "SLDGroup/ZiCo@b0fec65:ZiCo/"
_AZ = "cvlab-yonsei/AZ-NAS@3d6e8c4:ImageNet_MBV2/save_dir/"

PUBLISHED: dict[str, Published] = {
    p.key: p
    for p in [
        Published(
            "zen_400M",
            "Zen-NAS",
            400e6,
            "SuperConvK3BNRELU(3,16,2,1)SuperResIDWE1K7(16,40,2,40,1)SuperResIDWE1K7(40,64,2,64,1)"
            "SuperResIDWE4K7(64,96,2,96,5)SuperResIDWE2K7(96,224,2,224,5)SuperConvK1BNRELU(224,2048,1,1)",
            _ZEN + "zennet_imagenet1k_flops400M_res224.txt",
            {"flops": 399976216.0, "params": 5698208, "params_se": 7466024, "layers": 14},
            {"params_se": 5.7e6, "macs_ptflops": 410e6, "top1": 78.0},
        ),
        Published(
            "zen_600M",
            "Zen-NAS",
            600e6,
            "SuperConvK3BNRELU(3,24,2,1)SuperResIDWE1K7(24,48,2,48,1)SuperResIDWE2K7(48,72,2,72,1)"
            "SuperResIDWE6K7(72,96,2,88,5)SuperResIDWE4K7(96,192,2,168,5)SuperConvK1BNRELU(192,2048,1,1)",
            _ZEN + "zennet_imagenet1k_flops600M_res224.txt",
            {"flops": 597745802.0, "params": 7125944, "params_se": 11311664, "layers": 14},
            {"params_se": 7.1e6, "macs_ptflops": 611e6, "top1": 79.1},
        ),
        Published(
            "zen_900M",
            "Zen-NAS",
            900e6,
            "SuperConvK3BNRELU(3,16,2,1)SuperResIDWE1K7(16,48,2,72,1)SuperResIDWE2K7(48,72,2,64,3)"
            "SuperResIDWE2K7(72,152,2,144,3)SuperResIDWE2K7(152,360,2,352,4)SuperResIDWE4K7(360,288,1,264,3)"
            "SuperConvK1BNRELU(288,2048,1,1)",
            _ZEN + "zennet_imagenet1k_flops900M_res224.txt",
            {"flops": 908691864.0, "params": 13300208, "params_se": 19351644, "layers": 16},
            {"params_se": 19.4e6, "macs_ptflops": 934e6, "top1": 80.8},
        ),
        Published(
            "zico_450M",
            "ZiCo",
            450e6,
            "SuperConvK3BNRELU(3,16,2,1)SuperResIDWE1K7(16,40,2,40,1)SuperResIDWE2K7(40,80,2,64,1)"
            "SuperResIDWE4K7(80,96,2,96,5)SuperResIDWE2K7(96,224,2,224,5)SuperConvK1BNRELU(224,2048,1,1)",
            _ZICO + "ZiCo_imagenet1k_flops450M_res224.txt",
            {"flops": 438385944.0, "params": 5741264, "params_se": 7526376, "layers": 14},
        ),
        Published(
            "zico_600M",
            "ZiCo",
            600e6,
            "SuperConvK3BNRELU(3,24,2,1)SuperResIDWE1K7(24,48,2,48,1)SuperResIDWE2K7(48,72,2,72,1)"
            "SuperResIDWE6K5(72,160,2,96,1)SuperResIDWE6K7(160,200,2,112,5)SuperResIDWE6K7(200,168,1,168,4)"
            "SuperConvK1BNRELU(168,2048,1,1)",
            _ZICO + "ZiCo_imagenet1k_flops600M_res224.txt",
            {"flops": 590293588.0, "params": 9703144, "params_se": 19194448, "layers": 14},
        ),
        Published(
            "zico_1G",
            "ZiCo",
            1000e6,
            "SuperConvK3BNRELU(3,48,2,1)SuperResIDWE1K7(48,48,2,72,1)SuperResIDWE1K7(48,80,2,128,1)"
            "SuperResIDWE2K7(80,160,2,144,3)SuperResIDWE4K7(160,288,2,232,4)SuperResIDWE6K5(288,232,1,208,5)"
            "SuperConvK1BNRELU(232,2048,1,1)",
            _ZICO + "ZiCo_imagenet1k_flops1G_res224.txt",
            {"flops": 979224130.0, "params": 15314624, "params_se": 28781452, "layers": 16},
        ),
        Published(
            "aznas_450M",
            "AZ-NAS",
            450e6,
            "SuperConvK3BNRELU(3,24,2,1)SuperResIDWE4K3(24,32,2,32,3)SuperResIDWE1K3(32,80,2,48,1)"
            "SuperResIDWE2K5(80,96,2,96,5)SuperResIDWE4K5(96,192,2,192,3)SuperConvK1BNRELU(192,2048,1,1)",
            _AZ + "ETF74_flops450M-searchbs64-pop1024-iter1e5-topkmut-123/best_structure.txt",
            {"flops": 449904080.0, "params": 4809952, "params_se": 6835808, "layers": 14},
            confirmed=False,
        ),
        Published(
            "aznas_600M",
            "AZ-NAS",
            600e6,
            "SuperConvK3BNRELU(3,16,2,1)SuperResIDWE1K3(16,32,2,32,1)SuperResIDWE4K3(32,64,2,64,1)"
            "SuperResIDWE1K5(64,240,2,240,5)SuperResIDWE2K5(240,320,2,320,5)SuperConvK1BNRELU(320,2048,1,1)",
            _AZ + "ETF74_flops600M-searchbs64-pop1024-iter1e5-topkmut-123/best_structure.txt",
            {"flops": 599888768.0, "params": 8295368, "params_se": 10721368, "layers": 14},
            confirmed=False,
        ),
        Published(
            "aznas_1G",
            "AZ-NAS",
            1000e6,
            "SuperConvK3BNRELU(3,40,2,1)SuperResIDWE4K5(40,32,2,32,2)SuperResIDWE4K3(32,72,2,72,3)"
            "SuperResIDWE1K7(72,288,2,288,4)SuperResIDWE1K7(288,448,2,448,5)SuperConvK1BNRELU(448,2048,1,1)",
            _AZ + "ETF74_flops1G-searchbs64-pop1024-iter1e5-topkmut-123/best_structure.txt",
            {"flops": 995400304.0, "params": 9017576, "params_se": 10657032, "layers": 16},
            confirmed=False,
        ),
    ]
}


def budget_group(budget: float) -> str:
    """The paper's budget column a published network belongs to (450M, 600M or 1G).

    Examples:
        >>> budget_group(400e6), budget_group(900e6)
        ('450M', '1G')
    """
    return "450M" if budget <= 450e6 else ("600M" if budget <= 600e6 else "1G")
