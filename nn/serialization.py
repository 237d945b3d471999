"""nn.save / nn.load: state dicts and nested structures in .npz or .safetensors, never pickle.

Layout of an .npz file (a zip of .npy members, readable by `np.load(path)`):
  * one member per array, named by its path in the structure ("layers.0.weight" for a flat
    state dict; "state/0/exp_avg" inside an optimizer state);
  * `__chainrule__`: a 0-d unicode array holding JSON that rebuilds the structure (dicts
    with any str/int/float/bool/None keys, lists, tuples, numbers, strings, None, booleans)
    with references to the array members.
A .safetensors file holds the same arrays (raw little-endian bytes after an 8-byte header
length and a JSON header); the structure JSON goes into its "__metadata__".

Writes are atomic: a temporary file in the same directory is written, fsynced and then
renamed over the target with os.replace, so a crash leaves the previous file intact.

>>> import tempfile, os, numpy as np
>>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
>>> save({"w": np.ones(2), "meta": {"step": 3, "name": "mlp"}}, path)
>>> load(path)["meta"]
{'step': 3, 'name': 'mlp'}
"""
import io
import json
import math
import os
import re
import struct
import tempfile
import zipfile
from collections import OrderedDict

import numpy as np

from autograd import Tensor, as_tensor

__all__ = ["save", "load"]

_META = "__chainrule__"
_FORMAT = "chainrule-checkpoint"
_VERSION = 1

# What a file may make load() allocate, checked before anything is read.
MAX_BYTES = 4 << 30           # default max_bytes: the arrays' total declared size
_MAX_MEMBERS = 65536          # arrays in one file
_MAX_DIRECTORY = 64 << 20     # bytes of a zip central directory
_MAX_HEADER = 100_000_000     # bytes of a safetensors JSON header (the reference reader's cap)
_MAX_NPY_HEADER = 65536       # bytes of one .npy member's header
_CHUNK = 1 << 20              # bytes read at a time: a lying size never gets ahead of the data


# ---- the structure <-> (JSON tree, arrays) -------------------------------------------------

def _encode(obj, path, arrays, where):
    """A JSON-able tree for obj; arrays are moved into `arrays` and referenced by name."""
    if obj is None or isinstance(obj, (bool, str)):
        return obj
    if isinstance(obj, (int, float)) and not isinstance(obj, bool):
        return obj if type(obj) in (int, float) else (int(obj) if isinstance(obj, int)
                                                      else float(obj))
    if isinstance(obj, Tensor):
        return {"tensor": _add_array(obj.data, path, arrays, where)}
    if isinstance(obj, np.ndarray):
        return {"array": _add_array(obj, path, arrays, where)}
    if isinstance(obj, np.generic):
        return {"scalar": _add_array(np.asarray(obj), path, arrays, where)}
    if isinstance(obj, dict):
        items = []
        for k, v in obj.items():
            if not (k is None or isinstance(k, (str, int, float, bool))):
                raise TypeError(f"nn.save: dict key {k!r} at {where(path)} has type "
                                f"{type(k).__name__}; keys must be str, int, float, bool or None")
            items.append([k, _encode(v, path + (k,), arrays, where)])
        return {"dict": items}
    if isinstance(obj, (list, tuple)):
        tag = "list" if isinstance(obj, list) else "tuple"
        return {tag: [_encode(v, path + (i,), arrays, where) for i, v in enumerate(obj)]}
    hint = ""
    if hasattr(obj, "state_dict"):
        hint = " (save its state instead: nn.save(obj.state_dict(), path))"
    raise TypeError(f"nn.save: cannot save {type(obj).__name__} at {where(path)}{hint}; "
                    "supported: arrays, Tensors, dicts, lists, tuples, numbers, strings, "
                    "booleans, None")


def _safe_name(name):
    """`name` with what a reader refuses (path separators, '..', NUL) replaced by '_'."""
    name = re.sub(r"[/\\\x00]", "_", name)
    while ".." in name:
        name = name.replace("..", "._")
    return name or "_"


def _add_array(array, path, arrays, where):
    if array.dtype.kind not in "biufc":
        raise TypeError(f"nn.save: array at {where(path)} has dtype {array.dtype}; only numeric "
                        "and boolean arrays can be saved (never object arrays)")
    base = _safe_name(".".join(str(p) for p in path) or "root")
    name, i = base, 1
    while name in arrays or name == _META:
        name = f"{base}#{i}"
        i += 1
    arrays[name] = array
    return name


