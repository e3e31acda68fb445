"""``intrain describe``: one architecture's parameter count, FLOPs in each convention, layer table.

Every registered space gets the same generic part, counted with forward hooks on the built
(unpruned) network at the dataset's resolution:

* ``params``: parameter numel;
* ``macs``: Conv2d + Linear multiply-accumulates (no bias terms);
* ``nats_flops_M`` / ``nats_params_M``: NATS-Bench's ``get_cost_info`` convention
  (``xautodl`` ``get_model_infos``: Conv2d and Linear only, each bias adding one per output,
  in millions; parameters in millions).

A space with its own conventions adds them through [`intrain.spaces.Space.describe`][intrain.spaces.base.Space.describe]
(ZenNAS: Zen-NAS's ``get_FLOPs`` with and without SE, ``get_model_size`` and a table per Zen
block; the NDS spaces: the records' FLOPs); a plugin space gets the generic part unchanged.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from intrain.engine.counting import WEIGHTED, conv_linear_macs, count_params, hooked_forward
from intrain.spaces import get_space


def _hooked_layers(model: nn.Module, resolution: int) -> list[dict[str, Any]]:
    """One row per Conv2d/Linear call of a forward pass of one zero image."""
    rows: list[dict[str, Any]] = []
    names = {m: n for n, m in model.named_modules()}

    def visit(m: nn.Module, inp: torch.Tensor, out: torch.Tensor) -> None:
        macs = conv_linear_macs(m, inp, out)
        if isinstance(m, nn.Conv2d):
            h, w = out.shape[2], out.shape[3]
            rows.append(
                {
                    "layer": names[m],
                    "type": "conv",
                    "in": m.in_channels,
                    "out": m.out_channels,
                    "kernel": m.kernel_size[0],
                    "stride": m.stride[0],
                    "groups": m.groups,
                    "out_side": h,
                    "macs": macs,
                    "bias_ops": m.out_channels * h * w if m.bias is not None else 0,
                    "params": count_params(m),
                }
            )
        else:
            rows.append(
                {
                    "layer": names[m],
                    "type": "linear",
                    "in": m.in_features,
                    "out": m.out_features,
                    "kernel": 1,
                    "stride": 1,
                    "groups": 1,
                    "out_side": 1,
                    "macs": macs,
                    "bias_ops": m.out_features if m.bias is not None else 0,
                    "params": count_params(m),
                }
            )

    hooked_forward(
        model,
        torch.zeros(1, 3, resolution, resolution),
        visit,
        modules=[m for m in model.modules() if isinstance(m, WEIGHTED)],
    )
    return rows


def describe(space: str, arch: str, dataset: str | None = None) -> dict[str, Any]:
    """Parameters, FLOPs in each convention and the layer table of one architecture of ``space``.

    Examples:
        >>> d = describe("zennas", "SuperConvK3BNRELU(3,8,2,1)SuperResIDWE1K3(8,8,1,8,1)SuperConvK1BNRELU(8,16,1,1)")
        >>> d["params"], d["conventions"]["zen_layers"], len(d["layers"])
        (17976, 3.0, 4)
    """
    sp = get_space(space)
    dataset = dataset or next(iter(sp.datasets))
    spec = sp.dataset(dataset)
    arch = sp.normalize(arch)
    torch.manual_seed(0)
    model = sp.build(arch, dataset, prune=False, fast_pool=False)
    rows = _hooked_layers(model, spec.resolution)
    params = count_params(model)
    macs = sum(r["macs"] for r in rows)
    conventions: dict[str, float] = {
        "macs": float(macs),
        "nats_flops_M": (macs + sum(r["bias_ops"] for r in rows)) / 1e6,
        "nats_params_M": sum(p.numel() for n, p in model.named_parameters() if "auxiliary" not in n) / 1e6,
    }
    own = sp.describe(arch, dataset, model)
    conventions |= own.conventions
    table: list[dict[str, Any]] = rows if own.layers is None else own.layers
    return {
        "space": space,
        "dataset": dataset,
        "resolution": spec.resolution,
        "arch": arch,
        "params": params,
        "conventions": conventions,
        "layers": table,
    }


def format_description(d: dict[str, Any]) -> str:
    """The human form of `describe`'s dict: a header of counts, then the layer table."""
    import pandas as pd

    lines = [
        f"space {d['space']}  dataset {d['dataset']}  resolution {d['resolution']}",
        f"arch {d['arch']}",
        f"params {d['params']:,}",
    ]
    lines += [f"{k} {v:,.0f}" if abs(v) >= 1000 else f"{k} {v:.6g}" for k, v in d["conventions"].items()]
    lines.append(pd.DataFrame(d["layers"]).to_string(index=False))
    return "\n".join(lines)


def main(args) -> None:
    """The ``intrain describe`` subcommand (``args``: space, arch, dataset, json)."""
    import json

    d = describe(args.space, args.arch, args.dataset)
    print(json.dumps(d, indent=1) if args.json else format_description(d))
