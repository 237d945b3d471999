"""nn.load against hostile and broken files: bombs, lying headers, odd names, every truncation;
nn.save's atomic write against symlinks, read-only directories and a full disk."""
import errno
import json
import os
import struct
import subprocess
import sys
import tempfile
import textwrap
import tracemalloc
import zipfile
import zlib

import numpy as np
import pytest

import nn
from nn import serialization

MiB = 1 << 20
GiB = 1 << 30


# ---- hand-made zip files (so every field can lie) -------------------------------------------------

def _npy_header(shape, descr="<f8"):
    """The bytes of a version 1.0 .npy header for `shape` (data not included)."""
    text = "{'descr': '%s', 'fortran_order': False, 'shape': %r, }" % (descr, tuple(shape))
    text += " " * (-(len(text) + 11) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(text)) + text.encode("latin1")


def _member(name, raw, method=zipfile.ZIP_STORED, file_size=None, crc=None):
    """One zip member: (name, stored bytes, crc, declared inflated size, method)."""
    if method == zipfile.ZIP_DEFLATED:
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        stored = c.compress(raw) + c.flush()
    else:
        stored = raw
    return (name, stored, zlib.crc32(raw) if crc is None else crc,
            len(raw) if file_size is None else file_size, method)


def _zip(members, count=None):
    """A zip archive of `members` written field by field; `count` overrides the end record's."""
    out, directory = bytearray(), bytearray()
    for name, stored, crc, size, method in members:
        encoded = name.encode()
        offset = len(out)
        out += struct.pack("<4s5H3L2H", b"PK\x03\x04", 20, 0, method, 0, 0x21, crc,
                           len(stored), size, len(encoded), 0) + encoded + stored
        directory += struct.pack("<4s6H3L5H2L", b"PK\x01\x02", 20, 20, 0, method, 0, 0x21, crc,
                                 len(stored), size, len(encoded), 0, 0, 0, 0, 0, offset) + encoded
    n = len(members) if count is None else count
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, n, n, len(directory), len(out), 0)
    return bytes(out + directory + end)


