"""Issue 31: the paper's ranking claims read off a protocol table, and the table's partial update."""

from __future__ import annotations

import importlib.util
import math

import pandas as pd
import pytest

from intrain.analysis.claims import MIN_N, claims_markdown, display_rows, ranking_claims, verdict
from intrain.analysis.report.verdicts import JUDGE
from intrain.core.errors import InputError

from .conftest import REPO


def _row(
    proxy: str, dataset: str, lo: float, hi: float, variant: str = "reference", space: str = "nb201", tau: float = 0.6
) -> dict:
    return dict(
        space=space,
        dataset=dataset,
        proxy=proxy,
        variant=variant,
        tau=tau,
        tau_lo=tau - 0.05,
        tau_hi=tau + 0.05,
        n_vs_intrain=200,
        intrain_minus=(lo + hi) / 2,
        intrain_minus_lo=lo,
        intrain_minus_hi=hi,
    )


@pytest.mark.parametrize(
    ("claim", "lo", "hi", "expected"),
    [
        (+1, 0.01, 0.2, "holds"),
        (+1, -0.2, -0.01, "reversed"),
        (-1, -0.2, -0.01, "holds"),
        (-1, 0.01, 0.2, "reversed"),
        (+1, -0.01, 0.2, "undecided"),
        (-1, 0.0, 0.2, "undecided"),  # a CI that touches 0 does not exclude it
        (+1, math.nan, math.nan, "no CI"),
    ],
)
def test_verdict_reads_the_side_of_zero_the_interval_is_on(claim, lo, hi, expected):
    assert verdict(claim, lo, hi) == expected


def test_the_claim_follows_the_published_numbers_and_only_reference_rows_test_it():
    """AZ-NAS's published τ is above InTrain's on CIFAR-10 (0.712 > 0.669) and below it on
    ImageNet16-120 (0.673 < 0.675): the claimed side flips, and the same negative CI holds the
    first claim and reverses the second. Uniform/relu rows, InTrain's own and a proxy without a
    published value give no claim."""
    table = pd.DataFrame(
        [
            _row("az_nas", "cifar10", -0.12, -0.02),
            _row("az_nas", "ImageNet16-120", -0.12, -0.02),
            _row("vkdnw", "cifar100", -0.01, 0.08),
            _row("zico", "cifar10", 0.05, 0.1, variant="uniform"),
            _row("intrain", "cifar10", 0.0, 0.0, variant="relu"),
            _row("meco", "cifar10", 0.05, 0.1),  # published as a Spearman ρ only: no Kendall claim
            _row("nonexistent_proxy", "cifar10", 0.05, 0.1),
        ]
    )
    claims = ranking_claims(table)
    claims = claims[claims.proxy != "strongest single-index"].set_index(["proxy", "dataset"])
    assert claims.loc[("az_nas", "cifar10"), "claim"] == "az_nas > InTrain"
    assert claims.loc[("az_nas", "cifar10"), "verdict"] == "holds"
    assert claims.loc[("az_nas", "ImageNet16-120"), "claim"] == "InTrain > az_nas"
    assert claims.loc[("az_nas", "ImageNet16-120"), "verdict"] == "reversed"
    assert claims.loc[("vkdnw", "cifar100"), "verdict"] == "undecided"
    assert claims.loc[("vkdnw", "cifar100"), "published_proxy"] == 0.634
    assert ("zico", "cifar10") not in claims.index and ("intrain", "cifar10") not in claims.index
    assert ("nonexistent_proxy", "cifar10") not in claims.index and ("meco", "cifar10") not in claims.index


