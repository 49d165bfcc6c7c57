import sys
import mindspore
from mindspore import nn
from mindspore.nn import Cell
from mindspore.ops import functional as F
#
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')
from mindspore.nn.cell import Cell
from mindspore.nn.layer.conv import _Conv

class _ConvOpt(_Conv, Cell):

    def __init__(self):
        Cell.__init__(self)
        for key, value in _Conv.__dict__.items():
            if not key.startswith('__'):
                setattr(_ConvOpt, key, value)
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')
from mindspore.nn.layer.normalization import _BatchNorm

class _BatchNormOpt(_BatchNorm, Cell):

    def __init__(self):
        Cell.__init__(self)
        for key, value in _BatchNorm.__dict__.items():
            if not key.startswith('__'):
                setattr(_BatchNormOpt, key, value)
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')
from mindspore.nn.layer.pooling import _PoolNd

class _PoolNdOpt(_PoolNd, Cell):

    def __init__(self):
        Cell.__init__(self)
        for key, value in _PoolNd.__dict__.items():
            if not key.startswith('__'):
                setattr(_PoolNdOpt, key, value)
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/ops/function')
from mindspore.ops import operations as P
from mindspore.ops._primitive_cache import _get_cache_prim

def mean_opt(x, axis=None, keep_dims=False):
    compare_var = axis is None
    if compare_var:
        axis = ()
    _get_cache_prim_var = _get_cache_prim(P.ReduceMean)
    function_var_1 = _get_cache_prim_var(keep_dims)
    function_var = function_var_1(x, axis)
    return function_var
#
sys.path.insert(0, '/work/wt/published/mm_train/nn')
from mm_train.nn.blocks import _Shortcut

class _ShortcutOpt(_Shortcut, nn.Cell):

    def __init__(self):
        nn.Cell.__init__(self)
        for key, value in _Shortcut.__dict__.items():
            if not key.startswith('__'):
                setattr(_ShortcutOpt, key, value)
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')
from mindspore.nn.layer.conv import Conv2d
from mindspore.train.amp import amp_cast

