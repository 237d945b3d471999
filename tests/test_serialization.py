"""nn.save / nn.load: round trips (npz and safetensors), file layout, corruption, atomicity."""
import json
import os
import signal
import struct
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest

import autograd
import nn
from autograd import Tensor

FORMATS = ["npz", "safetensors"]


def _state():
    return {"fc.weight": np.arange(6, dtype=np.float32).reshape(2, 3),
            "fc.bias": np.array([0.5, -1.5], np.float64),
            "bn.num_batches_tracked": np.array(7, np.int64),
            "mask": np.array([True, False]),
            "empty": np.zeros((0, 4), np.float32)}


def _assert_same(a, b):
    assert type(a) is type(b), (type(a), type(b))
    if isinstance(a, dict):
        assert list(a) == list(b)
        for k in a:
            _assert_same(a[k], b[k])
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _assert_same(x, y)
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and a.shape == b.shape
        np.testing.assert_array_equal(a, b)
    elif isinstance(a, Tensor):
        _assert_same(a.data, b.data)
    elif isinstance(a, float) and np.isnan(a):
        assert np.isnan(b)
    else:
        assert a == b


@pytest.mark.parametrize("fmt", FORMATS)
def test_state_dict_round_trip_keeps_keys_order_dtypes_shapes(tmp_path, fmt):
    path = tmp_path / f"model.{fmt}"
    sd = _state()
    nn.save(sd, path)
    _assert_same(sd, nn.load(path))


@pytest.mark.parametrize("fmt", FORMATS)
def test_nested_structure_round_trip(tmp_path, fmt):
    obj = {
        "state": {0: {"step": 3, "exp_avg": np.ones(3), "v": Tensor(np.zeros((2, 2)))},
                  1: {"momentum_buffer": None}},
        "param_groups": [{"lr": 1e-3, "betas": (0.9, 0.999), "params": [0, 1],
                          "nesterov": False, "name": "main", "eps": float("nan")}],
        "scalar": np.float32(2.5),
        "epoch": 12,
        "flags": [True, None, "x", -4.25],
    }
    path = tmp_path / f"opt.{fmt}"
    nn.save(obj, path)
    loaded = nn.load(path)
    _assert_same(obj, loaded)
    assert isinstance(loaded["scalar"], np.float32)


def test_model_state_dict_save_load_restores_outputs(tmp_path):
    autograd.manual_seed(0)
    a = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    a(autograd.randn(8, 3))
    nn.save(a.state_dict(), tmp_path / "m.npz")
    b = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.ReLU(), nn.Linear(4, 2))
    b.load_state_dict(nn.load(tmp_path / "m.npz"))
    a.eval(), b.eval()
    x = autograd.randn(5, 3)
    np.testing.assert_array_equal(a(x).data, b(x).data)


def test_npz_is_readable_by_numpy_without_pickle(tmp_path):
    path = tmp_path / "m.npz"
    nn.save(_state(), path)
    with np.load(path, allow_pickle=False) as z:
        assert set(z.files) == set(_state()) | {"__chainrule__"}
        np.testing.assert_array_equal(z["fc.weight"], _state()["fc.weight"])
        meta = json.loads(str(z["__chainrule__"]))
    assert meta["format"] == "chainrule-checkpoint"


def test_plain_numpy_savez_file_loads_as_dict(tmp_path):
    path = tmp_path / "plain.npz"
    np.savez(path, a=np.ones(2), b=np.arange(3))
    out = nn.load(path)
    assert sorted(out) == ["a", "b"]
    np.testing.assert_array_equal(out["b"], np.arange(3))


