"""A recognizer's CTC head as one Gemm: the same probabilities, computed with fewer passes over them.

PaddleOCR's recognizers end in a MatMul of every time step's features onto the character classes
(6,906 for PP-OCRv6 tiny, 18,710 for small), an Add of the bias and a Softmax. ONNX Runtime fuses
a MatMul and an Add into a Gemm only on 2-D inputs, so on the recognizer's (crops, steps,
features) input it runs three kernels, each writing a (steps x classes) array: the head was 15% of
PP-OCRv6 tiny's kernel time on the bench pages. Here the graph reshapes the features to (crops x
steps, features), runs one Gemm with the bias, a Softmax over the classes and reshapes the result
back, so the model's output keeps its shape and its values (tests/test_head_fusion.py compares them
with the wheel's own model): recognition took 6% less time.

A model whose graph does not end in that pattern is left as it is. Run in the parent when an
embedded model folder is prepared (`pipeline.ocr.models`); `onnx` is imported only then.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

__all__ = ["fuse_ctc_head"]


def _chain(name: str, producers: dict[str, Any], chain: list[Any]) -> Any:
    """The node making `name`, past any Identity nodes (added to `chain`)."""
    node = producers.get(name)
    while node is not None and node.op_type == "Identity":
        chain.append(node)
        node = producers.get(node.input[0])
    if node is not None:
        chain.append(node)
    return node


def _head(graph: Any) -> tuple[list[Any], str, str, str, int, int] | None:
    """(its nodes, x, W, b, features, classes) of a graph whose one output is
    Softmax(Add(MatMul(x, W), b)) over its last axis, W and b constants; else None."""
    from onnx import helper

    if len(graph.output) != 1:
        return None
    producers = {output: node for node in graph.node for output in node.output}
    chain: list[Any] = []
    softmax = _chain(graph.output[0].name, producers, chain)
    if softmax is None or softmax.op_type != "Softmax":
        return None
    add = _chain(softmax.input[0], producers, chain)
    if add is None or add.op_type != "Add":
        return None
    matmul = _chain(add.input[0], producers, chain)
    if matmul is None or matmul.op_type != "MatMul":
        return None
    constants = {tensor.name: list(tensor.dims) for tensor in graph.initializer}
    weights, bias = constants.get(matmul.input[1]), constants.get(add.input[1])
    if weights is None or bias is None or len(weights) != 2 or bias != weights[1:]:
        return None
    axis = next((helper.get_attribute_value(a) for a in softmax.attribute if a.name == "axis"), None)
    if axis not in (2, -1):  # over the classes of a (crops, steps, classes) output
        return None
    made = {output for node in chain for output in node.output} - {graph.output[0].name}
    if any(made & set(node.input) for node in graph.node if node not in chain):
        return None  # something else reads the head's inner results
    return chain, matmul.input[0], matmul.input[1], add.input[1], int(weights[0]), int(weights[1])


def fuse_ctc_head(model_file: Path) -> bool:
    """Rewrite the recognizer in `model_file` with its head as one Gemm (module docstring); False,
    and the file untouched, when its graph does not end in that head."""
    import onnx
    from onnx import TensorProto, helper

    model = onnx.load(str(model_file))
    graph = model.graph
    found = _head(graph)
    if found is None:
        return False
    chain, x, weights, bias, features, classes = found
    out = graph.output[0].name
    kept = [node for node in graph.node if node not in chain]

    def name(part: str) -> str:
        return f"ctc_head.{part}"

    graph.initializer.extend([
        helper.make_tensor(name("rows"), TensorProto.INT64, [2], [-1, features]),
        helper.make_tensor(name("steps_from"), TensorProto.INT64, [1], [0]),
        helper.make_tensor(name("steps_to"), TensorProto.INT64, [1], [2]),
        helper.make_tensor(name("classes"), TensorProto.INT64, [1], [classes]),
    ])
    head = [
        helper.make_node("Reshape", [x, name("rows")], [name("features")]),
        helper.make_node("Gemm", [name("features"), weights, bias], [name("logits")]),
        helper.make_node("Softmax", [name("logits")], [name("probabilities")], axis=1),
        # Back to (crops, steps, classes): crops and steps from the features' own shape.
        helper.make_node("Shape", [x], [name("shape")]),
        helper.make_node("Slice", [name("shape"), name("steps_from"), name("steps_to")], [name("crops_steps")]),
        helper.make_node("Concat", [name("crops_steps"), name("classes")], [name("out_shape")], axis=0),
        helper.make_node("Reshape", [name("probabilities"), name("out_shape")], [out]),
    ]
    del graph.node[:]
    graph.node.extend(kept + head)
    onnx.checker.check_model(model)
    onnx.save(model, str(model_file))
    return True
