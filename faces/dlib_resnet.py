"""dlib's face recognition ResNet (DeepFace's "Dlib" model), read from its .dat file and run with numpy.

Why: the dlib wheel installed here (dlib-bin) is built without BLAS, so dlib
spends ~110 ms on one face descriptor on this machine, two thirds of all
indexing time. The same network with the same weights, as matrix products in
numpy's OpenBLAS, takes ~20 ms and gives the same 128 numbers (to ~1e-6:
tests/test_dlib_resnet.py compares with dlib itself on bench faces).

Only this one network is read: the layout of dlib's dnn_face_recognition_ex
(`anet_type`), as shipped in face_recognition_models. `DlibResNet.load` checks
the layer sequence and refuses any other file with a ValueError.

dlib's conventions reproduced here: input pixels (RGB - channel mean) / 256;
convolutions are cross-correlations with zero padding k//2 at stride 1 and none
at stride 2; a residual sum whose operands differ in size is taken over the
larger size with the smaller zero-padded at its end (dlib's `add_prev`).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

CHIP_SIZE = 150   # pixels: the network's input is a 150x150 RGB face chip


class _Reader:
    """dlib's serialization format (dlib/serialize.h, dlib/dnn/tensor.h), just what the network file uses."""

    def __init__(self, data: bytes):
        self.data, self.pos = data, 0

    def byte(self) -> int:
        self.pos += 1
        return self.data[self.pos - 1]

    def int(self) -> int:
        """A control byte (low 4 bits: byte count; 0x80: negative), then the magnitude, little-endian."""
        control = self.byte()
        size = control & 0x0F
        value = int.from_bytes(self.data[self.pos:self.pos + size], "little")
        self.pos += size
        return -value if control & 0x80 else value

    def str(self) -> str:
        size = self.int()
        self.pos += size
        return self.data[self.pos - size:self.pos].decode("latin-1")

    def float(self) -> float:
        mantissa = self.int()
        return mantissa * 2.0 ** self.int()

    def bool(self) -> bool:
        char = self.byte()
        if char not in b"01":
            raise ValueError(f"byte {self.pos - 1}: expected a dlib bool, found {char}")
        return char == ord("1")

    def tensor(self) -> np.ndarray:
        """(num_samples, k, nr, nc) float32: a version, four ints, then raw little-endian floats."""
        self.expect_version(2)
        shape = tuple(self.int() for _ in range(4))
        count = int(np.prod(shape))
        array = np.frombuffer(self.data, "<f4", count, self.pos).reshape(shape)
        self.pos += 4 * count
        return array

    def alias(self) -> tuple[int, ...]:
        """An alias_tensor: the shape of a slice of a layer's params."""
        self.expect_version(1)
        return tuple(self.int() for _ in range(4))

    def expect_version(self, *versions: int) -> int:
        version = self.int()
        if version not in versions:
            raise ValueError(f"byte {self.pos}: version {version}, expected {versions}")
        return version


def _read_layer(reader: _Reader) -> tuple:
    """One layer's details: (kind, parameters...) with weights as float32 arrays."""
    name = reader.str()
    if name == "con_4":
        params = reader.tensor().ravel()
        reader.int()                                             # number of filters (in the shape below)
        rows, cols, stride_y, stride_x, pad_y, pad_x = (reader.int() for _ in range(6))
        filters, biases = reader.alias(), reader.alias()
        for _ in range(4):                                       # learning-rate and weight-decay multipliers
            reader.float()
        n = int(np.prod(filters))
        if (rows, stride_y, pad_y) != (cols, stride_x, pad_x):
            raise ValueError(f"non-square convolution {rows}x{cols}")
        return "con", params[:n].reshape(filters), params[n:n + int(np.prod(biases))], stride_y, pad_y
    if name == "affine_":
        params = reader.tensor().ravel()
        gamma, _beta = reader.alias(), reader.alias()
        reader.int()                                             # mode: per channel
        n = int(np.prod(gamma))
        return "affine", params[:n], params[n:2 * n]
    if name in ("relu_", "add_prev_"):
        return (name.rstrip("_"),)
    if name in ("max_pool_2", "avg_pool_2"):
        rows, cols, stride_y, stride_x, pad_y, pad_x = (reader.int() for _ in range(6))
        if (rows, stride_y) != (cols, stride_x) or pad_y or pad_x:
            raise ValueError(f"unexpected pooling {rows}x{cols} / {stride_y} pad {pad_y}")
        return name[:-2], rows, stride_y
    if name == "fc_2":
        outputs, inputs = reader.int(), reader.int()
        params = reader.tensor().ravel()
        reader.alias(), reader.alias(), reader.int()             # weights and bias shapes, bias mode
        for _ in range(4):
            reader.float()
        return "fc", params[:inputs * outputs].reshape(inputs, outputs)
    raise ValueError(f"layer {name!r} is not part of dlib's face recognition ResNet")


