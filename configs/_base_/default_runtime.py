_base_ = ['mmseg::_base_/default_runtime.py']
custom_imports = dict(imports=['mmseg_sfda'], allow_failed_imports=False)
