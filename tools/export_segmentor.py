"""Write the adapted segmentor of a DomainAdaptiveSegmentor checkpoint as a plain mmseg
checkpoint, loadable by the stock mmseg config the segmentor was built from.

    python tools/export_segmentor.py work_dirs/sfda/iter_1000.pth sfda_deeplabv3.pth
"""
import argparse

import mmseg_sfda  # noqa: F401  (reads mmengine checkpoints with weights_only=True)
from mmseg_sfda.utils.checkpoint_compat import CheckpointFileError
from mmseg_sfda.apis.checkpoint_export import export_segmentor


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('checkpoint', help='checkpoint of an adaptation run')
    parser.add_argument('out', help='where to write the plain mmseg checkpoint')
    args = parser.parse_args()
    try:
        n = export_segmentor(args.checkpoint, args.out)
    except (ValueError, FileNotFoundError, KeyError, CheckpointFileError) as err:
        raise SystemExit(f'export_segmentor: {err}') from None
    print(f'wrote {n} tensors of the segmentor to {args.out}')


if __name__ == '__main__':
    main()
