"""The search-space protocol: what the workflow, scorer and analysis need from a space.

A space turns architecture strings into networks and benchmark tables into the normalised
ground truth. Subclass [`Space`][intrain.spaces.base.Space] and implement four methods; everything else has a default:

    class MySpace(Space):
        name = "my_space"
        datasets = {"cifar10": DatasetSpec("cifar10", 10, 32)}

        def normalize(self, arch): ...        # validate, return the canonical spelling
        def network(self, arch, dataset): ... # the torch.nn.Module (import torch inside)
        def groundtruth(self, table, valid=None): ...  # DataFrame: arch_index, arch, canonical, acc_<ds>

Register it with the entry-point group ``intrain.spaces`` or name it in the workflow config as
``spaces.my_space.plugin: my_package.module:MySpace``.

Optional hooks, each with a default that suits a new space (see docs/add-a-space.md):
[`Space.encodings`][intrain.spaces.base.Space.encodings] and [`Space.peer_codec`][intrain.spaces.base.Space.peer_codec] (the peers' spellings and score-file keys,
for ``intrain convert/export/import``), `Space.peer_identity` and [`Space.peer_id`][intrain.spaces.base.Space.peer_id] (how
a peer's key finds its benchmark row), [`Space.describe`][intrain.spaces.base.Space.describe] (``intrain describe``'s extra cost
conventions), [`Space.search_problem`][intrain.spaces.base.Space.search_problem], `Space.search_settings` and
`Space.search_note` (``intrain evolve``).

Keep the module that defines a space free of a module-level ``import torch``: the workflow and
the analysis commands normalise architectures and read ground truth without torch; only
[`Space.network`][intrain.spaces.base.Space.network] needs it.
"""

from __future__ import annotations

import abc
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from intrain.core.errors import InputError

if TYPE_CHECKING:  # type-only: importing a space must not import torch or pandas
    import pandas as pd
    from torch import nn

    from intrain.search.evolution import SearchProblem
    from intrain.spaces.index import BenchmarkIndex
    from intrain.spaces.peers import Encoding, PeerCodec

__all__ = ["DatasetSpec", "Description", "GroundTruthError", "Space", "SpaceError"]


@dataclass(frozen=True)
class DatasetSpec:
    """What a dataset fixes about a space's network: number of classes and native input side."""

    name: str
    num_classes: int
    resolution: int


@dataclass
class Description:
    """What a space adds to ``intrain describe``: its own cost conventions (name -> number) and,
    where it has one, its own layer table (rows of dicts) in place of the generic hooked one."""

    conventions: dict[str, float] = field(default_factory=dict)
    layers: list[dict[str, Any]] | None = None


class SpaceError(InputError):
    """A space, dataset or option that does not exist, or a plugin that is not a space."""


class GroundTruthError(InputError):
    """A benchmark table a space's ground-truth reader cannot use; the message names the record."""


