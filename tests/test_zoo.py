"""The timm model zoo space: names, the in1k-only rule on real row names, the ground truth through
the catalog, the seeded selection, the family/FLOP-band analysis on synthetic tables; network
building only where timm imports (scripts/setup-models.sh)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from intrain.analysis import zoo as az
from intrain.core.download import fetch, get_file, sha256_of
from intrain.spaces import GroundTruthError, get_space, list_spaces
from intrain.spaces.zoo import ZooSpace
from intrain.spaces.zoo.groundtruth import read_groundtruth
from intrain.spaces.zoo.names import ZooNameError, check_arch, family, is_in1k_only, split_name
from intrain.spaces.zoo.selection import full_subset, select_archs

REPO = Path(__file__).resolve().parents[1]
HEADER = "model,img_size,top1,top1_err,top5,top5_err,param_count,crop_pct,interpolation\n"


def _timm_reason() -> str | None:
    if importlib.util.find_spec("timm") is None:
        return "timm is not installed here: `bash scripts/setup-models.sh` makes .venv-models, where it is"
    try:
        import timm  # noqa: F401
    except Exception as e:  # torchvision beside a torch it was not built for fails at import
        return f"timm does not import here ({type(e).__name__}: {e}); use .venv-models"
    return None


# ---------------------------------------------------------------- names, no torch


def test_registered_as_builtin():
    assert "zoo" in list_spaces()
    space = get_space("zoo")
    assert isinstance(space, ZooSpace) and space.benchmark == "timm_imagenet"
    assert space.dataset("imagenet").num_classes == 1000


@pytest.mark.parametrize(
    ("row", "expected"),
    [  # real row names of timm's results-imagenet.csv
        ("resnet50.a1_in1k", True),
        ("convnext_tiny.fb_in1k", True),
        ("efficientnet_b0.ra4_e3600_r224_in1k", True),
        ("deit_base_patch16_224.fb_in1k", True),
        ("convnext_tiny.fb_in22k_ft_in1k", False),
        ("convnext_nano.in12k_ft_in1k", False),
        ("vit_base_patch16_224.augreg_in21k_ft_in1k", False),
        ("eva02_large_patch14_448.mim_m38m_ft_in22k_in1k", False),
        ("eva_giant_patch14_560.m30m_ft_in22k_in1k", False),
        ("resnext101_32x8d.fb_wsl_ig1b_ft_in1k", False),
        ("resnet50.fb_swsl_ig1b_ft_in1k", False),
        ("vit_base_patch16_clip_224.openai_ft_in1k", False),
        ("vit_base_patch16_clip_224.laion2b_ft_in1k", False),
        ("regnety_1280.seer_ft_in1k", False),
        ("regnety_1280.swag_ft_in1k", False),
        ("tf_efficientnet_b0.ns_jft_in1k", False),
        ("seresnextaa101d_32x8d.sw_in12k_ft_in1k_288", False),
        ("resnet50", False),
    ],
)
def test_in1k_only_rule_on_real_names(row, expected):
    assert is_in1k_only(row) is expected


def test_normalize_strips_tag_and_refuses_bad_names(monkeypatch):
    monkeypatch.delenv("INTRAIN_MIRROR", raising=False)
    space = ZooSpace()
    assert space.normalize("resnet50.a1_in1k") == "resnet50" == space.normalize("resnet50")
    assert space.normalize(space.normalize("tf_efficientnet_b0.in1k")) == "tf_efficientnet_b0"
    assert split_name("vit_small_patch16_224.augreg_in1k") == ("vit_small_patch16_224", "augreg_in1k")
    for bad in ("ResNet50", "resnet-50", "", "a.b.c", "resnet50.", "_x"):
        with pytest.raises(ZooNameError, match="not a timm model name"):
            check_arch(bad)


@pytest.mark.parametrize(
    ("arch", "fam"),
    [
        ("resnet50d", "resnet"),
        ("resnet33ts", "resnet"),
        ("resnetv2_50", "resnetv2"),
        ("tf_efficientnet_b3", "efficientnet"),
        ("efficientnetv2_rw_s", "efficientnetv2"),
        ("mobilenetv3_large_100", "mobilenetv3"),
        ("regnety_032", "regnety"),
        ("res2net50_26w_4s", "res2net"),
        ("wide_resnet50_2", "wide_resnet"),
        ("eca_nfnet_l0", "eca_nfnet"),
        ("gluon_resnet50_v1b", "resnet"),
        ("vit_small_patch16_224", "vit"),
    ],
)
def test_family_rule(arch, fam):
    assert family(arch) == fam


# ---------------------------------------------------------------- ground truth and catalog


def _table(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "results-imagenet.csv"
    path.write_text(HEADER + "".join(r + "\n" for r in rows))
    return path


def test_groundtruth_filters_keeps_recipes_and_best_eval_side(tmp_path):
    path = _table(
        tmp_path,
        [
            "convnext_huge_x.fb_in22k_ft_in1k,224,88.0,12.0,98.0,2.0,300.0,1.0,bicubic",
            'big_net.a1_in1k,288,85.5,14.5,97.0,3.0,"1,014.45",1.0,bicubic',
            'big_net.a1_in1k,224,85.0,15.0,96.9,3.1,"1,014.45",0.95,bicubic',
            "big_net.a2_in1k,224,84.0,16.0,96.5,3.5,1014.45,0.95,bicubic",
            "tf_small_net10.in1k,224,70.0,30.0,90.0,10.0,5.5,0.875,bilinear",
        ],
    )
    gt = read_groundtruth(path)
    assert gt[["arch", "recipe", "acc_imagenet", "eval_img_size"]].values.tolist() == [
        ["big_net", "a1_in1k", 85.5, 288],
        ["big_net", "a2_in1k", 84.0, 224],
        ["tf_small_net10", "in1k", 70.0, 224],
    ]
    assert gt["arch_index"].tolist() == [0, 1, 2]
    assert (gt["canonical"] == gt["arch"]).all()
    assert gt["params_m"].tolist() == [1014.45, 1014.45, 5.5]
    assert gt["family"].tolist() == ["big", "big", "small"]


def test_groundtruth_refuses_other_tables(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("model,top1\nresnet50.a1_in1k,80.1\n")
    with pytest.raises(GroundTruthError, match="missing column"):
        read_groundtruth(bad)
    only21k = _table(tmp_path, ["vit_x.augreg_in21k,224,80,20,95,5,86,0.9,bicubic"])
    with pytest.raises(GroundTruthError, match="no row was trained on ImageNet-1k alone"):
        read_groundtruth(only21k)
    junk = _table(tmp_path, ["resnet50.a1_in1k,224,eighty,20,95,5,25,0.9,bicubic"])
    with pytest.raises(GroundTruthError, match="non-numeric"):
        read_groundtruth(junk)


@pytest.mark.needs_mirror
def test_catalog_download_and_real_table(mirror, tmp_path, monkeypatch):
    entry = get_file("timm_imagenet")
    assert entry.space == "zoo" and entry.mirror_path == "timm/results-imagenet.csv"
    path = fetch(entry, tmp_path / "timm.csv", mirror=str(mirror))
    assert sha256_of(path) == entry.sha256 and path.stat().st_size == entry.size
    raw = pd.read_csv(path)
    assert len(raw) == 1556 and raw["model"].map(is_in1k_only).sum() == 1231  # the README's counts
    gt = get_space("zoo").groundtruth(path)
    assert len(gt) == entry.rows
    assert not gt.duplicated(["arch", "recipe"]).any()
    assert gt.loc[(gt["arch"] == "resnet50") & (gt["recipe"] == "a1_in1k"), "acc_imagenet"].item() == pytest.approx(
        81.2, abs=0.5
    )
    monkeypatch.setenv("INTRAIN_MIRROR", str(mirror))
    with pytest.raises(ZooNameError, match="closest: resnet50"):
        ZooSpace().normalize("resnet5o")


# ---------------------------------------------------------------- selection and the overlay


def _synthetic_gt(n_fam: int = 12, per: int = 8, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for f in range(n_fam):
        for k in range(per):
            rows.append({"arch": f"fam{chr(97 + f)}_{k}", "family": f"fam{chr(97 + f)}", "params_m": float(k + 1)})
    df = pd.DataFrame(rows)
    df["recipe"] = "in1k"
    df["arch_index"] = range(len(df))
    df["acc_imagenet"] = 60 + rng.normal(0, 5, len(df))
    return df


def test_selection_rule_is_seeded_per_family_and_capped():
    gt = _synthetic_gt()
    sel = select_archs(gt, n_families=5, per_family=4, max_params_m=6.0, seed=3)
    assert sel == select_archs(gt.sample(frac=1, random_state=1), n_families=5, per_family=4, max_params_m=6.0, seed=3)
    fams = pd.Series([a.split("_")[0] for a in sel]).value_counts()
    assert len(fams) == 5 and (fams == 4).all()
    assert gt.set_index("arch").loc[sel, "params_m"].max() <= 6.0
    assert sel != select_archs(gt, n_families=5, per_family=4, max_params_m=6.0, seed=4)
    refused = {a for a in gt["arch"] if a.endswith("_0")}
    assert not refused & set(select_archs(gt, 5, 4, 6.0, 3, eligible=lambda a: a not in refused))
    sub = full_subset(sel, 7, seed=0)
    assert len(sub) == 7 and set(sub) <= set(sel)


def test_overlay_scores_enough_architectures_and_families():
    cfg = yaml.safe_load((REPO / "config" / "zoo.yaml").read_text())
    spec = cfg["spaces"]["zoo"]
    archs = spec["archs"]
    assert len(archs) >= 100 and len(set(archs)) == len(archs)
    assert len({family(a) for a in archs}) >= 10
    assert all(check_arch(a) == a for a in archs)
    proxies = set(cfg["scoring"]["proxies"])
    for s in cfg["baselines"]["sets"].values():
        proxies |= set(s["proxies"])
    from intrain.proxies import list_proxies

    assert proxies >= set(list_proxies()) - {
        "grad_norm_layers"
    }  # every proxy (grad_norm_layers: grad_norm's per-layer view)


@pytest.mark.needs_mirror
def test_overlay_archs_are_in1k_rows(mirror):
    gt = read_groundtruth(mirror / "timm" / "results-imagenet.csv")
    archs = yaml.safe_load((REPO / "config" / "zoo.yaml").read_text())["spaces"]["zoo"]["archs"]
    assert set(archs) <= set(gt["arch"])
    assert gt.set_index("arch").loc[archs, "params_m"].max() <= 60.0


# ---------------------------------------------------------------- analysis (synthetic)


def test_join_best_or_all_recipes():
    gt = pd.DataFrame(
        {
            "arch_index": [0, 1, 2, 3],
            "arch": ["a1", "a1", "b1", "c1"],
            "recipe": ["r1_in1k", "r2_in1k", "in1k", "in1k"],
            "family": ["a", "a", "b", "c"],
            "acc_imagenet": [70.0, 74.0, 71.0, 60.0],
        }
    )
    scores = pd.DataFrame({"arch": ["a1", "b1"], "params": [3.0, 1.0]})
    best = az.join(scores, gt, "best")
    assert best[["arch", "acc_imagenet"]].values.tolist() == [["a1", 74.0], ["b1", 71.0]]
    assert len(az.join(scores, gt, "all")) == 3
    with pytest.raises(Exception, match="dedup"):
        az.join(scores, gt, "first")


def test_tau_table_scopes_and_signs():
    gt = _synthetic_gt(n_fam=4, per=6, seed=1)
    rng = np.random.default_rng(0)
    scores = pd.DataFrame({"arch": gt["arch"]})
    scores["good"] = gt["acc_imagenet"].to_numpy()  # ranks exactly as the truth
    scores["bad"] = -gt["acc_imagenet"].to_numpy()
    scores["flops"] = rng.uniform(1, 100, len(gt))
    df = az.join(scores, gt)
    tab = az.tau_table(df, ["good", "bad", "flops"], n_boot=50, min_family=6)
    assert set(tab["scope"]) == {"all", "family", "across families", "flop band"}
    assert np.allclose(tab.loc[tab.proxy == "good", "kendall"], 1.0)
    assert np.allclose(tab.loc[tab.proxy == "bad", "kendall"], -1.0)
    fam = tab[tab.scope == "family"]
    assert set(fam["group"]) == {"fama", "famb", "famc", "famd"} and (fam["n"] == 6).all()
    assert tab[tab.scope == "flop band"].groupby("group")["n"].first().sum() == len(gt)
    assert len(az.tau_table(df, ["good"], n_boot=0, min_family=7).query("scope == 'family'")) == 0
    df.loc[0, "good"] = np.nan  # a network a proxy could not score: excluded and counted, the group keeps its size
    first = az.tau_table(df, ["good"], n_boot=0, min_family=6).query("group == @df.family[0]").iloc[0]
    assert (first["size"], first["n"], first["n_excluded"]) == (6, 5, 1)
    with pytest.raises(Exception, match="no scores"):
        az.tau_table(df, ["missing"], n_boot=0)


def test_protocol_deltas_paired():
    gt = _synthetic_gt(n_fam=3, per=8, seed=2)
    truth = gt["acc_imagenet"].to_numpy()
    cheap = az.join(pd.DataFrame({"arch": gt["arch"], "p": truth}), gt)
    noisy = truth + np.random.default_rng(5).normal(0, 20, len(gt))
    full = az.join(pd.DataFrame({"arch": gt["arch"], "p": noisy}), gt)
    d = az.protocol_deltas(cheap, full, ["p", "absent"], n_boot=200)
    assert d["proxy"].tolist() == ["p"]
    row = d.iloc[0]
    assert row["tau_cheap"] == pytest.approx(1.0) and row["tau_full"] < 1.0
    assert row["delta"] == pytest.approx(row["tau_cheap"] - row["tau_full"]) and row["lo"] <= row["delta"] <= row["hi"]


# ---------------------------------------------------------------- networks (timm only)


@pytest.mark.skipif(_timm_reason() is not None, reason=_timm_reason() or "")
@pytest.mark.parametrize("arch", ["resnet18", "mobilenetv3_small_100", "vit_tiny_patch16_224"])
def test_network_builds_untrained_at_reduced_side(arch):
    import torch

    from intrain.spaces.zoo.network import feature_modules

    torch.manual_seed(0)
    model = get_space("zoo").build(arch, "imagenet").eval()
    with torch.no_grad():
        out = model(torch.randn(2, 3, 64, 64))
    assert out.shape == (2, 1000)
    assert len(feature_modules(model)) >= 3
    torch.manual_seed(0)
    again = get_space("zoo").build(arch, "imagenet")
    assert all(torch.equal(a, b) for a, b in zip(model.state_dict().values(), again.state_dict().values()))


@pytest.mark.skipif(_timm_reason() is not None, reason=_timm_reason() or "")
def test_unknown_model_is_refused_by_name():
    from intrain.spaces.base import SpaceError

    with pytest.raises(SpaceError, match="has no model 'resnet5o'"):
        get_space("zoo").build("resnet5o", "imagenet")


@pytest.mark.skipif(_timm_reason() is not None, reason=_timm_reason() or "")
def test_layout_predicates_split_cnns_from_token_models():
    from intrain.spaces.zoo.selection import probe_ready, token_layout

    assert probe_ready("resnet18") and not token_layout("resnet18")
    assert token_layout("vit_tiny_patch16_224") and not probe_ready("vit_tiny_patch16_224")
    assert not token_layout("no_such_model") and not probe_ready("no_such_model")  # does not build: neither


def test_missing_timm_names_the_setup_command(monkeypatch):
    import builtins

    from intrain.spaces.zoo import network

    real_import = builtins.__import__

    def no_timm(name, *args, **kwargs):
        if name == "timm":
            raise ImportError("No module named 'timm'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_timm)
    with pytest.raises(network.TimmMissingError, match="bash scripts/setup-models.sh"):
        network.create("resnet18")


def test_report_tables_markdown_and_section():
    from intrain.analysis.zoo_report import MEANING, tables_from_frames, zoo_markdown, zoo_sections

    gt = _synthetic_gt(n_fam=3, per=6, seed=3)
    rng = np.random.default_rng(1)
    truth = gt["acc_imagenet"].to_numpy()
    cheap = pd.DataFrame({"arch": gt["arch"], "intrain": truth + rng.normal(0, 1, len(gt))})
    cheap["params"], cheap["flops"] = gt["params_m"].to_numpy(), rng.uniform(1, 9, len(gt))
    full = cheap.iloc[:8].copy()
    full["intrain"] = rng.normal(0, 1, 8)
    t = tables_from_frames({64: cheap, 224: full}, gt, n_boot=50)
    assert t.n_archs == 18 and t.n_families == 3 and t.sides == {"cheap": 64, "full": 224}
    assert t.headline["proxy"].tolist()[0] == "intrain"
    row = t.headline.set_index("proxy").loc["intrain"]
    assert row["vs_params"] == pytest.approx(row["kendall"] - t.headline.set_index("proxy").loc["params", "kendall"])
    assert set(t.protocol["proxy"]) == {"intrain", "params", "flops"} and (t.protocol["n"] == 8).all()
    md = zoo_markdown(t)
    assert "| intrain | 18 |" in md and "Δτ vs params" in md and "64 px vs 224 px" in md
    (key, title, html) = zoo_sections(t)[0]
    assert key == "zoo" and "timm" in title and "recipes" in html and MEANING.split(",")[0] in html


@pytest.mark.slow
def test_overlay_dry_runs(tmp_path, mirror):
    """The overlay validates against the schema and plans its jobs without timm or torch work:
    12 main shards of 10, and the sets' shards (size 12, zc 12, full224 4, six heavy sets, VKDNW's
    included, 4 each)."""
    import subprocess
    import sys

    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "snakemake",
            "-n",
            "--cores",
            "1",
            "--configfile",
            "config/zoo.yaml",
            "--config",
            f"results={tmp_path}/r",
            f"mirror={mirror}",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    counts = {
        cells[0]: int(cells[1])
        for cells in (line.split() for line in proc.stdout.splitlines())
        if len(cells) == 2 and cells[1].isdigit()
    }
    assert counts.get("score") == 12 and counts.get("score_set") == 12 + 12 + 4 + 6 * 4, counts


# ---------------------------------------------------------------- token-layout extension, joined runs


def test_token_selection_extends_without_the_first_families():
    from intrain.spaces.zoo.selection import select_token_archs

    gt = _synthetic_gt(n_fam=6, per=8, seed=2)
    # families a, b: the first selection's; c: its first member is a CNN (skipped unbuilt);
    # d: only 3 token members (below min_family); e, f: token families
    token = {a for a in gt["arch"] if a.startswith(("famd_0", "famd_1", "famd_2", "fame", "famf"))}
    calls: list[str] = []

    def eligible(a: str) -> bool:
        calls.append(a)
        return a in token

    sel = select_token_archs(gt, {"fama", "famb"}, per_family=5, min_family=4, seed=0, eligible=eligible)
    fams = pd.Series([a.split("_")[0] for a in sel]).value_counts()
    assert dict(fams) == {"fame": 5, "famf": 5}
    assert not any(a.startswith(("fama", "famb")) for a in calls)
    assert [a for a in calls if a.startswith("famc")] == ["famc_0"]
    assert sel == select_token_archs(
        gt.sample(frac=1, random_state=3), {"fama", "famb"}, 5, 4, seed=0, eligible=eligible
    )
    assert sel != select_token_archs(gt, {"fama", "famb"}, 5, 4, seed=1, eligible=eligible)
    assert set(select_token_archs(gt, {"fama", "famb"}, 5, 4, max_params_m=3.0, eligible=lambda a: True)) <= set(
        gt.loc[gt.params_m <= 3.0, "arch"]
    )


def test_token_config_is_disjoint_from_the_first_selection():
    first = yaml.safe_load((REPO / "config" / "zoo.yaml").read_text())["spaces"]["zoo"]["archs"]
    cfg = yaml.safe_load((REPO / "config" / "zoo-tokens.yaml").read_text())
    tokens = cfg["spaces"]["zoo"]["archs"]
    assert len(tokens) == len(set(tokens)) >= 40 and all(check_arch(a) == a for a in tokens)
    assert not {family(a) for a in tokens} & {family(a) for a in first}
    assert cfg["spaces"]["zoo"]["resolution"] == 64 and cfg["scoring"]["batch_size"] == 8  # the same protocol


def _zoo_artifact(path: Path, values: dict[str, dict[str, float]], resolution: int = 64) -> str:
    from dataclasses import replace

    from intrain.core.artifacts import write_shard

    from .helpers import fake_record

    records = []
    for i, (arch, vals) in enumerate(values.items()):
        r = fake_record(i, [(2.0, 2.0, 4.0), (3.0, 3.0, 4.0)], [(0.1, 1.0)])
        records.append(replace(r, arch=arch, proxies={k: {"score": v} for k, v in vals.items()}))
    attrs = {"space": "zoo", "dataset": "imagenet", "shard": 0, "n_shards": 1, "config_hash": "h", "seed": 0}
    write_shard(path, records, {**attrs, "settings": {"resolution": resolution}, "batch_size": 8, "device": "cpu"})
    return str(path)


def test_load_artifacts_joins_runs_with_different_columns(tmp_path):
    cnn = _zoo_artifact(tmp_path / "a.h5", {"r1": {"intrain": 1.0, "x": 5.0}, "r2": {"intrain": 2.0, "x": 6.0}})
    tok = _zoo_artifact(tmp_path / "b.h5", {"v1": {"intrain": 3.0, "x": 7.0, "y": 1.0}})
    heavy = _zoo_artifact(tmp_path / "c.h5", {"r2": {"z": 9.0}})
    full = _zoo_artifact(tmp_path / "d.h5", {"r1": {"intrain": 4.0}}, resolution=224)
    by_side = az.load_artifacts([cnn, tok, heavy, full])
    assert sorted(by_side) == [64, 224]
    df = by_side[64].set_index("arch").sort_index()
    assert df["intrain"].tolist() == [1.0, 2.0, 3.0] and df["x"].tolist() == [5.0, 6.0, 7.0]
    assert df["y"].isna().tolist() == [True, True, False] and df.loc["r2", "z"] == 9.0
    assert by_side[224].set_index("arch").loc["r1", "intrain"] == 4.0


def test_report_blocks_per_sample_pair_subset_proxies_on_their_rows():
    from intrain.analysis.zoo_report import tables_from_frames, zoo_markdown

    gt = _synthetic_gt(n_fam=4, per=6, seed=5)
    truth = gt["acc_imagenet"].to_numpy()
    rng = np.random.default_rng(2)
    cheap = pd.DataFrame({"arch": gt["arch"], "intrain": truth + rng.normal(0, 3, len(gt))})
    cheap["params"], cheap["flops"] = gt["params_m"].to_numpy(), rng.uniform(1, 9, len(gt))
    sub = cheap["arch"].isin(gt["arch"].iloc[::3])
    cheap["heavy"] = np.where(sub, truth, np.nan)  # a perfect proxy, scored on a third of the rows
    samples = {"cnn": set(gt["arch"].iloc[:12]), "tokens": set(gt["arch"].iloc[12:])}
    t = tables_from_frames({64: cheap}, gt, n_boot=30, samples=samples)
    assert t.samples == {"cnn": 12, "tokens": 12}
    assert list(dict.fromkeys(t.headline["sample"])) == ["all", "cnn", "tokens"]
    h = t.headline[t.headline["sample"] == "all"].set_index("proxy")
    assert h.loc["heavy", "n"] == sub.sum() and h.loc["heavy", "kendall"] == pytest.approx(1.0)
    from intrain.analysis.stats import kendall

    on_sub = kendall(cheap.loc[sub, "params"].to_numpy(), truth[sub.to_numpy()])
    assert h.loc["heavy", "vs_params_tau"] == pytest.approx(on_sub)
    assert h.loc["heavy", "vs_params"] == pytest.approx(1.0 - on_sub)
    assert "heavy" not in set(t.scopes["proxy"])  # a third of the rows: headline only
    cnn = t.headline[t.headline["sample"] == "cnn"].set_index("proxy")
    assert cnn.loc["intrain", "n"] == 12
    md = zoo_markdown(t)
    assert "Sample 'cnn' (12 architectures)" in md and "τ params (same archs)" in md
    with pytest.raises(Exception, match="'all'"):
        tables_from_frames({64: cheap}, gt, n_boot=0, samples={"all": set(gt["arch"])})


def test_report_cli_needs_one_label_per_folder(tmp_path):
    from intrain.analysis.zoo_report import main

    with pytest.raises(Exception, match="one per results folder"):
        main([str(tmp_path / "a"), str(tmp_path / "b"), "--labels", "cnn", "--out", str(tmp_path / "o")])