def test_markdown_marks_numbers_from_other_papers_and_counts_verdicts():
    table = pd.DataFrame(
        [_row("zico", "cifar10", 0.05, 0.1), _row("grasp", "cifar10", -0.3, 0.2), _row("zico", "cifar100", -0.2, -0.1)]
    )
    text = claims_markdown(ranking_claims(table))
    lines = text.splitlines()
    assert lines[0] == "### Ranking claims, nb201"
    assert lines[2] == "| proxy | cifar10 | cifar100 |"
    grasp = next(line for line in lines if line.startswith("| grasp"))
    zico = next(line for line in lines if line.startswith("| zico"))
    assert grasp.startswith("| grasp † |") and "**undecided**" in grasp and grasp.endswith("| – |")
    assert zico.startswith("| zico |") and "**holds** (+0.075 [+0.050, +0.100], n = 200)" in zico
    assert "**reversed**" in zico
    assert "Pairwise verdicts, the paper's own comparisons (2): 1 holds, 1 reversed" in text
    assert "implied by other papers' numbers † (1): 1 undecided" in text
    assert lines[-1].endswith("in this table.")  # the legend: protocols, † and –


def test_strongest_single_index_row_names_what_decides_it():
    """The paper's "strongest single-index proxy" claim, per dataset: reversed by any single-index
    proxy ahead with a CI excluding 0 (MeCo_opt, no published τ, no pairwise claim), undecided
    while one is not separated, holds when all are behind; AZ-NAS and TE-NAS (ensembles) do not count."""
    table = pd.DataFrame(
        [
            _row("zico", "cifar10", 0.05, 0.1),
            _row("meco_opt", "cifar10", -0.11, -0.07),
            _row("az_nas", "cifar100", -0.3, -0.1),
            _row("zico", "cifar100", 0.05, 0.1),
            _row("swap", "cifar100", -0.04, 0.08, variant="uniform"),
            _row("zico", "ImageNet16-120", 0.05, 0.1),
            _row("tenas", "ImageNet16-120", -0.3, -0.1),
        ]
    )
    claims = ranking_claims(table)
    top = claims[claims.proxy == "strongest single-index"].set_index("dataset")
    assert top.loc["cifar10", "verdict"] == "reversed" and top.loc["cifar10", "blocking"] == "meco_opt@reference"
    assert top.loc["cifar100", "verdict"] == "undecided" and top.loc["cifar100", "blocking"] == "swap"
    assert top.loc["ImageNet16-120", "verdict"] == "holds" and top.loc["ImageNet16-120", "blocking"] == ""
    assert "meco_opt" not in set(claims.proxy)  # no published τ: no pairwise claim
    text = claims_markdown(claims)
    assert text.splitlines()[-3].startswith("| strongest single-index | **reversed**; ahead of InTrain: meco_opt")


def test_holm_and_an_unreproduced_proxy_are_shown_beside_the_verdict():
    """A barely excluding CI among many strong ones loses its verdict after Holm; a proxy whose
    published τ lies outside its own CI here is named with both numbers."""
    strong = [_row("zico", d, 0.05, 0.1) for d in ("cifar10", "cifar100", "ImageNet16-120")]
    weak = [_row("synflow", d, 0.002, 0.2) for d in ("cifar10", "cifar100")]  # p ~ 0.045 each
    low = _row("jacov", "cifar100", 0.05, 0.15, tau=0.55)  # published 0.639, CI [0.50, 0.60]
    claims = ranking_claims(pd.DataFrame([*strong, *weak, low])).set_index(["proxy", "dataset"])
    assert claims.loc[("synflow", "cifar10"), "verdict"] == "holds"
    assert claims.loc[("synflow", "cifar10"), "verdict_holm"] == "undecided"
    assert claims.loc[("zico", "cifar10"), "verdict_holm"] == "holds"
    assert not claims.loc[("jacov", "cifar100"), "reproduced"] and claims.loc[("zico", "cifar10"), "reproduced"]
    text = claims_markdown(claims.reset_index())
    assert "Holm: undecided" in text and "jacov τ 0.550 here, published 0.639 (outside its CI)" in text