def read_layers(data: bytes) -> tuple[tuple[float, float, float], list[tuple]]:
    """(channel means, layers from input to output) of a serialized dlib metric network.

    A network is serialized outside-in: the loss, then every layer wrapper's
    version down to the input layer, then each layer's details from the input
    up, each followed by its training state (three flags, three tensors).
    """
    reader = _Reader(data)
    reader.expect_version(1)
    if reader.str() not in ("loss_metric_", "loss_metric_2"):
        raise ValueError("not a dlib metric-learning network")
    reader.float(), reader.float()                               # margin, distance threshold
    while True:                                                  # wrapper versions, then the input layer
        before = reader.pos
        if reader.byte() == 0x01 and reader.byte() == len("input_rgb_image_sized"):
            reader.pos = before
            if reader.str() == "input_rgb_image_sized":
                break
        reader.pos = before
        reader.int()
    means = (reader.float(), reader.float(), reader.float())
    if (reader.int(), reader.int()) != (CHIP_SIZE, CHIP_SIZE):
        raise ValueError(f"input is not {CHIP_SIZE}x{CHIP_SIZE}")
    layers = []
    while reader.pos < len(data):
        layers.append(_read_layer(reader))
        for _ in range(3):
            reader.bool()
        for _ in range(3):
            reader.tensor()
        if len(layers) == 1:                                     # the layer on the input also keeps
            reader.int()                                         # its sample expansion factor
    return means, layers


@dataclass(frozen=True)
class _Conv:
    """A convolution with the affine (frozen batch norm) after it folded in."""
    weights: np.ndarray    # (k*k*in, out) float32, rows ordered (row, col, channel) to match _columns
    bias: np.ndarray       # (out,) float32
    size: int              # k
    stride: int
    pad: int

    @classmethod
    def fold(cls, con: tuple, affine: tuple) -> "_Conv":
        _, filters, bias, stride, pad = con
        _, gamma, beta = affine
        out, channels, k, _ = filters.shape
        scaled = (filters * gamma[:, None, None, None]).transpose(2, 3, 1, 0).reshape(k * k * channels, out)
        return cls(np.ascontiguousarray(scaled, np.float32), (bias * gamma + beta).astype(np.float32),
                   k, stride, pad)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """(N, H, W, C) -> (N, H', W', out), as one matrix product over image patches."""
        n, height, width, channels = x.shape
        k, s, p = self.size, self.stride, self.pad
        if p:
            x = np.pad(x, ((0, 0), (p, p), (p, p), (0, 0)))
        rows, cols = (height + 2 * p - k) // s + 1, (width + 2 * p - k) // s + 1
        patches = np.empty((n, rows, cols, k * k * channels), np.float32)
        for i in range(k):
            for j in range(k):
                start = (i * k + j) * channels
                patches[..., start:start + channels] = x[:, i:i + s * (rows - 1) + 1:s, j:j + s * (cols - 1) + 1:s]
        out = patches.reshape(-1, k * k * channels) @ self.weights
        out += self.bias
        return out.reshape(n, rows, cols, -1)


