"""``mm-train migrate onnx``: an ONNX classifier becomes a recipe (graph network), a checkpoint with its
weights and an operator assessment.

    mm-train migrate onnx densenet121.onnx --name densenet121 --out my_recipes
    MM_TRAIN_RECIPE_PATH=my_recipes python run.py +recipe=densenet121

Modules: :mod:`.load` (read and check a model file, external data confined to its folder), :mod:`.ops`
(one converter per ONNX op type, looked up by table), :mod:`.translate` (the graph walk), :mod:`.assessment`
(the operator table), :mod:`.convert` (the command), :mod:`.blocks` (the few blocks the converter adds).
Only :mod:`.blocks` is imported without the ``onnx`` package.
"""
