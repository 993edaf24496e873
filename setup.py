from setuptools import find_packages, setup


def get_version() -> str:
    scope: dict = {}
    with open('mmseg_sfda/version.py', encoding='utf-8') as f:
        exec(f.read(), scope)
    return scope['__version__']


setup(
    name='mmseg-sfda',
    version=get_version(),
    description='Domain-adaptive and source-free semantic segmentation for '
    'mmsegmentation 1.x',
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    packages=find_packages(exclude=('configs', 'tools', 'tests', 'docs')),
    python_requires='>=3.8',
    # torch >= 2.6: checkpoints are read with weights_only=True and a scoped allowlist
    # (torch.serialization.safe_globals); torch itself comes from tools/install.sh
    install_requires=[
        'torch>=2.6', 'mmengine==0.10.7', 'mmsegmentation==1.2.2', 'numpy',
        'opencv-python', 'scipy'
    ],
    license='Apache License 2.0',
    zip_safe=False)