def _pool(x: np.ndarray, size: int, stride: int, reduce) -> np.ndarray:
    windows = np.lib.stride_tricks.sliding_window_view(x, (size, size), axis=(1, 2))[:, ::stride, ::stride]
    return reduce(windows, axis=(-2, -1))


def _add(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """dlib's add_prev: the sum over the larger shape, the smaller operand zero-padded at its end."""
    if a.shape == b.shape:
        return a + b
    out = np.zeros(np.maximum(a.shape, b.shape), np.float32)
    out[tuple(slice(0, d) for d in a.shape)] += a
    out[tuple(slice(0, d) for d in b.shape)] += b
    return out


@dataclass(frozen=True)
class _Block:
    """relu(conv-affine-relu-conv-affine(x) + x), x average-pooled 2x2 when the block halves the size."""
    first: _Conv
    second: _Conv
    pool: tuple[int, int] | None   # (size, stride) of the skip path's average pool, or None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        y = self.second(np.maximum(self.first(x), 0))
        skip = x if self.pool is None else _pool(x, *self.pool, np.mean)
        return np.maximum(_add(skip, y), 0)


_PLAIN = ("con", "affine", "relu", "con", "affine", "add_prev", "relu")
_DOWN = ("con", "affine", "relu", "con", "affine", "avg_pool", "add_prev", "relu")


class DlibResNet:
    """128-d face descriptors of 150x150 face chips, equal to dlib's `compute_face_descriptor`."""

    def __init__(self, means, stem: _Conv, stem_pool: tuple[int, int], blocks: list[_Block], fc: np.ndarray):
        self.means = np.asarray(means, np.float32)
        self.stem, self.stem_pool, self.blocks, self.fc = stem, stem_pool, blocks, fc.astype(np.float32)

    @classmethod
    def load(cls, path: str | Path) -> "DlibResNet":
        """Read dlib_face_recognition_resnet_model_v1.dat; ValueError when the file is another network."""
        means, layers = read_layers(Path(path).read_bytes())
        kinds = tuple(layer[0] for layer in layers)
        if kinds[:4] != ("con", "affine", "relu", "max_pool"):
            raise ValueError(f"{path}: unexpected first layers {kinds[:4]}")
        stem = _Conv.fold(layers[0], layers[1])
        stem_pool = layers[3][1:]
        blocks, i = [], 4
        while kinds[i:i + len(_PLAIN)] == _PLAIN or kinds[i:i + len(_DOWN)] == _DOWN:
            down = kinds[i + 5] == "avg_pool"
            blocks.append(_Block(_Conv.fold(layers[i], layers[i + 1]), _Conv.fold(layers[i + 3], layers[i + 4]),
                                 layers[i + 5][1:] if down else None))
            i += len(_DOWN) if down else len(_PLAIN)
        if kinds[i:] != ("avg_pool", "fc") or layers[i][1] != 0:   # a 0x0 avg_pool: dlib's avg_pool_everything
            raise ValueError(f"{path}: unexpected layers after block {len(blocks)}: {kinds[i:i + 8]}")
        return cls(means, stem, stem_pool, blocks, layers[-1][1])

    def descriptors(self, chips: np.ndarray) -> np.ndarray:
        """(N, 128) float32 descriptors of (N, 150, 150, 3) uint8 RGB chips (dlib.get_face_chip's output)."""
        chips = np.asarray(chips)
        if chips.ndim != 4 or chips.shape[1:] != (CHIP_SIZE, CHIP_SIZE, 3):
            raise ValueError(f"expected (N, {CHIP_SIZE}, {CHIP_SIZE}, 3) chips, got {chips.shape}")
        x = (chips.astype(np.float32) - self.means) / 256.0
        x = _pool(np.maximum(self.stem(x), 0), *self.stem_pool, np.max)
        for block in self.blocks:
            x = block(x)
        return x.mean(axis=(1, 2)) @ self.fc
