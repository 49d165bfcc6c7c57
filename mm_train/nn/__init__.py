"""Networks built from registered Cell blocks (see :mod:`mm_train.nn.builder`)."""