class Space(abc.ABC):
    """One search space. Subclasses set `name` and `datasets` and implement
    [`normalize`][intrain.spaces.base.Space.normalize], [`network`][intrain.spaces.base.Space.network] and [`groundtruth`][intrain.spaces.base.Space.groundtruth].

    Examples:
        >>> from intrain.spaces import get_space
        >>> space = get_space("nb201")
        >>> space.normalize("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|")
        '|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|'
        >>> space.dataset("cifar100").num_classes
        100
    """

    #: The name the config, artifacts and CLI use. A space registered under another name takes that one.
    name: ClassVar[str] = ""
    #: Dataset name -> [`DatasetSpec`][intrain.spaces.base.DatasetSpec]; the network's classifier and native input side follow it.
    datasets: ClassVar[Mapping[str, DatasetSpec]] = {}
    #: Key of the download catalog (``intrain/data/benchmarks.yaml``) holding the default ground
    #: truth, or None (then the workflow config names a local ``table``).
    benchmark: str | None = None
    #: Scoring settings [`network`][intrain.spaces.base.Space.network] takes as keyword arguments (NB201: ``prune``, ``fast_pool``);
    #: [`build`][intrain.spaces.base.Space.build] passes on these and drops every other setting, so other spaces never see them.
    options: ClassVar[tuple[str, ...]] = ()
    #: How the peers' files and the benchmark index identify an architecture: ``"arch"`` (each
    #: spelling has its own row, NB201) or ``"canonical"`` (the peers key the isomorphism class,
    #: NB101's module hash; the table's first member of the class answers).
    peer_identity: ClassVar[str] = "arch"
    #: Scoring settings an ``intrain evolve`` search uses where the user gave none (ZenNAS: the
    #: paper's search resolution).
    search_settings: ClassVar[Mapping[str, Any]] = {}
    #: A note ``intrain evolve`` adds to its summary: what to do with the best architecture.
    search_note: ClassVar[str | None] = None

    # ------------------------------------------------------------------ to implement

    @abc.abstractmethod
    def normalize(self, arch: str) -> str:
        """``arch`` validated, in canonical spelling; raises a [`InputError`][intrain.core.errors.InputError]
        subclass that says what is wrong."""

    @abc.abstractmethod
    def network(self, arch: str, dataset: str, **options: Any) -> nn.Module:
        """The untrained network of ``arch`` for ``dataset`` (only the settings in `options`)."""

    @abc.abstractmethod
    def groundtruth(self, table: str | Path, valid: Mapping[str, str | Path] | None = None) -> pd.DataFrame:
        """The benchmark ``table`` normalised: ``arch_index``, ``arch`` (as [`normalize`][intrain.spaces.base.Space.normalize] spells
        it), ``canonical`` ([`canonical`][intrain.spaces.base.Space.canonical]) and ``acc_<dataset>`` (test accuracy, %) per dataset;
        ``valid_<dataset>`` from ``valid`` files where the space has them."""

    # ------------------------------------------------------------------ defaults

    def canonical(self, arch: str) -> str:
        """A key equal for architectures that compute the same function (default: the spelling)."""
        return self.normalize(arch)

    def build(self, arch: str, dataset: str, **settings: Any) -> nn.Module:
        """[`network`][intrain.spaces.base.Space.network] for a known dataset, given only the settings this space declares in
        `options` (callers may pass all scoring settings)."""
        self.dataset(dataset)
        return self.network(arch, dataset, **{k: v for k, v in settings.items() if k in self.options})

    def dataset(self, name: str) -> DatasetSpec:
        """The dataset's spec; an unknown name is a [`SpaceError`][intrain.spaces.base.SpaceError] listing the known ones."""
        if name not in self.datasets:
            raise SpaceError(f"space {self.name!r} has no dataset {name!r}; expected one of {sorted(self.datasets)}")
        return self.datasets[name]

    def search_problem(self, budget: float | None = None) -> SearchProblem:
        """The Algorithm 1 problem (`intrain.search.evolution`) of this space, if it has one."""
        raise SpaceError(f"space {self.name!r} has no search problem")

    def describe(self, arch: str, dataset: str, model: nn.Module) -> Description:
        """This space's own cost conventions for ``intrain describe`` (beside the generic parameter
        and MAC counts of the built ``model``), and its own layer table if it has one (default: none)."""
        return Description()

    def encodings(self) -> Mapping[str, Encoding]:
        """Other spellings of an architecture by form name ([`intrain.spaces.peers.Encoding`][intrain.spaces.peers.Encoding]),
        for ``intrain convert`` and the CSV export; default: none beyond the arch string."""
        return {}

    def peer_codec(self, fmt: str) -> PeerCodec | None:
        """How peer score-file format ``fmt`` (``naslib-zc``, ``zero-cost-nas``) keys this space's
        architectures ([`intrain.spaces.peers.PeerCodec`][intrain.spaces.peers.PeerCodec]), or None where it has no such files."""
        return None

    def peer_id(self, key: str) -> str:
        """The key under which the peers' files and [`benchmark_index`][intrain.spaces.base.Space.benchmark_index] find ``key`` (an arch
        string, or a peer's own fingerprint): per `peer_identity`, the spelling or the class."""
        return self.normalize(key) if self.peer_identity == "arch" else self.canonical(key)

    def benchmark_index(self, table: pd.DataFrame, source: str = "<table>") -> BenchmarkIndex:
        """Benchmark index <-> architecture of a normalised ground-truth ``table`` ([`groundtruth`][intrain.spaces.base.Space.groundtruth]'s
        columns), looked up by [`peer_id`][intrain.spaces.base.Space.peer_id]."""
        from intrain.spaces.index import BenchmarkIndex

        ids = table["arch" if self.peer_identity == "arch" else "canonical"].astype(str).tolist()
        return BenchmarkIndex(self, table["arch_index"].tolist(), table["arch"].astype(str).tolist(), ids, source)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def check_space(obj: object, origin: str) -> Space:
    """``obj`` as a space instance: a [`Space`][intrain.spaces.base.Space] subclass is instantiated; anything else is a
    [`SpaceError`][intrain.spaces.base.SpaceError] naming ``origin`` (the plugin's ``module:Class``)."""
    if isinstance(obj, type) and issubclass(obj, Space):
        if getattr(obj, "__abstractmethods__", None):
            raise SpaceError(
                f"{origin}: space class {obj.__name__} does not implement {sorted(obj.__abstractmethods__)}"
            )
        obj = obj()
    if not isinstance(obj, Space):
        raise SpaceError(
            f"{origin} is not a space: expected a subclass of intrain.spaces.Space, "
            f"got {type(obj).__name__ if not isinstance(obj, type) else obj.__name__}"
        )
    return obj


class PackagedSpace(Space):
    """A space whose package holds ``network.build_network(arch, dataset, **options)`` and
    ``groundtruth.read_groundtruth(table, valid)``, as the built-in ones do; each module is
    imported on first use, so parsing architectures never imports torch."""

    def _part(self, module: str) -> Any:
        import importlib

        return importlib.import_module(f"{type(self).__module__}.{module}")

    def network(self, arch: str, dataset: str, **options: Any) -> nn.Module:
        return self._part("network").build_network(arch, dataset, **options)

    def groundtruth(self, table: str | Path, valid: Mapping[str, str | Path] | None = None) -> pd.DataFrame:
        return self._part("groundtruth").read_groundtruth(table, valid)


def lazy_names(package: str, module: str, names: tuple[str, ...]):
    """A module-level ``__getattr__`` for ``package`` that loads ``names`` from its ``module`` on first
    use (a space package re-exports its network's names without importing torch up front)."""

    def __getattr__(attr: str) -> Any:
        if attr in names:
            import importlib

            return getattr(importlib.import_module(f"{package}.{module}"), attr)
        raise AttributeError(f"module {package!r} has no attribute {attr!r}")

    return __getattr__
