"""``camfx cameras``: every camera of this machine, with the index ``--source`` takes, its name,
its device, and the sizes, rates and pixel formats it offers where the platform says."""


def add_parser(commands):
    cameras = commands.add_parser("cameras", help="list the cameras, with what each offers",
                                  description="List every camera with the index --source takes, its name and "
                                              "device, and (on Linux) the pixel formats, sizes and frame rates "
                                              "it offers.")
    cameras.set_defaults(run=cmd_cameras)


def cmd_cameras(args):
    from ..live.cameras import describe, list_cameras  # OpenCV loads only for the commands that use it
    print(describe(list_cameras()))
    return 0
