"""``camfx process``: filter video files (PyAV loads only for this command, OpenCV never)."""
from pathlib import Path

from ..errors import CamfxError
from .common import add_config_option, load_config

# x264's and x265's speed presets, fastest first.
PRESETS = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"]


def add_parser(commands):
    process = commands.add_parser("process", help="filter video files, keeping every frame, the timing and the audio")
    process.add_argument("inputs", nargs="+", metavar="INPUT",
                         help="video files, images, or image sequences such as img_%%04d.png (25 fps), to "
                              "filter; @LIST reads more from a text file, one path a line")
    process.add_argument("-o", "--output", required=True, metavar="OUTPUT",
                         help="output file (one input), or folder: a path ending in / or an existing folder "
                              "(FOLDER/NAME.mp4 for each input)")
    process.add_argument("--filters", metavar="SPEC", help="filter chain (default: the config's [chain])")
    process.add_argument("--codec", default="h264", choices=["h264", "hevc"], help="video codec (default: h264)")
    process.add_argument("--crf", type=int, default=23, metavar="N", help="quality, 0-51, lower is better (default: 23)")
    process.add_argument("--preset", default="medium", choices=PRESETS, metavar="NAME",
                         help="encoder speed preset, ultrafast to placebo (default: medium)")
    process.add_argument("--overwrite", action="store_true", help="replace existing output files")
    process.add_argument("--background", default="black", metavar="COLOUR",
                         help="what transparent pixels become: black, white, gray, green, blue, red or #rrggbb "
                              "(default: black)")
    process.add_argument("--deinterlace", action="store_true",
                         help="deinterlace interlaced video before filtering (FFmpeg's bwdif)")
    where = process.add_mutually_exclusive_group()
    where.add_argument("--jobs", type=int, default=1, metavar="N",
                       help="files processed at once, in N worker processes sharing this machine's cores (default: 1)")
    where.add_argument("--cluster", metavar="ADDRESS",
                       help="run one task per file on a Dask scheduler (tcp://host:8786), or 'local' for a "
                            "LocalCluster on this machine; needs pip install 'camfx[cluster]'")
    process.add_argument("--retries", type=int, default=2, metavar="K",
                         help="times a file whose worker died is tried again (default: 2)")
    process.add_argument("--manifest", metavar="PATH",
                         help="record of finished files, JSON Lines (default: OUTPUT/camfx-manifest.jsonl for a folder)")
    process.add_argument("--force", action="store_true",
                         help="process files the manifest says are done, replacing their outputs")
    add_config_option(process)
    process.set_defaults(run=cmd_process)


def cmd_process(args):
    from ..files.batch import ChainSpec, process_batch  # PyAV loads only for this command
    from ..files.process import Settings, tune_for_throughput

    tune_for_throughput()
    config = load_config(args.config)
    spec = args.filters if args.filters is not None else config["chain"]["filters"]
    chain = ChainSpec(spec, dict(config["plugins"]), dict(config["kernels"]), str(config.base_dir.resolve()))
    settings = Settings(codec=args.codec, crf=args.crf, preset=args.preset, overwrite=args.overwrite,
                        background=args.background, deinterlace=args.deinterlace)
    result = process_batch(expand_inputs(args.inputs), args.output, chain, settings, jobs=args.jobs,
                           cluster=args.cluster, retries=args.retries, manifest=args.manifest, force=args.force)
    return result.exit_code


def expand_inputs(inputs):
    """The inputs, with each ``@LIST`` replaced by the paths in the text file LIST: one a line,
    blank lines and lines starting with ``#`` skipped, relative paths taken from the current
    folder as on the command line."""
    expanded = []
    for item in inputs:
        if not item.startswith("@"):
            expanded.append(item)
            continue
        listing = Path(item[1:])
        try:
            lines = listing.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as error:
            raise CamfxError(f"{listing}: cannot read the list of inputs ({getattr(error, 'strerror', None) or error})") \
                from None
        expanded.extend(line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#"))
    if not expanded:
        raise CamfxError("no input files given (the lists are empty)")
    return expanded
