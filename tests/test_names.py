"""Names and numbers validated at the door: proxy names (config, plugin, import, artifact) match one
pattern and are never a reserved column; ids are integers in range; scores are float64 numbers."""

from __future__ import annotations

import json
import pickle

import h5py
import numpy as np
import pytest

from intrain.core import names, sealed
from intrain.core.errors import InputError, IntrainError
from intrain.interop.importer import read_peer_file

from .helpers import fake_artifact, ladder

ARCH = "(4, 0, 3, 1, 4, 3)"


def _zc(tmp_path, rec: dict | str, key: str = ARCH):
    path = tmp_path / "zc_nasbench201.json"
    body = rec if isinstance(rec, str) else json.dumps(rec)
    path.write_text(f'{{"cifar10": {{"{key}": {body}}}}}')
    return path


# val_accuracy is a field of the zc format itself (read as the peer's accuracy, never as a proxy)
@pytest.mark.parametrize(
    "name", sorted(names.RESERVED_COLUMNS - {"val_accuracy"}) + ["acc_cifar10", "valid_x", "cost_y"]
)
def test_imported_proxy_may_not_be_a_reserved_column(tmp_path, name):
    path = _zc(tmp_path, {"id": 1, name: {"score": 1.0}})
    with pytest.raises(InputError, match=f"zc_nasbench201.json.*{name}.*reserved"):
        read_peer_file(path, "naslib-zc", "nb201", "cifar10")


@pytest.mark.parametrize("name", ["a.b", "<script>", "$\\frac{", "x" * (names.MAX_PROXY_NAME + 1), "1abc", ""])
def test_imported_proxy_names_follow_the_pattern(tmp_path, name):
    path = _zc(tmp_path, {"id": 1, name: {"score": 1.0}})
    with pytest.raises(InputError, match="zc_nasbench201.json"):
        read_peer_file(path, "naslib-zc", "nb201", "cifar10")


def test_name_length_bound():
    names.check_proxy_name("a" * names.MAX_PROXY_NAME)
    with pytest.raises(InputError, match="characters"):
        names.check_proxy_name("a" * (names.MAX_PROXY_NAME + 1))


@pytest.mark.parametrize("value", ["NaN", "Infinity", "-1", "1.5", "true", str(2**31), str(2**70), '"3"'])
def test_ids_are_integers_in_range_named_by_record_and_field(tmp_path, value):
    path = _zc(tmp_path, f'{{"id": {value}, "nwot": {{"score": 1.0}}}}')
    with pytest.raises(InputError) as e:
        read_peer_file(path, "naslib-zc", "nb201", "cifar10")
    assert "zc_nasbench201.json" in str(e.value) and "id" in str(e.value)


def test_id_bound():
    assert names.check_arch_id(names.MAX_ARCH_ID) == names.MAX_ARCH_ID
    with pytest.raises(InputError):
        names.check_arch_id(names.MAX_ARCH_ID + 1)


@pytest.mark.parametrize("value", ["1e999", "true", '"1"', "[1]", "9" * 41])
def test_scores_must_be_float64_numbers(tmp_path, value):
    path = _zc(tmp_path, f'{{"id": 1, "nwot": {{"score": {value}}}}}')
    with pytest.raises(InputError, match="zc_nasbench201.json"):
        read_peer_file(path, "naslib-zc", "nb201", "cifar10")


def test_nonfinite_scores_still_read_to_be_flagged(tmp_path):
    path = _zc(tmp_path, '{"id": 1, "nwot": {"score": NaN}, "snip": {"score": Infinity}}')
    table = read_peer_file(path, "naslib-zc", "nb201", "cifar10")
    assert np.isnan(table.scores["naswot"][0]) and np.isinf(table.scores["snip"][0])


def test_pickled_stream_with_huge_numbers_is_refused_by_record(tmp_path):
    path = tmp_path / "nb2.p"
    rec = {"i": 1, "arch": "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", "logmeasures": {"snip": 10**400}}
    path.write_bytes(pickle.dumps(rec, protocol=4))
    with pytest.raises(InputError, match="nb2.p: record 0 / snip"):
        read_peer_file(path, "zero-cost-nas", "nb201", "cifar10")
    rec = {"i": 2**80, "arch": rec["arch"], "logmeasures": {"snip": 1.0}}
    path.write_bytes(pickle.dumps(rec, protocol=4))
    with pytest.raises(IntrainError, match="nb2.p"):
        read_peer_file(path, "zero-cost-nas", "nb201", "cifar10")


def test_config_proxy_names_checked():
    from intrain.planning.configcheck import ConfigError, check_proxy_names

    check_proxy_names({"scoring": {"proxies": ["intrain", "mypkg.mod:MyProxy"]}})
    with pytest.raises(ConfigError, match="baselines.sets.zc.proxies\\[1\\].*reserved"):
        check_proxy_names({"baselines": {"sets": {"zc": {"proxies": ["snip", "arch_index"]}}}})


def test_plugin_registration_refuses_reserved_names():
    from intrain.proxies.base import Proxy, register

    class Evil(Proxy):
        name = "flags"

    with pytest.raises(InputError, match="reserved"):
        register(Evil)


def test_artifact_with_a_reserved_proxy_group_is_refused(tmp_path):
    from intrain.core.artifacts import ArtifactError, read_scores

    path = fake_artifact(tmp_path / "a.h5", ladder(3, np.random.default_rng(0)))
    with h5py.File(path, "a") as f:
        f["proxy"].move("intrain", "flags")  # would overwrite the flags column of read_scores
    path.write_bytes(sealed.seal(path.read_bytes()))
    with pytest.raises(ArtifactError, match="/proxy/flags.*reserved"):
        read_scores(path)


# one proxy stored twice in a record under the peer's spelling and intrain's: which value is meant
# cannot be told, so the record is refused, naming both fields


def test_pickled_record_with_one_proxy_under_two_spellings_is_refused(tmp_path):
    path = tmp_path / "nb2.p"
    arch = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"
    ok = {"i": 1, "arch": arch, "logmeasures": {"jacob_cov": 1.0, "snip": 2.0}}  # the peer's spelling alone
    twice = {"i": 2, "arch": arch.replace("none~2", "skip_connect~2"), "logmeasures": {"jacob_cov": 1.0, "jacov": 2.0}}
    path.write_bytes(pickle.dumps(ok, protocol=4))
    assert read_peer_file(path, "zero-cost-nas", "nb201", "cifar10").scores["jacov"].tolist() == [1.0]
    path.write_bytes(pickle.dumps(ok, protocol=4) + pickle.dumps(twice, protocol=4))
    with pytest.raises(InputError, match="nb2.p: record 1: holds both 'jacob_cov' and 'jacov'.*proxy 'jacov'"):
        read_peer_file(path, "zero-cost-nas", "nb201", "cifar10")


def test_zc_record_with_one_proxy_under_two_spellings_is_refused(tmp_path):
    path = _zc(tmp_path, {"id": 1, "nwot": {"score": 1.0}, "snip": {"score": 2.0}})
    assert read_peer_file(path, "naslib-zc", "nb201", "cifar10").scores["naswot"].tolist() == [1.0]
    path = _zc(tmp_path, {"id": 1, "nwot": {"score": 1.0}, "naswot": {"score": 2.0}})
    with pytest.raises(InputError, match=r"zc_nasbench201.json: cifar10 / \(4, 0, 3, 1, 4, 3\): holds both 'nwot'"):
        read_peer_file(path, "naslib-zc", "nb201", "cifar10")