class Conv2dOpt_48(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_47(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')
from mindspore.nn.layer.activation import ReLU

class ReLUOpt_16(ReLU, Cell):

    def __init__(self, obj):
        Cell.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, input):
        input = amp_cast(input, mindspore.float16)
        relu_var = self.relu(input)
        relu_var = amp_cast(relu_var, mindspore.float32)
        return relu_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_46(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/wt/published/mm_train/nn')
from mm_train.nn.blocks import Bottleneck

class BottleneckOpt_15(Bottleneck, _ShortcutOpt):

    def __init__(self, obj):
        _ShortcutOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)
        self.conv1 = Conv2dOpt_46(self.conv1)
        self.bn1 = BatchNorm2dOpt(self.bn1)
        self.relu = ReLUOpt_16(self.relu)
        self.conv2 = Conv2dOpt_47(self.conv2)
        self.bn2 = BatchNorm2dOpt(self.bn2)
        self.relu = ReLUOpt_16(self.relu)
        self.conv3 = Conv2dOpt_48(self.conv3)
        self.bn3 = BatchNorm2dOpt(self.bn3)
        self.relu = ReLUOpt_16(self.relu)

    def construct(self, x):
        conv1_var = self.conv1(x)
        bn1_var = self.bn1(conv1_var)
        out = self.relu(bn1_var)
        conv2_var = self.conv2(out)
        bn2_var = self.bn2(conv2_var)
        out = self.relu(bn2_var)
        conv3_var = self.conv3(out)
        out = self.bn3(conv3_var)
        _identity_var = self._identity(x)
        add_var = out + _identity_var
        relu_var = self.relu(add_var)
        return relu_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_45(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_44(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class ReLUOpt_15(ReLU, Cell):

    def __init__(self, obj):
        Cell.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, input):
        input = amp_cast(input, mindspore.float16)
        relu_var = self.relu(input)
        relu_var = amp_cast(relu_var, mindspore.float32)
        return relu_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_43(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/wt/published/mm_train/nn')

class BottleneckOpt_14(Bottleneck, _ShortcutOpt):

    def __init__(self, obj):
        _ShortcutOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)
        self.conv1 = Conv2dOpt_43(self.conv1)
        self.bn1 = BatchNorm2dOpt(self.bn1)
        self.relu = ReLUOpt_15(self.relu)
        self.conv2 = Conv2dOpt_44(self.conv2)
        self.bn2 = BatchNorm2dOpt(self.bn2)
        self.relu = ReLUOpt_15(self.relu)
        self.conv3 = Conv2dOpt_45(self.conv3)
        self.bn3 = BatchNorm2dOpt(self.bn3)
        self.relu = ReLUOpt_15(self.relu)

    def construct(self, x):
        conv1_var = self.conv1(x)
        bn1_var = self.bn1(conv1_var)
        out = self.relu(bn1_var)
        conv2_var = self.conv2(out)
        bn2_var = self.bn2(conv2_var)
        out = self.relu(bn2_var)
        conv3_var = self.conv3(out)
        out = self.bn3(conv3_var)
        _identity_var = self._identity(x)
        add_var = out + _identity_var
        relu_var = self.relu(add_var)
        return relu_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_42(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_41(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class ReLUOpt_14(ReLU, Cell):

    def __init__(self, obj):
        Cell.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, input):
        input = amp_cast(input, mindspore.float16)
        relu_var = self.relu(input)
        relu_var = amp_cast(relu_var, mindspore.float32)
        return relu_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_40(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/wt/published/mm_train/nn')

class BottleneckOpt_13(Bottleneck, _ShortcutOpt):

    def __init__(self, obj):
        _ShortcutOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)
        self.conv1 = Conv2dOpt_40(self.conv1)
        self.bn1 = BatchNorm2dOpt(self.bn1)
        self.relu = ReLUOpt_14(self.relu)
        self.conv2 = Conv2dOpt_41(self.conv2)
        self.bn2 = BatchNorm2dOpt(self.bn2)
        self.relu = ReLUOpt_14(self.relu)
        self.conv3 = Conv2dOpt_42(self.conv3)
        self.bn3 = BatchNorm2dOpt(self.bn3)
        self.relu = ReLUOpt_14(self.relu)

    def construct(self, x):
        conv1_var = self.conv1(x)
        bn1_var = self.bn1(conv1_var)
        out = self.relu(bn1_var)
        conv2_var = self.conv2(out)
        bn2_var = self.bn2(conv2_var)
        out = self.relu(bn2_var)
        conv3_var = self.conv3(out)
        out = self.bn3(conv3_var)
        _identity_var = self._identity(x)
        add_var = out + _identity_var
        relu_var = self.relu(add_var)
        return relu_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_39(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_38(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class ReLUOpt_13(ReLU, Cell):

    def __init__(self, obj):
        Cell.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, input):
        input = amp_cast(input, mindspore.float16)
        relu_var = self.relu(input)
        relu_var = amp_cast(relu_var, mindspore.float32)
        return relu_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_37(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/wt/published/mm_train/nn')

class BottleneckOpt_12(Bottleneck, _ShortcutOpt):

    def __init__(self, obj):
        _ShortcutOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)
        self.conv1 = Conv2dOpt_37(self.conv1)
        self.bn1 = BatchNorm2dOpt(self.bn1)
        self.relu = ReLUOpt_13(self.relu)
        self.conv2 = Conv2dOpt_38(self.conv2)
        self.bn2 = BatchNorm2dOpt(self.bn2)
        self.relu = ReLUOpt_13(self.relu)
        self.conv3 = Conv2dOpt_39(self.conv3)
        self.bn3 = BatchNorm2dOpt(self.bn3)
        self.relu = ReLUOpt_13(self.relu)

    def construct(self, x):
        conv1_var = self.conv1(x)
        bn1_var = self.bn1(conv1_var)
        out = self.relu(bn1_var)
        conv2_var = self.conv2(out)
        bn2_var = self.bn2(conv2_var)
        out = self.relu(bn2_var)
        conv3_var = self.conv3(out)
        out = self.bn3(conv3_var)
        _identity_var = self._identity(x)
        add_var = out + _identity_var
        relu_var = self.relu(add_var)
        return relu_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_36(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_35(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class ReLUOpt_12(ReLU, Cell):

    def __init__(self, obj):
        Cell.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, input):
        input = amp_cast(input, mindspore.float16)
        relu_var = self.relu(input)
        relu_var = amp_cast(relu_var, mindspore.float32)
        return relu_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_34(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/wt/published/mm_train/nn')

class BottleneckOpt_11(Bottleneck, _ShortcutOpt):

    def __init__(self, obj):
        _ShortcutOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)
        self.conv1 = Conv2dOpt_34(self.conv1)
        self.bn1 = BatchNorm2dOpt(self.bn1)
        self.relu = ReLUOpt_12(self.relu)
        self.conv2 = Conv2dOpt_35(self.conv2)
        self.bn2 = BatchNorm2dOpt(self.bn2)
        self.relu = ReLUOpt_12(self.relu)
        self.conv3 = Conv2dOpt_36(self.conv3)
        self.bn3 = BatchNorm2dOpt(self.bn3)
        self.relu = ReLUOpt_12(self.relu)

    def construct(self, x):
        conv1_var = self.conv1(x)
        bn1_var = self.bn1(conv1_var)
        out = self.relu(bn1_var)
        conv2_var = self.conv2(out)
        bn2_var = self.bn2(conv2_var)
        out = self.relu(bn2_var)
        conv3_var = self.conv3(out)
        out = self.bn3(conv3_var)
        _identity_var = self._identity(x)
        add_var = out + _identity_var
        relu_var = self.relu(add_var)
        return relu_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_33(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_32(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class ReLUOpt_11(ReLU, Cell):

    def __init__(self, obj):
        Cell.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, input):
        input = amp_cast(input, mindspore.float16)
        relu_var = self.relu(input)
        relu_var = amp_cast(relu_var, mindspore.float32)
        return relu_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_31(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/wt/published/mm_train/nn')

class BottleneckOpt_10(Bottleneck, _ShortcutOpt):

    def __init__(self, obj):
        _ShortcutOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)
        self.conv1 = Conv2dOpt_31(self.conv1)
        self.bn1 = BatchNorm2dOpt(self.bn1)
        self.relu = ReLUOpt_11(self.relu)
        self.conv2 = Conv2dOpt_32(self.conv2)
        self.bn2 = BatchNorm2dOpt(self.bn2)
        self.relu = ReLUOpt_11(self.relu)
        self.conv3 = Conv2dOpt_33(self.conv3)
        self.bn3 = BatchNorm2dOpt(self.bn3)
        self.relu = ReLUOpt_11(self.relu)

    def construct(self, x):
        conv1_var = self.conv1(x)
        bn1_var = self.bn1(conv1_var)
        out = self.relu(bn1_var)
        conv2_var = self.conv2(out)
        bn2_var = self.bn2(conv2_var)
        out = self.relu(bn2_var)
        conv3_var = self.conv3(out)
        out = self.bn3(conv3_var)
        _identity_var = self._identity(x)
        add_var = out + _identity_var
        relu_var = self.relu(add_var)
        return relu_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_30(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_29(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class ReLUOpt_10(ReLU, Cell):

    def __init__(self, obj):
        Cell.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, input):
        input = amp_cast(input, mindspore.float16)
        relu_var = self.relu(input)
        relu_var = amp_cast(relu_var, mindspore.float32)
        return relu_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_28(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/wt/published/mm_train/nn')

class BottleneckOpt_9(Bottleneck, _ShortcutOpt):

    def __init__(self, obj):
        _ShortcutOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)
        self.conv1 = Conv2dOpt_28(self.conv1)
        self.bn1 = BatchNorm2dOpt(self.bn1)
        self.relu = ReLUOpt_10(self.relu)
        self.conv2 = Conv2dOpt_29(self.conv2)
        self.bn2 = BatchNorm2dOpt(self.bn2)
        self.relu = ReLUOpt_10(self.relu)
        self.conv3 = Conv2dOpt_30(self.conv3)
        self.bn3 = BatchNorm2dOpt(self.bn3)
        self.relu = ReLUOpt_10(self.relu)

    def construct(self, x):
        conv1_var = self.conv1(x)
        bn1_var = self.bn1(conv1_var)
        out = self.relu(bn1_var)
        conv2_var = self.conv2(out)
        bn2_var = self.bn2(conv2_var)
        out = self.relu(bn2_var)
        conv3_var = self.conv3(out)
        out = self.bn3(conv3_var)
        _identity_var = self._identity(x)
        add_var = out + _identity_var
        relu_var = self.relu(add_var)
        return relu_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_27(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_26(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class ReLUOpt_9(ReLU, Cell):

    def __init__(self, obj):
        Cell.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, input):
        input = amp_cast(input, mindspore.float16)
        relu_var = self.relu(input)
        relu_var = amp_cast(relu_var, mindspore.float32)
        return relu_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_25(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/wt/published/mm_train/nn')

class BottleneckOpt_8(Bottleneck, _ShortcutOpt):

    def __init__(self, obj):
        _ShortcutOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)
        self.conv1 = Conv2dOpt_25(self.conv1)
        self.bn1 = BatchNorm2dOpt(self.bn1)
        self.relu = ReLUOpt_9(self.relu)
        self.conv2 = Conv2dOpt_26(self.conv2)
        self.bn2 = BatchNorm2dOpt(self.bn2)
        self.relu = ReLUOpt_9(self.relu)
        self.conv3 = Conv2dOpt_27(self.conv3)
        self.bn3 = BatchNorm2dOpt(self.bn3)
        self.relu = ReLUOpt_9(self.relu)

    def construct(self, x):
        conv1_var = self.conv1(x)
        bn1_var = self.bn1(conv1_var)
        out = self.relu(bn1_var)
        conv2_var = self.conv2(out)
        bn2_var = self.bn2(conv2_var)
        out = self.relu(bn2_var)
        conv3_var = self.conv3(out)
        out = self.bn3(conv3_var)
        _identity_var = self._identity(x)
        add_var = out + _identity_var
        relu_var = self.relu(add_var)
        return relu_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_24(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_23(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class ReLUOpt_8(ReLU, Cell):

    def __init__(self, obj):
        Cell.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, input):
        input = amp_cast(input, mindspore.float16)
        relu_var = self.relu(input)
        relu_var = amp_cast(relu_var, mindspore.float32)
        return relu_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_22(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/wt/published/mm_train/nn')

class BottleneckOpt_7(Bottleneck, _ShortcutOpt):

    def __init__(self, obj):
        _ShortcutOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)
        self.conv1 = Conv2dOpt_22(self.conv1)
        self.bn1 = BatchNorm2dOpt(self.bn1)
        self.relu = ReLUOpt_8(self.relu)
        self.conv2 = Conv2dOpt_23(self.conv2)
        self.bn2 = BatchNorm2dOpt(self.bn2)
        self.relu = ReLUOpt_8(self.relu)
        self.conv3 = Conv2dOpt_24(self.conv3)
        self.bn3 = BatchNorm2dOpt(self.bn3)
        self.relu = ReLUOpt_8(self.relu)

    def construct(self, x):
        conv1_var = self.conv1(x)
        bn1_var = self.bn1(conv1_var)
        out = self.relu(bn1_var)
        conv2_var = self.conv2(out)
        bn2_var = self.bn2(conv2_var)
        out = self.relu(bn2_var)
        conv3_var = self.conv3(out)
        out = self.bn3(conv3_var)
        _identity_var = self._identity(x)
        add_var = out + _identity_var
        relu_var = self.relu(add_var)
        return relu_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_21(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_20(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class ReLUOpt_7(ReLU, Cell):

    def __init__(self, obj):
        Cell.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, input):
        input = amp_cast(input, mindspore.float16)
        relu_var = self.relu(input)
        relu_var = amp_cast(relu_var, mindspore.float32)
        return relu_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_19(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/wt/published/mm_train/nn')

class BottleneckOpt_6(Bottleneck, _ShortcutOpt):

    def __init__(self, obj):
        _ShortcutOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)
        self.conv1 = Conv2dOpt_19(self.conv1)
        self.bn1 = BatchNorm2dOpt(self.bn1)
        self.relu = ReLUOpt_7(self.relu)
        self.conv2 = Conv2dOpt_20(self.conv2)
        self.bn2 = BatchNorm2dOpt(self.bn2)
        self.relu = ReLUOpt_7(self.relu)
        self.conv3 = Conv2dOpt_21(self.conv3)
        self.bn3 = BatchNorm2dOpt(self.bn3)
        self.relu = ReLUOpt_7(self.relu)

    def construct(self, x):
        conv1_var = self.conv1(x)
        bn1_var = self.bn1(conv1_var)
        out = self.relu(bn1_var)
        conv2_var = self.conv2(out)
        bn2_var = self.bn2(conv2_var)
        out = self.relu(bn2_var)
        conv3_var = self.conv3(out)
        out = self.bn3(conv3_var)
        _identity_var = self._identity(x)
        add_var = out + _identity_var
        relu_var = self.relu(add_var)
        return relu_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_18(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_17(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class ReLUOpt_6(ReLU, Cell):

    def __init__(self, obj):
        Cell.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, input):
        input = amp_cast(input, mindspore.float16)
        relu_var = self.relu(input)
        relu_var = amp_cast(relu_var, mindspore.float32)
        return relu_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_16(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/wt/published/mm_train/nn')

class BottleneckOpt_5(Bottleneck, _ShortcutOpt):

    def __init__(self, obj):
        _ShortcutOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)
        self.conv1 = Conv2dOpt_16(self.conv1)
        self.bn1 = BatchNorm2dOpt(self.bn1)
        self.relu = ReLUOpt_6(self.relu)
        self.conv2 = Conv2dOpt_17(self.conv2)
        self.bn2 = BatchNorm2dOpt(self.bn2)
        self.relu = ReLUOpt_6(self.relu)
        self.conv3 = Conv2dOpt_18(self.conv3)
        self.bn3 = BatchNorm2dOpt(self.bn3)
        self.relu = ReLUOpt_6(self.relu)

    def construct(self, x):
        conv1_var = self.conv1(x)
        bn1_var = self.bn1(conv1_var)
        out = self.relu(bn1_var)
        conv2_var = self.conv2(out)
        bn2_var = self.bn2(conv2_var)
        out = self.relu(bn2_var)
        conv3_var = self.conv3(out)
        out = self.bn3(conv3_var)
        _identity_var = self._identity(x)
        add_var = out + _identity_var
        relu_var = self.relu(add_var)
        return relu_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_15(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_14(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class ReLUOpt_5(ReLU, Cell):

    def __init__(self, obj):
        Cell.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, input):
        input = amp_cast(input, mindspore.float16)
        relu_var = self.relu(input)
        relu_var = amp_cast(relu_var, mindspore.float32)
        return relu_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_13(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/wt/published/mm_train/nn')

class BottleneckOpt_4(Bottleneck, _ShortcutOpt):

    def __init__(self, obj):
        _ShortcutOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)
        self.conv1 = Conv2dOpt_13(self.conv1)
        self.bn1 = BatchNorm2dOpt(self.bn1)
        self.relu = ReLUOpt_5(self.relu)
        self.conv2 = Conv2dOpt_14(self.conv2)
        self.bn2 = BatchNorm2dOpt(self.bn2)
        self.relu = ReLUOpt_5(self.relu)
        self.conv3 = Conv2dOpt_15(self.conv3)
        self.bn3 = BatchNorm2dOpt(self.bn3)
        self.relu = ReLUOpt_5(self.relu)

    def construct(self, x):
        conv1_var = self.conv1(x)
        bn1_var = self.bn1(conv1_var)
        out = self.relu(bn1_var)
        conv2_var = self.conv2(out)
        bn2_var = self.bn2(conv2_var)
        out = self.relu(bn2_var)
        conv3_var = self.conv3(out)
        out = self.bn3(conv3_var)
        _identity_var = self._identity(x)
        add_var = out + _identity_var
        relu_var = self.relu(add_var)
        return relu_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_12(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_11(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class ReLUOpt_4(ReLU, Cell):

    def __init__(self, obj):
        Cell.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, input):
        input = amp_cast(input, mindspore.float16)
        relu_var = self.relu(input)
        relu_var = amp_cast(relu_var, mindspore.float32)
        return relu_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_10(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/wt/published/mm_train/nn')

class BottleneckOpt_3(Bottleneck, _ShortcutOpt):

    def __init__(self, obj):
        _ShortcutOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)
        self.conv1 = Conv2dOpt_10(self.conv1)
        self.bn1 = BatchNorm2dOpt(self.bn1)
        self.relu = ReLUOpt_4(self.relu)
        self.conv2 = Conv2dOpt_11(self.conv2)
        self.bn2 = BatchNorm2dOpt(self.bn2)
        self.relu = ReLUOpt_4(self.relu)
        self.conv3 = Conv2dOpt_12(self.conv3)
        self.bn3 = BatchNorm2dOpt(self.bn3)
        self.relu = ReLUOpt_4(self.relu)

    def construct(self, x):
        conv1_var = self.conv1(x)
        bn1_var = self.bn1(conv1_var)
        out = self.relu(bn1_var)
        conv2_var = self.conv2(out)
        bn2_var = self.bn2(conv2_var)
        out = self.relu(bn2_var)
        conv3_var = self.conv3(out)
        out = self.bn3(conv3_var)
        _identity_var = self._identity(x)
        add_var = out + _identity_var
        relu_var = self.relu(add_var)
        return relu_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_9(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_8(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class ReLUOpt_3(ReLU, Cell):

    def __init__(self, obj):
        Cell.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, input):
        input = amp_cast(input, mindspore.float16)
        relu_var = self.relu(input)
        relu_var = amp_cast(relu_var, mindspore.float32)
        return relu_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_7(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/wt/published/mm_train/nn')

class BottleneckOpt_2(Bottleneck, _ShortcutOpt):

    def __init__(self, obj):
        _ShortcutOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)
        self.conv1 = Conv2dOpt_7(self.conv1)
        self.bn1 = BatchNorm2dOpt(self.bn1)
        self.relu = ReLUOpt_3(self.relu)
        self.conv2 = Conv2dOpt_8(self.conv2)
        self.bn2 = BatchNorm2dOpt(self.bn2)
        self.relu = ReLUOpt_3(self.relu)
        self.conv3 = Conv2dOpt_9(self.conv3)
        self.bn3 = BatchNorm2dOpt(self.bn3)
        self.relu = ReLUOpt_3(self.relu)

    def construct(self, x):
        conv1_var = self.conv1(x)
        bn1_var = self.bn1(conv1_var)
        out = self.relu(bn1_var)
        conv2_var = self.conv2(out)
        bn2_var = self.bn2(conv2_var)
        out = self.relu(bn2_var)
        conv3_var = self.conv3(out)
        out = self.bn3(conv3_var)
        _identity_var = self._identity(x)
        add_var = out + _identity_var
        relu_var = self.relu(add_var)
        return relu_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_6(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_5(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class ReLUOpt_2(ReLU, Cell):

    def __init__(self, obj):
        Cell.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, input):
        input = amp_cast(input, mindspore.float16)
        relu_var = self.relu(input)
        relu_var = amp_cast(relu_var, mindspore.float32)
        return relu_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_4(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/wt/published/mm_train/nn')

class BottleneckOpt_1(Bottleneck, _ShortcutOpt):

    def __init__(self, obj):
        _ShortcutOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)
        self.conv1 = Conv2dOpt_4(self.conv1)
        self.bn1 = BatchNorm2dOpt(self.bn1)
        self.relu = ReLUOpt_2(self.relu)
        self.conv2 = Conv2dOpt_5(self.conv2)
        self.bn2 = BatchNorm2dOpt(self.bn2)
        self.relu = ReLUOpt_2(self.relu)
        self.conv3 = Conv2dOpt_6(self.conv3)
        self.bn3 = BatchNorm2dOpt(self.bn3)
        self.relu = ReLUOpt_2(self.relu)

    def construct(self, x):
        conv1_var = self.conv1(x)
        bn1_var = self.bn1(conv1_var)
        out = self.relu(bn1_var)
        conv2_var = self.conv2(out)
        bn2_var = self.bn2(conv2_var)
        out = self.relu(bn2_var)
        conv3_var = self.conv3(out)
        out = self.bn3(conv3_var)
        _identity_var = self._identity(x)
        add_var = out + _identity_var
        relu_var = self.relu(add_var)
        return relu_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_3(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_2(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class ReLUOpt_1(ReLU, Cell):

    def __init__(self, obj):
        Cell.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, input):
        input = amp_cast(input, mindspore.float16)
        relu_var = self.relu(input)
        relu_var = amp_cast(relu_var, mindspore.float32)
        return relu_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt_1(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/wt/published/mm_train/nn')

class BottleneckOpt(Bottleneck, _ShortcutOpt):

    def __init__(self, obj):
        _ShortcutOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)
        self.conv1 = Conv2dOpt_1(self.conv1)
        self.bn1 = BatchNorm2dOpt(self.bn1)
        self.relu = ReLUOpt_1(self.relu)
        self.conv2 = Conv2dOpt_2(self.conv2)
        self.bn2 = BatchNorm2dOpt(self.bn2)
        self.relu = ReLUOpt_1(self.relu)
        self.conv3 = Conv2dOpt_3(self.conv3)
        self.bn3 = BatchNorm2dOpt(self.bn3)
        self.relu = ReLUOpt_1(self.relu)

    def construct(self, x):
        conv1_var = self.conv1(x)
        bn1_var = self.bn1(conv1_var)
        out = self.relu(bn1_var)
        conv2_var = self.conv2(out)
        bn2_var = self.bn2(conv2_var)
        out = self.relu(bn2_var)
        conv3_var = self.conv3(out)
        out = self.bn3(conv3_var)
        _identity_var = self._identity(x)
        add_var = out + _identity_var
        relu_var = self.relu(add_var)
        return relu_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')
from mindspore import ops
from mindspore.nn.layer.basic import Dense

class DenseOpt(Dense, Cell):

    def __init__(self, obj):
        Cell.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x_var = amp_cast(x, mindspore.float16)
        x_shape = self.shape_op(x_var)
        x_shape = amp_cast(x_shape, mindspore.float32)
        len_var_1 = len(x_shape)
        compare_var_1 = len_var_1 != 2
        if compare_var_1:
            subscript_var = x_shape[-1]
            usub_var = -1
            tuple_var = (usub_var, subscript_var)
            x_var_4 = amp_cast(x, mindspore.float16)
            tuple_var = amp_cast(tuple_var, mindspore.float16)
            x = self.reshape(x_var_4, tuple_var)
            x = amp_cast(x, mindspore.float32)
        x_var_1 = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        x = self.matmul(x_var_1, weight_var)
        x = amp_cast(x, mindspore.float32)
        if self.has_bias:
            x_var_3 = amp_cast(x, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            x = self.bias_add(x_var_3, bias_var)
            x = amp_cast(x, mindspore.float32)
        if self.activation_flag:
            x = self.activation(x)
        len_var = len(x_shape)
        compare_var = len_var != 2
        if compare_var:
            subscript_var_2 = ops.shape(x)[-1]
            tuple_var_1 = (subscript_var_2,)
            subscript_var_1 = x_shape[:-1]
            out_shape = subscript_var_1 + tuple_var_1
            x_var_2 = amp_cast(x, mindspore.float16)
            out_shape = amp_cast(out_shape, mindspore.float16)
            x = self.reshape(x_var_2, out_shape)
            x = amp_cast(x, mindspore.float32)
        return x

    def extend_repr(self):
        s = f'input_channels={self.in_channels}, output_channels={self.out_channels}'
        if self.has_bias:
            s += f', has_bias={self.has_bias}'
        if self.activation_flag:
            s += f', activation={self.activation}'
        return s
#
sys.path.insert(0, '/work/wt/published/mm_train/nn')
from mm_train.nn.blocks import GlobalAvgPoolCell

class GlobalAvgPoolCellOpt(GlobalAvgPoolCell, nn.Cell):

    def __init__(self, obj):
        nn.Cell.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        tuple_var = (2, 3)
        mean_var = mean_opt(x, tuple_var, keep_dims=False)
        return mean_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')
from mindspore.nn.layer.pooling import MaxPool2d

class MaxPool2dOpt(MaxPool2d, _PoolNdOpt):

    def __init__(self, obj):
        _PoolNdOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        expand_batch = False
        compare_var = x.ndim == 3
        if compare_var:
            x = x.unsqueeze(0)
            expand_batch = True
        if self.use_pad:
            x = x.unsqueeze(2)
            out = self.max_pool(x)
            isinstance_var = isinstance(out, tuple)
            if isinstance_var:
                subscript_var_1 = out[1]
                squeeze_var_1 = subscript_var_1.squeeze(2)
                subscript_var = out[0]
                squeeze_var = subscript_var.squeeze(2)
                out = (squeeze_var, squeeze_var_1)
            else:
                out = out.squeeze(2)
        else:
            out = self.max_pool(x)
        if expand_batch:
            isinstance_var_1 = isinstance(out, tuple)
            if isinstance_var_1:
                subscript_var_3 = out[1]
                squeeze_var_3 = subscript_var_3.squeeze(0)
                subscript_var_2 = out[0]
                squeeze_var_2 = subscript_var_2.squeeze(0)
                out = (squeeze_var_2, squeeze_var_3)
            else:
                out = out.squeeze(0)
        and_var = self.use_pad and (not self.return_indices)
        if and_var:
            subscript_var_4 = out[0]
            return subscript_var_4
        return out
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class ReLUOpt(ReLU, Cell):

    def __init__(self, obj):
        Cell.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, input):
        input = amp_cast(input, mindspore.float16)
        relu_var = self.relu(input)
        relu_var = amp_cast(relu_var, mindspore.float32)
        return relu_var
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')
from mindspore.ops.primitive import _primexpr
from mindspore.nn.layer.normalization import BatchNorm2d

class BatchNorm2dOpt(BatchNorm2d, _BatchNormOpt):

    def __init__(self, obj):
        _BatchNormOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)
        self._check_input_dim = obj.__class__._check_input_dim

    @staticmethod
    @_primexpr
    def _check_input_dim(shape, cls_name):
        dim = len(shape)
        _check_dim(dim, 4, cls_name)
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')

class Conv2dOpt(Conv2d, _ConvOpt):

    def __init__(self, obj):
        _ConvOpt.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)

    def construct(self, x):
        x = amp_cast(x, mindspore.float16)
        weight_var = amp_cast(self.weight, mindspore.float16)
        output = self.conv2d(x, weight_var)
        output = amp_cast(output, mindspore.float32)
        if self.has_bias:
            output_var = amp_cast(output, mindspore.float16)
            bias_var = amp_cast(self.bias, mindspore.float16)
            output = self.bias_add(output_var, bias_var)
            output = amp_cast(output, mindspore.float32)
        return output
#
sys.path.insert(0, '/work/venv/lib/python3.11/site-packages/mindspore/nn/layer')
from collections import OrderedDict
from mindspore.common.recompute import _RecomputeCell
from mindspore.nn.layer.container import SequentialCell

class SequentialCellOpt(SequentialCell, Cell):

    def __init__(self, obj):
        Cell.__init__(self)
        for key, value in obj.__dict__.items():
            setattr(self, key, value)
        self.cell_list[0] = Conv2dOpt(self.cell_list[0])
        self.cell_list[1] = BatchNorm2dOpt(self.cell_list[1])
        self.cell_list[2] = ReLUOpt(self.cell_list[2])
        self.cell_list[3] = MaxPool2dOpt(self.cell_list[3])
        self.cell_list[4][0] = BottleneckOpt(self.cell_list[4][0])
        self.cell_list[4][1] = BottleneckOpt_1(self.cell_list[4][1])
        self.cell_list[4][2] = BottleneckOpt_2(self.cell_list[4][2])
        self.cell_list[5][0] = BottleneckOpt_3(self.cell_list[5][0])
        self.cell_list[5][1] = BottleneckOpt_4(self.cell_list[5][1])
        self.cell_list[5][2] = BottleneckOpt_5(self.cell_list[5][2])
        self.cell_list[5][3] = BottleneckOpt_6(self.cell_list[5][3])
        self.cell_list[6][0] = BottleneckOpt_7(self.cell_list[6][0])
        self.cell_list[6][1] = BottleneckOpt_8(self.cell_list[6][1])
        self.cell_list[6][2] = BottleneckOpt_9(self.cell_list[6][2])
        self.cell_list[6][3] = BottleneckOpt_10(self.cell_list[6][3])
        self.cell_list[6][4] = BottleneckOpt_11(self.cell_list[6][4])
        self.cell_list[6][5] = BottleneckOpt_12(self.cell_list[6][5])
        self.cell_list[7][0] = BottleneckOpt_13(self.cell_list[7][0])
        self.cell_list[7][1] = BottleneckOpt_14(self.cell_list[7][1])
        self.cell_list[7][2] = BottleneckOpt_15(self.cell_list[7][2])
        self.cell_list[8] = GlobalAvgPoolCellOpt(self.cell_list[8])
        self.cell_list[9] = DenseOpt(self.cell_list[9])

    def __getitem__(self, index):
        if isinstance(index, slice):
            return self.__class__(OrderedDict(list(self._cells.items())[index]))
        index = _valid_index(len(self), index, self.__class__.__name__)
        return list(self._cells.values())[index]

    def __setitem__(self, index, cell):
        cls_name = self.__class__.__name__
        if _valid_cell(cell, cls_name):
            prefix, _ = _get_prefix_and_index(self._cells)
            index = _valid_index(len(self), index, cls_name)
            key = list(self._cells.keys())[index]
            self._cells[key] = cell
            cell.update_parameters_name(prefix + key + '.')
            self.cell_list = list(self._cells.values())

    def __delitem__(self, index):
        cls_name = self.__class__.__name__
        if isinstance(index, int):
            index = _valid_index(len(self), index, cls_name)
            key = list(self._cells.keys())[index]
            del self._cells[key]
            del self._is_dynamic_name[index]
        elif isinstance(index, slice):
            keys = list(self._cells.keys())[index]
            for key in keys:
                del self._cells[key]
            del self._is_dynamic_name[index]
        else:
            raise TypeError(f"For '{cls_name}', the type of index must be int type or slice type, but got {type(index).__name__}")
        prefix, key_index = _get_prefix_and_index(self._cells)
        temp_dict = OrderedDict()
        for idx, key in enumerate(self._cells.keys()):
            cell = self._cells[key]
            if self._is_dynamic_name[idx]:
                for _, param in cell.parameters_and_names():
                    param.name = prefix + str(idx) + '.' + '.'.join(param.name.split('.')[key_index + 1:])
                temp_dict[str(idx)] = cell
            else:
                temp_dict[key] = cell
        self._cells = temp_dict
        self.cell_list = list(self._cells.values())

    def __setattr__(self, name, value):
        from mindspore.common.recompute import _RecomputeCell
        if isinstance(value, _RecomputeCell):
            object.__setattr__(self, name, value)
        else:
            super().__setattr__(name, value)

    def __bool__(self):
        return len(self._cells) != 0

    def __len__(self):
        return len(self._cells)

    def set_grad(self, flag=True):
        self.requires_grad = flag
        for cell in self._cells.values():
            cell.set_grad(flag)

    def append(self, cell):
        """
        Appends a given Cell to the end of the list.

        Args:
            cell(Cell): The Cell to be appended.

        Examples:
            >>> import mindspore
            >>> from mindspore import Tensor, nn
            >>> import numpy as np
            >>>
            >>> conv = nn.Conv2d(3, 2, 3, pad_mode='valid', weight_init="ones")
            >>> bn = nn.BatchNorm2d(2)
            >>> relu = nn.ReLU()
            >>> seq = nn.SequentialCell([conv, bn])
            >>> seq.append(relu)
            >>> x = Tensor(np.ones([1, 3, 4, 4]), dtype=mindspore.float32)
            >>> output = seq(x)
            >>> print(output)
            [[[[26.999863 26.999863]
               [26.999863 26.999863]]
              [[26.999863 26.999863]
               [26.999863 26.999863]]]]
        """
        if _valid_cell(cell, self.__class__.__name__):
            prefix, _ = _get_prefix_and_index(self._cells)
            cell.update_parameters_name(prefix + str(len(self)) + '.')
            self._is_dynamic_name.append(True)
            self._cells[str(len(self))] = cell
        self.cell_list = list(self._cells.values())

    def construct(self, input_data):
        self_cell_list = self.cell_list
        for cell in self_cell_list:
            input_data = cell(input_data)
        return input_data

    def _insert(self, index, cell):
        """
        Inserts a given Cell before a given index in the list.

        Args:
            index(int): The Insert index in the CellList.
            cell(Cell): The Cell to be inserted.
        """
        cls_name = self.__class__.__name__
        idx = _valid_index_for_inserting(len(self), index, cls_name)
        _valid_cell(cell, cls_name)
        length = len(self)
        prefix, key_index = _get_prefix_and_index(self._cells)
        while length > idx:
            if self._auto_prefix:
                tmp_cell = self._cells[str(length - 1)]
                for _, param in tmp_cell.parameters_and_names():
                    param.name = f"{prefix}{str(length)}{'.'}{'.'.join(param.name.split('.')[key_index + 1:])}"
            self._cells[str(length)] = self._cells[str(length - 1)]
            length -= 1
        self._cells[str(idx)] = cell
        if self._auto_prefix:
            cell.update_parameters_name(prefix + str(idx) + '.')
        self.cell_list = list(self._cells.values())
        self._is_dynamic_name.insert(index, True)
#