def _decode(node, arrays, fail):
    if node is None or isinstance(node, (bool, str, int, float)):
        return node
    if isinstance(node, dict) and len(node) == 1:
        (tag, value), = node.items()
        if tag in ("array", "tensor", "scalar"):
            if not isinstance(value, str) or value not in arrays:
                fail(f"the structure refers to a missing array {value!r}")
            array = arrays[value]
            if tag == "tensor":
                return as_tensor(array)
            return array[()] if tag == "scalar" else array
        if tag == "dict" and isinstance(value, list):
            out = {}
            for item in value:
                if not (isinstance(item, list) and len(item) == 2):
                    fail("a malformed dict entry in the structure")
                out[item[0]] = _decode(item[1], arrays, fail)
            return out
        if tag in ("list", "tuple") and isinstance(value, list):
            items = [_decode(v, arrays, fail) for v in value]
            return items if tag == "list" else tuple(items)
    fail(f"an unknown node in the structure: {str(node)[:80]}")


def _is_flat_state(obj, tensors=True):
    """A dict of str -> ndarray (or Tensor, a state_dict()): stored without nesting, readable
    by any npz/safetensors tool."""
    kinds = (np.ndarray, Tensor) if tensors else np.ndarray
    return isinstance(obj, dict) and all(
        isinstance(k, str) and isinstance(v, kinds) and _safe_name(k) == k != _META
        for k, v in obj.items())


def _flatten(obj):
    """(arrays by name, JSON structure) for any supported object."""
    arrays = OrderedDict()

    def where(path):
        return "the top level" if not path else "key path " + "/".join(map(repr, path))

    if _is_flat_state(obj):
        for k, v in obj.items():
            if v.dtype.kind not in "biufc":
                raise TypeError(f"nn.save: array '{k}' has dtype {v.dtype}; only numeric and "
                                "boolean arrays can be saved (never object arrays)")
        structure = {"dict": [[k, {"tensor" if isinstance(v, Tensor) else "array": k}]
                              for k, v in obj.items()]}
        arrays.update((k, v.data if isinstance(v, Tensor) else v) for k, v in obj.items())
        return arrays, structure
    return arrays, _encode(obj, (), arrays, where)


# ---- atomic write -------------------------------------------------------------------------------

def _atomic_write(path, write):
    """Call write(fileobj) on a temp file next to `path`, fsync it, then os.replace it into place.

    A symlink at `path` is replaced (never written through); on any error (read-only
    directory, disk full) the file at `path` is unchanged and the temp file is removed.
    """
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    try:
        fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".",
                                   suffix=".tmp")
    except OSError as e:
        raise _save_error(e, path) from e
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes files private; a saved model need not be
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(e, OSError):
            raise _save_error(e, path) from e
        raise
    try:  # make the rename itself durable (not possible on every platform)
        dir_fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dir_fd)
    except OSError:
        pass
    finally:
        os.close(dir_fd)


def _save_error(error, path):
    """The OSError `error` (same type and errno), its message naming the file and the outcome."""
    why = error.strerror or str(error)
    message = f"nn.save: cannot write {path!r} ({why}); the file there, if any, is unchanged"
    try:
        return type(error)(error.errno, message) if error.errno else type(error)(message)
    except TypeError:  # an OSError subclass with another constructor
        return OSError(error.errno, message)


# ---- npz -----------------------------------------------------------------------------------------