def test_intrain_not_scored_gives_no_ci_not_a_crash_and_repeated_keys_are_refused():
    row = {**_row("zico", "cifar10", 0.0, 0.0), "n_vs_intrain": float("nan")}
    row.update(intrain_minus=float("nan"), intrain_minus_lo=float("nan"), intrain_minus_hi=float("nan"))
    claims = ranking_claims(pd.DataFrame([row]))
    assert list(claims.verdict) == ["no CI"]
    assert "(no CI: InTrain not scored on these networks)" in claims_markdown(claims)
    with pytest.raises(InputError, match="repeated .* nb201/cifar10/zico@reference"):
        ranking_claims(pd.DataFrame([_row("zico", "cifar10", 0.05, 0.1), _row("zico", "cifar10", 0.0, 0.2)]))


def _update_module():
    spec = importlib.util.spec_from_file_location("ptu", REPO / "benchmarks" / "protocol_table_update.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_partial_update_replaces_only_the_named_proxies_rows():
    mod = _update_module()
    base = pd.DataFrame(
        [
            {**_row("zico", "cifar10", 0.05, 0.1), "n": 1000},
            {**_row("tenas", "cifar10", 0.0, 0.2), "n": 100},
            {**_row("zico", "cifar100", 0.05, 0.1), "n": 300},
        ]
    )
    new = pd.DataFrame(
        [
            {**_row("tenas", "cifar10", 0.05, 0.2), "n": 200},
            {**_row("tenas", "ImageNet16-120", 0.05, 0.2), "n": 200},
            {**_row("zico", "cifar10", 0.5, 0.6), "n": 7},  # not named: the base's row stays
        ]
    )
    with pytest.raises(SystemExit, match="ImageNet16-120 is not in the base.*--allow-new"):
        mod.merge(base, new, ["tenas"])
    merged = mod.merge(base, new, ["tenas"], allow_new=True)
    assert list(zip(merged.dataset, merged.proxy, merged.n)) == [
        ("cifar10", "tenas", 200),
        ("cifar10", "zico", 1000),
        ("cifar100", "zico", 300),
        ("ImageNet16-120", "tenas", 200),
    ]
    with pytest.raises(SystemExit, match="no rows for grasp"):
        mod.merge(base, new, ["tenas", "grasp"])
    # a new run of zico on CIFAR-10 only replaces that row and keeps zico's CIFAR-100 row
    only = mod.merge(base, new, ["zico"])
    assert list(zip(only.dataset, only.proxy, only.n)) == [
        ("cifar10", "tenas", 100),
        ("cifar10", "zico", 7),
        ("cifar100", "zico", 300),
    ]
    with pytest.raises(SystemExit, match="repeats keys"):
        mod.merge(base, pd.concat([new, new]), ["tenas"], allow_new=True)
    with pytest.raises(SystemExit, match="lacks variant"):
        mod.merge(base, new.assign(variant="uniform"), ["tenas"], allow_new=True)
    with pytest.raises(SystemExit, match="columns differ"):
        mod.merge(base, new.drop(columns="intrain_minus"), ["tenas"])


def test_holm_runs_per_space_and_agrees_with_the_interval_for_a_single_comparison():
    """A space's Holm verdicts do not move when another space's comparisons join the table, and a
    lone comparison whose (asymmetric) CI excludes 0 keeps its verdict after the correction: the
    p-value is read off the half of the interval on the side of 0."""
    nb201 = [_row("zico", d, 0.02, 0.1) for d in ("cifar10", "cifar100")] + [_row("synflow", "cifar10", 0.001, 0.3)]
    nb101 = [_row(p, "cifar10", 0.3, 0.6, space="nb101") for p in ("zico", "zen", "flops", "params", "synflow")]
    alone = ranking_claims(pd.DataFrame(nb201))
    both = ranking_claims(pd.DataFrame(nb201 + nb101))
    pick = ["proxy", "dataset", "p_holm", "verdict_holm"]
    pd.testing.assert_frame_equal(
        alone[alone.space == "nb201"][pick].reset_index(drop=True),
        both[both.space == "nb201"][pick].reset_index(drop=True),
    )
    lone = ranking_claims(pd.DataFrame([{**_row("zico", "cifar10", 0.001, 0.2), "intrain_minus": 0.01}]))
    assert lone.loc[0, "verdict"] == "holds" and lone.loc[0, "verdict_holm"] == "holds"
    assert lone.loc[0, "p_approx"] < 0.05


def test_too_few_networks_decide_nothing_and_block_the_strongest_row():
    assert JUDGE.min_n == MIN_N  # the claims and the report's headline share one threshold
    few = {**_row("zico", "cifar10", 0.3, 0.4), "n_vs_intrain": MIN_N - 1}
    claims = ranking_claims(pd.DataFrame([few, _row("synflow", "cifar10", 0.05, 0.1)]))
    by = claims.set_index("proxy")
    assert by.loc["zico", "verdict"] == "too few" and by.loc["zico", "verdict_holm"] == "too few"
    assert math.isnan(by.loc["zico", "p_holm"]) and by.loc["synflow", "verdict"] == "holds"
    top = by.loc["strongest single-index"]
    assert top["verdict"] == "undecided" and top["blocking"] == "zico@reference"
    assert "1 too few" in claims_markdown(claims)


def test_a_rival_without_a_ci_is_not_counted_as_beaten():
    """A missing upper bound once made the rival count as behind InTrain (the strongest row read
    'holds'); now it is 'no CI' pairwise and keeps the strongest row undecided."""
    table = pd.DataFrame(
        [_row("zico", "cifar10", 0.05, 0.1), {**_row("synflow", "cifar10", 0.05, 0.1), "intrain_minus_hi": math.nan}]
    )
    by = ranking_claims(table).set_index("proxy")
    assert by.loc["synflow", "verdict"] == "no CI"
    assert by.loc["strongest single-index", "verdict"] == "undecided"
    assert by.loc["strongest single-index", "blocking"] == "synflow@reference"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.drop(columns=["intrain_minus_lo", "tau_lo"]), "lacks column.*tau_lo.*intrain_minus_lo"),
        (lambda t: t.drop(columns=["variant"]), "lacks column.*variant"),
        (lambda t: t.assign(tau_lo="–"), "column 'tau_lo' holds a non-numeric value '–'"),
        (lambda t: t.assign(intrain_minus_lo=0.2, intrain_minus_hi=0.1), "InTrain − proxy interval .* runs backwards"),
        (lambda t: t.assign(tau_lo=0.9), "τ interval .* runs backwards"),
        (lambda t: t.assign(dataset=None), "row 1 has no dataset"),
    ],
)
def test_malformed_tables_are_refused_with_the_problem_named(change, message):
    table = pd.DataFrame([_row("zico", "cifar10", 0.05, 0.1), _row("synflow", "cifar10", -0.1, 0.1)])
    with pytest.raises(InputError, match=message):
        ranking_claims(change(table))


