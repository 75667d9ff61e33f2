"""``camfx process``: filter video files (PyAV loads only for this command, OpenCV never)."""
from .common import add_config_option, build_chain, load_config

# x264's and x265's speed presets, fastest first.
PRESETS = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"]




def add_parser(commands):
    process = commands.add_parser("process", help="filter video files, keeping every frame, the timing and the audio")
    process.add_argument("inputs", nargs="+", metavar="INPUT",
                         help="video files, images, or image sequences such as img_%%04d.png (25 fps)")
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
    add_config_option(process)
    process.set_defaults(run=cmd_process)


def cmd_process(args):
    from ..files.process import Settings, process_batch, tune_for_throughput  # PyAV loads only for this command

    tune_for_throughput()
    chain = build_chain(args, load_config(args.config))
    settings = Settings(codec=args.codec, crf=args.crf, preset=args.preset, overwrite=args.overwrite,
                        background=args.background, deinterlace=args.deinterlace)
    return 1 if process_batch(args.inputs, args.output, chain, settings) else 0
