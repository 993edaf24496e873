"""--cfg-options mistakes: malformed items, misspelled keys, unknown types, bad values."""
from bad_input_utils import fails


def _train(toy, tmp_path, *options, cfg=None):
    return fails('train.py', cfg or toy.source_cfg, '--work-dir', tmp_path / 'w',
                 '--cfg-options', *options)


def test_cfg_option_without_value(toy, tmp_path):
    msg = _train(toy, tmp_path, 'train_cfg.max_iters')
    assert "--cfg-options 'train_cfg.max_iters': expected KEY=VALUE" in msg


def test_cfg_option_with_unbalanced_brackets(toy, tmp_path):
    msg = _train(toy, tmp_path, 'model.decode_head.dilations=[1,2')
    assert '--cfg-options' in msg and 'model.decode_head.dilations=[1,2' in msg


def test_cfg_option_misspelled_top_level_key(toy, tmp_path):
    msg = _train(toy, tmp_path, 'trian_cfg.max_iters=2')
    assert "--cfg-options trian_cfg.max_iters=2: the config has no key 'trian_cfg' " \
        '(did you mean train_cfg?)' in msg


def test_unknown_loss_type(toy, tmp_path):
    msg = _train(toy, tmp_path, 'model.decode_head.loss_decode.type=CrossEntropyLos')
    assert "model.decode_head.loss_decode.type='CrossEntropyLos' is not a registered" in msg
    assert 'did you mean CrossEntropyLoss?' in msg


def test_misspelled_loss_weight_in_a_head_loss(toy, tmp_path):
    msg = _train(toy, tmp_path, 'model.decode_head.loss_decode.loss_wieght=2')
    assert 'model.decode_head.loss_decode.loss_wieght is not an argument of ' \
        'CrossEntropyLoss (did you mean loss_weight?)' in msg


def test_misspelled_loss_weight_in_a_method_loss(toy, tmp_path):
    """model.loss_bns is left at SFDASegmentor's default in the config."""
    msg = _train(toy, tmp_path, 'model.loss_bns.loss_wieght=1', cfg=toy.sfda_cfg)
    assert 'model.loss_bns.loss_wieght is not an argument of BNSLoss (did you mean ' \
        'loss_weight?); its arguments: norm, loss_weight, loss_name' in msg
    assert "model.loss_bns has no type" in msg and 'model.loss_bns.type=BNSLoss' in msg


def test_negative_learning_rate(toy, tmp_path):
    msg = _train(toy, tmp_path, 'optim_wrapper.optimizer.lr=-0.01')
    assert 'optim_wrapper.optimizer.lr=-0.01 is negative' in msg


def test_negative_learning_rate_of_one_part(toy, tmp_path):
    msg = _train(toy, tmp_path, 'optim_wrapper.generator.optimizer.lr=-1',
                 cfg=toy.sfda_cfg)
    assert 'optim_wrapper.generator.optimizer.lr=-1 is negative' in msg


def test_learning_rate_not_a_number(toy, tmp_path):
    msg = _train(toy, tmp_path, 'optim_wrapper.optimizer.lr=1e-3x')
    assert "optim_wrapper.optimizer.lr='1e-3x' is not a number" in msg