def _bomb_member(name, inflated):
    """A genuine deflate bomb: a .npy member of `inflated` bytes (zeros) stored in about
    inflated / 1000 bytes. Built from one repeated flushed block, so it costs no inflating."""
    header = _npy_header(((inflated - 128) // 8,))
    assert len(header) == 128
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = c.compress(header + bytes(MiB - 128)) + c.flush(zlib.Z_FULL_FLUSH)
    block = c.compress(bytes(MiB)) + c.flush(zlib.Z_FULL_FLUSH)
    assert c.compress(bytes(MiB)) + c.flush(zlib.Z_FULL_FLUSH) == block  # the block repeats
    blocks = inflated // MiB - 1
    stored = head + block * blocks + c.flush()
    crc = zlib.crc32(header + bytes(MiB - 128))
    for _ in range(blocks):
        crc = zlib.crc32(bytes(MiB), crc)
    return name, stored, crc, inflated, zipfile.ZIP_DEFLATED


def _load_measured(path, **kwargs):
    """(the exception nn.load raised, the peak bytes Python and NumPy allocated meanwhile)."""
    tracemalloc.start()
    try:
        with pytest.raises(ValueError) as info:
            nn.load(path, **kwargs)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return info.value, peak


def _write(tmp_path, data, name="evil.npz"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


# ---- decompression bombs -----------------------------------------------------------------------------

def test_bomb_inflating_to_2_gib_is_refused_before_inflating(tmp_path):
    path = _write(tmp_path, _zip([_bomb_member("w.npy", 2 * GiB)]))
    assert path.stat().st_size < 3 * MiB
    err, peak = _load_measured(path, max_bytes=GiB)
    assert "declare 2147483648 bytes once inflated, more than max_bytes=1073741824" in str(err)
    assert "max_bytes=..." in str(err)
    assert peak < 4 * MiB, peak  # the directory is read, never the 2 GiB


def test_members_summing_past_the_default_limit_are_refused(tmp_path):
    path = _write(tmp_path, _zip([_bomb_member(f"w{i}.npy", 2 * GiB) for i in range(3)]))
    err, peak = _load_measured(path)  # default 4 GiB; each member alone would fit
    assert "declare 6442450944 bytes" in str(err) and "max_bytes=4294967296" in str(err)
    assert peak < 8 * MiB, peak


def test_bomb_under_an_address_space_limit_names_the_cause(tmp_path):
    # The case of the issue: 2 MB declaring 2 GiB, loaded by a process limited to less memory
    # than that. With max_bytes the limit is said; without, the allocation failure is said,
    # before a byte is inflated (it used to read "corrupt or truncated file (MemoryError)").
    resource = pytest.importorskip("resource")
    path = _write(tmp_path, _zip([_bomb_member("w.npy", 2 * GiB)]))
    script = textwrap.dedent(f"""
        import resource, nn
        vm = int(open("/proc/self/statm").read().split()[0]) * resource.getpagesize()
        limit = vm + (1 << 30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        for kwargs in ({{"max_bytes": 1 << 30}}, {{}}):
            try:
                nn.load({str(path)!r}, **kwargs)
            except ValueError as e:
                print(e)
        # VmHWM is this process's own peak: ru_maxrss would also count the parent's pages
        # (the child is spawned by vfork, and Linux carries the high-water mark over exec).
        hwm = open("/proc/self/status").read().split("VmHWM:")[1].split()[0]
        print("peak_kb", hwm)
    """)
    if not os.path.exists("/proc/self/statm"):
        pytest.skip("needs /proc to set the limit")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         timeout=120, env={**os.environ, "OPENBLAS_NUM_THREADS": "1"})
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "more than max_bytes=1073741824" in lines[0]
    assert "needs 2147483520 bytes and this process could not allocate them" in lines[1]
    assert int(lines[2].split()[1]) < 1024 * 1024  # peak resident size under 1 GiB (in KiB)


def test_lying_size_in_the_header_cannot_inflate_more_than_it_declared(tmp_path):
    # The header declares 1 MiB (within the limit); the deflate stream holds 64 MiB.
    raw = _npy_header(((64 * MiB - 128) // 8,)) + bytes(64 * MiB - 128)
    name, stored, crc, _, method = _member("w.npy", raw, zipfile.ZIP_DEFLATED)
    path = _write(tmp_path, _zip([(name, stored, crc, MiB, method)]))
    err, peak = _load_measured(path)
    assert "declares shape (8388592,) of float64 (67108736 bytes) but holds 1048448" in str(err)
    # and with a header that agrees with the lie, the inflating stops at the declared size
    raw = _npy_header(((MiB - 128) // 8,)) + bytes(64 * MiB - 128)
    name, stored, crc, _, method = _member("w.npy", raw, zipfile.ZIP_DEFLATED)
    path = _write(tmp_path, _zip([(name, stored, crc, MiB, method)]))
    err, peak = _load_measured(path)
    assert "corrupt or truncated file (BadZipFile: Bad CRC-32" in str(err)
    assert peak < 4 * MiB, peak


def test_npy_header_declaring_more_than_its_member_is_refused_before_allocating(tmp_path):
    raw = _npy_header((1 << 40,))  # 8 TiB declared, no data
    path = _write(tmp_path, _zip([_member("w.npy", raw)]))
    err, peak = _load_measured(path)
    assert "declares shape (1099511627776,) of float64 (8796093022208 bytes) but holds 0" in str(err)
    assert peak < MiB


def test_huge_npy_header_is_refused(tmp_path):
    raw = b"\x93NUMPY\x02\x00" + struct.pack("<I", 1 << 31) + b"{" * 100
    path = _write(tmp_path, _zip([_member("w.npy", raw, file_size=len(raw))]))
    err, peak = _load_measured(path)
    assert "a .npy header of 2147483648 bytes" in str(err)


@pytest.mark.parametrize("method", [zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA])
def test_compression_without_bounded_inflating_is_refused(tmp_path, method):
    path = tmp_path / "m.npz"
    with zipfile.ZipFile(path, "w", compression=method) as zf:
        with zf.open("w.npy", "w") as f:
            np.lib.format.write_array(f, np.zeros(10))
    with pytest.raises(ValueError, match=f"compression method {method}; only stored and deflated"):
        nn.load(path)


def test_np_savez_compressed_files_still_load(tmp_path):
    path = tmp_path / "c.npz"
    np.savez_compressed(path, a=np.arange(1000.0), b=np.ones((3, 4), np.int8),
                        f=np.asfortranarray(np.arange(6).reshape(2, 3)))
    out = nn.load(path)
    np.testing.assert_array_equal(out["a"], np.arange(1000.0))
    assert out["b"].dtype == np.int8
    np.testing.assert_array_equal(out["f"], np.arange(6).reshape(2, 3))


# ---- member names and counts -----------------------------------------------------------------------

@pytest.mark.parametrize("name", ["../evil.npy", "/abs.npy", "a/b.npy", "a\\b.npy", "...npy",
                                  "x..y.npy", ".npy"])
def test_member_names_with_path_parts_are_refused(tmp_path, name):
    path = _write(tmp_path, _zip([_member(name, _npy_header((0,)))]))
    with pytest.raises(ValueError, match=r"holds a path separator or '\.\.'"):
        nn.load(path)


def test_duplicate_member_names_are_refused(tmp_path):
    a = _member("w.npy", _npy_header((1,)) + np.float64(1).tobytes())
    b = _member("w.npy", _npy_header((1,)) + np.float64(2).tobytes())
    path = _write(tmp_path, _zip([a, b]))
    with pytest.raises(ValueError, match="member 'w.npy' appears twice"):
        nn.load(path)


@pytest.mark.parametrize("count", [None, 1, 0])  # the end record's count may lie
def test_member_count_is_capped(tmp_path, monkeypatch, count):
    monkeypatch.setattr(serialization, "_MAX_MEMBERS", 8)
    members = [_member(f"w{i}.npy", _npy_header((0,))) for i in range(9)]
    path = _write(tmp_path, _zip(members, count=count))
    err, peak = _load_measured(path)
    assert "more than 8 members" in str(err)
    ok = _write(tmp_path, _zip(members[:8], count=count), "ok.npz")
    assert len(nn.load(ok)) == 8


def test_zip_directory_larger_than_the_file_is_refused(tmp_path):
    data = bytearray(_zip([_member("w.npy", _npy_header((0,)))]))
    struct.pack_into("<L", data, len(data) - 10, 10 ** 9)  # the end record's directory size
    with pytest.raises(ValueError, match="larger than the file"):
        nn.load(_write(tmp_path, bytes(data)))


def test_saved_names_never_hold_what_the_reader_refuses(tmp_path):
    sd = {"a/b": np.ones(1), "..": np.zeros(1), "c\\d": np.ones(2), "__chainrule__": np.ones(3)}
    for fmt in ("npz", "safetensors"):
        path = tmp_path / f"m.{fmt}"
        nn.save(sd, path)
        out = nn.load(path)
        assert list(out) == list(sd)
        for k in sd:
            np.testing.assert_array_equal(out[k], sd[k])
    nested = {"opt": {"state": {0: {"exp_avg": np.ones(2)}}}}
    nn.save(nested, tmp_path / "n.npz")
    names = zipfile.ZipFile(tmp_path / "n.npz").namelist()
    assert names == ["opt.state.0.exp_avg.npy", "__chainrule__.npy"]


# ---- safetensors -------------------------------------------------------------------------------------

def _st(header, body=b"", raw=None):
    text = raw if raw is not None else json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + body


SAFETENSORS_ATTACKS = {
    "not utf-8": (_st(None, raw=b'{"w\xff": 1}'), "not UTF-8"),
    "utf-16": (_st(None, raw='{"a": 1}'.encode("utf-16")), "not UTF-8"),
    "not json": (_st(None, raw=b"{nope"), "not valid JSON"),
    "NaN": (_st(None, raw=b'{"w": NaN}'), "holds NaN, which is not JSON"),
    "duplicate key": (_st(None, raw=b'{"w": {}, "w": {}}'), "a key appears twice"),
    "a list": (_st(None, raw=b"[1, 2]"), "not a JSON object"),
    "deep nesting": (_st(None, raw=b"[" * 100000), "not valid JSON|RecursionError"),
    "bad dtype": (_st({"w": {"dtype": "X9", "shape": [2], "data_offsets": [0, 8]}}, bytes(8)),
                  "malformed header entry"),
    "float shape": (_st({"w": {"dtype": "F32", "shape": [2.0], "data_offsets": [0, 8]}},
                        bytes(8)), "malformed header entry"),
    "bool shape": (_st({"w": {"dtype": "U8", "shape": [True], "data_offsets": [0, 1]}},
                       bytes(1)), "malformed header entry"),
    "extra field": (_st({"w": {"dtype": "U8", "shape": [1], "data_offsets": [0, 1], "x": 1}},
                        bytes(1)), "malformed header entry"),
    "negative shape": (_st({"w": {"dtype": "U8", "shape": [-1], "data_offsets": [0, 0]}}),
                       "invalid shape or offsets"),
    "reversed offsets": (_st({"w": {"dtype": "U8", "shape": [0], "data_offsets": [4, 0]}},
                             bytes(4)), "invalid shape or offsets"),
    "past the end": (_st({"w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}},
                         bytes(8)), "truncated"),
    "huge shape": (_st({"w": {"dtype": "F64", "shape": [1 << 62, 1 << 62],
                              "data_offsets": [0, 8]}}, bytes(8)), "do not hold shape"),
    "wrong count": (_st({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, bytes(8)),
                    "do not hold shape"),
    "overlap": (_st({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                     "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, bytes(12)),
                "overlaps"),
    "same region twice": (_st({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                               "b": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}},
                              bytes(8)), "overlaps"),
    "gap": (_st({"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}, bytes(8)),
            "4 bytes before the data of 'a' belong to no tensor"),
    "trailing bytes": (_st({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}},
                           bytes(8)), "bytes after the last tensor"),
    "header past the end": (struct.pack("<Q", 10 ** 12) + b"{}", "runs past the end"),
}


@pytest.mark.parametrize("kind", sorted(SAFETENSORS_ATTACKS))
def test_safetensors_attacks_are_refused(tmp_path, kind):
    data, message = SAFETENSORS_ATTACKS[kind]
    path = _write(tmp_path, data, "evil.safetensors")
    err, peak = _load_measured(path)
    assert str(err).startswith(f"nn.load: cannot load {str(path)!r}: ")
    assert __import__("re").search(message, str(err)), str(err)
    assert peak < 4 * MiB, peak


def test_safetensors_header_length_is_capped(tmp_path):
    path = tmp_path / "sparse.safetensors"
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", 150_000_000) + b"{")
        f.truncate(160_000_000)  # a sparse file: the length fits in it, but not in the cap
    err, peak = _load_measured(path)
    assert "header length 150000000 is more than the 100000000 bytes allowed" in str(err)
    assert peak < MiB


def test_safetensors_total_is_bounded_by_max_bytes(tmp_path):
    path = tmp_path / "m.safetensors"
    nn.save({"a": np.zeros(1000), "b": np.zeros(1000)}, path)
    err, peak = _load_measured(path, max_bytes=15999)
    assert "declare 16000 bytes, more than max_bytes=15999" in str(err)
    assert len(nn.load(path, max_bytes=16000)) == 2


def test_max_bytes_is_checked(tmp_path):
    with pytest.raises(ValueError, match="max_bytes must be a non-negative int"):
        nn.load(tmp_path / "x.npz", max_bytes=-1)


# ---- every truncation ----------------------------------------------------------------------------------

@pytest.mark.parametrize("fmt", ["npz", "safetensors"])
def test_every_truncation_raises_value_error(tmp_path, fmt):
    good = tmp_path / f"good.{fmt}"
    nn.save({"w": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.array([1.5]),
             "meta": {"step": 3}}, good)
    data = good.read_bytes()
    bad = tmp_path / f"bad.{fmt}"
    for cut in range(len(data)):
        bad.write_bytes(data[:cut])
        with pytest.raises(ValueError, match=r"nn\.load: cannot load"):
            nn.load(bad)
    assert nn.load(good)["meta"] == {"step": 3}


# ---- the atomic write ----------------------------------------------------------------------------------

def test_symlink_at_the_target_is_replaced_not_written_through(tmp_path):
    elsewhere = tmp_path / "elsewhere.npz"
    nn.save({"v": np.zeros(2)}, elsewhere)
    before = elsewhere.read_bytes()
    link = tmp_path / "model.npz"
    link.symlink_to(elsewhere)
    nn.save({"v": np.ones(2)}, link)
    assert not link.is_symlink()
    assert elsewhere.read_bytes() == before
    np.testing.assert_array_equal(nn.load(link)["v"], np.ones(2))


def test_read_only_directory_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "m.npz"
    nn.save({"v": np.zeros(3)}, path)
    if os.geteuid() == 0:  # root writes into read-only directories: make mkstemp refuse
        def refuse(*args, **kwargs):
            raise PermissionError(errno.EACCES, "Permission denied")
        monkeypatch.setattr(tempfile, "mkstemp", refuse)
    os.chmod(tmp_path, 0o555)
    try:
        with pytest.raises(PermissionError, match=r"nn\.save: cannot write .*m\.npz.* unchanged"):
            nn.save({"v": np.ones(3)}, path)
    finally:
        os.chmod(tmp_path, 0o755)
    monkeypatch.undo()
    np.testing.assert_array_equal(nn.load(path)["v"], np.zeros(3))
    assert os.listdir(tmp_path) == ["m.npz"]


@pytest.mark.parametrize("fmt", ["npz", "safetensors"])
@pytest.mark.parametrize("where", ["write", "fsync", "replace"])
def test_full_disk_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch, fmt, where):
    path = tmp_path / f"m.{fmt}"
    nn.save({"v": np.zeros(3)}, path)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    if where == "write":  # every file write of the save fails, as on a full disk
        real_fdopen = os.fdopen

        def fdopen(*args, **kwargs):
            f = real_fdopen(*args, **kwargs)
            class Full:
                def __getattr__(self, name):
                    return getattr(f, name)
                def __enter__(self):
                    return self
                def __exit__(self, *exc):
                    f.close()
                def write(self, data):
                    full()
                def tell(self):
                    return f.tell()
                def seekable(self):
                    return f.seekable()
            return Full()
        monkeypatch.setattr(os, "fdopen", fdopen)
    else:
        monkeypatch.setattr(os, where, full)
    with pytest.raises(OSError, match=r"nn\.save: cannot write .*No space left on device") as info:
        nn.save({"v": np.ones(3)}, path)
    assert info.value.errno == errno.ENOSPC
    monkeypatch.undo()
    np.testing.assert_array_equal(nn.load(path)["v"], np.zeros(3))
    assert os.listdir(tmp_path) == [f"m.{fmt}"]
