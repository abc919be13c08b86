"""``hsg-workstation export-image FILE [--frame N] [--window CENTER WIDTH] OUT.png``: one frame as an 8-bit PNG.

The frame is rendered as the viewer shows it: Modality LUT, then the file's default VOI (first Window
Center/Width, else the first VOI LUT, else the frame's full range) or the given window, then inversion for
MONOCHROME1. Frames are numbered from 1 as in DICOM. The source file is only read.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from hsg_workstation.dicom_io import reader
from hsg_workstation.dicom_io.pixels import LINEAR, LINEAR_EXACT, LUT, FrameSource, VoiPreset
from hsg_workstation.errors import HsgError


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "export-image",
        help="render one frame of a DICOM image to PNG with its default (or a given) window",
        description="Render one frame (1-based) of a DICOM image to an 8-bit PNG: modality LUT, VOI "
        "(default: first window, else VOI LUT, else full range), MONOCHROME1 inverted.",
    )
    p.add_argument("file", metavar="FILE", help="a DICOM image file")
    p.add_argument("out", metavar="OUT.png", help="where to write the PNG")
    p.add_argument("--frame", type=int, default=1, metavar="N", help="frame number, 1-based (default 1)")
    p.add_argument(
        "--window",
        nargs=2,
        type=float,
        metavar=("CENTER", "WIDTH"),
        help="window center and width (modality units)",
    )
    p.set_defaults(func=handle)


def handle(args: argparse.Namespace) -> int:
    from PIL import Image  # only this command needs Pillow

    header = reader.read_header(args.file, max_pixel_bytes=reader.configured_max_pixel_bytes())
    source = FrameSource(args.file, header)
    n = source.number_of_frames
    if not 1 <= args.frame <= n:
        raise HsgError(
            f"{args.file}: --frame {args.frame} is out of range (the image has {n} frame{'s' * (n != 1)})"
        )
    voi = None
    if args.window is not None:
        center, width = args.window
        if width <= 0:
            raise HsgError(f"--window: width must be > 0 (got {width:g})")
        file_functions = [p.function for p in source.voi_presets(args.frame - 1) if p.function != LUT]
        function = file_functions[0] if file_functions else LINEAR
        if function == LINEAR and width < 1:
            function = LINEAR_EXACT
        voi = VoiPreset("Custom", center, width, function, "given on the command line")
    image = source.render_uint8(args.frame - 1, voi)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image, mode="RGB" if image.ndim == 3 else "L").save(out, format="PNG")
    print(f"wrote {out} ({image.shape[1]}×{image.shape[0]}, frame {args.frame} of {n})")
    return 0