def test_safetensors_layout_follows_the_spec(tmp_path):
    path = tmp_path / "m.safetensors"
    sd = _state()
    nn.save(sd, path)
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    assert (8 + n) % 8 == 0  # padded so the data is aligned
    header = json.loads(raw[8:8 + n])
    assert header["fc.weight"] == {"dtype": "F32", "shape": [2, 3], "data_offsets": [0, 24]}
    assert header["fc.bias"]["dtype"] == "F64" and header["mask"]["dtype"] == "BOOL"
    assert header["bn.num_batches_tracked"]["shape"] == []
    body = raw[8 + n:]
    start, stop = header["fc.bias"]["data_offsets"]
    np.testing.assert_array_equal(np.frombuffer(body[start:stop], "<f8"), sd["fc.bias"])
    assert "structure" not in header["__metadata__"]  # a flat state dict stays plain


def test_foreign_safetensors_file_without_metadata_loads(tmp_path):
    header = json.dumps({"w": {"dtype": "I32", "shape": [2], "data_offsets": [0, 8]}}).encode()
    path = tmp_path / "foreign.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + np.array([3, -4], "<i4").tobytes())
    out = nn.load(path)
    np.testing.assert_array_equal(out["w"], [3, -4])


def test_unsupported_objects_are_rejected_before_writing(tmp_path):
    path = tmp_path / "x.npz"
    with pytest.raises(TypeError, match="cannot save set"):
        nn.save({"a": {1, 2}}, path)
    with pytest.raises(TypeError, match=r"cannot save Linear at the top level \(save its "
                                        r"state instead: nn.save\(obj.state_dict\(\), path\)\)"):
        nn.save(nn.Linear(1, 1), path)
    with pytest.raises(TypeError, match="object arrays"):
        nn.save({"a": np.array([{}, 1], dtype=object)}, path)
    with pytest.raises(TypeError, match="safetensors cannot hold dtype complex128"):
        nn.save({"a": np.ones(2, complex)}, tmp_path / "x.safetensors")
    assert os.listdir(tmp_path) == []  # no temp files left behind


# ---- corrupt files -----------------------------------------------------------------------------

def _corruptions(good, fmt):
    # npz: a byte inside the first member's data (the CRC catches it); safetensors: a byte of
    # the JSON header (its data bytes carry no checksum, so a flip there is undetectable)
    at = 200 if fmt == "npz" else 60
    return {
        "empty": b"",
        "garbage": b"hello, this is not a checkpoint at all",
        "truncated": good[: len(good) // 2],
        "truncated_tail": good[:-10],
        "flipped": good[:at] + bytes([good[at] ^ 0xFF]) + good[at + 1:],
    }


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("kind", ["empty", "garbage", "truncated", "truncated_tail", "flipped"])
def test_corrupt_files_raise_value_error_naming_the_file(tmp_path, fmt, kind):
    good_path = tmp_path / f"good.{fmt}"
    nn.save(_state(), good_path)
    bad = tmp_path / f"bad.{fmt}"
    bad.write_bytes(_corruptions(good_path.read_bytes(), fmt)[kind])
    with pytest.raises(ValueError, match=r"nn\.load: cannot load .*bad\." + fmt):
        nn.load(bad)


def test_npz_with_object_array_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "evil.npz"
    np.savez(path, ok=np.ones(2), evil=np.array([{"a": 1}], dtype=object))
    with pytest.raises(ValueError, match=r"evil\.npz.*'evil' holds an object array"):
        nn.load(path)


def test_safetensors_header_lies_are_caught(tmp_path):
    def write(header, body):
        text = json.dumps(header).encode()
        path = tmp_path / "bad.safetensors"
        path.write_bytes(struct.pack("<Q", len(text)) + text + body)
        return path

    with pytest.raises(ValueError, match="do not hold shape"):
        nn.load(write({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, bytes(8)))
    with pytest.raises(ValueError, match="truncated"):
        nn.load(write({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}, bytes(8)))
    with pytest.raises(ValueError, match="malformed header entry"):
        nn.load(write({"w": {"dtype": "X9", "shape": [2], "data_offsets": [0, 8]}}, bytes(8)))
    with pytest.raises(ValueError, match="bytes after the last tensor"):
        nn.load(write({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}}, bytes(8)))
    path = tmp_path / "huge.safetensors"
    path.write_bytes(struct.pack("<Q", 10 ** 12) + b"{}")
    with pytest.raises(ValueError, match="runs past the end"):
        nn.load(path)


def test_missing_file_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError):
        nn.load(tmp_path / "nope.npz")


