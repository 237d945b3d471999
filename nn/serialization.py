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
import os
import struct
import tempfile
import zipfile
from collections import OrderedDict

import numpy as np

from autograd import Tensor

__all__ = ["save", "load"]

_META = "__chainrule__"
_FORMAT = "chainrule-checkpoint"
_VERSION = 1


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


def _add_array(array, path, arrays, where):
    if array.dtype.kind not in "biufc":
        raise TypeError(f"nn.save: array at {where(path)} has dtype {array.dtype}; only numeric "
                        "and boolean arrays can be saved (never object arrays)")
    base = "/".join(str(p) for p in path) or "root"
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
                return Tensor(array)
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


def _is_flat_state(obj):
    """A dict of str -> ndarray: stored without nesting, readable by any npz/safetensors tool."""
    return isinstance(obj, dict) and all(
        isinstance(k, str) and isinstance(v, np.ndarray) for k, v in obj.items())


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
        structure = {"dict": [[k, {"array": k}] for k in obj]}
        arrays.update(obj)
        if _META in arrays:
            raise ValueError(f"nn.save: the key {_META!r} is reserved")
        return arrays, structure
    return arrays, _encode(obj, (), arrays, where)


# ---- atomic write -------------------------------------------------------------------------------

def _atomic_write(path, write):
    """Call write(fileobj) on a temp file next to `path`, fsync it, then os.replace it into place."""
    path = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix="." + os.path.basename(path) + ".",
                               suffix=".tmp")
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes files private; a saved model need not be
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
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


# ---- npz -----------------------------------------------------------------------------------------

def _write_npz(f, arrays, structure):
    meta = json.dumps({"format": _FORMAT, "version": _VERSION, "structure": structure})
    with zipfile.ZipFile(f, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as zf:
        for name, array in list(arrays.items()) + [(_META, np.array(meta))]:
            with zf.open(name + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


def _read_npz(data, fail):
    arrays = OrderedDict()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for info in zf.infolist():
            if not info.filename.endswith(".npy"):
                fail(f"unexpected member {info.filename!r} (an .npz holds only .npy files)")
            name = info.filename[:-4]
            raw = zf.read(info)  # checks the CRC
            try:
                array = np.lib.format.read_array(io.BytesIO(raw), allow_pickle=False)
            except ValueError as e:
                if "allow_pickle" in str(e) or "Object arrays" in str(e):
                    fail(f"member {name!r} holds an object array (pickled Python objects), "
                         "which is never loaded")
                raise
            arrays[name] = array
    return arrays


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


def _read_safetensors(data, fail):
    if len(data) < 8:
        fail(f"too short for a safetensors file ({len(data)} bytes)")
    (n,) = struct.unpack("<Q", data[:8])
    if n > len(data) - 8:
        fail(f"header length {n} runs past the end of the file ({len(data)} bytes): truncated?")
    try:
        header = json.loads(data[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        fail(f"the safetensors header is not valid JSON ({e})")
    if not isinstance(header, dict):
        fail("the safetensors header is not a JSON object")
    body = memoryview(data)[8 + n:]
    meta = header.pop("__metadata__", None) or {}
    arrays, end = OrderedDict(), 0
    spans = []
    for name, entry in header.items():
        try:
            dtype = np.dtype(_ST_DTYPES[entry["dtype"]])
            shape = tuple(int(s) for s in entry["shape"])
            begin, stop = (int(o) for o in entry["data_offsets"])
        except (KeyError, TypeError, ValueError):
            fail(f"malformed header entry for {name!r}: {str(entry)[:100]}")
        if any(s < 0 for s in shape) or not 0 <= begin <= stop:
            fail(f"invalid shape or offsets for {name!r}: {entry}")
        if stop > len(body):
            fail(f"data of {name!r} ends at byte {stop} but the file holds {len(body)} data "
                 "bytes: truncated?")
        if stop - begin != int(np.prod(shape)) * dtype.itemsize:
            fail(f"{name!r}: {stop - begin} bytes do not hold shape {shape} of {entry['dtype']}")
        arrays[name] = np.frombuffer(body[begin:stop], dtype=dtype).reshape(shape).copy()
        spans.append((begin, stop))
        end = max(end, stop)
    if end != len(body):
        fail(f"{len(body) - end} bytes after the last tensor (expected none)")
    spans.sort()
    for (_, a_stop), (b_begin, _) in zip(spans, spans[1:]):
        if b_begin < a_stop:
            fail("tensor data regions overlap")
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
        flat = _is_flat_state(obj)
        _atomic_write(path, lambda f: _write_safetensors(f, arrays, structure, flat))
    else:
        _atomic_write(path, lambda f: _write_npz(f, arrays, structure))


def load(path):
    """Load what `save` wrote (or a plain .npz / .safetensors file of arrays).

    Raises OSError (FileNotFoundError, ...) when the file cannot be read, and ValueError,
    naming the file, for a corrupt, truncated or unknown file, or one holding object
    (pickled) arrays: nothing in the file is ever unpickled.
    """
    path = os.fspath(path)

    def fail(why):
        raise _LoadError(f"nn.load: cannot load {path!r}: {why}")

    with open(path, "rb") as f:
        data = f.read()
    try:
        return _parse(data, path, fail)
    except _LoadError:
        raise
    except Exception as e:  # NOTE: any parse failure of untrusted bytes becomes one documented type
        fail(f"corrupt or truncated file ({type(e).__name__}: {e})")


def _parse(data, path, fail):
    if not data:
        fail("the file is empty")
    if data[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        arrays = _read_npz(data, fail)
        if _META not in arrays:
            return dict(arrays)  # a plain .npz written by np.savez
        meta = json.loads(str(arrays.pop(_META)[()]))
        if not isinstance(meta, dict) or meta.get("format") != _FORMAT:
            fail(f"the {_META} entry is not a {_FORMAT} header")
        if meta.get("version", 0) > _VERSION:
            fail(f"written by a newer version ({meta.get('version')}) of this format")
        return _decode(meta.get("structure"), arrays, fail)
    if data[8:9] == b"{" or path.endswith(".safetensors"):
        arrays, meta = _read_safetensors(data, fail)
        structure = meta.get("structure") if isinstance(meta, dict) else None
        if structure is None:
            return dict(arrays)
        return _decode(json.loads(structure), arrays, fail)
    fail(f"unknown format (starts with {data[:8]!r}); expected an .npz (zip) or a "
         ".safetensors file")