def test_names_without_a_published_value_say_so_and_missing_cis_are_not_called_outside():
    upper = ranking_claims(pd.DataFrame([_row("zico", "CIFAR10", 0.05, 0.1)]))
    text = claims_markdown(upper)
    assert "No pairwise comparison" in text and "CIFAR10" in text and "Pairwise verdicts: ;" not in text
    bare = ranking_claims(pd.DataFrame([{**_row("zico", "cifar10", 0.05, 0.1), "tau_lo": math.nan}]))
    assert bare.loc[0, "reproduced"] is None
    assert "outside its CI" not in claims_markdown(bare)
    assert list(ranking_claims(pd.DataFrame()).columns)[:3] == ["space", "dataset", "proxy"]


def test_intrain_missing_its_own_published_value_is_flagged():
    """The claims compare the proxies with this reproduction of InTrain; where InTrain's own τ here
    misses the paper's (NB101: 0.31 against 0.56 on the mirrored cells), the Markdown says so."""
    own = {
        **_row("intrain", "cifar10", math.nan, math.nan, variant="relu", space="nb101"),
        "tau_uniform": 0.306,
        "tau_uniform_lo": 0.014,
        "tau_uniform_hi": 0.558,
        "n_vs_intrain": math.nan,
    }
    zico = {**_row("zico", "cifar10", -0.1, 0.2, space="nb101"), "tau_uniform": 0.3, "tau_uniform_lo": 0.2}
    table = pd.DataFrame([own, {**zico, "tau_uniform_hi": 0.4}])
    claims = ranking_claims(table)
    assert claims.loc[0, "intrain_reproduced"] is False
    text = claims_markdown(claims, table)
    assert "InTrain's own τ here misses its published value** (cifar10 τ 0.306 [0.014, 0.558] against 0.560" in text