def _write_npz(f, arrays, structure):
    meta = json.dumps({"format": _FORMAT, "version": _VERSION, "structure": structure})
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, array in list(arrays.items()) + [(_META, np.array(meta))]:
            with zf.open(name + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


def _zip_member_count(f, size, fail):
    """Entries in the zip's central directory, counted by walking it (not taken from the end
    record, which a hostile file can set to anything), before zipfile builds one object each."""
    tail_len = min(size, 22 + 65535)  # the end record, after a comment of up to 64 KiB
    f.seek(size - tail_len)
    tail = f.read(tail_len)
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or tail_len - at < 22:
        fail("corrupt or truncated file (no zip end-of-archive record)")
    end = size - tail_len + at  # where the central directory stops
    cd_size = struct.unpack_from("<L", tail, at + 12)[0]
    if end >= 76 and at >= 20 and tail[at - 20:at - 16] == b"PK\x06\x07":  # zip64
        f.seek(end - 76)
        record = f.read(56)
        if record[:4] != b"PK\x06\x06":
            fail("a damaged zip64 end record")
        end, cd_size = end - 76, struct.unpack_from("<Q", record, 40)[0]
    if cd_size > end:
        fail(f"the zip directory ({cd_size} bytes) is larger than the file: truncated?")
    if cd_size > _MAX_DIRECTORY:
        fail(f"the zip directory takes {cd_size} bytes (more than {_MAX_DIRECTORY}): refused")
    f.seek(end - cd_size)
    directory = f.read(cd_size)
    count = pos = 0
    while pos < cd_size:
        if directory[pos:pos + 4] != b"PK\x01\x02" or pos + 46 > cd_size:
            fail("a damaged zip directory")
        pos += 46 + sum(struct.unpack_from("<3H", directory, pos + 28))
        count += 1
        if count > _MAX_MEMBERS:
            fail(f"more than {_MAX_MEMBERS} members: refused")
    return count


def _read_npz(f, size, max_bytes, fail):
    _zip_member_count(f, size, fail)
    f.seek(0)
    arrays = OrderedDict()
    with zipfile.ZipFile(f) as zf:
        infos = zf.infolist()
        seen = set()
        for info in infos:
            name = info.filename
            stem = name[:-4]
            if "/" in name or "\\" in name or ".." in stem or stem in ("", "."):
                fail(f"member name {name!r} holds a path separator or '..' (refused: the "
                     "members of an array file have plain names)")
            if name in seen:
                fail(f"member {name!r} appears twice")
            seen.add(name)
            if not name.endswith(".npy"):
                fail(f"unexpected member {name!r} (an .npz holds only .npy files)")
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                fail(f"member {name!r} uses zip compression method {info.compress_type}; only "
                     "stored and deflated members (np.savez, np.savez_compressed) are read")
        declared = sum(info.file_size for info in infos)
        if declared > max_bytes:
            fail(f"its {len(infos)} members declare {declared} bytes once inflated, more than "
                 f"max_bytes={max_bytes} (a decompression bomb, or a file larger than allowed: "
                 "nn.load(path, max_bytes=...) raises the limit)")
        for info in infos:
            arrays[info.filename[:-4]] = _read_npy_member(zf, info, fail)
    return arrays


def _read_npy_member(zf, info, fail):
    """The array in one .npy member, its header checked against the member's declared size
    before anything is allocated, its data read in bounded chunks."""
    name = info.filename[:-4]
    with zf.open(info) as member:
        prefix = member.read(8)
        if len(prefix) < 8 or prefix[:6] != b"\x93NUMPY":
            fail(f"member {name!r} is not a .npy array")
        if prefix[6] not in (1, 2):
            fail(f"member {name!r} has .npy format version {prefix[6]}.{prefix[7]} "
                 "(read: 1.x and 2.x)")
        length_format = "<H" if prefix[6] == 1 else "<I"
        length_bytes = member.read(struct.calcsize(length_format))
        if len(length_bytes) < struct.calcsize(length_format):
            fail(f"member {name!r} ends inside its .npy header")
        (header_length,) = struct.unpack(length_format, length_bytes)
        if header_length > _MAX_NPY_HEADER:
            fail(f"member {name!r} has a .npy header of {header_length} bytes (more than "
                 f"{_MAX_NPY_HEADER})")
        header = member.read(header_length)
        read_header = (np.lib.format.read_array_header_1_0 if prefix[6] == 1
                       else np.lib.format.read_array_header_2_0)
        shape, fortran_order, dtype = read_header(io.BytesIO(length_bytes + header))
        if dtype.hasobject:
            fail(f"member {name!r} holds an object array (pickled Python objects), which is "
                 "never loaded")
        if dtype.fields is not None or dtype.kind not in "biufcUS":
            fail(f"member {name!r} has dtype {dtype}; only numeric, boolean and string "
                 "arrays are read")
        nbytes = math.prod(shape) * dtype.itemsize
        held = info.file_size - 8 - len(length_bytes) - header_length
        if nbytes != held:
            fail(f"member {name!r} declares shape {shape} of {dtype} ({nbytes} bytes) but holds "
                 f"{held} data bytes")
        array = _empty(shape[::-1] if fortran_order else shape, dtype, f"member {name!r}", fail)
        _read_into(member, array, f"member {name!r}", fail)
        if member.read(1):  # reading to the end also checks the member's CRC
            fail(f"member {name!r} holds more bytes than its header declares")
    return array.T if fortran_order else array


def _empty(shape, dtype, what, fail):
    try:
        return np.empty(shape, dtype)
    except MemoryError:
        fail(f"{what} needs {math.prod(shape) * dtype.itemsize} bytes and this process could "
             "not allocate them")


def _read_into(f, array, what, fail):
    """Fill the C-contiguous `array` from f, _CHUNK bytes at a time; fail if f ends early."""
    buffer = memoryview(array.reshape(-1).view(np.uint8))
    done = 0
    while done < len(buffer):
        n = f.readinto(buffer[done:done + _CHUNK])
        if not n:
            fail(f"{what} ends after {done} of its {len(buffer)} bytes: truncated?")
        done += n


# ---- safetensors -----------------------------------------------------------------------------------

_ST_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "I64": "<i8", "I32": "<i4",
              "I16": "<i2", "I8": "i1", "U64": "<u8", "U32": "<u4", "U16": "<u2", "U8": "u1",
              "BOOL": "?"}
