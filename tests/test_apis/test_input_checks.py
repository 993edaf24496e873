"""explain_error: known build / loading failures become one message; others are kept."""
from mmengine.config import Config
from PIL import UnidentifiedImageError

import mmseg_sfda  # noqa: F401
from mmseg_sfda.apis.input_checks import explain_error

CFG = Config(dict(model=dict(type='EncoderDecoder', decode_head=dict(
    type='FCNHead', loss_decode=dict(type='CrossEntropyLos', loss_wieght=1.0)))))


def test_unregistered_type_names_the_key_and_a_close_name():
    err = KeyError('CrossEntropyLos is not in the mmseg::model registry. Please check')
    assert explain_error(err, CFG).startswith(
        "model.decode_head.loss_decode.type='CrossEntropyLos' is not a registered "
        'mmseg::model component (did you mean CrossEntropyLoss?)')


def test_unexpected_argument_names_the_key_and_the_valid_ones():
    cfg = Config(dict(model=dict(loss=dict(type='CrossEntropyLoss', loss_wieght=1.0))))
    err = TypeError("CrossEntropyLoss.__init__() got an unexpected keyword argument "
                    "'loss_wieght'")
    msg = explain_error(err, cfg)
    assert msg.startswith('model.loss.loss_wieght is not an argument of CrossEntropyLoss '
                          '(did you mean loss_weight?)')
    assert 'use_sigmoid' in msg


def test_undecodable_images_are_named():
    err = UnidentifiedImageError("cannot identify image file '/data/x/00001.png'")
    assert explain_error(err).startswith('cannot decode image /data/x/00001.png')
    err = AssertionError('failed to load image: /data/x/00002.png')
    assert explain_error(err).startswith('cannot decode image /data/x/00002.png')


def test_unknown_errors_keep_their_traceback():
    assert explain_error(ValueError('something else'), CFG) is None
    assert explain_error(TypeError('unsupported operand'), CFG) is None
