"""Download from a mirror directory and over real HTTP (127.0.0.1): checksum, errors, no partials."""

import http.server
import os
import threading
from dataclasses import replace
from functools import partial

import pytest

from intrain.core.download import DownloadError, fetch, get_file, sha256_of, source_for


@pytest.fixture(scope="module")
def entry():
    return get_file("nb201_test")


@pytest.fixture
def http_mirror(mirror):
    """A real HTTP server on loopback serving the mirror; /truncated sends a short body."""

    class Handler(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            if self.path.startswith("/truncated/"):
                self.send_response(200)
                self.send_header("Content-Length", "1000000")
                self.end_headers()
                self.wfile.write(b"CIFAR10TestAccuracy200Epochs,partial")
                self.wfile.flush()
                self.connection.shutdown(2)
                return
            if self.path.startswith("/slow/"):
                threading.Event().wait(3)
            super().do_GET()

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(Handler, directory=str(mirror)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_mirror_directory_copy_is_verified(tmp_path, mirror, entry):
    out = fetch(entry, tmp_path / "nb201.csv", mirror=str(mirror))
    assert sha256_of(out) == entry.sha256
    assert os.listdir(tmp_path) == ["nb201.csv"]


def test_env_var_selects_the_mirror(monkeypatch, mirror, entry):
    monkeypatch.setenv("INTRAIN_MIRROR", str(mirror))
    assert source_for(entry, None) == str(mirror / entry.mirror_path)
    monkeypatch.delenv("INTRAIN_MIRROR")
    assert source_for(entry, None) == entry.url


def test_http_download(tmp_path, http_mirror, entry):
    out = fetch(entry, tmp_path / "nb201.csv", mirror=http_mirror)
    assert sha256_of(out) == entry.sha256


def test_checksum_mismatch_leaves_no_file(tmp_path, mirror, entry):
    wrong = replace(entry, sha256="0" * 64)
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        fetch(wrong, tmp_path / "nb201.csv", mirror=str(mirror))
    assert os.listdir(tmp_path) == []


def test_http_404_leaves_no_file(tmp_path, http_mirror, entry):
    with pytest.raises(DownloadError, match="HTTP 404"):
        fetch(replace(entry, mirror_path="nb201/missing.csv"), tmp_path / "x.csv", mirror=http_mirror)
    assert os.listdir(tmp_path) == []


def test_truncated_body_leaves_no_file(tmp_path, http_mirror, entry):
    with pytest.raises(DownloadError, match="nb201_test"):
        fetch(entry, tmp_path / "x.csv", mirror=http_mirror + "/truncated")
    assert os.listdir(tmp_path) == []


def test_timeout_leaves_no_file(tmp_path, http_mirror, entry):
    with pytest.raises(DownloadError, match="cannot read|failed after"):
        fetch(entry, tmp_path / "x.csv", mirror=http_mirror + "/slow", timeout=0.5)
    assert os.listdir(tmp_path) == []


def test_missing_mirror_file_is_named(tmp_path, entry):
    with pytest.raises(DownloadError, match="does not exist"):
        fetch(entry, tmp_path / "x.csv", mirror=str(tmp_path / "nowhere"))
    assert not (tmp_path / "x.csv").exists()


def test_existing_verified_file_is_kept(tmp_path, mirror, entry):
    out = fetch(entry, tmp_path / "nb201.csv", mirror=str(mirror))
    mtime = out.stat().st_mtime_ns
    fetch(entry, out, mirror="http://127.0.0.1:9/unreachable")  # not contacted
    assert out.stat().st_mtime_ns == mtime


def test_corrupt_existing_file_is_replaced(tmp_path, mirror, entry):
    out = tmp_path / "nb201.csv"
    out.write_text("garbage")
    fetch(entry, out, mirror=str(mirror))
    assert sha256_of(out) == entry.sha256