def test_partial_update_refuses_misspelt_names_another_intrain_and_blank_keys():
    mod = _update_module()
    extra = dict(n=200, n_uniform=1000, tau_uniform=0.68)
    base = pd.DataFrame(
        [
            {**_row("az_nas", "ImageNet16-120", -0.1, 0.0), **extra},
            {**_row("intrain", "ImageNet16-120", math.nan, math.nan, variant="relu"), **extra},
        ]
    )
    typo = pd.DataFrame([{**_row("az_nas", "imagenet16-120", -0.1, 0.1), **extra}])
    with pytest.raises(
        SystemExit, match="nb201/imagenet16-120 is not in the base \\(did you mean nb201/ImageNet16-120"
    ):
        mod.merge(base, typo, ["az_nas"])
    with pytest.raises(SystemExit, match="proxy 'az-nas' is not in the base \\(did you mean az_nas"):
        mod.merge(base, typo.assign(dataset="ImageNet16-120", proxy="az-nas"), ["az-nas"])
    other = pd.concat([typo.assign(dataset="ImageNet16-120"), base.iloc[[1]].assign(tau_uniform=0.61)])
    with pytest.raises(SystemExit, match="InTrain \\(τ 0.6100, n 1000\\) is not the base's"):
        mod.merge(base, other, ["az_nas"])
    with pytest.raises(SystemExit, match="has no space, dataset, proxy or variant"):
        mod.merge(base, typo.assign(dataset=None), ["az_nas"])
    rerun = typo.assign(dataset="ImageNet16-120", tau=0.55)  # InTrain's τ on the 200: 0.55 + 0.0, as in the base
    same = pd.concat([rerun, base.iloc[[1]]])[list(reversed(base.columns))]
    merged = mod.merge(base, same, ["az_nas"])  # the same columns in another order are fine
    assert merged.loc[merged.proxy == "az_nas", "intrain_minus_hi"].item() == 0.1
    # a heavy rerun has no InTrain row: the pairing is checked through τ + (InTrain − proxy) on the same n
    assert mod.merge(base, rerun, ["az_nas"]).loc[0, "tau"] == 0.55
    with pytest.raises(SystemExit, match="InTrain's τ on its 200 networks is 0.6000 in the new table and 0.5500"):
        mod.merge(base, rerun.assign(tau=0.6), ["az_nas"])
    mod.merge(base, rerun.assign(tau=0.6, n=150, n_vs_intrain=150), ["az_nas"])  # another n: a note, not a refusal


def test_an_unpaired_rival_blocks_the_strongest_row_and_the_strongest_rival_is_named_so():
    """A rival InTrain was not paired with at all (no n, no CI) once dropped out of the strongest
    row, which then read 'holds'; the row's number is the rival furthest ahead of InTrain."""
    bare = {**_row("synflow", "cifar10", 0.05, 0.1), "n_vs_intrain": math.nan}
    bare.update(intrain_minus=math.nan, intrain_minus_lo=math.nan, intrain_minus_hi=math.nan)
    by = ranking_claims(pd.DataFrame([_row("zico", "cifar10", 0.05, 0.1), bare])).set_index("proxy")
    top = by.loc["strongest single-index"]
    assert top["verdict"] == "undecided" and top["blocking"] == "synflow@reference"
    ahead = ranking_claims(pd.DataFrame([_row("zico", "cifar10", -0.2, -0.1), _row("snip", "cifar10", -0.1, -0.02)]))
    rows = display_rows(ahead)
    top_row = next(r for r in rows if r["claim"].startswith("InTrain is the strongest"))
    assert top_row["τ(InTrain) − τ(proxy), paired [95% CI]"] == "-0.150 [-0.200, -0.100] (the strongest rival)"
    assert top_row["note"] == "ahead of InTrain: zico@reference, snip@reference"
    nothing = ranking_claims(pd.DataFrame([bare]))
    assert list(nothing.proxy) == ["synflow"] and list(nothing.verdict) == ["no CI"]  # and no strongest row


