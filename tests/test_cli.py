"""The CLI as the rules call it: select -> score -> merge -> correlate -> inspect, and bad input."""

import json
import subprocess
import sys

import pandas as pd
import pytest

SETTINGS = json.dumps({"batch_size": 8})


def run(*args, check=True):
    proc = subprocess.run([sys.executable, "-m", "intrain", *map(str, args)], capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise AssertionError(f"intrain {' '.join(map(str, args))} failed:\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="module")
def pipeline(groundtruth_csv, tmp_path_factory):
    d = tmp_path_factory.mktemp("cli")
    run("select", "--groundtruth", groundtruth_csv, "--sample", 6, "--seed", 3, "--n-shards", 2, "--out", d / "sel.csv")
    for shard in (0, 1):
        run(
            "score",
            "--space",
            "nb201",
            "--dataset",
            "ImageNet16-120",
            "--selection",
            d / "sel.csv",
            "--shard",
            shard,
            "--settings",
            SETTINGS,
            "--device",
            "cpu",
            "--threads",
            1,
            "--no-progress",
            "--out",
            d / f"s{shard}.h5",
        )
    run(
        "merge",
        "--space",
        "nb201",
        "--dataset",
        "ImageNet16-120",
        "--selection",
        d / "sel.csv",
        "--settings",
        SETTINGS,
        "--out",
        d / "m.h5",
        d / "s0.h5",
        d / "s1.h5",
    )
    return d


@pytest.mark.slow
def test_pipeline_produces_correlations(pipeline, groundtruth_csv):
    run("correlate", "--groundtruth", groundtruth_csv, "--n-boot", 10, "--out", pipeline / "c.csv", pipeline / "m.h5")
    table = pd.read_csv(pipeline / "c.csv")
    row = table[table.proxy == "intrain"].iloc[0]
    assert row.n == 6 and row.dataset == "ImageNet16-120" and row.paper_kendall == 0.675
    assert -1 <= row.kendall <= 1


@pytest.mark.slow
def test_inspect_shows_per_layer_statistics(pipeline):
    sel = pd.read_csv(pipeline / "sel.csv")
    idx = int(sel.arch_index.iloc[2])
    out = run("inspect", pipeline / "m.h5", "--arch", idx).stdout
    assert f"per-layer statistics of architecture {idx}" in out
    assert "stem.0" in out and "classifier" in out and "config_hash" in out
    assert "per-parameter gradient statistics" in out


@pytest.mark.slow
def test_score_shares_one_forward_between_cifar10_and_cifar100(pipeline):
    from intrain.core.artifacts import read_attrs, read_layers, read_params, read_scores

    d = pipeline
    run(
        "score",
        "--space",
        "nb201",
        "--dataset",
        "cifar10",
        "cifar100",
        "--selection",
        d / "sel.csv",
        "--shard",
        0,
        "--settings",
        SETTINGS,
        "--device",
        "cpu",
        "--threads",
        1,
        "--no-progress",
        "--out",
        d / "pair10.h5",
        d / "pair100.h5",
    )
    for dataset in ("cifar10", "cifar100"):
        run(
            "score",
            "--space",
            "nb201",
            "--dataset",
            dataset,
            "--selection",
            d / "sel.csv",
            "--shard",
            0,
            "--settings",
            SETTINGS,
            "--device",
            "cpu",
            "--threads",
            1,
            "--no-progress",
            "--out",
            d / f"{dataset}.h5",
        )
        shared = d / ("pair10.h5" if dataset == "cifar10" else "pair100.h5")
        alone = d / f"{dataset}.h5"
        a, b = read_scores(shared), read_scores(alone)
        assert len(a) > 0 and a["intrain"].tolist() == b["intrain"].tolist()  # bit for bit
        assert read_layers(shared).equals(read_layers(alone)) and read_params(shared).equals(read_params(alone))
        attrs, ref = read_attrs(shared), read_attrs(alone)
        assert attrs["dataset"] == dataset and attrs["config_hash"] == ref["config_hash"]
        assert (
            json.loads(attrs["shared_forward"]) == ["cifar10", "cifar100"] and json.loads(ref["shared_forward"]) == []
        )
        if sys.platform.startswith("linux"):  # glibc: the score command keeps freed buffers (intrain.engine.allocator)
            assert bool(attrs["retain_freed_memory"]) and bool(ref["retain_freed_memory"])
    proc = run(
        "score",
        "--space",
        "nb201",
        "--dataset",
        "cifar10",
        "cifar100",
        "--selection",
        d / "sel.csv",
        "--shard",
        0,
        "--no-progress",
        "--out",
        d / "only.h5",
        check=False,
    )
    assert proc.returncode == 2 and "one file per --dataset" in proc.stderr
    proc = run(
        "score",
        "--space",
        "nb201",
        "--dataset",
        "cifar10",
        "ImageNet16-120",
        "--selection",
        d / "sel.csv",
        "--shard",
        0,
        "--no-progress",
        "--out",
        d / "x.h5",
        d / "y.h5",
        check=False,
    )
    assert proc.returncode == 2 and "different input batches" in proc.stderr
    assert not (d / "x.h5").exists() and not (d / "y.h5").exists()


@pytest.mark.slow
def test_merge_refuses_shards_from_other_settings(pipeline):
    proc = run(
        "merge",
        "--space",
        "nb201",
        "--dataset",
        "ImageNet16-120",
        "--selection",
        pipeline / "sel.csv",
        "--settings",
        json.dumps({"batch_size": 16}),
        "--out",
        pipeline / "x.h5",
        pipeline / "s0.h5",
        pipeline / "s1.h5",
        check=False,
    )
    assert proc.returncode == 2
    assert "s0.h5: written under config hash" in proc.stderr
    assert not (pipeline / "x.h5").exists()


@pytest.mark.slow
def test_bad_input_gets_a_clear_message(tmp_path, groundtruth_csv):
    sel = tmp_path / "sel.csv"
    pd.DataFrame(
        {
            "arch_index": [0],
            "arch": ["|conv~0|+|none~0|none~1|+|none~0|none~1|none~2|"],
            "canonical": ["?"],
            "representative": [0],
            "shard": [0],
        }
    ).to_csv(sel, index=False)
    proc = run(
        "score",
        "--space",
        "nb201",
        "--dataset",
        "cifar10",
        "--selection",
        sel,
        "--shard",
        0,
        "--no-progress",
        "--out",
        tmp_path / "o.h5",
        check=False,
    )
    assert proc.returncode == 2 and "unknown operation 'conv'" in proc.stderr
    assert not (tmp_path / "o.h5").exists()
    cases = [
        (
            [
                "score",
                "--space",
                "nb201",
                "--dataset",
                "mnist",
                "--selection",
                sel,
                "--shard",
                0,
                "--out",
                tmp_path / "o.h5",
            ],
            "no dataset 'mnist'",
        ),
        (
            [
                "score",
                "--space",
                "nb201",
                "--dataset",
                "cifar10",
                "--selection",
                sel,
                "--shard",
                0,
                "--settings",
                '{"proxies": ["magic"]}',
                "--out",
                tmp_path / "o.h5",
            ],
            "unknown proxy 'magic'",
        ),
        (
            [
                "score",
                "--space",
                "nb201",
                "--dataset",
                "cifar10",
                "--selection",
                sel,
                "--shard",
                0,
                "--settings",
                '{"batch_size": -4}',
                "--out",
                tmp_path / "o.h5",
            ],
            "batch_size must be >= 1",
        ),
        (
            [
                "select",
                "--groundtruth",
                groundtruth_csv,
                "--sample",
                20000,
                "--n-shards",
                1,
                "--out",
                tmp_path / "s.csv",
            ],
            "larger than the space",
        ),
        (["groundtruth", "nb201", "--test", tmp_path / "nope.csv", "--out", tmp_path / "g.csv"], "does not exist"),
        (["download", "nb999", "--out", tmp_path / "x"], "unknown benchmark file"),
        (
            [
                "select",
                "--groundtruth",
                groundtruth_csv,
                "--arch",
                "|nor_conv~0|",
                "--n-shards",
                1,
                "--out",
                tmp_path / "s.csv",
            ],
            "'|nor_conv~0|'",
        ),
        (
            ["select", "--groundtruth", groundtruth_csv, "--n-shards", 1, "--out", tmp_path / "s.csv"],
            "either --sample or --arch",
        ),
    ]
    for args, message in cases:
        proc = run(*args, check=False)
        assert proc.returncode == 2, args
        assert message in proc.stderr, (args, proc.stderr)


def test_a_refused_input_exits_2_with_one_message_and_no_traceback(tmp_path):
    proc = run("download", "nb999", "--out", tmp_path / "x", check=False)
    assert proc.returncode == 2, proc.stderr
    assert "unknown benchmark file 'nb999'" in proc.stderr and "known:" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    "bug", [KeyError("arch"), ValueError("shapes differ"), RuntimeError("boom"), ZeroDivisionError()]
)
def test_an_unexpected_exception_keeps_its_traceback(bug, monkeypatch, tmp_path):
    """Only intrain's own errors become a one-line message; anything else is a bug and must propagate."""
    import intrain.cli.data
    from intrain.cli import main

    def broken(args):
        raise bug

    monkeypatch.setattr(intrain.cli.data, "cmd_download", broken)
    with pytest.raises(type(bug)):
        main(["download", "nb201_test", "--out", str(tmp_path / "x")])


def test_an_unexpected_exception_prints_a_traceback_from_the_command_line(tmp_path):
    code = (
        "import sys, intrain.cli.data as d\n"
        "def broken(args): raise KeyError('a bug, not an input error')\n"
        "d.cmd_download = broken\n"
        "from intrain.cli import main\n"
        f"sys.exit(main(['download', 'nb201_test', '--out', {str(tmp_path / 'x')!r}]))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 1
    assert "Traceback (most recent call last)" in proc.stderr and "a bug, not an input error" in proc.stderr


def test_a_directory_given_as_a_file_is_a_user_error_not_a_full_disk(tmp_path, caplog):
    from intrain.cli import main

    assert (
        main(
            [
                "select",
                "--space",
                "nb201",
                "--groundtruth",
                str(tmp_path),
                "--sample",
                "3",
                "--n-shards",
                "1",
                "--out",
                str(tmp_path / "sel.csv"),
            ]
        )
        == 2
    )
    assert "disk full" not in caplog.text and str(tmp_path) in caplog.text


def test_an_os_error_other_than_a_full_disk_keeps_its_traceback(monkeypatch):
    import errno

    import intrain.cli.data as data
    from intrain.cli import main

    def broken(args):
        raise OSError(errno.EIO, "input/output error")

    monkeypatch.setattr(data, "cmd_select", broken)
    with pytest.raises(OSError, match="input/output error"):
        main(
            [
                "select",
                "--space",
                "nb201",
                "--groundtruth",
                "x.csv",
                "--sample",
                "3",
                "--n-shards",
                "1",
                "--out",
                "y.csv",
            ]
        )