_ST_NAMES = {np.dtype(v): k for k, v in _ST_DTYPES.items()}


def _write_safetensors(f, arrays, structure, flat):
    header, offset, blobs = {}, 0, []
    for name, array in arrays.items():
        dtype = array.dtype.newbyteorder("<") if array.dtype.byteorder == ">" else array.dtype
        code = _ST_NAMES.get(np.dtype(dtype.str))
        if code is None:
            raise TypeError(f"nn.save: safetensors cannot hold dtype {array.dtype} (array "
                            f"{name!r}); supported: {sorted(_ST_DTYPES)}")
        blob = np.ascontiguousarray(array, dtype=np.dtype(_ST_DTYPES[code])).tobytes()
        header[name] = {"dtype": code, "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    meta = {"format": _FORMAT}
    if not flat:
        meta["structure"] = json.dumps(structure)
    header["__metadata__"] = meta
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)  # pad so the data starts 8-byte aligned
    f.write(struct.pack("<Q", len(text)))
    f.write(text)
    for blob in blobs:
        f.write(blob)


def _json_object(pairs):
    keys = [k for k, _ in pairs]
    if len(set(keys)) != len(keys):
        raise _LoadError(f"a key appears twice in the safetensors header: "
                         f"{sorted(k for k in set(keys) if keys.count(k) > 1)[:3]}")
    return dict(pairs)


def _json_constant(name):
    raise _LoadError(f"the safetensors header holds {name}, which is not JSON")


def _read_safetensors(f, size, max_bytes, fail):
    if size < 8:
        fail(f"too short for a safetensors file ({size} bytes)")
    f.seek(0)
    (n,) = struct.unpack("<Q", f.read(8))
    if n > size - 8:
        fail(f"header length {n} runs past the end of the file ({size} bytes): truncated?")
    if n > _MAX_HEADER:
        fail(f"header length {n} is more than the {_MAX_HEADER} bytes allowed")
    try:
        text = f.read(n).decode("utf-8")
    except UnicodeDecodeError as e:
        fail(f"the safetensors header is not UTF-8 ({e})")
    try:
        header = json.loads(text, object_pairs_hook=_json_object, parse_constant=_json_constant)
    except _LoadError as e:
        fail(str(e))
    except ValueError as e:
        fail(f"the safetensors header is not valid JSON ({e})")
    if not isinstance(header, dict):
        fail("the safetensors header is not a JSON object")
    body_start, body_len = 8 + n, size - 8 - n
    meta = header.pop("__metadata__", None) or {}
    entries = []
    for name, entry in header.items():
        if not (isinstance(entry, dict) and set(entry) == {"dtype", "shape", "data_offsets"}
                and isinstance(entry["dtype"], str) and entry["dtype"] in _ST_DTYPES
                and isinstance(entry["shape"], list) and isinstance(entry["data_offsets"], list)
                and len(entry["data_offsets"]) == 2
                and all(type(v) is int for v in entry["shape"] + entry["data_offsets"])):
            fail(f"malformed header entry for {name!r}: {str(entry)[:100]}")
        dtype = np.dtype(_ST_DTYPES[entry["dtype"]])
        shape = tuple(entry["shape"])
        begin, stop = entry["data_offsets"]
        if any(s < 0 for s in shape) or not 0 <= begin <= stop:
            fail(f"invalid shape or offsets for {name!r}: {entry}")
        if stop > body_len:
            fail(f"data of {name!r} ends at byte {stop} but the file holds {body_len} data "
                 "bytes: truncated?")
        if stop - begin != math.prod(shape) * dtype.itemsize:
            fail(f"{name!r}: {stop - begin} bytes do not hold shape {shape} of {entry['dtype']}")
        entries.append((begin, stop, name, dtype, shape))
    declared = sum(stop - begin for begin, stop, *_ in entries)
    if declared > max_bytes:
        fail(f"its tensors declare {declared} bytes, more than max_bytes={max_bytes} "
             "(nn.load(path, max_bytes=...) raises the limit)")
    arrays, covered = OrderedDict((name, None) for _, _, name, _, _ in entries), 0
    for begin, stop, name, dtype, shape in sorted(entries, key=lambda e: e[:2]):
        if begin < covered:
            fail(f"the data of {name!r} overlaps another tensor's")
        if begin > covered:
            fail(f"{begin - covered} bytes before the data of {name!r} belong to no tensor")
        covered = stop
        array = _empty(shape, dtype, f"tensor {name!r}", fail)
        f.seek(body_start + begin)
        _read_into(f, array, f"tensor {name!r}", fail)
        arrays[name] = array
    if covered != body_len:
        fail(f"{body_len - covered} bytes after the last tensor (expected none)")
    return arrays, meta