def test_degenerate_intervals_are_refused_or_read_as_the_interval_says():
    with pytest.raises(InputError, match="zero width at \\+0.333: not a bootstrap interval"):
        ranking_claims(pd.DataFrame([{**_row("zico", "cifar10", 0.333, 0.333), "intrain_minus": 0.333}]))
    with pytest.raises(InputError, match="infinite value"):
        ranking_claims(pd.DataFrame([_row("zico", "cifar10", 0.05, math.inf)]))
    same = ranking_claims(pd.DataFrame([{**_row("flops", "cifar10", 0.0, 0.0), "intrain_minus": 0.0}]))
    assert same.loc[0, "verdict"] == "undecided" and same.loc[0, "p_approx"] == 1.0  # one ranking, twice
    # a percentile interval that does not contain its estimate: p follows the interval, not the gap
    skew = ranking_claims(pd.DataFrame([{**_row("zico", "cifar10", 0.06, 0.1), "intrain_minus": 0.05}]))
    assert skew.loc[0, "verdict"] == "holds" and skew.loc[0, "verdict_holm"] == "holds"
    text = claims_markdown(ranking_claims(pd.DataFrame([_row("meco", "cifar10", 0.05, 0.1)])))
    assert "No pairwise comparison" in text and "0 tested" not in text


def test_intrain_read_from_its_uniform_row_when_the_run_has_no_intrain_variant():
    """A heavy-proxy rerun's table holds InTrain as a `uniform` row (τ in ``tau``, no
    ``tau_uniform``); the base's holds it beside its relu variant. Both are InTrain's uniform τ:
    the update's InTrain check and the claims' flag read either (found merging the real rerun)."""
    mod = _update_module()
    extra = dict(n=200, n_uniform=1000, tau_uniform=0.671)
    base = pd.DataFrame(
        [
            {**_row("az_nas", "ImageNet16-120", -0.1, 0.0), **extra},
            {**_row("intrain", "ImageNet16-120", math.nan, math.nan, variant="relu"), **extra},
        ]
    )
    own = {**_row("intrain", "ImageNet16-120", math.nan, math.nan, variant="uniform", tau=0.671), "n": 1000}
    own.update(tau_lo=0.645, tau_hi=0.697, n_uniform=math.nan, tau_uniform=math.nan, n_vs_intrain=math.nan)
    rerun = pd.DataFrame([{**_row("az_nas", "ImageNet16-120", -0.1, 0.0), **extra}, own])
    assert len(mod.merge(base, rerun, ["az_nas"])) == 2
    with pytest.raises(SystemExit, match=r"InTrain \(τ 0.6500, n 1000\) is not the base's \(τ 0.6710"):
        mod.merge(base, rerun.assign(tau=[0.6, 0.65]), ["az_nas"])
    missed = pd.DataFrame([{**own, "space": "nb101", "dataset": "cifar10", "tau": 0.3, "tau_lo": 0.1, "tau_hi": 0.5}])
    zico = pd.DataFrame([_row("zico", "cifar10", -0.1, 0.2, space="nb101")])
    table = pd.concat([missed, zico], ignore_index=True)
    claims = ranking_claims(table)
    assert claims.loc[claims.proxy == "zico", "intrain_reproduced"].item() is False
    assert "cifar10 τ 0.300 [0.100, 0.500] against 0.560 published" in claims_markdown(claims, table)