def test_npz_with_bad_structure_is_value_error(tmp_path):
    path = tmp_path / "m.npz"
    with zipfile.ZipFile(path, "w") as zf:
        with zf.open("__chainrule__.npy", "w") as f:
            meta = {"format": "chainrule-checkpoint", "version": 1,
                    "structure": {"array": "missing"}}
            np.lib.format.write_array(f, np.array(json.dumps(meta)))
    with pytest.raises(ValueError, match="missing array 'missing'"):
        nn.load(path)


# ---- atomic writes ----------------------------------------------------------------------------------

def test_saved_file_has_ordinary_permissions(tmp_path):
    path = tmp_path / "m.npz"
    nn.save({"a": np.ones(1)}, path)
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask


def test_failed_write_leaves_previous_file_and_no_temp(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    nn.save({"v": np.zeros(3)}, path)

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", boom)
    with pytest.raises(OSError, match="disk full"):
        nn.save({"v": np.ones(3)}, path)
    monkeypatch.undo()
    np.testing.assert_array_equal(nn.load(path)["v"], np.zeros(3))
    assert os.listdir(tmp_path) == ["m.npz"]


def _kill_writer(script, ready, after):
    """Run the writer `script`; once it creates `ready`, wait `after` seconds and SIGKILL it."""
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.time() + 60
        while not ready.exists():
            assert proc.poll() is None, "the writer died on its own"
            assert time.time() < deadline, "the writer never got going"
            time.sleep(0.01)
        time.sleep(after)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize("fmt", FORMATS)
def test_kill_during_repeated_writes_leaves_a_complete_file(tmp_path, fmt):
    path = tmp_path / f"ckpt.{fmt}"
    ready = tmp_path / "ready"
    script = textwrap.dedent(f"""
        import numpy as np, nn
        big = np.zeros((512, 1024))  # 4 MB: a write takes long enough to be interrupted
        i = 0
        while True:
            big[...] = i
            nn.save({{"step": np.array(i), "w": big}}, {str(path)!r})
            if i == 2:
                open({str(ready)!r}, "w").close()
            i += 1
    """)
    _kill_writer(script, ready, after=0.15)  # very likely in the middle of a write
    out = nn.load(path)
    step = int(out["step"])
    assert step >= 2
    assert (out["w"] == step).all() and out["w"].shape == (512, 1024)


def test_repeated_kills_at_random_moments_never_leave_a_broken_file(tmp_path):
    # Extends the test above (reliability, issue 7): six writers in a row, each killed with
    # SIGKILL at a random moment of its write cycle, alternating formats and a nested
    # checkpoint-like structure; after every kill the file loads and is self-consistent.
    rng = np.random.default_rng(7)
    for round_, fmt in enumerate(FORMATS * 3):
        path = tmp_path / f"run.{fmt}"
        ready = tmp_path / f"ready{round_}"
        script = textwrap.dedent(f"""
            import numpy as np, nn
            w = np.zeros((256, 512), np.float32)  # 0.5 MB
            i = {round_ * 1000}
            while True:
                w[...] = i
                nn.save({{"model": {{"w": w, "b": np.full(3, i)}}, "step": i,
                          "history": [float(i)] * 4}}, {str(path)!r})
                if i == {round_ * 1000 + 1}:
                    open({str(ready)!r}, "w").close()
                i += 1
        """)
        _kill_writer(script, ready, after=float(rng.uniform(0.0, 0.3)))
        out = nn.load(path)
        step = out["step"]
        assert step >= round_ * 1000 + 1
        assert (out["model"]["w"] == step).all() and out["model"]["w"].shape == (256, 512)
        assert out["model"]["b"].tolist() == [step] * 3 and out["history"] == [float(step)] * 4