# ---- public API -------------------------------------------------------------------------------------

class _LoadError(ValueError):
    pass


def save(obj, path):
    """Save a state dict (flat dict of arrays) or a nested structure to `path`, atomically.

    The format is .safetensors if the path ends with '.safetensors', else .npz (the path is
    used as given: no extension is added). Tensors load back as Tensors, arrays as arrays.
    Raises TypeError for an object that cannot be saved (nothing is written then).
    """
    arrays, structure = _flatten(obj)
    if os.fspath(path).endswith(".safetensors"):
        flat = _is_flat_state(obj, tensors=False)  # else the structure says which are Tensors
        _atomic_write(path, lambda f: _write_safetensors(f, arrays, structure, flat))
    else:
        _atomic_write(path, lambda f: _write_npz(f, arrays, structure))


def load(path, max_bytes=MAX_BYTES):
    """Load what `save` wrote (or a plain .npz / .safetensors file of arrays).

    Raises OSError (FileNotFoundError, ...) when the file cannot be opened, and ValueError,
    naming the file, for a corrupt, truncated, hostile or unknown file: nothing in it is
    ever unpickled, and it is checked before anything is allocated. `max_bytes` (default
    4 GiB) bounds the total size its arrays declare; a zip member's name may hold no path
    separator or '..', nor appear twice; at most 65,536 arrays.
    """
    path = os.fspath(path)
    if not (isinstance(max_bytes, int) and max_bytes >= 0):
        raise ValueError(f"nn.load: max_bytes must be a non-negative int, got {max_bytes!r}")

    def fail(why):
        raise _LoadError(f"nn.load: cannot load {path!r}: {why}")

    with open(path, "rb") as f:
        size = os.fstat(f.fileno()).st_size
        try:
            return _parse(f, size, path, max_bytes, fail)
        except _LoadError:
            raise
        except Exception as e:  # NOTE: any parse failure of untrusted bytes is one documented type
            fail(f"corrupt or truncated file ({type(e).__name__}: {e})")


def _parse(f, size, path, max_bytes, fail):
    if not size:
        fail("the file is empty")
    start = f.read(9)
    if start[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        arrays = _read_npz(f, size, max_bytes, fail)
        if _META not in arrays:
            return dict(arrays)  # a plain .npz written by np.savez
        header = arrays.pop(_META)
        if header.dtype.kind != "U" or header.ndim != 0:
            fail(f"the {_META} entry is not a {_FORMAT} header")
        meta = json.loads(str(header[()]))
        if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
            fail(f"the {_META} entry is not a {_FORMAT} header")
        if meta.get("version", 0) > _VERSION:
            fail(f"written by a newer version ({meta.get('version')}) of this format")
        return _decode(meta.get("structure"), arrays, fail)
    if start[8:9] == b"{" or path.endswith(".safetensors"):
        arrays, meta = _read_safetensors(f, size, max_bytes, fail)
        structure = meta.get("structure") if isinstance(meta, dict) else None
        if structure is None:
            return dict(arrays)
        return _decode(json.loads(structure), arrays, fail)
    fail(f"unknown format (starts with {start[:8]!r}); expected an .npz (zip) or a "
         ".safetensors file")
