"""The toy space's network: stages of conv3x3-BN-ReLU, global pool, a linear `classifier`.

`forward_features` (the map before pooling, for Zen) and `feature_modules` (stem and stage
outputs, for AZ-NAS) let the proxies that read a network's structure score it too.
"""

from __future__ import annotations

import torch
from torch import nn


class ToyCNN(nn.Module):
    def __init__(self, widths: list[int], num_classes: int):
        super().__init__()
        stages, c_in = [], 3
        for i, w in enumerate(widths):
            stages.append(
                nn.Sequential(
                    nn.Conv2d(c_in, w, 3, stride=1 if i == 0 else 2, padding=1, bias=False),
                    nn.BatchNorm2d(w),
                    nn.ReLU(),
                )
            )
            c_in = w
        self.stages = nn.ModuleList(stages)
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(c_in, num_classes)

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        for stage in self.stages:
            x = stage(x)
        return x

    def feature_modules(self) -> list[nn.Module]:
        return list(self.stages)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.pool(self.forward_features(x)).flatten(1))
