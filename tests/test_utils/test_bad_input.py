"""bad_input: the file checks read from a file's ends, and the message of an error
re-raised from a dataloader worker."""
import cv2
import numpy as np
import pytest
from torch._utils import ExceptionWrapper

from mmseg_sfda.utils.bad_input import (BadInputError, MissingInputError,
                                        bad_input_message, image_file_problem)


def test_sound_files_pass(tmp_path):
    cv2.imwrite(str(tmp_path / 'a.png'), np.zeros((4, 6, 3), np.uint8))
    cv2.imwrite(str(tmp_path / 'l.png'), np.zeros((4, 6), np.uint8))
    cv2.imwrite(str(tmp_path / 'a.jpg'), np.zeros((4, 6, 3), np.uint8))
    assert image_file_problem(str(tmp_path / 'a.png')) is None
    assert image_file_problem(str(tmp_path / 'l.png'), label=True) is None
    assert image_file_problem(str(tmp_path / 'a.jpg')) is None


def test_broken_files_are_named(tmp_path):
    cv2.imwrite(str(tmp_path / 'rgb.png'), np.zeros((4, 6, 3), np.uint8))
    data = (tmp_path / 'rgb.png').read_bytes()
    (tmp_path / 'cut.png').write_bytes(data[:-5])
    (tmp_path / 'empty.png').write_bytes(b'')
    (tmp_path / 'text.jpg').write_bytes(b'hello')
    (tmp_path / 'noihdr.png').write_bytes(data[:8] + b'\x00' * 40 + data[-12:])
    assert image_file_problem(str(tmp_path / 'none.png')) == 'does not exist'
    assert image_file_problem(str(tmp_path / 'empty.png')) == 'is empty (0 bytes)'
    assert 'truncated PNG' in image_file_problem(str(tmp_path / 'cut.png'))
    assert 'no IHDR header chunk' in image_file_problem(str(tmp_path / 'noihdr.png'))
    assert 'not a JPEG' in image_file_problem(str(tmp_path / 'text.jpg'))
    assert image_file_problem(str(tmp_path / 'rgb.png')) is None  # an image may be RGB
    assert 'has 3 channels' in image_file_problem(str(tmp_path / 'rgb.png'), label=True)


@pytest.mark.parametrize('cls', [BadInputError, MissingInputError])
def test_message_of_an_error_from_a_loader_worker(cls):
    try:
        raise cls('label x.png holds class id(s) [30]\nsecond line')
    except cls:
        wrapped = ExceptionWrapper(where='in DataLoader worker process 0')
    with pytest.raises(cls) as exc:
        wrapped.reraise()
    assert 'Original Traceback' in str(exc.value)
    assert bad_input_message(exc.value) == 'label x.png holds class id(s) [30]\nsecond line'
    assert bad_input_message(ValueError('other')) is None
